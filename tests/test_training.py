"""Tests of tsnlib.training: schedules, parameter groups, safe checkpoints, exact resume, DDP."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tsnlib.checkpoints import CHECKPOINT_FORMAT, CheckpointError, init_from_checkpoint, load_checkpoint, save_checkpoint
from tsnlib.config import load_config
from tsnlib.distributed import EpochAwareDataset, EpochSampler
from tsnlib.experiment import build_model_from_config
from tsnlib.inference import predict_scores
from tsnlib.precision import autocast_dtype, cpu_has_native_bf16
from tsnlib.training import Trainer, lr_at, plot_curves, read_metrics, scaled_lr, train, train_step

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# learning-rate schedules (hand-computed values)
# ---------------------------------------------------------------------------------------------


def test_lr_constant_with_warmup():
    o = {"lr": 0.1, "schedule": "constant", "warmup_epochs": 2.0, "warmup_start_factor": 0.1}
    assert lr_at(o, 0.0) == pytest.approx(0.01)  # starts at factor * lr
    assert lr_at(o, 1.0) == pytest.approx(0.1 * (0.1 + 0.9 * 0.5))  # 0.055, halfway
    assert lr_at(o, 1.5) == pytest.approx(0.1 * (0.1 + 0.9 * 0.75))  # 0.0775
    assert lr_at(o, 2.0) == pytest.approx(0.1)
    assert lr_at(o, 70.3) == pytest.approx(0.1)


def test_lr_multistep_decays_when_the_step_epoch_starts():
    o = {"lr": 0.025, "schedule": "multistep", "steps": [20, 40], "gamma": 0.1, "warmup_epochs": 0.0}
    assert lr_at(o, 0) == pytest.approx(0.025)
    assert lr_at(o, 19.999) == pytest.approx(0.025)
    assert lr_at(o, 20.0) == pytest.approx(0.0025)
    assert lr_at(o, 39.5) == pytest.approx(0.0025)
    assert lr_at(o, 40.0) == pytest.approx(0.00025)
    # with a warm-up of 1 epoch from 0.5
    o.update(warmup_epochs=1.0, warmup_start_factor=0.5)
    assert lr_at(o, 0.25) == pytest.approx(0.025 * (0.5 + 0.5 * 0.25))
    assert lr_at(o, 1.0) == pytest.approx(0.025)


def test_lr_step_every_step_size_epochs():
    o = {"lr": 0.001, "schedule": "step", "step_size": 30, "gamma": 0.1, "warmup_epochs": 0.0}
    assert [lr_at(o, e) for e in (0, 29.9, 30, 59, 60, 79.9)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])


def test_lr_cosine_with_warmup():
    o = {"lr": 0.05, "schedule": "cosine", "epochs": 8, "min_lr": 0.001, "warmup_epochs": 1.0,
         "warmup_start_factor": 0.1}
    cos = lambda e: 0.001 + (0.05 - 0.001) * 0.5 * (1 + math.cos(math.pi * e / 8))  # noqa: E731
    assert lr_at(o, 0.0) == pytest.approx(0.1 * 0.05)
    assert lr_at(o, 0.5) == pytest.approx(cos(0.5) * (0.1 + 0.9 * 0.5))
    assert lr_at(o, 4.0) == pytest.approx(0.0255)  # halfway: (0.05 + 0.001) / 2
    assert lr_at(o, 8.0) == pytest.approx(0.001)
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_at({"lr": 1, "schedule": "poly"}, 0)


def test_linear_scaling_rule():
    o = {"lr": 0.00128, "base_batch_size": 256, "auto_scale_lr": True}
    assert scaled_lr(o, 32) == pytest.approx(0.00016)
    assert scaled_lr({**o, "auto_scale_lr": False}, 32) == 0.00128


def test_amp_choice():
    assert autocast_dtype("cpu", False) is None
    assert autocast_dtype("cpu", "bf16") is torch.bfloat16
    assert autocast_dtype("cpu", True) is torch.bfloat16
    assert autocast_dtype("cpu", "auto") is (torch.bfloat16 if cpu_has_native_bf16() else None)


def test_train_step_is_forward_loss_backward_clip_step():
    torch.manual_seed(0)
    model, by_hand = nn.Linear(4, 3), nn.Linear(4, 3)
    by_hand.load_state_dict(model.state_dict())
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    criterion = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss, logits = train_step(model, (x, y), opt, criterion, clip_grad=0.5)
    out = by_hand(x)
    ref = criterion(out, y)
    ref.backward()
    nn.utils.clip_grad_norm_(list(by_hand.parameters()), 0.5)
    with torch.no_grad():
        for p in by_hand.parameters():
            p -= 0.1 * p.grad
    assert torch.equal(loss, ref.detach()) and torch.equal(logits, out.detach()) and not loss.requires_grad
    for a, b in zip(model.parameters(), by_hand.parameters()):
        assert torch.allclose(a, b, atol=1e-7) and a.grad is None  # stepped, gradients cleared
    # accumulation: two halves with step=False, then step=True, make one step on the mean of their losses
    whole, halves = nn.Linear(4, 3), nn.Linear(4, 3)
    halves.load_state_dict(whole.state_dict())
    train_step(whole, (x, y), torch.optim.SGD(whole.parameters(), lr=0.1), criterion)
    opt = torch.optim.SGD(halves.parameters(), lr=0.1)
    train_step(halves, (x[:3], y[:3]), opt, criterion, accumulate_steps=2, step=False)
    assert all(p.grad is not None for p in halves.parameters())
    train_step(halves, (x[3:], y[3:]), opt, criterion, accumulate_steps=2, step=True)
    for a, b in zip(whole.parameters(), halves.parameters()):
        assert torch.allclose(a, b, atol=1e-7)


@pytest.mark.parametrize("amp", ["auto", True, False, "bf16", "fp16"])
def test_training_and_testing_share_one_precision_policy(amp, tmp_path):
    """The trainer's autocast dtype, loss scaler and test-time dtype all come from tsnlib.precision."""
    cfg = _toy_cfg(f"train.amp={str(amp).lower()}")
    expected = autocast_dtype("cpu", amp)
    t = Trainer(cfg, build_model_from_config(cfg, 4), {"train": _toy_loader(ToyClips(n=4), 2)}, tmp_path,
                device="cpu")
    assert t.amp_dtype is expected
    assert t.scaler.is_enabled() is (expected is torch.float16)  # fp16 trains with a GradScaler, nothing else does
    batch = {"imgs": ToyClips(n=1)[0]["imgs"][None], "label": torch.tensor([0])}  # 2 snippets x 1 crop
    scores = predict_scores(t.raw_model, [batch], num_clips=2, num_views=1, amp=amp, progress=False)
    assert scores.meta["amp"] == (str(expected).replace("torch.", "") if expected is not None else "fp32")
    # and on CUDA both train and test in fp16 (the trainer adds its GradScaler)
    assert autocast_dtype("cuda", "auto") is torch.float16 and autocast_dtype("cuda", True) is torch.float16


# ---------------------------------------------------------------------------------------------
# a tiny in-memory dataset for the engine's own tests
# ---------------------------------------------------------------------------------------------


class ToyClips(Dataset):
    """``n`` videos of ``k`` snippets ``(3, s, s)``; items depend on ``(seed, epoch, index)`` like TSNDataset."""

    def __init__(self, n=12, k=2, s=32, classes=4, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, k, 3, s, s, generator=g)
        self.y = torch.arange(n) % classes
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(self.seed * 10007 + self.epoch * 101 + int(i))
        return {"imgs": self.x[i] + 0.1 * torch.randn(self.x[i].shape, generator=g), "label": int(self.y[i])}


def _toy_cfg(*overrides):
    return load_config("tsn_r8_synthetic_rgb", ["train.amp=false", "train.tensorboard=false", "train.workers=0",
                                                 "data.num_segments=2", "optim.warmup_epochs=0", *overrides])


def _toy_loader(ds, batch_size, seed=0, num_replicas=1, rank=0):
    sampler = EpochSampler(len(ds), num_replicas=num_replicas, rank=rank, seed=seed)
    return DataLoader(EpochAwareDataset(ds), batch_size=batch_size, sampler=sampler,
                      generator=torch.Generator().manual_seed(seed))


def test_epoch_sampler_is_a_function_of_seed_and_epoch():
    a, b = EpochSampler(10, seed=3), EpochSampler(10, seed=3)
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    assert all(e == 2 for e, _ in a)
    b.set_epoch(3)
    assert [i for _, i in a] != [i for _, i in b]
    assert sorted(i for _, i in a) == list(range(10))
    # two shards of the same epoch cover the same permutation, interleaved
    r0, r1 = EpochSampler(10, 2, 0, seed=3), EpochSampler(10, 2, 1, seed=3)
    for s in (r0, r1):
        s.set_epoch(2)
    perm = [i for _, i in a]
    assert [i for _, i in r0] == perm[0::2] and [i for _, i in r1] == perm[1::2]


@pytest.mark.slow  # trains a toy network
def test_param_group_multipliers_are_applied(tmp_path):
    cfg = _toy_cfg("optim.schedule=multistep", "optim.steps=[1]", "optim.lr=0.1", "optim.weight_decay=0.001",
                   "optim.epochs=2", "train.batch_size=4", "optim.warmup_epochs=0.5", "optim.warmup_start_factor=0.2")
    torch.manual_seed(0)
    model = build_model_from_config(cfg, 4)
    seen = []

    def spy(trainer, rec):
        seen.append([(g["name"], g["lr"], g["lr_mult"], g["weight_decay"], g["decay_mult"])
                     for g in trainer.optimizer.param_groups])

    t = Trainer(cfg, model, {"train": _toy_loader(ToyClips(n=8), 4)}, tmp_path, device="cpu", hooks=[spy])
    t.fit()
    names = [g[0] for g in seen[0]]
    assert names == ["first_conv_weight", "normal_weight", "normal_bias", "bn"]  # resnet convs have no bias
    mults = {g[0]: (g[2], g[4]) for g in seen[0]}
    assert mults == {"first_conv_weight": (1.0, 1.0), "normal_weight": (1.0, 1.0), "normal_bias": (2.0, 0.0),
                     "bn": (1.0, 0.0)}
    # 2 steps per epoch: the last step of epoch 0 is at epoch 0.5 (warm-up over), of epoch 1 at 1.5 (after the step)
    for epoch_groups, base in zip(seen, (lr_at(cfg["optim"], 0.5), lr_at(cfg["optim"], 1.5))):
        for name, lr, lr_mult, wd, decay_mult in epoch_groups:
            assert lr == pytest.approx(base * lr_mult)
            assert wd == pytest.approx(0.001 * decay_mult)
    assert seen[0][2][1] == pytest.approx(0.2)  # normal_bias: 0.1 * 2
    assert seen[1][0][1] == pytest.approx(0.01)  # after the decay at epoch 1
    # the epoch log records the lr of the epoch's last step
    assert [r["lr"] for r in read_metrics(tmp_path)] == pytest.approx([0.1, 0.01])


def test_flow_first_conv_multipliers(tmp_path):
    cfg = _toy_cfg("data.modality=Flow", "data.clip_len=2", "optim.lr=0.01")
    model = build_model_from_config(cfg, 3)
    t = Trainer(cfg, model, {"train": _toy_loader(ToyClips(n=4), 2)}, tmp_path, device="cpu")
    t._set_lr(0.0)
    lrs = {g["name"]: g["lr"] for g in t.optimizer.param_groups}
    assert lrs["first_conv_weight"] == pytest.approx(0.05) and lrs["normal_weight"] == pytest.approx(0.01)


@pytest.mark.slow  # a DataLoader worker process
def test_epoch_reaches_persistent_workers():
    # set_epoch in the main process never reaches a persistent worker's copy of the dataset;
    # EpochSampler sends the epoch with every index instead
    ds = ToyClips(n=4)
    loader = DataLoader(EpochAwareDataset(ds), batch_size=4, sampler=EpochSampler(4, seed=5), num_workers=1,
                        persistent_workers=True, generator=torch.Generator().manual_seed(0))
    for epoch in (0, 1, 2):
        loader.sampler.set_epoch(epoch)
        batch = next(iter(loader))
        ds.set_epoch(epoch)
        order = [i for _, i in loader.sampler]
        assert torch.equal(batch["imgs"], torch.stack([ds[i]["imgs"] for i in order]))


# ---------------------------------------------------------------------------------------------
# checkpoints: safe loading, atomic writes, contents
# ---------------------------------------------------------------------------------------------


class _Evil:
    """Unpickling this runs ``Path.touch`` on the marker file: what a hostile checkpoint could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_crafted_pickle_checkpoint_is_refused_without_running_code(tmp_path, capsys):
    marker = tmp_path / "pwned"
    # the payload really runs code when unpickled without protection ...
    import pickle

    pickle.loads(pickle.dumps(_Evil(marker)))
    assert marker.exists()
    marker.unlink()
    # ... as a torch file (zip) and as a plain pickle
    bad_zip = tmp_path / "evil.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "config": _Evil(marker)}, bad_zip)
    bad_pickle = tmp_path / "evil_legacy.pth"
    bad_pickle.write_bytes(pickle.dumps({"model": _Evil(marker)}, protocol=2))
    for path in (bad_zip, bad_pickle):
        with pytest.raises(CheckpointError, match="refusing to load") as err:
            load_checkpoint(path)
        assert str(path) in str(err.value)
        assert not marker.exists()
    # and through every door that reads checkpoints
    model = build_model_from_config(_toy_cfg(), 4)
    with pytest.raises(CheckpointError, match="refusing"):
        init_from_checkpoint(model, bad_zip)
    t = Trainer(_toy_cfg(), model, {"train": _toy_loader(ToyClips(n=4), 2)}, tmp_path / "wd", device="cpu")
    with pytest.raises(CheckpointError, match="refusing"):
        t.resume(bad_zip)
    from tsnlib.cli import main

    video = tmp_path / "any.avi"
    video.write_bytes(b"")  # predict reads the checkpoint before it opens the video
    with pytest.raises(CheckpointError, match="refusing"):
        main(["predict", str(video), "--checkpoint", str(bad_zip), "--debug"])
    # without --debug the command prints the refusal as its one error line
    capsys.readouterr()
    assert main(["predict", str(video), "--checkpoint", str(bad_zip)]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"tsnlib predict: error: refusing to load '{bad_zip}'")
    assert not marker.exists()


def test_save_checkpoint_refuses_objects_and_is_atomic(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint\['cfg'\] is a \w*Path"):
        save_checkpoint({"cfg": Path("x")}, tmp_path / "a.pth")
    with pytest.raises(TypeError, match="numpy|float64"):
        import numpy as np

        save_checkpoint({"best": np.float64(0.5)}, tmp_path / "a.pth")
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left behind
    save_checkpoint({"format": CHECKPOINT_FORMAT, "x": torch.arange(3), "names": ["a", "b"]}, tmp_path / "a.pth")
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]
    assert load_checkpoint(tmp_path / "a.pth")["names"] == ["a", "b"]
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pth")


@pytest.mark.slow  # trains a toy network
def test_checkpoint_contents_and_init_from(tmp_path, capsys):
    cfg = _toy_cfg("optim.epochs=1", "train.batch_size=4", "train.max_keep=2")
    torch.manual_seed(0)
    t = Trainer(cfg, build_model_from_config(cfg, 4), {"train": _toy_loader(ToyClips(n=8), 4)}, tmp_path,
                device="cpu", class_names=["a", "b", "c", "d"])
    t.fit()
    ck = load_checkpoint(tmp_path / "last.pth")
    for key in ("model", "optimizer", "scaler", "epoch", "global_step", "best_metric", "rng", "sampler", "config",
                "class_names", "history"):
        assert key in ck
    assert ck["epoch"] == 1 and ck["global_step"] == 2 and ck["class_names"] == ["a", "b", "c", "d"]
    assert ck["config"]["optim"]["lr"] == cfg["optim"]["lr"]
    assert set(ck["rng"]) == {"python", "numpy", "torch", "cuda"}
    assert (tmp_path / "epoch_001.pth").exists() and (tmp_path / "config.yaml").exists()
    assert load_config(tmp_path / "config.yaml")["optim"] == cfg["optim"]
    # fine-tuning on 6 classes: the 4-class classifier is dropped and reported, the rest loaded
    new = build_model_from_config(cfg, 6)
    report = init_from_checkpoint(new, tmp_path / "last.pth")
    assert [d.split()[0] for d in report["dropped_classifier"]] == ["fc.weight", "fc.bias"]
    assert "classifier dropped" in capsys.readouterr().out
    assert torch.equal(new.backbone.conv1.weight, ck["model"]["backbone.conv1.weight"])
    assert new.fc.weight.shape == (6, 128)  # resnet8: 128 features
    # resuming needs a full checkpoint
    torch.save({"fc.weight": torch.zeros(1)}, tmp_path / "weights.pth")
    with pytest.raises(CheckpointError, match="init_from"):
        t.resume(tmp_path / "weights.pth")


@pytest.mark.slow  # trains a toy network
def test_a_fresh_run_in_a_used_folder_logs_only_its_own_epochs(tmp_path):
    cfg = _toy_cfg("optim.epochs=2", "train.batch_size=4")
    for _ in range(2):  # the second run starts from epoch 0 in the same folder (no resume)
        torch.manual_seed(0)
        t = Trainer(cfg, build_model_from_config(cfg, 4), {"train": _toy_loader(ToyClips(n=8), 4)}, tmp_path,
                    device="cpu")
        t.fit()
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2]


def test_plot_curves(tmp_path):
    lines = [{"epoch": e, "train_loss": 2.0 / e, "train_top1": 0.2 * e, "val_loss": 2.2 / e, "val_top1": 0.15 * e,
              "val_mean_class_accuracy": 0.14 * e} for e in (1, 2, 3)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    fig = plot_curves(tmp_path / "metrics.jsonl")
    assert len(fig.axes) == 2
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.0, pytest.approx(2 / 3)]


# ---------------------------------------------------------------------------------------------
# exact resume: uninterrupted == killed after epoch 1 + resumed, on the real pipeline
# ---------------------------------------------------------------------------------------------

_KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, torch
    torch.set_num_threads(1)
    from tsnlib.config import load_config
    from tsnlib.training import train

    def kill_after_first_epoch(trainer, record):
        if trainer.epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, like a crash or a pre-empted job

    cfg = load_config("tsn_r8_synthetic_rgb", sys.argv[2:])
    train(cfg, work_dir=sys.argv[1], device="cpu", hooks=[kill_after_first_epoch])
    """
)


def _resume_overrides(data_root, workers=0):
    return [f"data.root={data_root}", "optim.epochs=2", "train.batch_size=3", "train.max_steps_per_epoch=2",
            f"train.workers={workers}", "train.amp=false", "train.tensorboard=false", "optim.lr=0.02",
            "optim.warmup_epochs=0.5", "data.num_segments=2", "train.seed=7", "train.val_interval=2"]


@pytest.mark.slow  # about 15 s: two training runs and a killed subprocess
def test_resume_after_kill_equals_uninterrupted(tiny_ucf101, tmp_path, monkeypatch):
    monkeypatch.setenv("TSN_PROGRESS", "off")
    overrides = _resume_overrides(tiny_ucf101 / "rawframes")  # the frame folders the preset reads
    # A: two epochs without interruption (in this process, no loader workers)
    a = train(load_config("tsn_r8_synthetic_rgb", overrides), work_dir=tmp_path / "a", device="cpu")
    # B: another process with a persistent loader worker, killed (SIGKILL) right after the epoch-1
    # checkpoint is written; samples depend on (seed, epoch, index) only, not on who loads them
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(tmp_path / "b"),
                           *_resume_overrides(tiny_ucf101 / "rawframes", workers=1)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert load_checkpoint(tmp_path / "b" / "last.pth")["epoch"] == 1
    # C: a new Trainer resumes B's work folder for the second epoch
    c = train(load_config("tsn_r8_synthetic_rgb", overrides), work_dir=tmp_path / "b", device="cpu", resume=True)
    sa, sc = a.raw_model.state_dict(), c.raw_model.state_dict()
    assert sa.keys() == sc.keys()
    for k in sa:
        assert torch.equal(sa[k], sc[k]), k  # bitwise on CPU fp32
    ma, mc = read_metrics(tmp_path / "a"), read_metrics(tmp_path / "b")
    assert [r["epoch"] for r in mc] == [1, 2]
    for ra, rc in zip(ma, mc):
        for key in ("lr", "train_loss", "train_top1"):
            assert ra[key] == rc[key], key
    for key in ("val_loss", "val_top1", "val_top5", "val_mean_class_accuracy"):  # validated after epoch 2
        assert ma[1][key] == mc[1][key], key
    oa, oc = load_checkpoint(tmp_path / "a" / "last.pth"), load_checkpoint(tmp_path / "b" / "last.pth")
    for pid, st in oa["optimizer"]["state"].items():
        assert torch.equal(st["momentum_buffer"], oc["optimizer"]["state"][pid]["momentum_buffer"])


# ---------------------------------------------------------------------------------------------
# DDP: one step of two Gloo processes == one step of one process on the same global batch
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_DDP_OVERRIDES = ["optim.epochs=1", "train.max_steps_per_epoch=1", "model.dropout=0.0", "model.norm_eval=true",
                  "optim.lr=0.1", "optim.clip_grad=1.0", "optim.weight_decay=0.01"]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world), TSN_PROGRESS="off")
    torch.set_num_threads(1)
    import torch.distributed as dist

    from tsnlib.distributed import setup_distributed

    info = setup_distributed("cpu")
    assert info.world_size == world and info.backend == "gloo" and dist.is_initialized()
    cfg = _toy_cfg(*_DDP_OVERRIDES, "train.batch_size=2")
    torch.manual_seed(1234 + rank)  # different on purpose: DDP broadcasts rank 0's weights
    model = build_model_from_config(cfg, 4)
    loader = _toy_loader(ToyClips(n=8), 2, num_replicas=world, rank=rank)
    t = Trainer(cfg, model, {"train": loader}, out, device="cpu", dist=info)
    t.fit()
    dist.destroy_process_group()


@pytest.mark.slow  # trains in one process, then in two
def test_two_process_gloo_step_equals_one_process(tmp_path):
    import torch.multiprocessing as mp

    # one process, global batch 4
    cfg = _toy_cfg(*_DDP_OVERRIDES, "train.batch_size=4")
    torch.manual_seed(1234)
    single = Trainer(cfg, build_model_from_config(cfg, 4), {"train": _toy_loader(ToyClips(n=8), 4)},
                     tmp_path / "single", device="cpu")
    before = {k: v.clone() for k, v in single.raw_model.state_dict().items()}
    single.fit()
    # two processes, 2 videos each: the same 4 videos (EpochSampler shards one permutation)
    mp.start_processes(_ddp_worker, args=(2, _free_port(), str(tmp_path / "ddp")), nprocs=2, join=True,
                       start_method="fork")
    ddp = load_checkpoint(tmp_path / "ddp" / "last.pth")
    assert ddp["world_size"] == 2 and len(ddp["rng_per_rank"]) == 2
    one = single.raw_model.state_dict()
    changed = 0
    for k, v in one.items():
        torch.testing.assert_close(ddp["model"][k], v, rtol=1e-5, atol=1e-6, msg=k)
        changed += int(not torch.equal(v, before[k]))
    assert changed > 10  # the step really moved the weights
    # the logged training loss is the global batch's
    assert read_metrics(tmp_path / "ddp")[0]["train_loss"] == pytest.approx(read_metrics(tmp_path / "single")[0]["train_loss"],
                                                                             rel=1e-5)
