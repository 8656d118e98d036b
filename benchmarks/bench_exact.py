"""What exact frames cost: the per-file probe, the choice of decoder, and ``check-data --exact``.

Run:  .venv/bin/python benchmarks/bench_exact.py [--root R] [--videos N] [--rounds R]

(about a minute with the defaults on the synthetic set.) Single process, one decoding thread, as one
DataLoader worker. Every case runs on every video in each round, the cases of a video in a seeded random
order drawn anew each time (interleaved rounds, never one case after the other), after one warm-up round;
each figure is the mean over videos of the median over rounds, in ms per video, and each cost is printed as
a ratio against its baseline measured side by side.

Cases, on the dataset's videos (the course's MPEG-4 Part 2 AVIs, GOP 12, no B-frames: read by decord):

* ``sample, bare decord``: ``decord.VideoReader(...).get_batch`` of a 3-segment training draw, no checks:
  the baseline of the next two (the probe is also where the readers learn the header's frame count and
  size, so tsnlib has no reader without it any more: issue 13);
* ``sample, cold probe``: ``open_video`` + ``get_frames`` of the same draw when the file is opened for the
  first time in the process (:func:`tsnlib.decoding.probe_video` opens it with PyAV and decodes its first
  frame);
* ``sample, cached probe``: the same later on (the probe is cached per file: a worker's steady state);
* ``check-data``: :func:`tsnlib.checks.check_video` as ``tsnlib check-data`` runs it (first, last and three
  middle frames): the baseline of
* ``check-data --exact``: the same plus the sparse reads compared with a sequential decode.

And on copies of the first videos re-encoded with B-frames (``mpeg4``, ``bf=2``, as Xvid files of UCF101 and
HMDB51), the price of exactness where decord is wrong:

* ``B-frames, decord (wrong frames)``: bare ``decord.VideoReader(...).get_batch`` of the same draw, the baseline of
* ``B-frames, default (PyAV, exact)``: ``open_video`` + ``get_frames``, which the probe sends to PyAV.

Introduced for notebooks/01_data_preparation.ipynb (exact frames and their cost).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tsnlib import decoding as D
from tsnlib.checks import check_video
from tsnlib.sampling import sample_train_indices
from tsnlib.utils import synthetic_root


def find_videos(root: Path, limit: int) -> list[Path]:
    videos = sorted(root.glob("UCF-101/*/*.avi")) or sorted(root.rglob("*.avi"))
    step = max(1, len(videos) // max(1, limit))
    return videos[::step][:limit]


def reencode_with_b_frames(src: Path, dst: Path) -> Path:
    """``src``'s frames as MPEG-4 Part 2 with 2 B-frames between references (GOP 12), in an AVI."""
    import av

    frames = D.decode_all(src)
    with av.open(str(dst), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.gop_size = 12
        stream.options = {"sc_threshold": "1000000000", "bf": "2"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return dst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None,
                        help="synthetic (or UCF101-layout) root; default tsnlib.utils.synthetic_root()")
    parser.add_argument("--videos", type=int, default=30, help="videos timed (default 30)")
    parser.add_argument("--b-videos", type=int, default=10, help="of them, re-encoded with B-frames (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds after the warm-up (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    root = args.root or synthetic_root()
    if not find_videos(root, 1):
        from tsnlib.synthetic import generate_dataset

        generate_dataset(root, progress=False)
    videos = find_videos(root, args.videos)
    if not videos:
        print(f"no .avi videos under {root}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="tsn_bench_exact_"))
    try:
        b_videos = [reencode_with_b_frames(v, tmp / f"b{i}.avi") for i, v in enumerate(videos[: args.b_videos])]
        return run(videos, b_videos, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(videos: list[Path], b_videos: list[Path], args) -> int:
    import decord

    rng = np.random.default_rng(args.seed)
    draws = {}
    for v in videos + b_videos:
        with D.open_video(v) as r:
            draws[v] = [int(i) for i in sample_train_indices(r.num_frames, 3, rng=rng).ravel()]
    with D.open_video(videos[0]) as r:
        print(f"{len(videos)} videos from {videos[0].parents[2]}: {r.width}x{r.height}, {r.num_frames} frames, "
              f"codec {D.probe_video(videos[0]).codec}, backend {r.backend}; {len(b_videos)} re-encoded with B-frames; "
              f"{args.rounds} interleaved rounds after a warm-up")
    def sample(v, probe):
        if probe == "cold":
            D._PROBES.clear()
        with D.open_video(v) as reader:
            reader.get_frames(draws[v])

    def bare_decord(v):
        decord.VideoReader(str(v), ctx=decord.cpu(0), num_threads=1).get_batch(draws[v]).asnumpy()

    cases = {
        "sample, bare decord": (videos, bare_decord),
        "sample, cold probe": (videos, lambda v: sample(v, "cold")),
        "sample, cached probe": (videos, lambda v: sample(v, "warm")),
        "check-data": (videos, lambda v: check_video(v)),
        "check-data --exact": (videos, lambda v: check_video(v, exact=True)),
        "B-frames, decord (wrong frames)": (b_videos, bare_decord),
        "B-frames, default (PyAV, exact)": (b_videos, lambda v: sample(v, "warm")),
    }
    times: dict[str, dict[Path, list[float]]] = {c: {v: [] for v in vs} for c, (vs, _) in cases.items()}
    order = random.Random(args.seed)
    for rnd in range(args.rounds + 1):
        for v in dict.fromkeys(videos + b_videos):
            names = [c for c, (vs, _) in cases.items() if v in vs]
            order.shuffle(names)
            for c in names:
                t0 = time.perf_counter()
                cases[c][1](v)
                if rnd:  # round 0 is the warm-up
                    times[c][v].append((time.perf_counter() - t0) * 1e3)

    ms = {c: statistics.fmean(statistics.median(ts) for ts in per_video.values()) for c, per_video in times.items()}
    print(f"\n{'case':36s} {'ms/video':>9s}")
    for c, m in ms.items():
        print(f"{c:36s} {m:9.2f}")
    print("\nratios (side by side, same videos and rounds):")
    for what, num, den in [("first open of a file / bare decord", "sample, cold probe", "sample, bare decord"),
                           ("steady state / bare decord", "sample, cached probe", "sample, bare decord"),
                           ("check-data --exact / check-data", "check-data --exact", "check-data"),
                           ("exact B-frame reads (PyAV) / decord", "B-frames, default (PyAV, exact)",
                            "B-frames, decord (wrong frames)")]:
        print(f"  {what:38s} {ms[num] / ms[den]:6.2f}x   ({ms[num]:.2f} / {ms[den]:.2f} ms)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 1.5:
        print(f"note: 1-minute load average {load:.1f}: other processes share the CPUs, every figure is inflated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
