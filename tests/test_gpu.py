"""The CUDA paths, on a CUDA GPU when there is one: fp16 training with the GradScaler, channels-last memory,
the test protocol under autocast, and DDP over NCCL in a one-process group.

Each test compares the fast path with the plain one on the same weights and inputs (fp32, contiguous memory,
no wrapper) and asserts what must come out. Without CUDA every test here is skipped, with the reason.
Run them alone with ``pytest -m gpu``.
"""

from __future__ import annotations

import copy
import math
import socket

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from tsnlib.config import load_config
from tsnlib.distributed import setup_distributed
from tsnlib.experiment import build_model_from_config
from tsnlib.inference import predict_scores
from tsnlib.models import unwrap_model
from tsnlib.training import Trainer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"),
]

NUM_CLASSES = 4


def _cfg(*overrides: str) -> dict:
    """The course preset made small: 2 segments, constant lr, no dropout, no loader workers, no TensorBoard."""
    return load_config("tsn_r8_synthetic_rgb", [
        "train.tensorboard=false", "train.workers=0", "data.num_segments=2", "optim.schedule=constant",
        "optim.warmup_epochs=0", "optim.lr=0.05", "model.dropout=0.0", *overrides])


def _batch(n: int = 8, k: int = 2, size: int = 48) -> dict:
    """A fixed batch ``{"imgs": (n, k, 3, size, size) float, "label": (n,)}``: each class its own colour plus noise."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % NUM_CLASSES
    colour = torch.tensor([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 1.0, -1.0], [0.0, -1.0, 1.0]])[labels]
    imgs = colour[:, None, :, None, None] + 0.5 * torch.randn(n, k, 3, size, size, generator=g)
    return {"imgs": imgs, "label": labels}


def _trainer(cfg: dict, tmp_path, name: str) -> Trainer:
    torch.manual_seed(0)  # the same initial weights for every trainer of a test
    model = build_model_from_config(cfg, NUM_CLASSES, pretrained=False)
    return Trainer(cfg, model, {"train": [_batch()]}, tmp_path / name, device="cuda")


def _weights(trainer: Trainer) -> dict:
    """The model's state (parameters and BN statistics), on the CPU."""
    return {k: v.detach().float().cpu().clone() for k, v in trainer.raw_model.state_dict().items()}


def _params(trainer: Trainer) -> list[torch.Tensor]:
    """The trainable parameters only (a skipped step still updates the BN statistics), on the CPU."""
    return [p.detach().float().cpu().clone() for p in trainer.raw_model.parameters()]


@pytest.fixture
def exact_fp32():
    """fp32 convolutions and matmuls without TF32, with fixed algorithms, for the test; the flags restored after."""
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


@pytest.mark.slow  # trains
def test_fp16_training_with_the_grad_scaler_learns_and_skips_only_overflowing_steps(tmp_path, exact_fp32):
    fp16 = _trainer(_cfg("train.amp=fp16"), tmp_path, "fp16")
    fp32 = _trainer(_cfg("train.amp=false"), tmp_path, "fp32")
    assert fp16.amp_dtype is torch.float16 and fp16.scaler.is_enabled()
    assert fp32.amp_dtype is None and not fp32.scaler.is_enabled()
    init_scale = fp16.scaler.get_scale()
    losses, skipped = [], 0
    for epoch in range(12):  # one step per epoch, always on the same batch
        before = _params(fp16)
        losses.append(fp16.train_one_epoch(epoch)["train_loss"])
        skipped += all(map(torch.equal, before, _params(fp16)))  # the scaler skipped the step (inf/NaN gradients)
    # the first forward is the fp32 one to fp16's precision: same weights, same batch
    assert losses[0] == pytest.approx(fp32.train_one_epoch(0)["train_loss"], rel=1e-2)
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.7 * losses[0], losses  # it learns the four colours
    # the scale halves on every skipped step and never grows within its 2000-step interval
    assert skipped < 6 and fp16.scaler.get_scale() == init_scale * 0.5 ** skipped
    assert fp16.state_dict()["scaler"]["scale"] == fp16.scaler.get_scale()  # checkpoints carry it


@pytest.mark.slow  # trains
def test_channels_last_training_equals_contiguous_training(tmp_path, exact_fp32):
    assert _trainer(_cfg("train.amp=false"), tmp_path, "auto").channels_last  # "auto": on for CUDA
    cl = _trainer(_cfg("train.amp=false", "train.channels_last=true"), tmp_path, "cl")
    plain = _trainer(_cfg("train.amp=false", "train.channels_last=false"), tmp_path, "plain")
    assert cl.channels_last and not plain.channels_last
    convs = [p for p in cl.raw_model.parameters() if p.ndim == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert not plain.raw_model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    init = _weights(plain)
    for epoch in range(3):
        a, b = cl.train_one_epoch(epoch)["train_loss"], plain.train_one_epoch(epoch)["train_loss"]
        assert a == pytest.approx(b, rel=1e-4), epoch
    wa, wb = _weights(cl), _weights(plain)
    for k in wb:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5, msg=k)
    assert not torch.equal(wb["fc.weight"], init["fc.weight"])  # three steps moved the weights


class _UInt8Views(Dataset):
    """``n`` test videos of ``num_crops * num_clips`` uint8 views ``(3, 48, 48)``, the shape the test loader gives."""

    def __init__(self, n=6, num_clips=5, num_crops=3):
        g = torch.Generator().manual_seed(1)
        self.views = torch.randint(0, 256, (n, num_crops * num_clips, 3, 48, 48), dtype=torch.uint8, generator=g)
        self.num_crops = num_crops

    def __len__(self):
        return len(self.views)

    def __getitem__(self, i):
        return {"imgs": self.views[i], "label": i % NUM_CLASSES, "index": i, "num_views": self.num_crops}


def test_test_protocol_under_fp16_autocast_equals_fp32(exact_fp32):
    torch.manual_seed(0)
    model = build_model_from_config(_cfg("model.fc_init_std=0.1"), NUM_CLASSES, pretrained=False).eval()
    loader = DataLoader(_UInt8Views(), batch_size=2)
    kw = dict(num_clips=5, num_views=3, max_views_per_forward=7, progress=False, keep_clip_scores=True)
    cpu = predict_scores(copy.deepcopy(model), loader, device="cpu", amp=False, **kw)
    fp32 = predict_scores(model, loader, device="cuda", amp=False, **kw)
    fp16 = predict_scores(model, loader, device="cuda", amp="auto", **kw)  # auto on CUDA: fp16
    assert (cpu.meta["amp"], fp32.meta["amp"], fp16.meta["amp"]) == ("fp32", "fp32", "float16")
    np.testing.assert_allclose(fp32.scores, cpu.scores, rtol=1e-4, atol=1e-5)
    scale = float(np.abs(fp32.scores).max())
    assert scale > 0.1
    np.testing.assert_allclose(fp16.scores, fp32.scores, rtol=0, atol=1e-2 * scale)
    np.testing.assert_allclose(fp16.clip_scores, fp32.clip_scores, rtol=0, atol=1e-2 * scale)
    assert not np.array_equal(fp16.scores, fp32.scores)  # autocast really ran in fp16
    # the protocol moved the model to channels-last for the call only, and kept its eval mode
    assert next(model.parameters()).is_cuda and not model.training
    assert model.backbone.conv1.weight.is_contiguous()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a process group and training steps
def test_ddp_over_nccl_in_a_one_process_group_equals_the_plain_model(monkeypatch, exact_fp32):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    if not dist.is_nccl_available():
        pytest.skip("this torch build has no NCCL")
    for key, value in dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), RANK="0", LOCAL_RANK="0",
                           WORLD_SIZE="1").items():
        monkeypatch.setenv(key, value)
    info = setup_distributed("cuda")  # world size 1: not distributed, tsnlib joins no group
    assert not info.distributed and info.world_size == 1 and not dist.is_initialized()
    dist.init_process_group("nccl", init_method="env://", world_size=1, rank=0)
    try:
        assert dist.get_backend() == "nccl" and dist.get_world_size() == 1
        total = torch.tensor([1.5, -2.0], device="cuda")
        dist.all_reduce(total)
        assert total.tolist() == [1.5, -2.0]  # the sum over one process

        torch.manual_seed(0)
        plain = build_model_from_config(_cfg(), NUM_CLASSES, pretrained=False).cuda()
        ddp = DistributedDataParallel(copy.deepcopy(plain), device_ids=[torch.cuda.current_device()])
        assert unwrap_model(ddp) is ddp.module
        batch = _batch()
        imgs, labels = batch["imgs"].cuda(), batch["label"].cuda()
        opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (plain, ddp)]
        for step in range(2):
            outs = []
            for model, opt in zip((plain, ddp), opts):
                opt.zero_grad(set_to_none=True)
                out = model(imgs)
                torch.nn.functional.cross_entropy(out, labels).backward()
                opt.step()
                outs.append(out.detach())
            torch.testing.assert_close(outs[1], outs[0], rtol=1e-6, atol=1e-6, msg=f"logits of step {step}")
            for (name, p), q in zip(plain.named_parameters(), ddp.module.parameters()):
                torch.testing.assert_close(q.grad, p.grad, rtol=1e-6, atol=1e-7, msg=name)  # averaged over 1
        for (name, p), q in zip(plain.state_dict().items(), ddp.module.state_dict().values()):
            torch.testing.assert_close(q, p, rtol=1e-6, atol=1e-7, msg=name)
    finally:
        dist.destroy_process_group()
