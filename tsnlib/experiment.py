"""From a config to data, model and the ``tsnlib train | test | predict`` commands.

Introduced in notebooks/03_train_rgb.ipynb (training from a preset) and
notebooks/05_two_stream_fusion.ipynb (test protocol, score files).

* :func:`build_datasets` — annotations (:mod:`tsnlib.annotations`), samplers
  (:mod:`tsnlib.sampling`), transforms (:mod:`tsnlib.transforms`) and
  :class:`tsnlib.datasets.TSNDataset` for the train, validation and test subsets;
* :func:`build_loaders` — DataLoaders with workers, pinned memory on CUDA, persistent workers,
  :func:`tsnlib.datasets.seed_worker`, and an :class:`tsnlib.training.EpochSampler` (sharded
  under DDP) so that data order and augmentation are functions of ``(seed, epoch, index)``;
* :func:`build_model_from_config` — the :class:`tsnlib.models.TSN` a config describes;
* :func:`load_model_from_checkpoint` — a trained model, its config and class names from one file;
* the command-line functions ``add_*_arguments`` / ``cli_*`` dispatched by :mod:`tsnlib.cli`.

Command lines::

    tsnlib train CONFIG [key=value ...] [--work-dir D] [--resume [CKPT] | --overwrite] [--init-from CKPT]
                 [--device cpu] [--seed S]
    tsnlib test CONFIG CHECKPOINT [key=value ...] [--out SCORES.npz] [--clips 25] [--crops 1|3|10]
    tsnlib predict VIDEO --checkpoint CKPT [--topk 5] [--out OUT.mp4|OUT.gif] [--cam-method M] [--target-layer NAME]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

__all__ = [
    "build_datasets",
    "build_loaders",
    "build_model_from_config",
    "load_model_from_checkpoint",
    "test_protocol",
    "add_train_arguments",
    "cli_train",
    "add_test_arguments",
    "cli_test",
    "add_predict_arguments",
    "cli_predict",
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
    from tsnlib.annotations import load_annotations

    from tsnlib.errors import DataError

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
    from tsnlib.sampling import FrameSampler

    d = cfg["data"]
    return FrameSampler(int(num_segments or d["num_segments"]), clip_len=int(d["clip_len"]),
                        frame_interval=int(d["frame_interval"]), mode=mode, twice=twice,
                        dense=bool(d.get("dense_sampling")))


def test_protocol(cfg: Mapping, num_clips: int | None = None, num_crops: int | None = None):
    """``(sampler, transform)`` of the test protocol: ``test.num_clips`` snippets × ``test.num_crops`` views.

    Introduced in notebooks/05_two_stream_fusion.ipynb. The transform returns uint8
    ``(num_crops * num_snippets, C', input_size, input_size)``, view-major, which the TSN model
    normalises on its device (``normalize=False``, see :func:`build_datasets`).
    """
    from tsnlib.transforms import test_transform

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
    from tsnlib.datasets import TSNDataset
    from tsnlib.errors import DataError
    from tsnlib.transforms import train_transform, val_transform

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

    Introduced in notebooks/03_train_rgb.ipynb.

    * train: :class:`tsnlib.training.EpochSampler` (shuffled from ``(seed, epoch)``; sharded over
      processes when ``distributed`` — a ``DistributedSampler``) over an
      :class:`~tsnlib.training.EpochAwareDataset`, ``train.batch_size`` videos per process;
    * val / test: in order, ``train.batch_size`` / ``test.batch_size`` videos; under DDP only
      rank 0 gets a validation loader (it validates alone).

    All: ``train.workers`` / ``test.workers`` processes with ``seed_worker``, persistent workers
    when there are workers, pinned memory when CUDA is available, and a DataLoader generator of
    their own (so iterating never draws from the global RNG).
    """
    from torch.utils.data import DataLoader

    from tsnlib.datasets import seed_worker
    from tsnlib.training import DistInfo, EpochAwareDataset, EpochSampler

    t = cfg["train"]
    seed = int(t["seed"])
    if dist is None:
        dist = DistInfo()
        if distributed:
            import torch.distributed as tdist

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

    Introduced in notebooks/03_train_rgb.ipynb. ``pretrained=False`` ignores ``model.pretrained``
    and ``model.rgb_weights`` (random init): use it when weights come from a checkpoint next,
    so that nothing is read or downloaded for nothing. A backbone that takes one view size only
    (Swin: 224) refuses a config whose ``data.input_size``, ``data.val_input_size`` or
    ``test.input_size`` differs, with a :class:`~tsnlib.errors.ConfigError`, before any data is read.
    """
    from tsnlib.errors import ConfigError
    from tsnlib.models import build_model

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

    Introduced in notebooks/03_train_rgb.ipynb. The model is rebuilt from ``cfg`` (default: the
    config stored in the checkpoint) without pretrained weights, loaded strictly, put in eval
    mode on ``device`` (CPU and CUDA: channels-last weights, faster there). Class names come from
    the checkpoint.
    """
    from tsnlib.config import load_config
    from tsnlib.training import CheckpointError, _model_state, load_checkpoint

    ckpt = load_checkpoint(path)
    if cfg is None:
        if not isinstance(ckpt.get("config"), Mapping):
            raise CheckpointError(f"'{path}' stores no config: pass one (tsnlib test CONFIG CHECKPOINT)")
        cfg = load_config(ckpt["config"], expand=False)
    names = ckpt.get("class_names")
    state = _model_state(ckpt)
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
        if device.type in ("cuda", "cpu"):
            # channels-last weights: oneDNN / cuDNN pick their fastest convolutions (CPU, measured on
            # the synthetic preset's test protocol: fp32 x1.4, bf16 x1.4)
            model = model.to(memory_format=torch.channels_last)
    return model.eval(), cfg, (list(names) if names is not None else [str(i) for i in range(num_classes)])


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------


def _allow_intermixed(parser: argparse.ArgumentParser) -> None:
    """Let ``key=value`` overrides come after options too (``CONFIG --work-dir D a=1``).

    argparse matches a ``nargs="*"`` positional once; ``parse_known_intermixed_args`` collects
    positionals around options. The subcommand's parser is called by the top-level one through
    ``parse_known_args``, so that is where the intermixed parsing is plugged in.
    """
    original = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):
        parser.parse_known_args = original  # the intermixed parser calls it twice itself
        try:
            return parser.parse_known_intermixed_args(args, namespace)
        finally:
            parser.parse_known_args = parse_known_args

    parser.parse_known_args = parse_known_args


def _overrides(values: Sequence[str]) -> list[str]:
    from tsnlib.errors import UsageError

    bad = [v for v in values if "=" not in v]
    if bad:
        raise UsageError(f"expected key=value overrides after the config, got {bad} "
                         "(e.g. optim.lr=0.01 data.num_segments=5)")
    return list(values)


def _at_least_1(option: str, value: int | None) -> None:
    """Raise :class:`tsnlib.errors.UsageError` unless ``value`` is None (not given) or >= 1."""
    from tsnlib.errors import UsageError

    if value is not None and value < 1:
        raise UsageError(f"{option} must be a whole number >= 1, got {value}")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib train``.

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    parser.add_argument("config", help="preset name (e.g. tsn_r8_synthetic_rgb) or YAML file")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. optim.lr=0.01")
    parser.add_argument("--work-dir", default=None, help="checkpoints, logs and config go here "
                        "(default: train.work_dir or <outputs>/runs/<name>)")
    parser.add_argument("--resume", nargs="?", const=True, default=None, metavar="CKPT",
                        help="continue exactly from CKPT (default: <work-dir>/last.pth)")
    parser.add_argument("--overwrite", action="store_true",
                        help="the work folder already holds a run: delete its files and train afresh (without "
                             "--resume or --overwrite such a folder is refused, so that two runs never mix)")
    parser.add_argument("--init-from", default=None, metavar="CKPT",
                        help="start from these weights (fine-tuning; a classifier of another size is dropped)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    parser.add_argument("--seed", type=int, default=None, help="shortcut for train.seed=S")
    _allow_intermixed(parser)


def cli_train(args: argparse.Namespace) -> int:
    """``tsnlib train``: load the config, train, print where the checkpoints are.

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    from tsnlib.config import load_config
    from tsnlib.training import train

    overrides = list(args.overrides)
    if isinstance(args.resume, str) and "=" in args.resume and not Path(args.resume).exists():
        overrides.insert(0, args.resume)  # `--resume key=value`: a bare --resume followed by an override
        args.resume = True
    overrides = _overrides(overrides)
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.work_dir:
        overrides.append(f"train.work_dir={args.work_dir}")
    cfg = load_config(args.config, overrides)
    trainer = train(cfg, work_dir=args.work_dir, device=args.device, resume=args.resume, init_from=args.init_from,
                    overwrite=bool(getattr(args, "overwrite", False)))
    if trainer.is_main:
        best = trainer.best_metric
        print(f"tsnlib: done; checkpoints in {trainer.work_dir} (last.pth"
              + (f", best.pth: {trainer.train_cfg['save_best']} {best:.4f} at epoch {trainer.best_epoch})" if best is not None else ")"))
    return 0


def add_test_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib test``.

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    parser.add_argument("config", help="preset name or YAML file (the data and test protocol)")
    parser.add_argument("checkpoint", help="a tsnlib checkpoint (last.pth / best.pth)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. data.split=2")
    parser.add_argument("--out", default=None, metavar="SCORES.npz",
                        help="score file for fusion (default: next to the checkpoint)")
    parser.add_argument("--clips", type=int, default=None, help="snippets per video (test.num_clips; paper: 25)")
    parser.add_argument("--crops", type=int, default=None, choices=(1, 3, 10), help="views per snippet (test.num_crops)")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--backend", default=None, choices=("auto", "decord", "pyav"),
                        help="video decoder (data.backend; default: the config's, auto)")
    _allow_intermixed(parser)


def test_checkpoint(cfg: Mapping, checkpoint: str | os.PathLike, device=None, verbose: bool = True):
    """Run the full test protocol of ``cfg["test"]`` on the test subset with a checkpoint.

    Returns a :class:`tsnlib.evaluation.ScoreSet` of scores ``(num_videos, num_classes)``,
    averaged over crops then snippets before any softmax, with video ids and class names.
    Introduced in notebooks/03_train_rgb.ipynb (what ``tsnlib test`` calls).
    """
    from tsnlib.evaluation import predict_scores
    from tsnlib.training import CheckpointError
    from tsnlib.utils import get_device

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


def cli_test(args: argparse.Namespace) -> int:
    """``tsnlib test``: the full test protocol on the test subset; prints named metrics, saves scores.

    A multi-label run (``model.multi_label``) prints the mAP and the classes left out of it
    (:func:`tsnlib.evaluation.mean_average_precision`) instead of the accuracies.

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    from tsnlib.config import load_config
    from tsnlib.evaluation import evaluate_scores, format_map, mean_average_precision
    from tsnlib.utils import get_device

    overrides = _overrides(args.overrides)
    _at_least_1("--clips", args.clips)
    if args.clips is not None:
        overrides.append(f"test.num_clips={args.clips}")
    if args.crops is not None:
        overrides.append(f"test.num_crops={args.crops}")
    if getattr(args, "backend", None) is not None:
        overrides.append(f"data.backend={args.backend}")
    cfg = load_config(args.config, overrides)
    scores = test_checkpoint(cfg, args.checkpoint, device=get_device(args.device))
    clips, crops = scores.meta.get("num_clips"), scores.meta.get("num_views")
    out = Path(args.out) if args.out else Path(args.checkpoint).with_name(f"scores_{cfg['name']}_{clips}x{crops}.npz")
    scores.save(out)
    print(f"test protocol ({clips} x {crops} views), {len(scores.labels)} videos:")
    if scores.multi_label:
        metrics = mean_average_precision(scores.scores, scores.targets, scores.class_names)
        print(f"  mean average precision  {metrics['mAP']:.4f}")
        print("  " + format_map(metrics, max_listed=len(metrics["class_names"])))
        print(f"tsnlib: scores saved to {out} (multi-hot targets included)")
        return 0
    metrics = evaluate_scores(scores.scores, scores.labels, scores.class_names)
    print(f"  top-1 accuracy       {metrics['top1']:.4f}")
    print(f"  top-5 accuracy       {metrics['top5']:.4f}")
    print(f"  mean class accuracy  {metrics['mean_class_accuracy']:.4f}")
    print(f"tsnlib: scores saved to {out} (fuse with: tsnlib fuse {out.name} <other stream>.npz)")
    return 0


# ``test_*`` functions are not tests: keep pytest from collecting them where a test module imports them.
test_checkpoint.__test__ = False
test_protocol.__test__ = False


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib predict``.

    Introduced in notebooks/03_train_rgb.ipynb; ``--out``, ``--cam-method`` and ``--target-layer``
    in notebooks/06_model_visualization.ipynb.
    """
    from tsnlib.visualization import CAM_METHODS

    parser.add_argument("video", help="any video file")
    parser.add_argument("--checkpoint", required=True, help="a tsnlib checkpoint (stores config and class names)")
    parser.add_argument("--topk", type=int, default=5, help="how many classes to print")
    parser.add_argument("--clips", type=int, default=None,
                        help="snippets (default: the config's test.num_clips); with --out also the snippets explained")
    parser.add_argument("--crops", type=int, default=None, choices=(1, 3, 10), help="views per snippet")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--backend", default="auto", choices=("auto", "decord", "pyav"),
                        help="video decoder (default: auto, decord where it is exact on the file, else PyAV)")
    parser.add_argument("--out", default=None, metavar="OUT.mp4|OUT.gif",
                        help="also write the video with the top-k labels and the Grad-CAM heatmap of the top class "
                             "(RGB checkpoints)")
    parser.add_argument("--cam-method", default="gradcam", choices=tuple(CAM_METHODS),
                        help="CAM method of the grad-cam package for --out (default: gradcam)")
    parser.add_argument("--target-layer", default=None, metavar="NAME",
                        help="layer the heatmap looks at, e.g. layer4.1 (default: the backbone's last convolutional "
                             "block)")


def cli_predict(args: argparse.Namespace) -> int:
    """``tsnlib predict``: the top-k classes (names and probabilities) of one video; needs no dataset.

    Introduced in notebooks/03_train_rgb.ipynb. With ``--out OUT.mp4|OUT.gif`` it also writes the
    video with the printed top-k labels and, over every frame, the Grad-CAM heatmap of the top
    class (:func:`tsnlib.visualization.write_prediction_video`; notebooks/06_model_visualization.ipynb).
    """
    from tsnlib.evaluation import predict_video
    from tsnlib.utils import get_device

    from tsnlib.errors import DecodeError

    out = getattr(args, "out", None)
    if out and Path(out).suffix.lower() not in (".mp4", ".gif"):
        raise SystemExit(f"tsnlib predict: --out writes .mp4 or .gif files, got '{out}'")
    _at_least_1("--clips", args.clips)
    _at_least_1("--topk", args.topk)
    if not Path(args.video).is_file():
        raise DecodeError("video file not found", path=args.video, hint="give the path of a video file")
    device = get_device(args.device)
    model, cfg, names = load_model_from_checkpoint(args.checkpoint, device=device)
    if out and cfg["data"]["modality"] == "Flow":
        raise SystemExit("tsnlib predict: --out draws heatmaps on RGB frames and needs an RGB (or RGBDiff) checkpoint")
    sampler, transform = test_protocol(cfg, num_clips=args.clips, num_crops=args.crops)
    topk = max(1, min(int(args.topk), len(names)))
    backend = getattr(args, "backend", "auto")
    result = predict_video(model, args.video, transform, sampler, names, device=device, topk=topk, backend=backend)
    print(f"{args.video}: top-{topk} of {len(names)} classes ({sampler.num_clips} snippets x "
          f"{args.crops or cfg['test']['num_crops']} crops)")
    pairs = _pairs(result)
    for rank, (name, prob) in enumerate(pairs, start=1):
        print(f"  {rank}. {name:<30s} {prob:.4f}")
    if out:
        from tsnlib.visualization import write_prediction_video

        t = cfg["test"]
        info = write_prediction_video(model, args.video, out, names, predictions=pairs, num_snippets=sampler.num_clips,
                                      method=getattr(args, "cam_method", "gradcam"),
                                      target_layer=getattr(args, "target_layer", None),
                                      input_size=int(t["input_size"]), scale_size=t["scale_size"], device=device,
                                      backend=backend)
        print(f"tsnlib: wrote {out} ({info['frames']} frames; {info['method']} heatmap of "
              f"'{names[info['target_class']]}' at {info['target_layer']}, from {len(info['display_indices'])} snippets)")
    return 0


def _pairs(result) -> list[tuple[str, float]]:
    """(class name, probability) pairs from what :func:`tsnlib.evaluation.predict_video` returns."""
    if isinstance(result, Mapping):
        for key in ("topk", "top", "predictions"):
            if key in result:
                return _pairs(result[key])
        if "names" in result and "probs" in result:
            return [(str(n), float(p)) for n, p in zip(result["names"], result["probs"])]
        return [(str(k), float(v)) for k, v in result.items()]
    out = []
    for item in result:
        if isinstance(item, Mapping):
            out.append((str(item.get("name", item.get("class_name"))), float(item.get("prob", item.get("score", 0.0)))))
        else:
            name, prob = item[0], item[1]
            out.append((str(name), float(prob)))
    return out
