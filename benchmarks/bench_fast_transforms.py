"""Does each fast path of tsnlib.fast_transforms pay end to end? The course presets with and without it.

    python benchmarks/bench_fast_transforms.py [--configs tsn_r8_synthetic_rgb tsn_r8_synthetic_flow] [--rounds 8]

(about 3 minutes with the defaults). Needs the course's frame folders (RGB and flow, short side 54)::

    tsnlib synth && tsnlib flow ${TSN_DATA}/synthetic/ucf101 --out ${TSN_DATA}/synthetic/ucf101/rawframes --short-side 54

For each preset, two jobs as the course runs them, in one process with one thread and no loader workers:

* **train**: one epoch of :class:`tsnlib.training.Trainer` over ``--train-videos`` training videos
  (read the frames, augment, normalise on the model's device, forward, backward, SGD step);
* **test**: :func:`tsnlib.evaluation.predict_scores` with the preset's test protocol (25 snippets x
  ``test.num_crops`` views) over ``--test-videos`` test videos.

and three variants: ``fast`` (what tsnlib runs), ``plain`` (``fast_transforms.ENABLED = False``: the
plain path of :mod:`tsnlib.transforms` everywhere) and one per fast path with only that path off
(``-resize``, ``-normalize``). The variants are interleaved (a fresh random order each round, after
one warm-up round) and each is timed in CPU seconds of this process (``time.process_time``): on a
machine shared with other jobs, wall time swings by 10-30 % from one job to the next, CPU time by a
few per cent. Each round gives a ratio ``variant / fast`` (above 1: the fast path saves that much);
the median over rounds is the headline. ``tsnlib.fast_transforms`` keeps a path only while it saves
at least 5 % of the CPU time of a job of the course (issue 13).

Measured on the two-core machine (AMD EPYC, AVX-512, 2026-12-08, load average 4-7 from other jobs),
median of 12 rounds: the RGB preset's test protocol takes 1.054x the CPU time without the look-up table
normaliser (``-normalize``; it normalises 250 views a video on the CPU), the flow preset's 1.063x
without the RGBA-packed resize (``-resize``; its three-crop test resizes 75 flow frames a video); on
the training epochs both are within 1-2 %. The other CPU routes that tsnlib.transforms once had
(a fused flip-and-normalise route for RGB presets, de-interleaving with ``cv2.split``, mirroring
with ``cv2.flip``, a short call path of the group transforms) saved under 1.5 % of any job and were
removed; the crop geometry cached per frame size (``MultiScaleCrop._candidates``) saves about 5 % of
the RGB training epoch and stays in the plain code.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import torch
from torch.utils.data import Subset

from tsnlib import fast_transforms
from tsnlib.config import load_config
from tsnlib.evaluation import predict_scores
from tsnlib.experiment import build_datasets, build_loaders, build_model_from_config
from tsnlib.training import Trainer


def _declines(*args, **kwargs):
    return None


#: variant name -> the attributes of tsnlib.fast_transforms it sets
VARIANTS = {
    "fast": {},
    "plain": {"ENABLED": False},
    "-resize": {"resize": _declines},
    "-normalize": {"normalize_views": _declines},
}


@contextlib.contextmanager
def variant(settings: dict):
    saved = {name: getattr(fast_transforms, name) for name in settings}
    try:
        for name, value in settings.items():
            setattr(fast_transforms, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(fast_transforms, name, value)


def _spread(n: int, count: int) -> list[int]:
    """``count`` indices spread over ``range(n)`` (every class of a sorted list)."""
    step = max(1, n // max(1, count))
    return list(range(0, n, step))[:count]


def jobs(config: str, train_videos: int, test_videos: int, work_dir: Path) -> dict:
    """``{"train": fn, "test": fn}``: one training epoch, one test pass of the preset, single process."""
    cfg = load_config(config, ["train.workers=0", "test.workers=0", "train.val_interval=0", "train.tensorboard=false"])
    lists = Path(cfg["data"]["root"])
    if not lists.is_dir():
        raise SystemExit(f"{config}: no frame folders at {lists}; extract them first (see this script's docstring)")
    datasets = build_datasets(cfg, subsets=("train", "test"))
    model = build_model_from_config(cfg, len(datasets["label_map"]))
    train = build_loaders(cfg, {"train": Subset(datasets["train"], _spread(len(datasets["train"]), train_videos))})
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        trainer = Trainer(cfg, model, train, work_dir / config, device="cpu",
                          class_names=list(datasets["label_map"].names))
    test = build_loaders(cfg, {"test": Subset(datasets["test"], _spread(len(datasets["test"]), test_videos))})["test"]
    t = cfg["test"]
    epoch = [0]

    def train_epoch():
        trainer.train_one_epoch(epoch[0])
        epoch[0] += 1

    def test_pass():
        predict_scores(trainer.raw_model, test, num_views=int(t["num_crops"]), device="cpu",
                       max_views_per_forward=int(t["max_views_per_forward"]), amp=t["amp"], progress=False)

    return {"train": train_epoch, "test": test_pass}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tsn_r8_synthetic_rgb", "tsn_r8_synthetic_flow"])
    parser.add_argument("--rounds", type=int, default=8, help="timed rounds after one warm-up round (default 8)")
    parser.add_argument("--train-videos", type=int, default=96, help="training videos per epoch (default 96)")
    parser.add_argument("--test-videos", type=int, default=24, help="test videos per pass (default 24)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TSN_PROGRESS", "off")
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    print(f"fast paths: RGBA resize {'on' if fast_transforms._HAS_AVX2 else 'off (no AVX2)'}, look-up table "
          f"normaliser on; CPU capability {torch.backends.cpu.get_cpu_capability()}; one thread, CPU time; "
          f"{args.rounds} rounds after a warm-up", flush=True)
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="tsn_bench_fast_") as tmp:
        for config in args.configs:
            work = jobs(config, args.train_videos, args.test_videos, Path(tmp))
            times = {(job, v): [] for job in work for v in VARIANTS}
            for r in range(args.rounds + 1):
                order = list(VARIANTS)
                rng.shuffle(order)
                for v in order:
                    with variant(VARIANTS[v]):
                        for job, fn in work.items():
                            gc.collect()
                            t0 = time.process_time()
                            fn()
                            if r:  # round 0 warms up
                                times[(job, v)].append(time.process_time() - t0)
            print(f"\n{config}")
            for job in work:
                base = times[(job, "fast")]
                print(f"  {job:5s} fast {statistics.median(base):7.3f} s CPU")
                for v in VARIANTS:
                    if v == "fast":
                        continue
                    ratios = [a / b for a, b in zip(times[(job, v)], base)]
                    print(f"  {job:5s} {v:10s} {statistics.median(times[(job, v)]):7.3f} s CPU  ratio to fast "
                          f"{statistics.median(ratios):.3f}  (rounds " + " ".join(f"{x:.3f}" for x in ratios) + ")")
            del work
            gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
