"""Training and test throughput of tsnlib end to end, side by side with the backbone alone.

    python benchmarks/bench_train.py [--config tsn_r8_synthetic_rgb] [--steps 12] [--videos 12] [key=value ...]

Four numbers, measured in one run on the synthetic videos (generated first if missing):

* **train, tsnlib**: clips (snippets) per second of :class:`tsnlib.training.Trainer` on the preset's
  pipeline: TSNDataset (decode K frames, augment), DataLoader with workers, model, AMP choice,
  loss, backward, clipping, SGD step;
* **train, backbone alone**: forward + backward + SGD step of the bare torchvision backbone on random
  tensors of the same shape ``(batch * K, 3, H, W)``, precision and memory format;
* **test, tsnlib**: videos per second of :func:`tsnlib.inference.predict_scores` with the test
  protocol (``test.num_clips`` × ``test.num_crops`` views, decoding and cropping in the loader
  workers, the uint8 views normalised by the model in the main process, all included), over
  ``--videos`` videos with a freshly started loader: its start-up (about 0.2 s for the first
  video here) is in the timed window, a one-off cost that 12 videos (about 10 s) keep to ~2 %;
* **test, backbone alone**: the backbone's forward on random views of the same shape, in the same
  chunks (``test.max_views_per_forward``) and precision.

Both sides get the same precision (the preset's AMP choice: bf16 autocast on CPUs with native bf16)
and memory format (channels-last, as the Trainer and ``tsnlib test`` use). The two sides are
measured back to back in ``--repeat`` rounds (3); each round gives a ratio, and the median ratio
is the headline (each round's ratio is printed too): on a shared machine the rate drifts by several
per cent from one minute to the next, and a ratio of two runs seconds apart cancels most of it. The
ratios say how much the data pipeline and the engine cost on top of the network. Peak memory:
``max_memory_allocated`` on CUDA, ``getrusage`` max RSS on a CPU (this process and, separately,
the largest DataLoader worker).

On a 2-core CPU the DataLoader workers and the compute threads share the cores, so every
millisecond a worker spends decoding or cropping is taken from the network. Measured here
(12 test videos): test 0.89-0.91 of the backbone-alone rate with uint8 views normalised by the
model, 0.84 when the workers normalised to float32 (four times the bytes to write and to hand
over); training 0.77-0.84 with the preset's 2 workers, 0.65-0.71 loading in the main process
(``train.workers=0``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import torchvision
from torch.utils.data import Subset

from tsnlib.backbones import COURSE_BACKBONES


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device, dtype):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def bare_backbone(name: str, num_classes: int) -> torch.nn.Module:
    """The preset's backbone alone, randomly initialised: the course's own (``resnet8``) or torchvision's."""
    if name in COURSE_BACKBONES:
        net = COURSE_BACKBONES[name]()
        net.fc = torch.nn.Linear(net.fc.in_features, num_classes)
        return net
    return torchvision.models.get_model(name, weights=None, num_classes=num_classes)


def bench_backbone_train(cfg, num_classes, device, dtype, channels_last, steps, warmup=3) -> float:
    """Clips/s of forward + backward + SGD step of the bare backbone on random (batch * K, 3, H, W)."""
    d = cfg["data"]
    n = int(cfg["train"]["batch_size"]) * int(d["num_segments"])
    net = bare_backbone(cfg["model"]["backbone"], num_classes).to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(n, 3 * int(d["clip_len"]), d["input_size"], d["input_size"], device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, num_classes, (n,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        with _autocast(device, dtype):
            out = net(x)
        loss = loss_fn(out.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    _sync(device)
    return n * steps / (time.perf_counter() - t0)


@torch.inference_mode()
def bench_backbone_test(cfg, num_classes, device, dtype, channels_last, videos, warmup=1) -> float:
    """Videos/s of the bare backbone's forward on random test views, chunked as the test protocol is."""
    t = cfg["test"]
    views = int(t["num_clips"]) * int(t["num_crops"]) * (2 if t["twice"] else 1)
    chunk = int(t["max_views_per_forward"])
    net = bare_backbone(cfg["model"]["backbone"], num_classes).to(device).eval()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    x = torch.randn(views, 3 * int(cfg["data"]["clip_len"]), t["input_size"], t["input_size"], device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    for i in range(warmup + videos):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        for s in range(0, views, chunk):
            with _autocast(device, dtype):
                net(x[s:s + chunk]).float().mean(0)
    _sync(device)
    return videos / (time.perf_counter() - t0)


def bench_tsnlib_train(cfg, datasets, device, steps, work_dir) -> tuple[float, object]:
    """Clips/s of the Trainer on the real pipeline: epochs of exactly ``steps`` batches (a subset of the
    training videos), the best of epochs 2 and 3 (the loader's persistent workers are up by then; each
    epoch still pays for its first batch, as in real training)."""
    from tsnlib.experiment import build_loaders, build_model_from_config
    from tsnlib.training import Trainer

    batch = int(cfg["train"]["batch_size"])
    n = min(len(datasets["train"]), steps * batch)
    cfg = {**cfg, "train": {**cfg["train"], "val_interval": 0, "tensorboard": False, "max_keep": 0},
           "optim": {**cfg["optim"], "epochs": 3}}
    loaders = build_loaders(cfg, {"train": Subset(datasets["train"], list(range(n)))})
    model = build_model_from_config(cfg, len(datasets["label_map"]))
    trainer = Trainer(cfg, model, loaders, work_dir, device=device, class_names=list(datasets["label_map"].names))
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        trainer.fit()
    rate = max(r["clips_per_s"] for r in trainer.history[1:])
    model = trainer.raw_model
    del trainer, loaders  # stop the persistent workers before the next measurement
    gc.collect()
    return rate, model


def bench_tsnlib_test(cfg, datasets, model, device, videos) -> float:
    """Videos/s of predict_scores over ``videos`` test videos (after one warm-up video)."""
    from tsnlib.experiment import build_loaders
    from tsnlib.inference import predict_scores

    t = cfg["test"]
    ds = datasets["test"]
    n = min(len(ds), videos + 1)
    loader = build_loaders(cfg, {"test": Subset(ds, list(range(n)))})["test"]
    sampler = ds.sampler
    it = iter(loader)
    warm = [next(it)]  # starts the workers and decodes the first video
    predict_scores(model, warm, num_clips=sampler.num_clips, num_views=int(t["num_crops"]), device=device,
                   max_views_per_forward=int(t["max_views_per_forward"]), amp=t["amp"], progress=False)
    del it, loader
    gc.collect()
    rest = list(range(1, n))
    loader = build_loaders(cfg, {"test": Subset(ds, rest)})["test"]
    _sync(device)
    t0 = time.perf_counter()
    predict_scores(model, loader, num_clips=sampler.num_clips, num_views=int(t["num_crops"]), device=device,
                   max_views_per_forward=int(t["max_views_per_forward"]), amp=t["amp"], progress=False)
    _sync(device)
    rate = len(rest) / (time.perf_counter() - t0)
    del loader
    gc.collect()
    return rate


def _peak_memory(device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB (CUDA max_memory_allocated)"
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return f"{me:.0f} MiB max RSS (main process); largest finished worker {kids:.0f} MiB"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tsn_r8_synthetic_rgb")
    parser.add_argument("--steps", type=int, default=12, help="timed training steps")
    parser.add_argument("--videos", type=int, default=12, help="timed test videos (the loader's start-up is timed "
                        "too: fewer videos weigh it more)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (backbone then tsnlib); the median ratio is reported")
    parser.add_argument("--device", default=None)
    parser.add_argument("--data", default=None, help="synthetic dataset root (default: tsnlib.utils.synthetic_root())")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    os.environ.setdefault("TSN_PROGRESS", "off")

    from tsnlib.config import load_config
    from tsnlib.experiment import build_datasets, load_model_from_checkpoint
    from tsnlib.precision import autocast_dtype, use_channels_last
    from tsnlib.synthetic import generate_dataset
    from tsnlib.utils import get_device, output_dir, synthetic_root

    overrides = list(args.overrides)
    if args.data:
        overrides.append(f"data.root={args.data}")
    cfg = load_config(args.config, overrides)
    root = Path(cfg["data"]["root"])
    if "synthetic" in str(root) and not (root / "synthetic.json").exists():
        print(f"generating the synthetic dataset in {root} ...")
        generate_dataset(root if args.data or root != synthetic_root() else None, progress=False)
    device = get_device(args.device)
    train_dtype = autocast_dtype(device, cfg["train"]["amp"])
    test_dtype = autocast_dtype(device, cfg["test"]["amp"])
    cl_train = use_channels_last(device, train_dtype, cfg["train"]["channels_last"])
    cl_test = use_channels_last(device, None, inference=True)  # as load_model_from_checkpoint
    datasets = build_datasets(cfg, subsets=("train", "test"))
    k = len(datasets["label_map"])
    d, t = cfg["data"], cfg["test"]
    views = t["num_clips"] * t["num_crops"]
    print(f"config {cfg['name']}: {d['num_segments']} segments, batch {cfg['train']['batch_size']}, "
          f"{d['input_size']} px, {cfg['train']['workers']} workers; torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs; train precision {train_dtype or 'fp32'}, channels_last {cl_train}; "
          f"test {t['num_clips']}x{t['num_crops']} views at {t['input_size']} px, {test_dtype or 'fp32'}")

    # rounds: the backbone, then tsnlib, back to back; each round's ratio compares two runs a few seconds
    # apart, so a shared machine's drift (this one's backbone rate alone moves by 10 % between minutes)
    # hits both sides of a ratio alike; the headline is the median over the rounds
    train_rounds, test_rounds = [], []
    for _ in range(args.repeat):
        bb = bench_backbone_train(cfg, k, device, train_dtype, cl_train, args.steps)
        rate, model = bench_tsnlib_train(cfg, datasets, device, args.steps, output_dir() / "bench_train_run")
        train_rounds.append((rate, bb))
    # the model as `tsnlib test` loads it (channels-last weights on CPU and CUDA)
    model = load_model_from_checkpoint(output_dir() / "bench_train_run" / "last.pth", device=device)[0]
    for _ in range(args.repeat):
        bb = bench_backbone_test(cfg, k, device, test_dtype, cl_test, args.videos)
        test_rounds.append((bench_tsnlib_test(cfg, datasets, model, device, args.videos), bb))

    rows = [
        ("train (clips/s)", train_rounds, 0.70),
        (f"test {t['num_clips']}x{t['num_crops']} (videos/s)", test_rounds, 0.85),
    ]
    print()
    print(f"{'':28s} {'tsnlib':>10s} {'backbone':>10s} {'ratio':>7s} {'target':>7s}   ratio per round")
    for name, rounds, target in rows:
        ratios = [a / b for a, b in rounds]
        ratio = statistics.median(ratios)
        a, b = statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)
        ok = "ok" if ratio >= target else "MISSED"
        print(f"{name:28s} {a:10.2f} {b:10.2f} {ratio:7.2f} {target:7.2f}  {ok:6s}  "
              + " ".join(f"{x:.2f}" for x in ratios))
    print(f"views per test video: {views}; peak memory: {_peak_memory(device)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
