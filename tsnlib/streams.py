"""The streams of a two-stream TSN as runs in the shared output folder: configure, start, train or reuse, test.

Introduced in notebooks/04_optical_flow_stream.ipynb; used again by notebooks/05_two_stream_fusion.ipynb.

TSN trains its streams separately and meets them only at test time. In the course each stream is
one run folder under ``<output>/runs/`` (:func:`tsnlib.utils.output_dir`), named ``<stream>_k<K>``:

==============  =============================  ===============================  ===================
run             preset                         input of one snippet             left by
==============  =============================  ===============================  ===================
``rgb_k3``      ``tsn_r8_synthetic_rgb``      one RGB frame ``(3, H, W)``      notebook 03
``flow_k3``     ``tsn_r8_synthetic_flow``     5 flow fields ``(10, H, W)``     notebook 04
``rgbdiff_k3``  ``tsn_r8_synthetic_rgbdiff``  5 RGB differences ``(15, H, W)``  notebook 05
==============  =============================  ===============================  ===================

each holding ``best.pth``, ``last.pth``, ``metrics.jsonl``, ``config.yaml`` and, once tested,
``scores_test.npz`` (a :class:`tsnlib.evaluation.ScoreSet`). A notebook that needs a stream reuses
its run when the checkpoint's stored config matches what it needs (:data:`MATCH_KEYS`: same data,
modality, clip length, segments, input size, backbone) and trains it otherwise
(:func:`train_or_reuse`); scores are reused when they were computed from that checkpoint with the
same test protocol (:func:`test_or_reuse`). So the notebooks run standalone, and in order they do
not train anything twice.

Cross-modality initialisation (paper §3.2) starts a Flow or RGBDiff network from an RGB one: set
``model.rgb_weights`` to the RGB run's ``best.pth`` (:func:`tsnlib.models.init_from_rgb` then
inflates the first convolution). :func:`save_stream_init` writes the same start, or the start
MMAction2 gives a 10-channel ResNet (every tensor from the RGB network except a random first
convolution), as a weights file for ``init_from``: the ablation of notebook 04.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from tsnlib import training
from tsnlib.checkpoints import CheckpointError, load_checkpoint, model_state, save_checkpoint
from tsnlib.config import get_value, load_config
from tsnlib.errors import ConfigError, DataError
from tsnlib.evaluation import ScoreSet
from tsnlib.experiment import build_model_from_config, test_checkpoint
from tsnlib.models import init_from_rgb
from tsnlib.utils import seed_everything

__all__ = [
    "STREAM_PRESETS",
    "COURSE_SHORT_SIDE",
    "QUICK_OVERRIDES",
    "MATCH_KEYS",
    "FULL_RUN_KEYS",
    "run_name",
    "stream_config",
    "data_root_for",
    "run_differences",
    "train_or_reuse",
    "test_or_reuse",
    "save_stream_init",
]

#: The course's preset of each stream (all resnet8 from scratch on the synthetic set, 48-px crops of the frame
#: folders that :func:`tsnlib.flow.prepare_flow_dataset` extracts at a short side of :data:`COURSE_SHORT_SIDE`).
STREAM_PRESETS = {
    "rgb": "tsn_r8_synthetic_rgb",
    "flow": "tsn_r8_synthetic_flow",
    "rgbdiff": "tsn_r8_synthetic_rgbdiff",
}

#: The short side (pixels) at which the course extracts its frame folders, RGB and flow alike: the presets'
#: ``scale_size``. Notebooks 03-06 extract (or find) the folders at this size.
COURSE_SHORT_SIDE = 54

#: What quick mode changes in every notebook (as notebook 03): one short epoch, a cheap test protocol.
QUICK_OVERRIDES = ("optim.epochs=1", "train.max_steps_per_epoch=3", "test.num_clips=5", "test.num_crops=1")

#: Config keys a finished run must share with the config asked for, to be reused instead of trained.
MATCH_KEYS = (
    "data.dataset",
    "data.root",
    "data.split",
    "data.modality",
    "data.clip_len",
    "data.num_segments",
    "data.input_size",
    "model.backbone",
)

#: Added to :data:`MATCH_KEYS` outside quick mode: a quick run (one short epoch) is not reused for a full one.
FULL_RUN_KEYS = ("optim.epochs", "train.max_steps_per_epoch")

#: The files of a run that belong to one training; removed before the run is trained again.
_RUN_FILES = ("best.pth", "last.pth", "metrics.jsonl", "config.yaml", "scores_test.npz")


def run_name(stream: str, num_segments: int) -> str:
    """The run folder name of a stream: ``run_name("flow", 3) == "flow_k3"``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    return f"{str(stream).lower()}_k{int(num_segments)}"


def stream_config(
    stream: str,
    preset: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    frames_root: str | os.PathLike | None = None,
    num_segments: int = 3,
    seed: int = 0,
    workers: int = 2,
    test_clips: int = 25,
    test_crops: int = 1,
    epochs: int | None = None,
    batch_size: int | None = None,
    quick: bool = False,
    overrides: Sequence[str] = (),
) -> dict:
    """The config of one stream, built the same way in every notebook so that runs can be reused.

    ``stream``: ``"rgb"``, ``"flow"`` or ``"rgbdiff"`` (its preset is :data:`STREAM_PRESETS`
    unless ``preset`` names another, e.g. ``tsn_r50_1x1x3_110e_ucf101_flow``). ``data_root`` sets
    ``data.root``; ``frames_root`` (the folder of :func:`tsnlib.flow.prepare_flow_dataset`), where
    given, sets it instead when the preset reads frame folders (``data.source: frames``: the course's
    three presets, the flow ones). A notebook passes both, its dataset root and its frames folder,
    and each stream's preset takes the one it reads. The other arguments become the overrides notebook 03
    uses (``data.num_segments``, ``train.seed``, ``train.workers`` / ``test.workers``,
    ``test.num_clips`` / ``test.num_crops``, ``optim.epochs``, ``train.batch_size``), then
    :data:`QUICK_OVERRIDES` when ``quick``, then ``overrides``. Returns
    :func:`tsnlib.config.load_config`'s dict.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """

    stream = str(stream).lower()
    if preset is None:
        if stream not in STREAM_PRESETS:
            raise ValueError(f"unknown stream {stream!r}: one of {sorted(STREAM_PRESETS)}, or give preset=")
        preset = STREAM_PRESETS[stream]
    o = [f"data.num_segments={int(num_segments)}", f"train.seed={int(seed)}", f"train.workers={int(workers)}",
         f"test.workers={int(workers)}", f"test.num_clips={int(test_clips)}", f"test.num_crops={int(test_crops)}"]
    root = data_root_for(preset, data_root, frames_root, overrides)
    if root is not None:
        o.append(f"data.root={root}")
    if epochs is not None:
        o.append(f"optim.epochs={int(epochs)}")
    if batch_size is not None:
        o.append(f"train.batch_size={int(batch_size)}")
    if quick:
        o += list(QUICK_OVERRIDES)
    o += list(overrides)
    return load_config(preset, o)


def data_root_for(preset, data_root=None, frames_root=None, overrides: Sequence[str] = ()):
    """The ``data.root`` a preset should read: ``frames_root`` when it is given and the preset (with
    ``overrides``) reads frame folders (``data.source: frames``), else ``data_root``; None keeps the preset's.

    Introduced in notebooks/03_train_rgb.ipynb; :func:`stream_config` decides the same way.
    """

    if frames_root is not None and load_config(preset, list(overrides))["data"]["source"] == "frames":
        return frames_root
    return data_root


def _get(cfg: Mapping, dotted: str):
    """``cfg``'s value at a dotted key, None where the key is missing (an older run's config)."""

    try:
        return get_value(cfg, dotted)
    except ConfigError:
        return None


def _same(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str) and ("/" in a or os.sep in a):
        return os.path.normpath(os.path.abspath(os.path.expanduser(a))) == os.path.normpath(
            os.path.abspath(os.path.expanduser(b)))
    return a == b


def run_differences(work_dir: str | os.PathLike, cfg: Mapping, keys: Sequence[str] = MATCH_KEYS) -> list[str] | None:
    """How a finished run differs from ``cfg``: ``None`` (no ``best.pth``), ``[]`` (it matches) or the differences.

    The run's config is the one stored in its ``best.pth`` (read with ``weights_only=True``); only
    ``keys`` are compared (paths after normalisation). Each difference reads
    ``"data.root: run '/a', needed '/b'"``.

    Used by :func:`train_or_reuse`.
    """

    best = Path(work_dir) / "best.pth"
    if not best.is_file():
        return None
    try:
        stored = load_checkpoint(best).get("config")
    except CheckpointError as exc:
        return [f"best.pth unreadable: {exc}"]
    if not isinstance(stored, Mapping):
        return ["best.pth stores no config"]
    out = []
    for key in keys:
        have, want = _get(stored, key), _get(cfg, key)
        if not _same(have, want):
            out.append(f"{key}: run {have!r}, needed {want!r}")
    return out


def _progress(work_dir: Path) -> tuple[int, int]:
    """``(epochs done, epochs planned)`` of the run in ``work_dir``, from ``last.pth``.

    A run folder holding only ``best.pth`` (copied from elsewhere) counts as finished: ``(1, 1)``.
    """

    if not (work_dir / "last.pth").is_file():
        return 1, 1
    try:
        last = load_checkpoint(work_dir / "last.pth")
        return int(last.get("epoch") or 0), int(last["config"]["optim"]["epochs"])
    except (CheckpointError, KeyError, TypeError):
        return 1, 1


def _history(work_dir: Path) -> list[dict]:
    """The epoch records kept in ``last.pth`` (for a run folder without ``metrics.jsonl``)."""

    try:
        return [dict(r) for r in load_checkpoint(work_dir / "last.pth").get("history") or []]
    except CheckpointError:
        return []


def train_or_reuse(
    cfg: Mapping,
    work_dir: str | os.PathLike,
    device=None,
    keys: Sequence[str] = MATCH_KEYS,
    init_from: str | os.PathLike | None = None,
    reuse: bool = True,
) -> dict:
    """Reuse the run in ``work_dir`` when it matches ``cfg`` (:func:`run_differences`), else train it afresh.

    * matching and finished (``last.pth`` holds as many epochs as its config planned): reused as is;
    * matching but interrupted: continued from ``last.pth`` (:func:`tsnlib.training.train` with
      ``resume=True``: the same weights as an uninterrupted run);
    * missing, different, or ``reuse=False``: trained from the start by
      :func:`tsnlib.training.train` (``init_from``: a weights file to start from, e.g.
      :func:`save_stream_init`'s), after removing the files of the old run (``best.pth``,
      ``last.pth``, ``metrics.jsonl``, ``config.yaml``, ``scores_test.npz``; ``overwrite=True``
      removes any other file of it, see :func:`tsnlib.training.run_files`), so that nothing of it
      survives next to the new checkpoint.

    Prints what it decided.

    Returns ``{"work_dir": Path, "reused": bool, "reason": str, "history": list of epoch records}``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """

    work_dir = Path(work_dir)
    diffs = run_differences(work_dir, cfg, keys)
    if reuse and diffs == []:
        done, total = _progress(work_dir)
        if done >= total:
            reason = f"reusing {work_dir} (its config matches on {', '.join(keys)})"
            print(f"tsnlib: {reason}")
            metrics = work_dir / "metrics.jsonl"
            history = training.read_metrics(metrics) if metrics.is_file() else _history(work_dir)
            return {"work_dir": work_dir, "reused": True, "reason": reason, "history": history}
        reason = f"the run in {work_dir} stopped after epoch {done} of {total}: continuing it from last.pth"
        print(f"tsnlib: {reason}")
        trainer = training.train(dict(cfg), work_dir=work_dir, device=device, resume=True)
        return {"work_dir": work_dir, "reused": False, "reason": reason, "history": list(trainer.history)}
    if diffs is None:
        reason = f"no finished run in {work_dir}: training it"
    elif not reuse:
        reason = f"training {work_dir} again (reuse=False)"
    else:
        reason = f"the run in {work_dir} differs ({'; '.join(diffs)}): training it again"
    print(f"tsnlib: {reason}")
    for name in _RUN_FILES:
        (work_dir / name).unlink(missing_ok=True)
    trainer = training.train(dict(cfg), work_dir=work_dir, device=device, init_from=init_from, overwrite=True)
    return {"work_dir": work_dir, "reused": False, "reason": reason, "history": list(trainer.history)}


def test_or_reuse(cfg: Mapping, work_dir: str | os.PathLike, device=None, reuse: bool = True,
                  checkpoint: str = "best.pth", scores_name: str = "scores_test.npz"):
    """The test-protocol scores of a run: ``<work_dir>/scores_test.npz`` if still valid, else computed and saved.

    A score file is reused when it is newer than the checkpoint, was computed from a checkpoint of
    that name, with the same modality and the protocol ``cfg["test"]`` asks for (``num_clips`` x
    ``num_crops``). Otherwise :func:`tsnlib.experiment.test_checkpoint` runs the protocol and the
    file is (re)written. Returns ``(ScoreSet, reused)``; the ScoreSet's scores are
    ``(num_videos, num_classes)``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """

    work_dir = Path(work_dir)
    ckpt = work_dir / checkpoint
    path = work_dir / scores_name
    t = cfg["test"]
    if reuse and path.is_file() and ckpt.is_file() and path.stat().st_mtime >= ckpt.stat().st_mtime:
        try:
            scores = ScoreSet.load(path)
        except DataError:
            scores = None
        if scores is not None:
            m = scores.meta
            if (m.get("num_clips") == int(t["num_clips"]) and m.get("num_views") == int(t["num_crops"])
                    and m.get("modality") == cfg["data"]["modality"]
                    and Path(str(m.get("checkpoint", ""))).name == checkpoint):
                print(f"tsnlib: reusing {path} ({m.get('protocol')} views per video, {scores.num_videos} videos)")
                return scores, True
    scores = test_checkpoint(cfg, ckpt, device=device)
    scores.save(path)
    return scores, False


def save_stream_init(cfg: Mapping, rgb_checkpoint: str | os.PathLike, path: str | os.PathLike,
                     first_conv: str = "inflate", seed: int | None = None) -> Path:
    """Write the starting weights of a Flow / RGBDiff network built from an RGB run, for ``init_from``.

    The network of ``cfg`` (its modality, clip length and backbone; classes as many as the RGB
    checkpoint's) is built with ``rgb_weights=rgb_checkpoint``: every backbone tensor is copied from
    the RGB network and the first convolution ``(O, 3, kh, kw)`` becomes ``(O, C, kh, kw)``,
    ``C = 2 * clip_len`` (Flow) or ``3 * clip_len`` (RGBDiff).

    * ``first_conv="inflate"``: TSN's cross-modality initialisation, the RGB filters averaged over
      the colour channels and replicated (:func:`tsnlib.models.inflate_conv_weight`); the same as
      training with ``model.rgb_weights`` set.
    * ``first_conv="random"``: that convolution gets PyTorch's default random initialisation, the rest
      is still copied: what MMAction2 does for ``in_channels=10`` (it copies only the tensors whose
      shapes match; mmaction2 issue #565).

    The classifier is new (``Normal(0, model.fc_init_std)``). Initialisation is seeded with ``seed``
    (default ``train.seed``). Saves ``{"model": state_dict, "init": first_conv, "rgb_checkpoint": path}``
    with :func:`tsnlib.checkpoints.save_checkpoint` and returns ``path``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    import copy


    if first_conv not in ("inflate", "random"):
        raise ValueError(f"first_conv must be 'inflate' or 'random', got {first_conv!r}")
    if cfg["data"]["modality"] == "RGB":
        raise ValueError("save_stream_init starts a Flow or RGBDiff network; this config's modality is RGB")
    rgb = load_checkpoint(rgb_checkpoint)
    state = model_state(rgb)
    names = rgb.get("class_names")
    num_classes = len(names) if names else int(state["fc.weight"].shape[0])
    c = copy.deepcopy(dict(cfg))
    c["model"] = dict(c["model"], pretrained=None, rgb_weights=None)
    seed_everything(int(cfg["train"]["seed"] if seed is None else seed))
    model = build_model_from_config(c, num_classes, pretrained=False)
    init_from_rgb(model, state)
    if first_conv == "random":
        model.first_conv.reset_parameters()
    out = {"model": {k: v.detach().clone() for k, v in model.state_dict().items()}, "init": first_conv,
           "rgb_checkpoint": str(rgb_checkpoint)}
    return save_checkpoint(out, path)


# ``test_or_reuse`` is not a test: keep pytest from collecting it where a test module imports it.
test_or_reuse.__test__ = False
