"""Tests of tsnlib.experiment: datasets and loaders from a config, and `tsnlib train | test | predict` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tsnlib.checkpoints import load_checkpoint
from tsnlib.cli import main
from tsnlib.config import load_config
from tsnlib import transforms as T
from tsnlib.distributed import EpochSampler
from tsnlib.experiment import build_datasets, build_loaders, build_model_from_config, load_model_from_checkpoint
from tsnlib.training import read_metrics

from by_hand import val_top1

torch.set_num_threads(1)

PRESET = "tsn_r8_synthetic_rgb"
#: small batches: the whole pipeline (the course preset's 48-px crops of the tiny set's frame folders), in seconds
SMALL = ["data.num_segments=2", "train.batch_size=4", "train.workers=0", "test.workers=0", "train.tensorboard=false"]


@pytest.fixture
def small_cfg(tiny_data_root, monkeypatch):
    monkeypatch.setenv("TSN_DATA", str(tiny_data_root))
    return load_config(PRESET, SMALL + ["test.num_clips=3", "test.num_crops=3"])


def test_build_datasets_shapes_and_seeded_samples(small_cfg):
    from tsnlib.synthetic import CLASSES

    ds = build_datasets(small_cfg)
    assert list(ds["label_map"].names) == sorted(CLASSES) or len(ds["label_map"]) == len(CLASSES)
    tr, va, te = ds["train"][0], ds["val"][0], ds["test"][0]
    # uint8 views: the model normalises them on its device (MMAction2's data preprocessor)
    assert tr["imgs"].shape == (2, 3, 48, 48) and tr["imgs"].dtype == torch.uint8
    assert va["imgs"].shape == (2, 3, 48, 48) and va["imgs"].dtype == torch.uint8
    assert te["imgs"].shape == (3 * 3, 3, 48, 48) and te["num_views"] == 3 and te["imgs"].dtype == torch.uint8
    model = build_model_from_config(small_cfg, len(ds["label_map"])).eval()
    with torch.no_grad():
        assert torch.equal(model.forward_views(te["imgs"]), model.forward_views(T.normalize_views(te["imgs"], "RGB", 1)))
    # the tiny set, split 1: 13 classes x 3 groups of 2 videos, one group each for train, val and test
    assert (len(ds["train"]), len(ds["val"]), len(ds["test"])) == (26, 26, 26)
    # augmentation is a function of (seed, epoch, index)
    a = ds["train"][1]["imgs"]
    assert torch.equal(a, ds["train"][1]["imgs"])
    ds["train"].set_epoch(1)
    assert not torch.equal(a, ds["train"][1]["imgs"])
    # validation is deterministic
    assert torch.equal(va["imgs"], ds["val"][0]["imgs"])


def test_build_loaders(small_cfg):
    ds = build_datasets(small_cfg, subsets=("train", "val"))
    loaders = build_loaders(small_cfg, ds)
    assert isinstance(loaders["train"].sampler, EpochSampler)
    batch = next(iter(loaders["train"]))
    assert batch["imgs"].shape == (4, 2, 3, 48, 48) and batch["label"].shape == (4,)
    assert "test" not in loaders
    assert len(loaders["val"].dataset) == len(ds["val"])


def test_model_from_config(small_cfg):
    m = build_model_from_config(small_cfg, 13)
    assert m.backbone_name == "resnet8" and m.num_segments == 2 and m.fc.out_features == 13
    assert m.feature_dim == 128  # CourseResNet(width=32): widths 32/64/128
    assert m.dropout.p == small_cfg["model"]["dropout"]
    flow = load_config(PRESET, ["data.modality=Flow", "data.clip_len=5"])
    assert build_model_from_config(flow, 13).in_channels == 10


def test_model_from_config_draws_the_networks_own_initialisation(small_cfg):
    """Notebook 06's random-weights control is build_model_from_config under another seed: it must be the
    initialisation training starts from (Kaiming normal, fan-out, for every convolution; the classifier
    N(0, fc_init_std)), not PyTorch's per-layer reset_parameters() defaults, which draw the block convolutions
    1.7-2.5x smaller and turn the deep map into the first layer's edges."""
    torch.manual_seed(0)
    a = build_model_from_config(small_cfg, 13, pretrained=False)
    torch.manual_seed(1)
    b = build_model_from_config(small_cfg, 13, pretrained=False)
    convs = [(n, p) for n, p in a.named_parameters() if p.dim() == 4]
    assert len(convs) == 9  # stem, 2 per block x 3 blocks, 2 downsampling 1x1
    for name, w in convs:
        fan_out = w.shape[0] * w.shape[2] * w.shape[3]
        assert float(w.detach().std()) == pytest.approx((2 / fan_out) ** 0.5, rel=0.12), name
    assert float(a.fc.weight.detach().std()) == pytest.approx(small_cfg["model"]["fc_init_std"], rel=0.1)
    assert not torch.equal(a.fc.weight, b.fc.weight)  # another seed, another draw
    name, w = convs[-1]
    assert not torch.equal(w, b.get_parameter(name))


@pytest.mark.slow  # trains (two short runs) and tests a network
def test_cli_train_test_predict_end_to_end(small_cfg, tiny_ucf101, tmp_path, capsys):
    from tsnlib.evaluation import ScoreSet
    from tsnlib.synthetic import CLASSES

    wd = tmp_path / "run"
    rc = main(["train", PRESET, *SMALL, "optim.epochs=1", "train.max_steps_per_epoch=3", "--work-dir", str(wd),
               "--device", "cpu", "--seed", "3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "effective config" in out and "val top-1" in out
    for name in ("last.pth", "best.pth", "metrics.jsonl", "config.yaml"):
        assert (wd / name).exists(), name
    ck = load_checkpoint(wd / "last.pth")
    assert ck["config"]["train"]["seed"] == 3 and len(ck["class_names"]) == 13
    [rec] = read_metrics(wd)
    assert rec["epoch"] == 1 and rec["steps"] == 3 and rec["val_videos"] == 26
    assert rec["val_top1"] == val_top1(ck)

    # --resume continues the same run to a second epoch (overrides may come after the options too)
    rc = main(["train", PRESET, "--work-dir", str(wd), "--device", "cpu", "--seed", "3", "--resume", *SMALL,
               "optim.epochs=2", "train.max_steps_per_epoch=3"])
    assert rc == 0
    assert "resumed from" in capsys.readouterr().out
    assert [r["epoch"] for r in read_metrics(wd)] == [1, 2]

    # the full protocol (here 3 snippets x 3 crops), named metrics, a score file for fusion
    scores_path = tmp_path / "rgb_scores.npz"
    rc = main(["test", PRESET, str(wd / "best.pth"), *SMALL, "--clips", "3", "--crops", "3", "--out", str(scores_path),
               "--device", "cpu"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "top-1 accuracy" in out and "mean class accuracy" in out and "top-5 accuracy" in out
    scores = ScoreSet.load(scores_path)
    n_test = len(build_datasets(small_cfg, subsets=("test",))["test"])
    assert n_test == 26 and scores.scores.shape == (n_test, 13) and scores.meta["protocol"] == "3x3"
    metrics = scores.evaluate()
    # the named metrics, by hand from the score file (ties: the lower class index ranks first, as numpy.argmax)
    s, y = scores.scores, scores.labels
    own = s[np.arange(n_test), y][:, None]
    rank = (s > own).sum(1) + ((s == own) & (np.arange(13) < y[:, None])).sum(1)
    assert metrics["top1"] == pytest.approx((rank == 0).mean(), abs=1e-12)
    assert metrics["top5"] == pytest.approx((rank < 5).mean(), abs=1e-12)
    assert metrics["mean_class_accuracy"] == pytest.approx(np.mean([(rank[y == c] == 0).mean() for c in range(13)]),
                                                           abs=1e-12)
    line = [ln for ln in out.splitlines() if "top-1 accuracy" in ln][0]
    assert float(line.split()[-1]) == pytest.approx(metrics["top1"], abs=1e-4)

    # predict: any video file, top-5 with class names, no dataset needed (config + names in the checkpoint)
    video = next(iter(sorted((tiny_ucf101 / "UCF-101").rglob("*.avi"))))
    rc = main(["predict", str(video), "--checkpoint", str(wd / "best.pth"), "--topk", "5", "--clips", "3",
               "--crops", "1", "--device", "cpu"])
    assert rc == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()[:2] in {f"{i}." for i in range(1, 6)}]
    assert len(lines) == 5
    names = [ln.split()[1] for ln in lines]
    assert all(n in CLASSES for n in names) and len(set(names)) == 5
    probs = [float(ln.split()[-1]) for ln in lines]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6


@pytest.mark.slow  # trains a network for one step
def test_checkpoint_rebuilds_its_model(small_cfg, tmp_path):
    from tsnlib.training import Trainer

    ds = build_datasets(small_cfg, subsets=("train",))
    cfg = load_config(small_cfg, ["optim.epochs=1", "train.max_steps_per_epoch=1"])
    model = build_model_from_config(cfg, len(ds["label_map"]))
    Trainer(cfg, model, build_loaders(cfg, ds), tmp_path, device="cpu", class_names=list(ds["label_map"].names)).fit()
    again, cfg2, names = load_model_from_checkpoint(tmp_path / "last.pth")
    assert names == list(ds["label_map"].names) and cfg2["data"] == cfg["data"]
    x = torch.randn(1, 2, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])["epoch"] == 1
    assert np.isfinite(read_metrics(tmp_path)[0]["train_loss"])
