"""The ``tsnlib train``, ``tsnlib test`` and ``tsnlib predict`` command lines: arguments and what each prints.

Used by :mod:`tsnlib.cli`.
Each command parses its arguments, builds a config (:func:`tsnlib.config.load_config`, with
``key=value`` overrides) and calls the library: :func:`tsnlib.training.train`,
:func:`tsnlib.experiment.test_checkpoint`, :func:`tsnlib.inference.predict_video`. :mod:`tsnlib.cli`
dispatches to the ``add_<name>_arguments`` / ``cli_<name>`` pairs here. ::

    tsnlib train CONFIG [key=value ...] [--work-dir D] [--resume [CKPT] | --overwrite] [--init-from CKPT]
                 [--device cpu] [--seed S]
    tsnlib test CONFIG CHECKPOINT [key=value ...] [--out SCORES.npz] [--clips 25] [--crops 1|3|10]
    tsnlib predict VIDEO --checkpoint CKPT [--topk 5] [--out OUT.mp4|OUT.gif] [--cam-method M] [--target-layer NAME]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tsnlib.config import load_config
from tsnlib.errors import DecodeError, UsageError
from tsnlib.evaluation import evaluate_scores, format_map, mean_average_precision
from tsnlib.experiment import load_model_from_checkpoint, test_checkpoint, test_protocol
from tsnlib.inference import predict_video
from tsnlib.training import train
from tsnlib.utils import get_device
from tsnlib.visualization import CAM_METHODS, write_prediction_video

__all__ = [
    "add_train_arguments",
    "cli_train",
    "add_test_arguments",
    "cli_test",
    "add_predict_arguments",
    "cli_predict",
]


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
    bad = [v for v in values if "=" not in v]
    if bad:
        raise UsageError(f"expected key=value overrides after the config, got {bad} "
                         "(e.g. optim.lr=0.01 data.num_segments=5)")
    return list(values)


def _at_least_1(option: str, value: int | None) -> None:
    """Raise :class:`tsnlib.errors.UsageError` unless ``value`` is None (not given) or >= 1."""
    if value is not None and value < 1:
        raise UsageError(f"{option} must be a whole number >= 1, got {value}")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib train``.

    Used by :mod:`tsnlib.cli`.
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

    Used by :mod:`tsnlib.cli`.
    """
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

    Used by :mod:`tsnlib.cli`.
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


def cli_test(args: argparse.Namespace) -> int:
    """``tsnlib test``: the full test protocol on the test subset; prints named metrics, saves scores.

    A multi-label run (``model.multi_label``) prints the mAP and the classes left out of it
    (:func:`tsnlib.evaluation.mean_average_precision`) instead of the accuracies.

    Used by :mod:`tsnlib.cli`.
    """
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


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib predict``.

    Used by :mod:`tsnlib.cli`.
    """
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

    Used by :mod:`tsnlib.cli`. With ``--out OUT.mp4|OUT.gif`` it also writes the
    video with the printed top-k labels and, over every frame, the Grad-CAM heatmap of the top
    class (:func:`tsnlib.visualization.write_prediction_video`; notebooks/06_model_visualization.ipynb).
    """
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
    pairs = predict_video(model, args.video, transform, sampler, names, device=device, topk=topk, backend=backend)
    print(f"{args.video}: top-{topk} of {len(names)} classes ({sampler.num_clips} snippets x "
          f"{args.crops or cfg['test']['num_crops']} crops)")
    for rank, (name, prob) in enumerate(pairs, start=1):
        print(f"  {rank}. {name:<30s} {prob:.4f}")
    if out:
        t = cfg["test"]
        info = write_prediction_video(model, args.video, out, names, predictions=pairs, num_snippets=sampler.num_clips,
                                      method=getattr(args, "cam_method", "gradcam"),
                                      target_layer=getattr(args, "target_layer", None),
                                      input_size=int(t["input_size"]), scale_size=t["scale_size"], device=device,
                                      backend=backend)
        print(f"tsnlib: wrote {out} ({info['frames']} frames; {info['method']} heatmap of "
              f"'{names[info['target_class']]}' at {info['target_layer']}, from {len(info['display_indices'])} snippets)")
    return 0
