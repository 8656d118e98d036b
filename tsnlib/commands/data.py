"""The data subcommands: ``tsnlib synth`` (the synthetic dataset) and ``tsnlib lists`` (MMAction2 list files).

Argument parsing and printing only; the work is :func:`tsnlib.synthetic.generate_dataset` and
:func:`tsnlib.annotations.build_lists`. Used by :mod:`tsnlib.cli`.
"""

from __future__ import annotations

import argparse
import time

from tsnlib.annotations import BENCHMARK_LAYOUTS, build_lists
from tsnlib.annotations.benchmarks import ACTIVITYNET_LEVELS, HVU_CHOICES
from tsnlib.synthetic import CODECS, LAYOUTS, SIZES, generate_dataset, load_manifest

__all__ = ["add_synth_arguments", "cli_synth", "add_lists_arguments", "cli_lists"]


# ----------------------------------------------------------------------------------------------
# tsnlib synth
# ----------------------------------------------------------------------------------------------


def _share(text: str) -> float:
    """``--camera-share``: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share of the clips, from 0 to 1; got {text}")
    return value


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib synth [--root R] [--layout ucf101|hmdb51] [--size default|tiny] ...``."""
    parser.add_argument("--root", default=None, help="output folder (default: <data>/synthetic/<layout>)")
    parser.add_argument("--layout", default="ucf101", choices=LAYOUTS, help="folder and split-file layout")
    parser.add_argument("--size", default="default", choices=tuple(SIZES), help="default: 13x60 videos; tiny: 13x6")
    parser.add_argument("--videos-per-class", type=int, default=None, help="override the preset's count (>= 3)")
    parser.add_argument("--codec", default="xvid", choices=tuple(CODECS), help="xvid (.avi, like UCF101) or h264 (.mp4)")
    parser.add_argument("--seed", type=int, default=0, help="the dataset is deterministic from this seed")
    parser.add_argument("--camera-share", type=_share, default=0.0,
                        help="share of the clips filmed by a swaying hand-held camera, for warped flow (default 0: "
                             "none, the course's dataset; 0.25: one clip in four)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU core)")
    parser.add_argument("--force", action="store_true", help="regenerate even when the dataset is complete")


def cli_synth(args: argparse.Namespace) -> int:
    """Run ``tsnlib synth``: generate the dataset and print a one-line summary."""
    start = time.perf_counter()
    root = generate_dataset(args.root, layout=args.layout, size=args.size, videos_per_class=args.videos_per_class,
                            codec=args.codec, seed=args.seed, workers=args.workers, force=args.force,
                            camera_share=args.camera_share)
    m = load_manifest(root)
    nbytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"synthetic {m['layout']} dataset at {root}: {len(m['classes'])} classes, {m['num_videos']} videos, "
          f"{nbytes / 1e6:.1f} MB ({time.perf_counter() - start:.1f} s)")
    return 0


# ----------------------------------------------------------------------------------------------
# tsnlib lists
# ----------------------------------------------------------------------------------------------


def add_lists_arguments(parser) -> None:
    """Arguments of ``tsnlib lists ROOT --out DIR [--kind video|frames] [--splits 1 2 3] [--frames-root DIR]``."""
    parser.add_argument("root", help="a UCF101 or HMDB51 root (videos and official split files), or a benchmark root "
                                     "with its official annotations (Kinetics, Something-Something, ActivityNet, ...)")
    parser.add_argument("--out", required=True, help="folder for classInd.txt and the *_split_N_*.txt lists")
    parser.add_argument("--kind", choices=("video", "frames"), default="video",
                        help="video: 'path label' lists; frames: 'frame_dir total_frames label' (+ flow lists)")
    parser.add_argument("--splits", type=int, nargs="+", default=[1, 2, 3],
                        help="splits to write (default: 1 2 3; benchmarks have one split)")
    parser.add_argument("--dataset", choices=("auto", "ucf101", "hmdb51") + BENCHMARK_LAYOUTS, default="auto")
    parser.add_argument("--frames-root", default=None, help="frame folders <dir>/<class>/<video_id> (default ROOT/rawframes)")
    parser.add_argument("--relative-to", default=None, help="write paths relative to this folder (default: --out)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="leave out the videos / frame folders that are not on disk (e.g. Kinetics clips gone "
                             "from YouTube) instead of listing them (videos) or stopping (frames)")
    parser.add_argument("--activitynet-level", choices=ACTIVITYNET_LEVELS, default="clip",
                        help="ActivityNet: a line per labelled segment (clip, with frame offsets) or per video")
    parser.add_argument("--hvu-category", choices=HVU_CHOICES, default="action",
                        help="HVU: the tag category whose labels the lists hold (one --out folder per category)")


def cli_lists(args) -> int:
    """``tsnlib lists``: write the list files and ``classInd.txt``; prints them.

    A data error (raised before any file is written) is printed as one line by :func:`tsnlib.cli.main`.
    """
    written = build_lists(args.root, args.out, kind=args.kind, splits=args.splits, dataset=args.dataset,
                          frames_root=args.frames_root, relative_to=args.relative_to,
                          skip_missing=getattr(args, "skip_missing", False),
                          activitynet_level=getattr(args, "activitynet_level", "clip"),
                          hvu_category=getattr(args, "hvu_category", "action"))
    for p in written:
        n = sum(1 for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
        print(f"{p}  ({n} lines)")
    return 0
