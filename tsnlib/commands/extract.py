"""``tsnlib frames`` and ``tsnlib flow``: the command lines of frame and flow extraction.

Argument parsing and what each command prints; the work is done by
:func:`tsnlib.frame_folders.extract_dataset_frames` (RGB frame folders) and
:mod:`tsnlib.flow.extraction` (frame folders with optical flow, list files), both through the one
resumable loop :func:`tsnlib.frame_folders.extract_videos`. Both commands take a dataset root or
list file (read with :mod:`tsnlib.annotations`) or a plain folder of videos (:func:`video_records`).
"""

from __future__ import annotations

from pathlib import Path

from tsnlib.annotations import (
    BENCHMARK_LAYOUTS,
    VIDEO_EXTENSIONS,
    available_subsets,
    build_lists,
    detect_layout,
    load_annotations,
)
from tsnlib.decoding import BACKENDS
from tsnlib.errors import DataError
from tsnlib.flow import DEFAULT_BOUND, FLOW_METHODS, extract_dataset_flow, prepare_flow_dataset, write_flow_lists
from tsnlib.frame_folders import as_record, extract_dataset_frames, extraction_settings, parse_size


def add_resize_arguments(parser) -> None:
    """``--short-side N`` and ``--size WxH``: the resize options ``tsnlib frames`` and ``tsnlib flow`` share."""
    parser.add_argument("--short-side", type=int, default=None,
                        help="resize so the short side is this many pixels, keeping the aspect ratio (256, or 320 "
                             "for the presets' 320p)")
    parser.add_argument("--size", nargs="+", metavar="WxH", default=None,
                        help="resize to a fixed W x H, e.g. 340x256 (the presets' 340x256; '340 256' also read)")


def video_records(source: Path, split: int, subset: str | None) -> list:
    """The videos ``tsnlib frames`` and ``tsnlib flow`` extract from ``source``, each once.

    What :func:`tsnlib.annotations.load_annotations` reads from ``source`` (every subset it has,
    :func:`tsnlib.annotations.available_subsets`: train, test and val where there is a val list,
    unless ``subset`` names one); when it reads nothing there, the videos of a plain folder,
    unlabelled (label -1), said in one printed line. A missing ``source``, or one that is neither,
    raises :class:`~tsnlib.errors.DataError`.
    """
    if not source.exists():
        raise DataError("path not found", path=source, hint="give a dataset folder, a list file or a folder of videos")
    try:
        records = []
        for s in [subset] if subset else available_subsets(source, split):
            records.extend(load_annotations(source, split=split, subset=s)[0])
    except (DataError, OSError) as exc:
        reason = str(exc)
    else:
        if records:
            unique: dict[Path, object] = {}
            for r in records:
                unique.setdefault(Path(r.path), r)
            return list(unique.values())
        reason = "its lists name no video"
    videos = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS) \
        if source.is_dir() else []
    if not videos:
        raise DataError(f"neither a dataset tsnlib.annotations can read ({reason}) nor a folder of videos", path=source)
    print(f"{source}: not an annotated dataset ({reason}); extracting its {len(videos)} videos without labels")
    return [as_record(p) for p in videos]


# ----------------------------------------------------------------------------------------------
# tsnlib frames
# ----------------------------------------------------------------------------------------------


def add_frames_arguments(parser) -> None:
    """Arguments of ``tsnlib frames SOURCE --out DIR [--short-side 256 | --size 340x256] [--workers N]``."""
    parser.add_argument("source", help="a dataset root or list file (read with tsnlib.annotations), or a folder of videos")
    parser.add_argument("--out", required=True, help="output root: <out>/<class>/<video_id>/img_00001.jpg ...")
    add_resize_arguments(parser)
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU core)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default: 95)")
    parser.add_argument("--split", type=int, default=1, help="split number for UCF101/HMDB51 roots (default: 1)")
    parser.add_argument("--subset", default=None, help="train, val or test (default: all the dataset has)")
    parser.add_argument("--no-resume", action="store_true", help="redo videos whose folders are already complete")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="video decoder: auto (PyAV's sequential decode, the reference), pyav or decord")


def cli_frames(args) -> int:
    """``tsnlib frames``: extract RGB frame folders; exit status 1 when some videos failed."""
    resize = extraction_settings(args.short_side, args.size)
    records = video_records(Path(args.source), args.split, args.subset)
    _, failures = extract_dataset_frames(
        records, Path(args.out), short_side=resize["short_side"], size=parse_size(resize["size"]),
        workers=args.workers, quality=args.quality, resume=not args.no_resume, return_failures=True,
        backend=args.backend,
    )
    return 1 if failures else 0


# ----------------------------------------------------------------------------------------------
# tsnlib flow
# ----------------------------------------------------------------------------------------------


def add_flow_arguments(parser) -> None:
    """Arguments of ``tsnlib flow ROOT_OR_LIST --out DIR [--method dis] [--workers N] ...``."""
    parser.add_argument("source", help="a dataset root or list file (read with tsnlib.annotations), or a folder of videos")
    parser.add_argument("--out", required=True, help="output root: one frame folder per video")
    parser.add_argument("--method", default="dis", choices=FLOW_METHODS, help="flow method (default: dis)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU core)")
    add_resize_arguments(parser)
    parser.add_argument("--warp", action="store_true",
                        help="warped flow (the camera's motion, fitted as a homography, removed; TSN's fourth "
                             "modality): write it to its own --out folder")
    parser.add_argument("--bound", type=float, default=DEFAULT_BOUND, help="quantisation bound in pixels (default: 20)")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="JPEG quality (default: 95)")
    parser.add_argument("--split", type=int, default=1, help="split number for UCF101/HMDB51 roots (default: 1)")
    parser.add_argument("--subset", default=None, help="train, val or test (default: all the dataset has)")
    parser.add_argument("--level", type=int, default=2, choices=(1, 2),
                        help="2: out/<class>/<video> (default, as tsnlib frames), 1: out/<video>")
    parser.add_argument("--no-resume", action="store_true", help="redo videos whose folders are already complete")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="video decoder: auto (PyAV's sequential decode, the reference), pyav or decord")


def cli_flow(args) -> int:
    """``tsnlib flow``: extract frame folders, then write the list files into ``--out``.

    For a UCF101/HMDB51 root with ``--level 2`` and no ``--subset``: :func:`tsnlib.flow.prepare_flow_dataset`
    (every subset of split ``--split``, val included where the root has a val list, the settings
    stamp ``flow.json``, and the official lists
    ``<dataset>_<subset>_split_<n>_rawframes.txt`` with RGB counts, ``..._flow.txt`` with flow
    counts, and ``classInd.txt``, by :func:`tsnlib.annotations.build_lists`); for a benchmark root
    (Kinetics, ActivityNet, ...; ``--level 2``, no ``--subset``), every video of every subset, then
    its official lists by :func:`tsnlib.annotations.build_lists` (ActivityNet at clip level, HVU's
    action tags: ``tsnlib lists --kind frames`` writes the others); otherwise ``rgb_list.txt`` and
    ``flow_list.txt`` (:func:`tsnlib.flow.write_flow_lists`), when every video has a label.
    ``--warp`` is a method option (it goes into the settings stamp).
    Returns 1 when a video failed (the others are done and listed), else 0.
    """
    resize = extraction_settings(args.short_side, args.size)
    short_side, size = resize["short_side"], parse_size(resize["size"])
    warp = {"warp": True} if args.warp else {}
    source = Path(args.source)
    out = Path(args.out)
    try:
        layout = detect_layout(source)
    except Exception:  # noqa: BLE001 - a plain folder of videos has no layout
        layout = None
    if layout in ("ucf101", "hmdb51") and args.level == 2 and args.subset is None:
        # the whole split, with the stamp that protects the folder from mixed settings
        try:
            info = prepare_flow_dataset(
                source, out, split=args.split, method=args.method, short_side=short_side,
                size=size, bound=args.bound, jpeg_quality=args.jpeg_quality,
                workers=args.workers, overwrite=args.no_resume, backend=args.backend, **warp)
        except DataError as exc:
            print(f"error: {exc}")
            return 1
        for p in info["lists"]:
            print(f"wrote {p}")
        return 0
    records = video_records(source, args.split, args.subset)
    frame_records, failures = extract_dataset_flow(
        records, out, method=args.method, workers=args.workers, bound=args.bound,
        short_side=short_side, size=size, jpeg_quality=args.jpeg_quality, resume=not args.no_resume,
        level=args.level, backend=args.backend, **warp,
    )
    if failures:
        print("no list files written: some videos failed (fix or remove them, then run again: done videos are kept)")
        return 1
    if layout in BENCHMARK_LAYOUTS and args.level == 2 and args.subset is None:
        for p in build_lists(source, out, kind="frames", dataset=layout, frames_root=out):
            print(f"wrote {p}")
        return 0
    if frame_records and all(r.label >= 0 for r in frame_records):
        rgb, flow = write_flow_lists(frame_records, out / "rgb_list.txt", out / "flow_list.txt", root=out)
        print(f"wrote {rgb} (RGB counts) and {flow} (flow counts), {len(frame_records)} lines each, paths relative to {out}")
    elif frame_records:
        print("no list files written: the videos have no labels (give a dataset root, list file or class folders)")
    return 0
