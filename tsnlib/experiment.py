"""From a config to data, loaders, a model, and a tested checkpoint: the builders under the training loop.

Introduced in notebooks/03_train_rgb.ipynb (training from a preset) and
notebooks/05_two_stream_fusion.ipynb (test protocol, score files).

* :func:`build_datasets` — annotations (:mod:`tsnlib.annotations`), samplers
  (:mod:`tsnlib.sampling`), transforms (:mod:`tsnlib.transforms`) and
  :class:`tsnlib.datasets.TSNDataset` for the train, validation and test subsets;
* :func:`build_loaders` — DataLoaders with workers, pinned memory on CUDA, persistent workers,
  :func:`tsnlib.datasets.seed_worker`, and an :class:`tsnlib.distributed.EpochSampler` (sharded
  under DDP) so that data order and augmentation are functions of ``(seed, epoch, index)``;
* :func:`build_model_from_config` — the :class:`tsnlib.models.TSN` a config describes;
* :func:`load_model_from_checkpoint` — a trained model, its config and class names from one file;
* :func:`test_checkpoint` — the full test protocol (:func:`tsnlib.inference.predict_scores`) of a
  checkpoint on the config's test subset.

:func:`tsnlib.training.train` builds its run from these; the ``tsnlib train | test | predict``
command lines are in :mod:`tsnlib.commands.run`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.distributed as tdist
from torch.utils.data import DataLoader

from tsnlib.annotations import load_annotations
from tsnlib.checkpoints import load_checkpoint, model_state
from tsnlib.config import load_config
from tsnlib.datasets import TSNDataset, seed_worker
from tsnlib.distributed import DistInfo, EpochAwareDataset, EpochSampler
from tsnlib.errors import CheckpointError, ConfigError, DataError
from tsnlib.evaluation import ScoreSet
from tsnlib.inference import predict_scores
from tsnlib.models import build_model
from tsnlib.precision import use_channels_last
from tsnlib.sampling import FrameSampler
from tsnlib.transforms import test_transform, train_transform, val_transform
from tsnlib.utils import get_device

__all__ = [
    "load_subset",
    "test_protocol",
    "build_datasets",
    "build_loaders",
    "build_model_from_config",
    "load_model_from_checkpoint",
    "test_checkpoint",
]


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def _annotation_path(d: Mapping) -> Path:
    return Path(d["annotations"]) if d.get("annotations") else Path(d["root"])


def load_subset(cfg: Mapping, subset: str):
    """``(records, label_map)`` of one subset (``data.train_subset`` etc. name it) of the config's dataset.

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    d = cfg["data"]
    key = "data.annotations" if d.get("annotations") else "data.root"
    if not _annotation_path(d).exists():
        raise DataError(f"{key} not found", path=_annotation_path(d),
                        hint=f"set {key}=<folder> on the command line or in the config (presets read "
                             "${TSN_DATA}, default <repo>/data); tsnlib synth writes the synthetic dataset")
    list_kind = None
    if d["dataset"] in ("list", "folders") and d["source"] != "auto":
        # what the lists / class folders hold: videos, RGB frame folders or flow frame folders
        list_kind = "video" if d["source"] == "video" else ("flow" if d["modality"] == "Flow" else "frames")
    return load_annotations(_annotation_path(d), split=int(d["split"]), subset=subset, kind=d["dataset"],
                            list_kind=list_kind, activitynet_level=d["activitynet_level"],
                            hvu_category=d["hvu_category"])


def _sampler(cfg: Mapping, mode: str, num_segments: int | None = None, twice: bool = False):
    d = cfg["data"]
    return FrameSampler(int(num_segments or d["num_segments"]), clip_len=int(d["clip_len"]),
                        frame_interval=int(d["frame_interval"]), mode=mode, twice=twice,
                        dense=bool(d.get("dense_sampling")))


def test_protocol(cfg: Mapping, num_clips: int | None = None, num_crops: int | None = None):
    """``(sampler, transform)`` of the test protocol: ``test.num_clips`` snippets × ``test.num_crops`` views.

    Used by :func:`build_datasets` and ``tsnlib predict``. The transform returns uint8
    ``(num_crops * num_snippets, C', input_size, input_size)``, view-major, which the TSN model
    normalises on its device (``normalize=False``, see :func:`build_datasets`).
    """
    d, t = cfg["data"], cfg["test"]
    sampler = _sampler(cfg, "test", num_segments=num_clips or t["num_clips"], twice=bool(t["twice"]))
    transform = test_transform(d["modality"], sampler.num_clips, int(d["clip_len"]), input_size=int(t["input_size"]),
                               scale_size=t["scale_size"], num_crops=int(num_crops or t["num_crops"]), normalize=False)
    return sampler, transform


def build_datasets(cfg: Mapping, subsets: Sequence[str] = ("train", "val", "test")) -> dict:
    """The datasets a config describes: ``{"train", "val", "test", "label_map"}`` (only the ``subsets`` asked).

    Introduced in notebooks/03_train_rgb.ipynb.

    * train: ``FrameSampler(K, mode="train")`` (``dense=True`` with ``data.dense_sampling``) +
      :func:`tsnlib.transforms.train_transform` (``data.train_crop``, ``input_size``, ``scale_size``,
      ``crop_scales``, ``max_distort``, flip); items ``imgs`` ``(K, C', H, W)``;
    * val: segment centres + one centre crop (``data.val_input_size`` after short side
      ``data.val_scale_size``); items ``(K, C', H, W)``;
    * test: :func:`test_protocol` (``test.num_clips`` × ``test.num_crops``); items
      ``(num_crops * num_clips, C', H, W)``.

    The views are uint8 (the presets' ``normalize=False``; ``C' = 3 * clip_len`` RGB, ``2 * clip_len``
    Flow, ``3 * (clip_len + 1)`` RGBDiff raw frames): the :class:`~tsnlib.models.TSN` model normalises
    them on its device (:func:`tsnlib.transforms.normalize_views`), as MMAction2 1.x's data
    preprocessor does, so that the loader workers do no float work and move a quarter of the bytes.

    Every :class:`tsnlib.datasets.TSNDataset` gets ``seed=train.seed`` so that a sample is a pure
    function of ``(seed, epoch, index)``. The label maps of the subsets must agree. With
    ``model.multi_label`` the items also carry their multi-hot ``target`` ``(num_classes,)``
    (``num_classes`` = the label map's size), and a list without multi-label classes is refused.
    """
    d = cfg["data"]
    seed = int(cfg["train"]["seed"])
    common = dict(modality=d["modality"], source=d["source"], start_index=d["start_index"], backend=d["backend"],
                  skip_bad=bool(d["skip_bad"]), seed=seed)
    out: dict = {}
    label_map = None
    for name in subsets:
        if name not in ("train", "val", "test"):
            raise ValueError(f"subsets are train, val, test; got {name!r}")
        records, lm = load_subset(cfg, d[f"{name}_subset"])
        if label_map is None:
            label_map = lm
        elif list(lm.names) != list(label_map.names):
            raise DataError(f"the {name} subset ({d[f'{name}_subset']}) has other class names than the others: "
                            f"{list(lm.names)[:5]}... vs {list(label_map.names)[:5]}...",
                            path=_annotation_path(d), hint="every subset of a dataset needs the same classes")
        if name == "train":
            sampler = _sampler(cfg, "train")
            transform = train_transform(d["modality"], sampler.num_clips, int(d["clip_len"]), input_size=int(d["input_size"]),
                                        scale_size=d["scale_size"], crop=d["train_crop"],
                                        num_fixed_crops=int(d["num_fixed_crops"]), flip=bool(d["flip"]), normalize=False,
                                        scales=d.get("crop_scales") or None, max_distort=int(d.get("max_distort", 1)))
        elif name == "val":
            sampler = _sampler(cfg, "val")
            transform = val_transform(d["modality"], sampler.num_clips, int(d["clip_len"]),
                                      input_size=int(d["val_input_size"]), scale_size=d["val_scale_size"], normalize=False)
        else:
            sampler, transform = test_protocol(cfg)
        out[name] = TSNDataset(records, sampler, transform, multi_label=bool(cfg["model"]["multi_label"]),
                               num_classes=len(label_map), **common)
    out["label_map"] = label_map
    return out


def build_loaders(cfg: Mapping, datasets: Mapping, distributed: bool = False, dist=None) -> dict:
    """DataLoaders for the datasets of :func:`build_datasets`: ``{"train", "val", "test"}`` (those present).

    Used by :func:`tsnlib.training.train` and :func:`test_checkpoint`.

    * train: :class:`tsnlib.distributed.EpochSampler` (shuffled from ``(seed, epoch)``; sharded over
      processes when ``distributed`` — a ``DistributedSampler``) over an
      :class:`~tsnlib.distributed.EpochAwareDataset`, ``train.batch_size`` videos per process;
    * val / test: in order, ``train.batch_size`` / ``test.batch_size`` videos; under DDP only
      rank 0 gets a validation loader (it validates alone).

    All: ``train.workers`` / ``test.workers`` processes with ``seed_worker``, persistent workers
    when there are workers, pinned memory when CUDA is available, and a DataLoader generator of
    their own (so iterating never draws from the global RNG).
    """
    t = cfg["train"]
    seed = int(t["seed"])
    if dist is None:
        dist = DistInfo()
        if distributed:
            dist = DistInfo(rank=tdist.get_rank(), world_size=tdist.get_world_size())
    pin = torch.cuda.is_available()

    def kwargs(workers: int) -> dict:
        workers = int(workers)
        kw = dict(num_workers=workers, pin_memory=pin, worker_init_fn=seed_worker if workers > 0 else None,
                  persistent_workers=workers > 0, generator=torch.Generator().manual_seed(seed))
        if workers > 0:
            kw["prefetch_factor"] = 4
        return kw

    loaders: dict = {}
    if datasets.get("train") is not None:
        ds = datasets["train"]
        sampler = EpochSampler(len(ds), num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=seed)
        loaders["train"] = DataLoader(EpochAwareDataset(ds), batch_size=int(t["batch_size"]), sampler=sampler,
                                      drop_last=bool(t["drop_last"]), **kwargs(t["workers"]))
    if datasets.get("val") is not None and dist.is_main:
        loaders["val"] = DataLoader(datasets["val"], batch_size=int(t["batch_size"]), shuffle=False,
                                    **kwargs(t["workers"]))
    if datasets.get("test") is not None:
        loaders["test"] = DataLoader(datasets["test"], batch_size=int(cfg["test"]["batch_size"]), shuffle=False,
                                     **kwargs(cfg["test"]["workers"]))
    return loaders


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------


def build_model_from_config(cfg: Mapping, num_classes: int, pretrained: bool = True):
    """The :class:`tsnlib.models.TSN` of a config (``model`` section; modality, clip length, K from ``data``).

    Introduced in notebooks/04_optical_flow_stream.ipynb (the flow network before its cross-modality
    initialisation); :func:`tsnlib.training.train` builds its model with it. ``pretrained=False``
    ignores ``model.pretrained`` and ``model.rgb_weights`` (random init): use it when weights come
    from a checkpoint next, so that nothing is read or downloaded for nothing. A backbone that takes one view size only
    (Swin: 224) refuses a config whose ``data.input_size``, ``data.val_input_size`` or
    ``test.input_size`` differs, with a :class:`~tsnlib.errors.ConfigError`, before any data is read.
    """
    m, d = cfg["model"], cfg["data"]
    model = build_model({
        "num_classes": int(num_classes),
        "backbone": m["backbone"],
        "modality": d["modality"],
        "num_segments": int(d["num_segments"]),
        "clip_len": int(d["clip_len"]),
        "consensus": m["consensus"],
        "dropout": float(m["dropout"]),
        "partial_bn": bool(m["partial_bn"]),
        "pretrained": m["pretrained"] if pretrained else None,
        "fc_init_std": float(m["fc_init_std"]),
        "rgb_weights": m["rgb_weights"] if pretrained else None,
        "multi_label": bool(m["multi_label"]),
    })
    if model.fixed_input_size is not None:
        sizes = {"data.input_size": d["input_size"], "data.val_input_size": d["val_input_size"],
                 "test.input_size": cfg["test"]["input_size"]}
        wrong = {k: v for k, v in sizes.items() if (int(v), int(v)) != model.fixed_input_size}
        if wrong:
            side = model.fixed_input_size[0]
            raise ConfigError(f"model.backbone={m['backbone']} takes {side} x {side} views only, but "
                              + ", ".join(f"{k}={v}" for k, v in wrong.items())
                              + f": set {' '.join(f'{k}={side}' for k in wrong)}")
    return model


def load_model_from_checkpoint(path: str | os.PathLike, cfg: Mapping | None = None, device=None):
    """``(model, cfg, class_names)`` from a tsnlib checkpoint (read with ``weights_only=True``).

    Introduced in notebooks/06_model_visualization.ipynb; ``tsnlib test`` and
    ``tsnlib predict`` load their model with it. The model is rebuilt from ``cfg`` (default: the
    config stored in the checkpoint) without pretrained weights, loaded strictly, put in eval
    mode on ``device`` (CPU and CUDA: channels-last weights, faster there). Class names come from
    the checkpoint.
    """
    ckpt = load_checkpoint(path)
    if cfg is None:
        if not isinstance(ckpt.get("config"), Mapping):
            raise CheckpointError(f"'{path}' stores no config: pass one (tsnlib test CONFIG CHECKPOINT)")
        cfg = load_config(ckpt["config"], expand=False)
    names = ckpt.get("class_names")
    state = model_state(ckpt)
    num_classes = int(state["fc.weight"].shape[0]) if "fc.weight" in state else len(names or [])
    if names is not None and len(names) != num_classes:
        raise CheckpointError(f"'{path}': {len(names)} class names but a classifier of {num_classes} classes")
    model = build_model_from_config(cfg, num_classes, pretrained=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise CheckpointError(f"'{path}' does not match the model of the config ({cfg['model']['backbone']}, "
                              f"{cfg['data']['modality']}): missing {missing[:6]}, unexpected {unexpected[:6]}")
    if device is not None:
        device = torch.device(device)
        model = model.to(device)
        if use_channels_last(device, None, inference=True):
            # channels-last weights: oneDNN / cuDNN pick their fastest convolutions (CPU, measured on
            # the synthetic preset's test protocol: fp32 x1.4, bf16 x1.4)
            model = model.to(memory_format=torch.channels_last)
    return model.eval(), cfg, (list(names) if names is not None else [str(i) for i in range(num_classes)])


# ---------------------------------------------------------------------------------------------
# testing a checkpoint
# ---------------------------------------------------------------------------------------------


def test_checkpoint(cfg: Mapping, checkpoint: str | os.PathLike, device=None, verbose: bool = True) -> ScoreSet:
    """Run the full test protocol of ``cfg["test"]`` on the test subset with a checkpoint.

    Returns a :class:`tsnlib.evaluation.ScoreSet` of scores ``(num_videos, num_classes)``,
    averaged over crops then snippets before any softmax, with video ids and class names.
    Introduced in notebooks/03_train_rgb.ipynb (what ``tsnlib test`` calls).
    """
    device = get_device(device, verbose=verbose) if not isinstance(device, torch.device) else device
    model, _, names = load_model_from_checkpoint(checkpoint, cfg=cfg, device=device)
    datasets = build_datasets(cfg, subsets=("test",))
    data_names = list(datasets["label_map"].names)
    if data_names != names:
        raise CheckpointError(f"the classes of checkpoint '{checkpoint}' ({len(names)}: {names[:4]}...) differ from "
                              f"the test set's ({len(data_names)}: {data_names[:4]}...): test it on the dataset it "
                              "was trained on")
    loader = build_loaders(cfg, {"test": datasets["test"]})["test"]
    t = cfg["test"]
    sampler = datasets["test"].sampler
    if verbose:
        print(f"tsnlib: testing {checkpoint} on {len(datasets['test'])} videos of {cfg['data']['dataset']} split "
              f"{cfg['data']['split']} ({cfg['data']['test_subset']}): {sampler.num_clips} snippets x "
              f"{t['num_crops']} crops ({t['input_size']} px) per video")
    meta = {"config": cfg["name"], "checkpoint": str(checkpoint), "modality": cfg["data"]["modality"],
            "dataset": cfg["data"]["dataset"], "split": cfg["data"]["split"], "subset": cfg["data"]["test_subset"]}
    return predict_scores(model, loader, num_clips=sampler.num_clips, num_views=int(t["num_crops"]), device=device,
                          max_views_per_forward=int(t["max_views_per_forward"]), amp=t["amp"], class_names=names,
                          meta=meta)


# ``test_*`` functions are not tests: keep pytest from collecting them where a test module imports them.
test_checkpoint.__test__ = False
test_protocol.__test__ = False
