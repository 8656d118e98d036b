"""The TSN test protocol: every view through the network, then the mean over crops and snippets.

Introduced in notebooks/03_train_rgb.ipynb; the score files it gives are fused in
notebooks/05_two_stream_fusion.ipynb (:mod:`tsnlib.fusion`).

Each test video gives ``num_clips`` snippets (25 in the paper) × ``num_crops`` crops (1, 3 or 10)
= ``V * K`` views. Every view goes through the network on its own (``model.forward_views``:
``(B, C, H, W) → (B, num_classes)``), in chunks of at most ``max_views_per_forward`` views, so memory
stays bounded whatever ``V * K`` is (GPU out-of-memory on 25 × 10 = 250 views is one of the most
common complaints about TSN test code). The video's score is then, as in Caffe TSN and
tsn-pytorch (:func:`video_scores`),

$$ s(v) = \\frac{1}{K} \\sum_{k=1}^{K} \\frac{1}{V} \\sum_{c=1}^{V} f(x_{c,k}) $$

the mean over crops, then over snippets, of the class scores **before softmax** (logits).
Argmax, top-k and mean class accuracy are unchanged by a softmax of the averaged scores, so we
keep the raw averages: they are what the two-stream fusion of Caffe TSN sums. A multi-label
model's views are averaged the same way, logits first, sigmoid after (see :func:`predict_scores`).

* :func:`view_scores_chunked` — the per-view scores of a stack of views, chunk by chunk;
* :func:`snippet_scores`, :func:`video_scores` — the two means;
* :func:`predict_scores` — the protocol over a test loader, returning a
  :class:`tsnlib.evaluation.ScoreSet` (what ``tsnlib test`` saves);
* :func:`predict_video` — one video file or frame folder, the top classes (``tsnlib predict``).

Precision and memory layout follow :mod:`tsnlib.precision`, as in training.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from tsnlib.annotations import VideoRecord
from tsnlib.datasets import TSNDataset
from tsnlib.evaluation import ScoreSet
from tsnlib.models import unwrap_model
from tsnlib.precision import autocast, autocast_dtype, channels_last_views, model_device, use_channels_last
from tsnlib.utils import progress as progress_bar

__all__ = [
    "view_scores_chunked",
    "snippet_scores",
    "video_scores",
    "predict_scores",
    "predict_video",
]


# ----------------------------------------------------------------------------------------------
# views → scores
# ----------------------------------------------------------------------------------------------


def _view_fn(model):
    """The per-view scoring function: ``forward_views`` of the model (or of the TSN inside its wrappers)."""
    inner = unwrap_model(model)
    return inner.forward_views if hasattr(inner, "forward_views") else model  # else a plain image classifier


def view_scores_chunked(model, views, max_views_per_forward: int = 64, device=None, dtype=None,
                        channels_last: bool = False):
    """Per-view class scores of ``views`` ``(B, C, H, W)`` → float32 CPU tensor ``(B, num_classes)``.

    Feeds at most ``max_views_per_forward`` views to ``model.forward_views`` at a time, moving each
    chunk to ``device`` only when it is needed (GPU memory is bounded by the chunk). uint8 views
    travel as they are and are normalised on the device by the model's ``prepare``
    (:meth:`tsnlib.models.TSN.prepare`), into one float32 buffer reused for every chunk. Call inside
    ``torch.inference_mode()`` with the model in eval mode (:func:`predict_scores` does).

    Used by :func:`predict_scores`.
    """
    step = int(max_views_per_forward)
    if step < 1:
        raise ValueError(f"max_views_per_forward must be >= 1, got {max_views_per_forward}")
    device = torch.device(device) if device is not None else model_device(model)
    fn = _view_fn(model)
    owner = getattr(fn, "__self__", None)
    prepare = getattr(owner, "prepare", None)  # TSN.prepare: uint8 views -> network input (in_channels channels)
    in_channels = getattr(owner, "in_channels", None)
    buffer = None  # uint8 chunks are normalised into one reused float32 buffer (no 4-byte-per-value allocation each)
    outs = []
    for start in range(0, views.shape[0], step):
        chunk = views[start:start + step].to(device, non_blocking=True)
        if channels_last and chunk.ndim == 4:
            chunk = channels_last_views(chunk)
        if prepare is not None and in_channels is not None and chunk.dtype == torch.uint8 and chunk.ndim == 4:
            shape = (chunk.shape[0], int(in_channels), *chunk.shape[2:])
            if buffer is None or buffer.shape[1:] != shape[1:] or buffer.shape[0] < shape[0]:
                buffer = torch.empty(shape, dtype=torch.float32, device=device,
                                     memory_format=torch.channels_last if channels_last else torch.contiguous_format)
            chunk = prepare(chunk, out=buffer[:shape[0]])
        with autocast(device, dtype):
            out = fn(chunk)
        if out.ndim != 2 or out.shape[0] != chunk.shape[0]:
            raise RuntimeError(f"forward_views returned shape {tuple(out.shape)} for {chunk.shape[0]} views; "
                               "expected (views, num_classes)")
        outs.append(out.float().cpu())
    return torch.cat(outs) if outs else torch.zeros(0, 0)


def snippet_scores(view_scores, num_clips: int, num_crops: int):
    """Each snippet's score: the mean over its crops, ``(B, num_clips, num_classes)``.

    ``view_scores``: ``(B, num_crops * num_clips, num_classes)`` in the datasets' view-major order
    (row ``v * num_clips + k``: crop ``v`` of snippet ``k``). Works on NumPy arrays and torch tensors.

    Used by :func:`predict_scores` (``keep_clip_scores``).
    """
    b, vk, c = view_scores.shape
    if vk != num_clips * num_crops:
        raise ValueError(f"{vk} views per video, expected num_clips × num_views = {num_clips} × {num_crops}")
    return view_scores.reshape(b, num_crops, num_clips, c).mean(1)


def video_scores(view_scores, num_clips: int, num_crops: int):
    """The paper's video score: the mean over crops, then over snippets, of the views' scores (no softmax).

    ``view_scores``: ``(B, num_crops * num_clips, num_classes)``, view-major (row ``v * num_clips + k``:
    crop ``v`` of snippet ``k``); returns ``(B, num_classes)``. Works on NumPy arrays and torch tensors.

    Used by :func:`predict_scores`.
    """
    return snippet_scores(view_scores, num_clips, num_crops).mean(1)


# ----------------------------------------------------------------------------------------------
# what a test batch holds
# ----------------------------------------------------------------------------------------------


def _as_list(x) -> list:
    if x is None:
        return []
    if hasattr(x, "tolist"):
        x = x.tolist()
    return list(x) if isinstance(x, (list, tuple)) else [x]


@dataclasses.dataclass
class _Batch:
    """The fields of a test batch, always batched: ``imgs`` ``(B, V*K, C, H, W)``, lists of ``B`` values."""

    imgs: torch.Tensor
    labels: list
    indices: list
    ids: list
    frames: object  # (B, K, clip_len) frame indices, or None
    targets: object  # (B, num_classes) multi-hot, or None
    num_views: list


def _read_batch(batch) -> _Batch:
    """A DataLoader batch of dataset items, or one unbatched item (``imgs`` ``(V*K, C, H, W)``), as a :class:`_Batch`."""
    imgs = batch["imgs"]
    single = imgs.ndim == 4
    if single:
        imgs = imgs.unsqueeze(0)

    def batched(x):
        return x[None] if single and x is not None else x

    return _Batch(imgs=imgs, labels=_as_list(batch.get("label", -1 if single else [-1] * imgs.shape[0])),
                  indices=_as_list(batch.get("index", None)), ids=_as_list(batch.get("video_id", None)),
                  frames=batched(batch.get("frame_indices")), targets=batched(batch.get("target")),
                  num_views=_as_list(batch.get("num_views", None)))


def _views_per_video(b: _Batch, num_clips: int | None, num_views: int | None) -> tuple[int, int]:
    """``(num_clips, num_views)`` of a batch: given, or read from the items; a mismatch is explained."""
    if b.imgs.ndim != 5:
        raise ValueError(f"batch['imgs'] must be (B, views, C, H, W), got shape {tuple(b.imgs.shape)}")
    vk = b.imgs.shape[1]
    nv = num_views if num_views is not None else (int(b.num_views[0]) if b.num_views else 1)
    if b.num_views and any(int(x) != nv for x in b.num_views):
        raise ValueError(f"the dataset delivers {sorted(set(int(x) for x in b.num_views))} crops per snippet, "
                         f"but num_views={nv}: build the test transform with num_crops={nv}")
    nk = num_clips if num_clips is not None else vk // nv
    if vk != nk * nv:
        raise ValueError(
            f"each video has {vk} views, but num_clips × num_views = {nk} × {nv} = {nk * nv}: build the "
            f"dataset with FrameSampler({nk}, mode='test') and test_transform(num_clips={nk}, num_crops={nv})"
        )
    return nk, nv


def _video_ids(b: _Batch, records, seen: int) -> list[str]:
    """The batch's video ids: the items' ``video_id``, else the dataset records' by ``index``, else the index."""
    if b.ids:
        return [str(x) for x in b.ids]
    if records is not None and b.indices:
        return [str(getattr(records[int(i)], "video_id", i)) for i in b.indices]
    if b.indices:
        return [str(int(i)) for i in b.indices]
    return [str(seen + j) for j in range(b.imgs.shape[0])]


def _unwrap_records(dataset):
    """The ``records`` of a dataset, looking through wrappers (``Subset``, ``EpochAwareDataset``) by ``.dataset``."""
    for _ in range(8):
        if dataset is None:
            return None
        recs = getattr(dataset, "records", None)
        if recs is not None:
            return recs
        dataset = getattr(dataset, "dataset", None)
    return None


def _default_class_names(dataset, n: int) -> list[str]:
    d, seen = dataset, 0
    while d is not None and seen < 8:
        for attr in ("class_names", "label_map"):
            val = getattr(d, attr, None)
            names = getattr(val, "names", val)
            if names is not None and not callable(names) and len(names) == n:
                return [str(x) for x in names]
        d = getattr(d, "dataset", None)
        seen += 1
    return [f"class_{i}" for i in range(n)]


@contextlib.contextmanager
def _evaluating(model, channels_last: bool):
    """The model in eval mode (and channels-last weights) for the duration; its mode and layout restored after."""
    was_training = model.training
    restore_contiguous = False
    if channels_last:
        convs = [p for p in model.parameters() if p.ndim == 4]
        restore_contiguous = bool(convs) and not convs[0].is_contiguous(memory_format=torch.channels_last)
        model.to(memory_format=torch.channels_last)
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
        if restore_contiguous:
            model.to(memory_format=torch.contiguous_format)


# ----------------------------------------------------------------------------------------------
# the protocol
# ----------------------------------------------------------------------------------------------


def predict_scores(
    model,
    loader: Iterable,
    num_clips: int | None = None,
    num_views: int | None = None,
    device=None,
    max_views_per_forward: int = 64,
    amp="auto",
    progress: bool = True,
    keep_clip_scores: bool = False,
    class_names: Sequence[str] | None = None,
    meta: dict | None = None,
) -> ScoreSet:
    """Run the TSN test protocol over ``loader`` and return the video-level scores.

    Used by :func:`tsnlib.experiment.test_checkpoint` (``tsnlib test``) and :func:`predict_video`.

    ``loader`` yields batches of dataset items (a ``DataLoader`` over a
    :class:`~tsnlib.datasets.TSNDataset` built with ``FrameSampler(num_clips, mode="test")`` and
    ``test_transform(..., num_clips=num_clips, num_crops=num_views)``): ``batch["imgs"]``
    ``(B, num_views * num_clips, C, H, W)`` view-major (row ``v * num_clips + k``), float, or uint8
    for the model to normalise (``normalize=False``, as :func:`tsnlib.experiment.test_protocol`
    builds it), ``batch["label"]`` ``(B,)``, ``batch["index"]`` ``(B,)`` (an unbatched item with
    ``imgs`` ``(V*K, C, H, W)`` works too).
    ``num_views`` defaults to ``batch["num_views"]`` and ``num_clips`` to ``V*K / num_views``.

    For each video every view is scored by ``model.forward_views`` (``(views, C, H, W) →
    (views, num_classes)``), at most ``max_views_per_forward`` views per call whatever the batch
    size and ``num_views × num_clips`` (lower it on out-of-memory); the scores are averaged over
    crops, then over snippets, before any softmax (:func:`video_scores`).

    Multi-label runs (items with a multi-hot ``batch["target"]`` ``(B, num_classes)``, as
    :class:`~tsnlib.datasets.TSNDataset` delivers them with ``multi_label=True``, or a model with
    ``multi_label`` set) use the same views and the same averaging: the logits are averaged, and the
    sigmoid, if wanted, comes after (``ScoreSet.probabilities``). That is the order training uses
    (the consensus averages the views' logits, then the binary cross-entropy applies the sigmoid)
    and the order of MMAction2's multi-label TSN configs (HVU, Multi-Moments in Time: the head's
    consensus averages every test view before the classifier and ``average_clips=None`` keeps the
    raw scores). Averaging sigmoid probabilities instead (the analogue of its ``average_clips="prob"``)
    would rank videos differently and is not what the model was trained for. The multi-hot targets
    are kept in the returned set (``targets``) and ``meta["multi_label"]`` is true.

    Runs under ``torch.inference_mode()`` with ``model.eval()`` (the model's train/eval mode is
    restored afterwards). ``device``: where to compute; None = where the model's parameters are
    (the model is moved only when ``device`` is given). ``amp`` picks the autocast dtype with
    :func:`tsnlib.precision.autocast_dtype` (``"auto"``: fp16 on CUDA, bf16 on CPUs with native
    bf16, else fp32), as training does. The views (and, during the call, the model) use
    channels-last memory where :func:`tsnlib.precision.use_channels_last` says so, as in training.

    ``keep_clip_scores=True`` also keeps each snippet's score (crops averaged), float32
    ``(num_videos, num_clips, num_classes)``, and the 0-based frame indices of each snippet, for
    per-segment timelines. ``class_names`` default to the dataset's (``class_names`` or
    ``label_map``), else ``class_0, …``; video ids come from the dataset's records
    (``records[index].video_id``), else the item index. ``meta`` is merged over the recorded
    ``{"protocol": "25x10", "num_clips", "num_views", "modality", "amp", "max_views_per_forward"}``.
    Returns a :class:`~tsnlib.evaluation.ScoreSet`.
    """
    if device is not None:
        device = torch.device(device)
        model.to(device)
    else:
        device = model_device(model)
    dtype = autocast_dtype(device, amp)
    channels_last = use_channels_last(device, dtype)  # as in training
    dataset = getattr(loader, "dataset", None)
    records = _unwrap_records(dataset)
    total = len(loader) if hasattr(loader, "__len__") else None
    all_scores, all_clip, all_labels, all_ids, all_frames, all_targets = [], [], [], [], [], []
    shape = None  # (num_clips, num_views), the same for every batch
    with _evaluating(model, channels_last), torch.inference_mode():
        bar_kwargs = {} if progress else {"disable": True}
        for batch in progress_bar(loader, total=total, desc="test", unit="batch", **bar_kwargs):
            b = _read_batch(batch)
            nk, nv = _views_per_video(b, num_clips, num_views)
            if shape is not None and (nk, nv) != shape:
                raise ValueError(f"views changed between batches: {shape[0]}x{shape[1]} then {nk}x{nv}")
            shape = (nk, nv)
            n = b.imgs.shape[0]
            flat = b.imgs.reshape(n * nk * nv, *b.imgs.shape[2:])
            per_view = view_scores_chunked(model, flat, max_views_per_forward, device, dtype, channels_last)
            per_view = per_view.double().reshape(n, nk * nv, -1)
            if not torch.isfinite(per_view).all():
                raise FloatingPointError(
                    f"the model produced non-finite scores (autocast dtype {dtype}); retry with amp=False"
                )
            all_scores.append(video_scores(per_view, nk, nv).float().numpy())
            if keep_clip_scores:
                all_clip.append(snippet_scores(per_view, nk, nv).float().numpy())
                all_frames.append(None if b.frames is None else np.asarray(b.frames, dtype=np.int64))
            all_labels.extend(int(x) for x in b.labels)
            all_targets.append(None if b.targets is None else np.asarray(b.targets, dtype=np.float32))
            all_ids.extend(_video_ids(b, records, len(all_ids)))

    if not all_scores:
        raise ValueError("the loader yielded no batches: nothing to test")
    scores = np.concatenate(all_scores)
    n_cls = scores.shape[1]
    names = list(class_names) if class_names is not None else _default_class_names(dataset, n_cls)
    if len(names) != n_cls:
        raise ValueError(f"{len(names)} class names for a model with {n_cls} outputs")
    dup = len(all_ids) - len(set(all_ids))
    if dup:
        warnings.warn(f"{dup} video id(s) appear more than once in the scores (a dataset with skip_bad=True "
                      "replaced bad samples by their neighbours?); fusion by video id will refuse them",
                      stacklevel=2)
    clip_scores = frame_indices = None
    if keep_clip_scores:
        clip_scores = np.concatenate(all_clip)
        if all(f is not None for f in all_frames):
            try:
                frame_indices = np.concatenate(all_frames)
            except ValueError:
                frame_indices = None  # clip lengths differ between batches: not stackable
    given = [t is not None for t in all_targets]
    if any(given) and not all(given):
        raise ValueError("some batches carry multi-hot 'target's and others do not: one loader, one kind of label")
    targets = np.concatenate(all_targets) if all(given) else None
    info = {
        "protocol": f"{shape[0]}x{shape[1]}",
        "num_clips": int(shape[0]),
        "num_views": int(shape[1]),
        "amp": str(dtype).replace("torch.", "") if dtype is not None else "fp32",
        "max_views_per_forward": int(max_views_per_forward),
    }
    for m in (model, getattr(model, "module", None)):
        if m is not None and getattr(m, "modality", None):
            info["modality"] = str(m.modality)
            break
    if targets is not None or any(getattr(m, "multi_label", False) for m in (model, getattr(model, "module", None))):
        info["multi_label"] = True
    info.update(meta or {})
    return ScoreSet(scores=scores, labels=np.asarray(all_labels, dtype=np.int64), video_ids=all_ids,
                    class_names=names, meta=info, clip_scores=clip_scores, frame_indices=frame_indices,
                    targets=targets)


def predict_video(model, video_path, transform, sampler, class_names: Sequence[str], device=None, topk: int = 5,
                  max_views_per_forward: int = 64, amp="auto", source: str = "auto",
                  backend: str = "auto") -> list[tuple[str, float]]:
    """Classify one video (the ``tsnlib predict`` command): ``[(class_name, probability), …]``, best first.

    Used by ``tsnlib predict``.

    ``video_path``: a video file (RGB, RGBDiff) or a frame folder (any modality, the only choice for
    Flow). ``sampler``: e.g. ``FrameSampler(25, mode="test")``; ``transform``: e.g.
    ``test_transform("RGB", num_clips=25, num_crops=1)``. The modality is the model's
    (``model.modality``, default RGB). Frames are read exactly as at test time (one
    :class:`~tsnlib.datasets.TSNDataset` item, decoded with :func:`tsnlib.decoding.open_video` and
    ``backend``),
    the views scored in chunks and averaged over crops and snippets (:func:`predict_scores`'s
    protocol); the ``topk`` classes are returned with the softmax of the averaged scores (their sigmoid for
    a multi-label model, ``model.multi_label``: each class's own probability).
    """
    path = Path(video_path)
    modality = str(getattr(model, "modality", None) or getattr(getattr(model, "module", None), "modality", None) or "RGB")
    record = VideoRecord(path=path, label=-1, num_frames=None, video_id=path.stem, source=None, num_flow_frames=None)
    ds = TSNDataset([record], sampler=sampler, transform=transform, modality=modality, source=source, backend=backend)
    item = ds[0]
    imgs = item["imgs"]
    if not isinstance(imgs, torch.Tensor) or imgs.ndim != 4 or not (imgs.is_floating_point() or imgs.dtype == torch.uint8):
        raise ValueError("predict_video needs a transform returning views (views, C, H, W), float or uint8, "
                         "e.g. tsnlib.transforms.test_transform")
    num_clips = int(item["frame_indices"].shape[0])
    num_views = int(item["num_views"])
    item = {"imgs": imgs, "label": -1, "index": 0, "num_views": num_views, "video_id": path.stem}
    result = predict_scores(model, [item], num_clips=num_clips, num_views=num_views, device=device,
                            max_views_per_forward=max_views_per_forward, amp=amp, progress=False,
                            class_names=None if class_names is None else list(class_names))
    probs = result.probabilities()[0]
    k = max(1, min(int(topk), len(probs)))
    order = np.argsort(-probs, kind="stable")[:k]
    return [(result.class_names[j], float(probs[j])) for j in order]
