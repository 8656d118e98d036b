"""Benchmark: speed and accuracy of each available flow method on the synthetic videos.

For every method that can run here (``tsnlib.flow.available_flow_methods``), computes flow on
consecutive frame pairs of the synthetic videos, whose true motion is known, and prints frame
pairs per second (flow computation only, one process) and the mean end-point error against the
generator's truth, raw and after the bound-20 JPEG quantisation the temporal stream reads, over
the whole frame and on the actor alone (each with the error of assuming no motion).

    python benchmarks/bench_flow.py                       # tiny synthetic set in a temp folder
    python benchmarks/bench_flow.py --size default --videos 8 --pairs 30
    python benchmarks/bench_flow.py --root data/synthetic/ucf101   # an existing synthetic set

Introduced with notebooks/04_optical_flow_stream.ipynb.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path


def find_videos(root: Path) -> list[Path]:
    exts = {".avi", ".mp4", ".mkv", ".webm"}
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in exts and p.is_file())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="an existing synthetic dataset (default: generate one)")
    parser.add_argument("--size", default="tiny", choices=("tiny", "default"), help="synthetic set to generate")
    parser.add_argument("--videos", type=int, default=6, help="number of videos to score (spread over classes)")
    parser.add_argument("--pairs", type=int, default=20, help="frame pairs per video")
    parser.add_argument("--methods", nargs="+", default=None, help="methods (default: every available one)")
    parser.add_argument("--threads", type=int, default=None, help="cv2.setNumThreads (default: OpenCV's choice)")
    args = parser.parse_args(argv)

    import cv2

    from tsnlib.flow import available_flow_methods, format_flow_scores, score_flow_methods

    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            from tsnlib.synthetic import generate_dataset

            root = Path(tmp) / "synthetic"
            generate_dataset(root, size=args.size, seed=0, progress=False)
        videos = find_videos(root)
        if not videos:
            raise SystemExit(f"no videos under {root}")
        step = max(1, len(videos) // args.videos)
        chosen = videos[::step][: args.videos]
        methods = args.methods
        rows = score_flow_methods(chosen, methods=methods, max_pairs=args.pairs)
        unavailable = {m: s for m, s in available_flow_methods().items() if s is not True and m not in (methods or [])}

    print(f"flow benchmark: {len(chosen)} videos x up to {args.pairs} pairs from {root if args.root else args.size + ' synthetic set'}; "
          f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} OpenCV threads, {platform.processor() or platform.machine()}")
    print(format_flow_scores(rows))
    for m, reason in unavailable.items():
        print(f"  {m}: not run ({reason[:120]}...)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
