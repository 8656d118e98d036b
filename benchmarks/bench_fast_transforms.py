"""Does the fast path of tsnlib.fast_transforms pay end to end? The course presets with and without it.

    python benchmarks/bench_fast_transforms.py [--configs tsn_r8_synthetic_rgb tsn_r8_synthetic_flow] [--rounds 12]

(about 4 minutes with the defaults). Needs the course's frame folders (RGB and flow, short side 54)::

    tsnlib synth && tsnlib flow ${TSN_DATA}/synthetic/ucf101 --out ${TSN_DATA}/synthetic/ucf101/rawframes --short-side 54

For each preset, two jobs as the course runs them, in one process with one thread and no loader workers:

* **train**: one epoch of :class:`tsnlib.training.Trainer` over ``--train-videos`` training videos
  (read the frames, augment, normalise on the model's device, forward, backward, SGD step);
* **test**: :func:`tsnlib.evaluation.predict_scores` with the preset's test protocol (25 snippets x
  ``test.num_crops`` views) over ``--test-videos`` test videos.

and two variants: ``fast`` (what tsnlib runs) and ``plain`` (``fast_transforms.ENABLED = False``: the
plain path of :mod:`tsnlib.transforms` everywhere). The variants are interleaved (a fresh random
order each round, after one warm-up round) and each is timed in CPU seconds of this process
(``time.process_time``): on a machine shared with other jobs, wall time swings by 10-30 % from one
job to the next, CPU time by a few per cent. Each round gives a ratio ``plain / fast`` (above 1: the
fast path saves that much); the median over rounds is the headline. ``tsnlib.fast_transforms``
keeps a path only while it saves at least 5 % of a job of the course (issue 13).

Measured on the two-core machine (AMD EPYC, AVX-512), 2026-12-07, with the other CPU routes
tsnlib.transforms then had toggled one by one as well (median plain / fast over 9 to 20 rounds):

* the RGBA-packed resize of flow frames (kept): the flow preset's three-crop test 1.063, 1.075,
  1.047, 1.044 and 1.048 in five runs (median 1.048; the first two while other jobs loaded the
  machine; 1.4 ms of about 32 ms of CPU a video), its training epoch 0.99-1.03, the RGB preset 1.00
  (it resizes no flow);
* the look-up-table ``normalize_views`` (removed): the RGB preset's 25 x 10 test 1.011 and 1.020 on a
  quiet machine (the test and training views are planar on a CPU, where the plain torch
  normalisation is only 0.55 ms slower a video), 1.05 only while other jobs loaded the machine;
* the fused crop-flip-normalise route of the RGB presets, de-interleaving with ``cv2.split``,
  mirroring with ``cv2.flip``, the group transforms' short call path (removed): under 1.5 % of any job;
* the crop geometry cached per frame size (``MultiScaleCrop._candidates``, plain code, kept): about
  5 % of the RGB training epoch.
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


#: variant name -> the attributes of tsnlib.fast_transforms it sets
VARIANTS = {
    "fast": {},
    "plain": {"ENABLED": False},
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
    parser.add_argument("--rounds", type=int, default=12, help="timed rounds after one warm-up round (default 12)")
    parser.add_argument("--train-videos", type=int, default=96, help="training videos per epoch (default 96)")
    parser.add_argument("--test-videos", type=int, default=24, help="test videos per pass (default 24)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TSN_PROGRESS", "off")
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    print(f"fast path: RGBA resize of flow frames {'on' if fast_transforms._HAS_AVX2 else 'off (no AVX2)'}; CPU "
          f"capability {torch.backends.cpu.get_cpu_capability()}; one thread, CPU time; {args.rounds} rounds after a "
          "warm-up", flush=True)
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
