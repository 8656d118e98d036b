"""TSNDataset: one training or test sample of a Temporal Segment Network per video.

Introduced in notebooks/03_train_rgb.ipynb (sampling → frames → transforms, then training); every
stream's training and test data (:func:`tsnlib.experiment.build_datasets`) are TSNDatasets.

One item is built in four steps, each from its own module:

1. the **sampler** (:class:`tsnlib.sampling.FrameSampler`) picks 0-based frame indices
   ``(K, clip_len)`` from the video's frame count;
2. only those frames are read (each distinct frame once): from the video file with
   :func:`tsnlib.decoding.open_video` (exact frames), or from a frame folder's JPEGs
   (``img_*.jpg`` for RGB, ``flow_x_*.jpg`` / ``flow_y_*.jpg`` for flow);
3. they become one uint8 ``torchvision.tv_tensors.Video`` ``(T, C, H, W)``, ``T = K * clip_len``
   frames in clip-major order (C = 3 RGB, 2 flow), so the **transform** (a preset of
   :mod:`tsnlib.transforms`) draws one crop/flip for the whole group;
4. the transform returns float32 ``(V * K, clip_len * C', H, W)``.

Randomness is worker-safe: with ``seed=None`` the sampling draws come from torch's generator,
which a ``DataLoader`` seeds differently for every worker and every epoch (reproducible when the
main process is seeded, e.g. with :func:`tsnlib.utils.seed_everything`); with ``seed=<int>`` a
sample is a pure function of ``(seed, epoch, index)`` whatever the number of workers (call
:meth:`TSNDataset.set_epoch` every epoch to get new draws). Readers are opened inside
``__getitem__`` (in the worker that uses them) and closed at once, so no decoder is ever shared
between processes.
"""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors

from tsnlib.decoding import open_video
from tsnlib.errors import AnnotationError, DataError
from tsnlib.frame_folders import (
    count_frames,
    detect_frame_template,
    detect_start_index,
    read_flow_frames,
    read_rgb_frames,
)
from tsnlib.sampling import segment_frames
from tsnlib.transforms import MODALITIES  # the modalities a TSNDataset can deliver

#: What the error of a bad video says to do when ``skip_bad`` is off.
SKIP_BAD_HINT = ("tsnlib check-data <dataset> lists every bad file at once; fix or remove them, or set "
                 "data.skip_bad=true to skip bad videos (each one warned and listed)")

#: Where frames come from: video files, frame folders, or decided per record from the path.
SOURCES = ("video", "frames", "auto")


def multi_hot(labels, num_classes: int) -> torch.Tensor:
    """The multi-label target of one video: float32 ``(num_classes,)``, 1 at each class in ``labels``, 0 elsewhere.

    ``labels``: 0-based class ids (a :class:`~tsnlib.annotations.VideoRecord`'s ``labels``; an
    empty tuple gives all zeros). Ids outside ``0..num_classes-1`` raise a ``ValueError``.
    Introduced in notebooks/07_multi_label.ipynb.
    """
    ids = [int(c) for c in labels]
    bad = [c for c in ids if not 0 <= c < int(num_classes)]
    if bad:
        raise ValueError(f"class id(s) {bad} outside 0..{int(num_classes) - 1} ({int(num_classes)} classes)")
    target = torch.zeros(int(num_classes), dtype=torch.float32)
    target[ids] = 1.0
    return target


def seed_worker(worker_id: int) -> None:
    """``DataLoader(worker_init_fn=seed_worker)``: seed NumPy/``random`` from the worker's torch seed.

    A DataLoader gives each worker the torch seed ``base_seed + worker_id`` (``base_seed`` drawn
    anew every epoch from the main process's generator, or from ``DataLoader(generator=...)``).
    :class:`TSNDataset` already draws from torch, so this matters for other NumPy/``random`` code
    in a pipeline. It deliberately leaves OpenCV's thread settings alone: ``cv2.setNumThreads`` in a
    forked worker can hang forever when the parent process has already used OpenCV's thread pool
    (e.g. generated the synthetic set or computed optical flow before building the loader), and
    the JPEG reads done here are single-threaded anyway.

    Used by :func:`tsnlib.experiment.build_loaders`.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class TSNDataset(Dataset):
    """A torch ``Dataset`` of TSN samples over video files or frame folders (RGB, Flow or RGBDiff).

    Introduced in notebooks/03_train_rgb.ipynb.

    Arguments:

    * ``records``: :class:`tsnlib.annotations.VideoRecord` objects (``path``, ``label``,
      ``num_frames``, ``video_id``, ``source``, ``num_flow_frames``).
    * ``sampler``: ``sampler(num_frames, rng) -> int64 (K, clip_len)`` 0-based indices, e.g.
      ``FrameSampler(3)`` (training) or ``FrameSampler(25, mode="test")``.
    * ``transform``: a preset of :mod:`tsnlib.transforms` taking a uint8 ``Video`` ``(T, C, H, W)``
      and returning float32 ``(V * K, clip_len * C', H, W)``; ``None`` returns the raw uint8
      ``Video``.
    * ``modality``: ``"RGB"``; ``"Flow"`` (frame folders only: ``flow_x_*.jpg``/``flow_y_*.jpg``,
      C = 2 channels (x, y); indices are drawn over the *flow* count, ``num_flow_frames`` or the
      number of ``flow_x`` files, which is often the RGB count minus one); ``"RGBDiff"`` (RGB
      differences: the sampler's ``clip_len`` is the number of *differences*; the dataset samples
      ``clip_len + 1`` consecutive frames per snippet by replacing the sampler's ``clip_len``
      (a :class:`~tsnlib.sampling.FrameSampler` or any dataclass with a ``clip_len`` field; any other
      callable must itself return ``clip_len + 1`` columns), and ``frame_indices`` is then
      ``(K, clip_len + 1)``; pair it with ``train_transform("RGBDiff", K, clip_len)``, which turns
      the ``K * (clip_len + 1)`` frames into ``K`` stacks of ``clip_len`` differences).
    * ``source``: ``"video"`` (files), ``"frames"`` (folders) or ``"auto"`` (a folder path is a
      frame folder, anything else a video file).
    * ``start_index``: number of the first frame file; ``None`` detects it per folder (1 for
      ``img_00001.jpg``, 0 when ``img_00000.jpg`` exists, as open-mmlab ``denseflow`` writes).
      Videos are always 0-based. RGB files named ``00001.jpg`` (Something-Something v1) are
      recognised per folder too (:func:`tsnlib.decoding.detect_frame_template`).
    * Segments: a record with ``start``/``end`` (seconds of a video file) is sampled inside the
      segment only (:func:`tsnlib.sampling.segment_frames` with the decoder's frame rate); one with
      an ``offset`` (frame folders) from that frame on, over its ``num_frames``. ``frame_indices``
      are then indices into the whole video or folder.
    * ``backend``: video decoder for :func:`tsnlib.decoding.open_video`.
    * ``skip_bad``: ``False`` (default) raises the :class:`~tsnlib.errors.DataError` of a bad
      sample, naming the file, the record's list line and what to do (:data:`SKIP_BAD_HINT`).
      ``True`` replaces it by the next valid sample (index + 1, + 2, …, deterministic), warns
      once (``UserWarning`` listing what was skipped so far) and keeps every skip in
      :attr:`skipped` (``(video_id, path, reason)``), including skips made in DataLoader worker
      processes.
    * ``seed``: ``None`` (draw from torch's generator: new draws every epoch and worker) or an int
      (draws and augmentation a function of ``(seed, epoch, index)``; see :meth:`set_epoch`).
    * ``multi_label`` (with ``num_classes``): every item also carries its multi-hot ``"target"``,
      float32 ``(num_classes,)`` built from the record's ``labels`` (:func:`multi_hot`). Checked
      here, before anything is read: a record without ``labels`` (a single-label list) raises a
      :class:`~tsnlib.errors.DataError`, a class id outside ``0..num_classes-1`` an
      :class:`~tsnlib.errors.AnnotationError`, each naming the record's list line. Without
      ``multi_label``, a record with several ``labels`` raises too (training on its first class
      alone would quietly be another task).

    Item: ``{"imgs": float32 (V * K, C', H, W)`` (or the uint8 ``Video`` ``(T, C, H, W)`` without
    a transform), ``"label": int, "index": int`` (the record delivered; differs from the index
    asked only when a bad sample was skipped), ``"frame_indices": int64 (K, clip_len)`` (0-based,
    as read), ``"num_views": V}``, and ``"target": float32 (num_classes,)`` when ``multi_label``.
    """

    def __init__(
        self,
        records: Sequence,
        sampler: Callable,
        transform: Callable | None = None,
        modality: str = "RGB",
        source: str = "video",
        start_index: int | None = None,
        backend: str = "auto",
        skip_bad: bool = False,
        seed: int | None = None,
        multi_label: bool = False,
        num_classes: int | None = None,
    ):
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if modality == "Flow" and source == "video":
            raise ValueError("the Flow modality reads flow_x/flow_y JPEGs from frame folders: use source='frames' "
                             "(extract them with `tsnlib flow`)")
        self.records = list(records)
        self.multi_label = bool(multi_label)
        self.num_classes = None if num_classes is None else int(num_classes)
        self._check_labels()
        self.sampler = sampler
        self.transform = transform
        self.modality = modality
        self.source = source
        self.start_index = start_index
        self.backend = backend
        self.skip_bad = bool(skip_bad)
        self.seed = seed
        self.epoch = 0
        self._read_sampler = self._frames_sampler(sampler) if modality == "RGBDiff" else sampler
        self._bad: set[int] = set()
        self._local_skips: list[tuple[str, str, str]] = []
        self._warned = False
        self._start_cache: dict[str, int] = {}
        self._tmpl_cache: dict[str, str] = {}
        self._count_cache: dict[tuple[str, str], int] = {}
        self._skip_log = Path(tempfile.gettempdir()) / f"tsnlib-skipped-{uuid.uuid4().hex}.tsv"
        self._owner_pid = os.getpid()

    def _check_labels(self) -> None:
        """Every record fits the task: ``labels`` in range for multi-label, at most one class otherwise."""
        if not self.multi_label:
            many = next((r for r in self.records if len(getattr(r, "labels", None) or ()) > 1), None)
            if many is not None:
                raise DataError(f"record {many.video_id} has {len(many.labels)} classes {list(many.labels)} but the "
                                "dataset is single-label", path=many.path, source=many.source,
                                hint="set model.multi_label=true (TSNDataset(multi_label=True, num_classes=...)) to "
                                     "train on every class of a video")
            return
        if self.num_classes is None or self.num_classes < 1:
            raise ValueError(f"a multi-label TSNDataset needs num_classes >= 1, got {self.num_classes}")
        for r in self.records:
            if getattr(r, "labels", None) is None:
                raise DataError(f"record {r.video_id} has no multi-label classes (labels=None): the list is "
                                "single-label", path=r.path, source=r.source,
                                hint="set model.multi_label=false for a single-label dataset, or read a multi-label "
                                     "list (every class of each video)")
            bad = [c for c in r.labels if not 0 <= c < self.num_classes]
            if bad:
                raise AnnotationError(f"class id(s) {bad} of record {r.video_id} outside 0..{self.num_classes - 1} "
                                      f"({self.num_classes} classes)", path=r.path, source=r.source)

    @staticmethod
    def _frames_sampler(sampler):
        """The sampler that yields ``clip_len + 1`` frames per snippet for RGB differences."""
        if dataclasses.is_dataclass(sampler) and hasattr(sampler, "clip_len"):
            return dataclasses.replace(sampler, clip_len=sampler.clip_len + 1)
        return sampler

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """With ``seed=<int>``: use the draws of ``epoch`` (call at the start of each epoch)."""
        self.epoch = int(epoch)

    # -- randomness ------------------------------------------------------------------------------
    def _item_seed(self, index: int) -> int | None:
        if self.seed is None:
            return None
        return int(np.random.SeedSequence([int(self.seed), self.epoch, int(index)]).generate_state(1, np.uint64)[0] >> 1)

    def _rng(self, item_seed: int | None) -> np.random.Generator:
        if item_seed is None:
            # torch's generator: seeded per worker and per epoch by the DataLoader
            return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        return np.random.default_rng(item_seed)

    # -- reading -----------------------------------------------------------------------------------
    def _is_frames(self, record) -> bool:
        if self.source == "auto":
            return Path(record.path).is_dir()
        return self.source == "frames"

    def _folder_start(self, folder: Path) -> int:
        if self.start_index is not None:
            return int(self.start_index)
        key = str(folder)
        if key not in self._start_cache:
            self._start_cache[key] = detect_start_index(folder)
        return self._start_cache[key]

    def _folder_tmpl(self, folder: Path) -> str:
        key = str(folder)
        if key not in self._tmpl_cache:
            self._tmpl_cache[key] = detect_frame_template(folder)
        return self._tmpl_cache[key]

    def _folder_count(self, record, folder: Path, kind: str) -> int:
        """Frames to sample from: the record's count, else the folder's (from ``offset`` on)."""
        given = record.num_flow_frames if kind == "flow_x" else record.num_frames
        if given is not None:
            return int(given)
        key = (str(folder), kind)
        if key not in self._count_cache:
            self._count_cache[key] = count_frames(folder)[kind]
        return self._count_cache[key] - (getattr(record, "offset", None) or 0)

    def _sample(self, num_frames: int, rng, record) -> np.ndarray:
        if num_frames <= 0:
            raise DataError(f"no {'flow ' if self.modality == 'Flow' else ''}frames to sample from", path=record.path,
                            source=record.source)
        idx = np.asarray(self._read_sampler(num_frames, rng), dtype=np.int64)
        if idx.ndim != 2:
            raise ValueError(f"the sampler must return (num_clips, clip_len) indices, got shape {idx.shape}")
        return idx

    def _load(self, index: int, item_seed: int | None) -> tuple[torch.Tensor, np.ndarray]:
        """Read the sampled frames of record ``index``: uint8 ``(T, C, H, W)`` and indices ``(K, L)``."""
        record = self.records[index]
        rng = self._rng(item_seed)
        path = Path(record.path)
        if self._is_frames(record):
            if not path.is_dir():
                raise DataError("frame folder not found", path=path, source=record.source)
            if getattr(record, "is_segment", False) and getattr(record, "offset", None) is None:
                raise DataError("a segment in seconds of a frame folder: its frames are not known", path=path,
                                source=record.source, hint="write frame lists with offsets (tsnlib lists --kind "
                                                           "frames) and read those")
            start = self._folder_start(path)
            first = getattr(record, "offset", None) or 0
            if self.modality == "Flow":
                idx = self._sample(self._folder_count(record, path, "flow_x"), rng, record) + first
                frames = read_flow_frames(path, idx.ravel(), start_index=start, source=record.source)
            else:
                idx = self._sample(self._folder_count(record, path, "img"), rng, record) + first
                frames = read_rgb_frames(path, idx.ravel(), start_index=start, source=record.source,
                                         tmpl=self._folder_tmpl(path))
        else:
            if self.modality == "Flow":
                raise DataError("the Flow modality needs a frame folder with flow_x/flow_y JPEGs, got a video file",
                                path=path, source=record.source)
            with open_video(path, backend=self.backend) as reader:
                # the decoder's count is exact; a list's count for a video file may be stale
                first, count = 0, reader.num_frames
                if getattr(record, "is_segment", False):
                    try:
                        first, count = segment_frames(record.start or 0.0, record.end, reader.fps, reader.num_frames)
                    except ValueError as exc:
                        raise DataError(f"cannot read the segment: {exc}", path=path, source=record.source) from exc
                idx = self._sample(count, rng, record) + first
                frames = reader.get_frames(idx.ravel())
        # (T, H, W, C) numpy → (T, C, H, W) view: channels-last memory, which the uint8 resize kernels prefer
        video = torch.from_numpy(frames).permute(0, 3, 1, 2)
        return video, idx

    def _get(self, index: int) -> dict:
        item_seed = self._item_seed(index)
        video, idx = self._load(index, item_seed)
        video = video.as_subclass(tv_tensors.Video)  # what tv_tensors.Video(video) does for a uint8 tensor, minus its checks
        num_clips = idx.shape[0]
        if self.transform is None:
            imgs, num_views = video, 1
        else:
            if item_seed is None:
                imgs = self.transform(video)
            else:
                # seed only the CPU generator the transforms draw from, and restore it afterwards
                # (torch.manual_seed would also queue CUDA seeding, which costs a stack trace per call)
                state = torch.get_rng_state()
                torch.default_generator.manual_seed(item_seed)
                try:
                    imgs = self.transform(video)
                finally:
                    torch.set_rng_state(state)
            num_views = max(1, int(imgs.shape[0]) // num_clips) if imgs.ndim == 4 else 1
        record = self.records[index]
        item = {
            "imgs": imgs,
            "label": int(record.label),
            "index": int(index),
            "frame_indices": torch.from_numpy(np.ascontiguousarray(idx)),
            "num_views": num_views,
        }
        if self.multi_label:
            item["target"] = multi_hot(record.labels, self.num_classes)
        return item

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} videos")
        if not self.skip_bad:
            try:
                return self._get(index)
            except DataError as exc:
                raise self._with_source(exc, index, hint=SKIP_BAD_HINT) from exc
        for step in range(len(self)):
            j = (index + step) % len(self)
            if j in self._bad:
                continue
            try:
                return self._get(j)
            except DataError as exc:
                self._record_skip(j, self._with_source(exc, j))
        raise DataError(f"every one of the {len(self)} samples failed to load; see dataset.skipped")

    def _with_source(self, exc: DataError, index: int, hint: str | None = None) -> DataError:
        """The error with the record's list line (and file) added when the reader could not know them,
        and ``hint`` (what to do) when it has none."""
        record = self.records[index]
        source = exc.source or record.source
        hint = hint if source else None  # what to do about a list line; a lone file (predict) needs none
        if source == exc.source and (hint is None or exc.hint):
            return exc
        new = type(exc)(exc.reason, path=exc.path if exc.path is not None else record.path, source=source,
                        hint=exc.hint or hint)
        new.__cause__ = exc.__cause__
        return new

    # -- skipped samples ---------------------------------------------------------------------------
    def _record_skip(self, index: int, exc: DataError) -> None:
        self._bad.add(index)
        record = self.records[index]
        entry = (str(record.video_id), str(record.path), " ".join(str(exc).split()))
        self._local_skips.append(entry)
        try:  # shared with the main process when this runs in a DataLoader worker
            with open(self._skip_log, "a", encoding="utf-8") as f:
                f.write("\t".join(entry) + "\n")
        except OSError:
            pass
        if not self._warned:
            self._warned = True
            listed = "; ".join(f"{vid} ({reason})" for vid, _, reason in self.skipped)
            warnings.warn(
                f"TSNDataset skipped bad samples, each replaced by the next valid one: {listed}. "
                "Further skips are not warned about; see dataset.skipped.",
                UserWarning,
                stacklevel=3,
            )

    @property
    def skipped(self) -> list[tuple[str, str, str]]:
        """Bad samples replaced so far, ``(video_id, path, reason)``, in this process and its DataLoader workers."""
        entries = list(self._local_skips)
        if self._skip_log.exists():
            for line in self._skip_log.read_text(encoding="utf-8").splitlines():
                parts = tuple(line.split("\t"))
                if len(parts) == 3:
                    entries.append(parts)
        seen, out = set(), []
        for e in entries:
            if e[:2] not in seen:
                seen.add(e[:2])
                out.append(e)
        return out

    def __del__(self):
        try:
            if os.getpid() == self._owner_pid and self._skip_log.exists():
                self._skip_log.unlink()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return (f"TSNDataset({len(self)} videos, modality={self.modality!r}, source={self.source!r}, "
                f"sampler={self.sampler!r})")
