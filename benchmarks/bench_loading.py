"""How long one TSN sample takes to load: tsnlib against bare decord, a full decode, and frame folders.

Run:  .venv/bin/python benchmarks/bench_loading.py [--root R] [--videos N] [--repeats R] [--clock wall|cpu]

(about 40 s with the defaults; ``--clock cpu`` times the CPU this process uses instead of elapsed
time, a cross-check when other processes share the machine; the targets are defined on wall time).

Per video, single process, one decoding thread and one torch thread (what one DataLoader worker
does), for two samples:

* train: K = 3 snippets of 1 frame (``FrameSampler(3)``), MultiScaleCrop 224 + flip, uint8 views
  (``train_transform("RGB", 3, normalize=False)``: what :func:`tsnlib.experiment.build_datasets`
  gives the Trainer; the model normalises them on its device);
* test:  25 frames (``FrameSampler(25, mode="test")``), centre crop 224 (``test_transform("RGB", 25,
  normalize=False)``).

Cases (all on the SAME frame indices, the ones the dataset drew):

* ``decord get_batch (bare)``: ``decord.VideoReader(path, num_threads=1).get_batch(indices)`` — the
  floor any decord-based loader pays: open + seek + decode, no checks, no augmentation;
* ``tsnlib video, decode only``: :func:`tsnlib.decoding.open_video` + ``get_frames`` (decord backend);
* ``tsnlib TSNDataset video, no aug``: ``dataset[i]`` without a transform (sampling + exact decode);
* ``tsnlib TSNDataset video``: ``dataset[i]``: open, sample, exact decode, augmentation, uint8 tensor out;
* ``tsnlib TSNDataset video, float``: the same with ``normalize=True``, the float32 network input
  made in the worker (the pipeline before the normalisation moved to the model's device);
* ``tsnlib TSNDataset video (pyav)``: the same with the PyAV fallback (macOS/arm64);
* ``full decode (decord)`` / ``full decode (pyav)``: every frame of the video;
* ``tsnlib frames, read only``: :func:`tsnlib.frame_folders.read_rgb_frames` of the same indices;
* ``tsnlib TSNDataset frames, no aug``: ``dataset[i]`` from the frame folders without a transform;
* ``tsnlib TSNDataset frames``: ``dataset[i]`` from JPEG frame folders (extracted first).

Timings are interleaved (every case on a video before the next video, in a seeded random order
drawn anew each time, so that no case always runs behind the same neighbour), after one warm-up
pass; each figure is the mean over videos of the median over repetitions, in ms per
video. Targets (from the issue tracker), printed as PASS/MISS at the end:

1. tsnlib's training sample (``TSNDataset`` over the videos, augmentation included) within 1.3x of
   bare decord on the same indices (aim: 1.15x);
2. frame folders at least 5x faster than video for K = 3: ``TSNDataset`` over the frame folders
   against ``TSNDataset`` over the videos, same indices, augmentation included in both.

Each target line also gives a 90 % bootstrap interval of the ratio (videos resampled), and a note
with the 1-minute load average when it is above 1.5: other processes sharing the CPUs inflate and
scatter every figure, the video ones most (decord hands frames over from a decoding thread of its
own), so a loaded machine makes both targets look easier than they are.

The normalisation the model then does on its device is timed apart and printed (on a CPU-only
machine that is the main process, per training sample).

Reading the results: on these 336x224 JPEGs (quality 95) decoding one frame takes ~0.22 ms in a
tight loop and ~0.33 ms here, interleaved with video decoding that evicts the CPU caches
(libjpeg-turbo through ``cv2.imread``; Pillow and ``torchvision.io.decode_jpeg`` give the same
pixels, no faster). The training augmentation (crop and resize to 224, flip, de-interleave to a
0.45 MB uint8 tensor) costs ~0.3-0.5 ms in a tight loop but ~0.8-1.1 ms here, and it is paid by
the video and the frame-folder samples alike, which caps target 2 at
``(video + aug) / (frames + aug)``: with these short GOP-12 videos, 3 frames decode in ~5.5 ms and
3 JPEGs in ~1.1 ms, so even a free augmentation would leave the ratio under 5x.

Introduced for notebooks/02_segment_sampling.ipynb (data loading cost).
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
import torch

from tsnlib import transforms as T
from tsnlib.datasets import TSNDataset
from tsnlib.decoding import available_backends, decode_all, open_video
from tsnlib.frame_folders import extract_dataset_frames, read_rgb_frames
from tsnlib.sampling import FrameSampler
from tsnlib.utils import synthetic_root


def find_videos(root: Path, limit: int) -> list[Path]:
    videos = sorted(root.glob("UCF-101/*/*.avi")) or sorted(root.rglob("*.avi"))
    if limit:
        # spread over classes: every len/limit-th video
        step = max(1, len(videos) // limit)
        videos = videos[::step][:limit]
    return videos


def make_records(videos: list[Path]):
    from tsnlib.annotations import VideoRecord

    return [VideoRecord(path=p, label=0, num_frames=None, video_id=p.stem, source=None, num_flow_frames=None)
            for p in videos]


#: ``--clock``: wall-clock time, or the CPU time of this process (user + system, all its threads).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(fn, clock=time.perf_counter) -> float:
    t0 = clock()
    fn()
    return (clock() - t0) * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="synthetic (or UCF101-layout) root; default tsnlib.utils.synthetic_root()")
    parser.add_argument("--videos", type=int, default=12, help="number of videos (default 12)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions after one warm-up (default 5)")
    parser.add_argument("--frames-root", type=Path, default=None, help="where to extract frame folders (default: a temporary folder, deleted)")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall (default): elapsed time; cpu: CPU time of this process, which leaves out the time "
                             "other processes take the CPU from it (a cross-check on a busy machine)")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    torch.set_num_threads(1)  # one DataLoader worker's view
    import cv2

    cv2.setNumThreads(1)
    root = args.root or synthetic_root()
    if args.root is None or not find_videos(root, 1):
        from tsnlib.synthetic import generate_dataset

        t0 = time.perf_counter()
        generate_dataset(root, progress=False)  # returns at once when it is already there
        print(f"synthetic dataset ready in {root} ({time.perf_counter() - t0:.1f} s)")
    videos = find_videos(root, args.videos)
    if not videos:
        print(f"no .avi videos under {root}", file=sys.stderr)
        return 2
    has_decord = available_backends()["decord"] is True
    records = make_records(videos)
    with open_video(videos[0]) as r:
        print(f"{len(videos)} videos from {root}: {r.width}x{r.height}, {r.num_frames} frames, {r.fps:g} fps, "
              f"backend {r.backend}; {args.repeats} repetitions after a warm-up; torch threads 1; {args.clock} clock")

    tmp = None
    frames_root = args.frames_root
    if frames_root is None:
        tmp = Path(tempfile.mkdtemp(prefix="tsn_bench_frames_"))
        frames_root = tmp
    t0 = time.perf_counter()
    frame_records = extract_dataset_frames(records, frames_root, workers=2, progress=False)
    print(f"frame folders: {len(frame_records)} in {frames_root} ({time.perf_counter() - t0:.1f} s, 2 workers)\n")

    setups = {  # the pipelines of tsnlib.experiment.build_datasets: uint8 views, normalised by the model
        "train": (FrameSampler(3), T.train_transform("RGB", 3, 1, 224, 256, normalize=False)),
        "test": (FrameSampler(25, mode="test"), T.test_transform("RGB", 25, 1, 224, 256, num_crops=1, normalize=False)),
    }
    float_train = T.train_transform("RGB", 3, 1, 224, 256)  # normalize=True: float32 made in the worker
    results: dict[tuple[str, str], list[list[float]]] = {}
    order_rng = random.Random(0)
    try:
        for block, (sampler, transform) in setups.items():
            ds_video = TSNDataset(records, sampler, transform, backend="auto", seed=0)
            ds_pyav = TSNDataset(records, sampler, transform, backend="pyav", seed=0)
            ds_frames = TSNDataset(frame_records, sampler, transform, source="frames", seed=0)
            indices = [ds_video[i]["frame_indices"].numpy().ravel() for i in range(len(records))]
            for i in range(len(records)):  # the frame folders hold the same frames: same draws
                assert np.array_equal(ds_frames[i]["frame_indices"].numpy().ravel(), indices[i])

            cases: dict[str, callable] = {}
            if has_decord:
                import decord

                def bare(i):
                    vr = decord.VideoReader(str(videos[i]), ctx=decord.cpu(0), num_threads=1)
                    return vr.get_batch(indices[i].tolist()).asnumpy()

                def tsn_decode(i):
                    with open_video(videos[i], backend="decord") as r:
                        return r.get_frames(indices[i])

                cases["decord get_batch (bare)"] = bare
                cases["tsnlib video, decode only"] = tsn_decode
            if block == "train":
                ds_raw = TSNDataset(records, sampler, None, backend="auto", seed=0)
                cases["tsnlib TSNDataset video, no aug"] = lambda i: ds_raw[i]
            cases["tsnlib TSNDataset video"] = lambda i: ds_video[i]
            if block == "train":
                ds_float = TSNDataset(records, sampler, float_train, backend="auto", seed=0)
                cases["tsnlib TSNDataset video, float"] = lambda i: ds_float[i]
            cases["tsnlib TSNDataset video (pyav)"] = lambda i: ds_pyav[i]
            if block == "train":
                if has_decord:
                    def full_decord(i):
                        vr = decord.VideoReader(str(videos[i]), ctx=decord.cpu(0), num_threads=1)
                        return vr.get_batch(list(range(len(vr)))).asnumpy()

                    cases["full decode (decord)"] = full_decord
                cases["full decode (pyav)"] = lambda i: decode_all(videos[i])
            cases["tsnlib frames, read only"] = lambda i: read_rgb_frames(frame_records[i].path, indices[i])
            if block == "train":
                ds_raw_frames = TSNDataset(frame_records, sampler, None, source="frames", seed=0)
                cases["tsnlib TSNDataset frames, no aug"] = lambda i: ds_raw_frames[i]
            cases["tsnlib TSNDataset frames"] = lambda i: ds_frames[i]

            for name in cases:
                results[(block, name)] = [[] for _ in videos]
            names = list(cases)
            for rep in range(args.repeats + 1):
                for i in range(len(videos)):
                    # a fresh (seeded) random order each time: a rotation would keep every case behind the
                    # same neighbour, and what runs just before a case changes its time (caches, decord's
                    # decoding thread); shuffling spreads those effects evenly over the cases
                    order = list(names)
                    order_rng.shuffle(order)
                    for name in order:
                        fn = cases[name]
                        ms = timed(lambda: fn(i), CLOCKS[args.clock])
                        if rep > 0:  # the first pass is the warm-up
                            results[(block, name)][i].append(ms)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    load_end = os.getloadavg()[0]
    # what the model then does on its device (here: this CPU, one thread) to one training sample's uint8 views
    sample = TSNDataset(records[:1], setups["train"][0], setups["train"][1], seed=0)[0]["imgs"]
    norm_ms = statistics.median(timed(lambda: T.normalize_views(sample, "RGB", 1)) for _ in range(50))
    print(f"{'sample':<6} {'case':<32} {'ms/video':>9} {'ratio vs bare decord':>21}")
    print("-" * 71)
    summary = {}
    for (block, name), per_video in results.items():
        summary[(block, name)] = float(np.mean([statistics.median(t) for t in per_video]))
    for (block, name), ms in summary.items():
        base = summary.get((block, "decord get_batch (bare)"))
        ratio = f"{ms / base:.2f}x" if base else "-"
        print(f"{block:<6} {name:<32} {ms:9.2f} {ratio:>21}")
    print()

    def spread(num: str, den: str) -> str:
        """A 90 % bootstrap interval of the ratio, resampling the videos (same estimator as the headline)."""
        a = np.array([statistics.median(t) for t in results[("train", num)]])
        b = np.array([statistics.median(t) for t in results[("train", den)]])
        picks = np.random.default_rng(0).integers(0, len(a), size=(2000, len(a)))
        lo, hi = np.percentile(a[picks].mean(1) / b[picks].mean(1), [5, 95])
        return f"90% interval over videos {lo:.2f}-{hi:.2f}"

    if max(load_start, load_end) > 1.5:  # this benchmark itself accounts for about 1
        print(f"note: 1-min load average {load_start:.1f} at start, {load_end:.1f} at end on {os.cpu_count()} CPUs "
              "(this run counts for about 1): other processes shared the machine. Expect noisy figures, and ratios "
              "that flatter tsnlib: decord decodes in a thread of its own, and waiting for it inflates the bare-decord "
              "and video times most")
    if has_decord:
        train_ratio = summary[("train", "tsnlib TSNDataset video")] / summary[("train", "decord get_batch (bare)")]
        print(f"target 1: tsnlib training sample / bare decord = {train_ratio:.2f}x "
              f"({spread('tsnlib TSNDataset video', 'decord get_batch (bare)')}; target <= 1.30, aim <= 1.15): "
              f"{'PASS' if train_ratio <= 1.3 else 'MISS'}")
    else:
        print("target 1: not measured (decord is not installed)")
    speedup = summary[("train", "tsnlib TSNDataset video")] / summary[("train", "tsnlib TSNDataset frames")]
    print(f"target 2: frame folders vs video, K=3 training sample = {speedup:.2f}x faster "
          f"({spread('tsnlib TSNDataset video', 'tsnlib TSNDataset frames')}; target >= 5x): "
          f"{'PASS' if speedup >= 5 else 'MISS'}")
    video_read = summary.get(("train", "tsnlib video, decode only"), summary[("train", "tsnlib TSNDataset video")])
    read_speedup = video_read / summary[("train", "tsnlib frames, read only")]
    aug = {src: summary[("train", f"tsnlib TSNDataset {src}")] - summary[("train", f"tsnlib TSNDataset {src}, no aug")]
           for src in ("video", "frames")}
    print(f"          reading the 3 frames alone (no augmentation): {read_speedup:.1f}x faster; the augmentation "
          f"adds {aug['video']:.2f} ms (video) and {aug['frames']:.2f} ms (frames)")
    bound = summary[("train", "tsnlib TSNDataset video, no aug")] / summary[("train", "tsnlib TSNDataset frames, no aug")]
    print(f"          ceiling of target 2 if the augmentation cost nothing: {bound:.2f}x (TSNDataset without a "
          f"transform, video / frames)")
    if has_decord:
        float_ratio = summary[("train", "tsnlib TSNDataset video, float")] / summary[("train", "decord get_batch (bare)")]
        print(f"normalisation: the model does it on its device, {norm_ms:.2f} ms per training sample on this CPU "
              f"({tuple(sample.shape)} uint8 -> float32, one thread); done in the worker instead (float) the "
              f"training sample is {float_ratio:.2f}x bare decord")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
