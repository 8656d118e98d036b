"""End to end on the tiny synthetic set: flow frames and lists, cross-modality init, a short training, the test protocol.

The temporal stream as notebook 04 builds it (tsnlib.flow.prepare_flow_dataset, tsnlib.streams), and the
RGB-difference stream of notebook 05, each trained for one epoch of two small batches.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cv2  # noqa: F401 - required

from tsnlib import streams  # noqa: E402
from tsnlib.experiment import build_datasets, build_model_from_config  # noqa: E402
from tsnlib.flow import prepare_flow_dataset  # noqa: E402
from tsnlib.frame_folders import is_complete_flow_folder  # noqa: E402
from tsnlib.models import TSN  # noqa: E402
from tsnlib.checkpoints import load_checkpoint, save_checkpoint  # noqa: E402

from by_hand import val_top1  # noqa: E402

# settings shared with notebook 04's defaults, so the frames folder of the session's tiny set serves both
FLOW_SHORT_SIDE = streams.COURSE_SHORT_SIDE
SHORT = ["train.batch_size=4", "train.max_steps_per_epoch=2", "train.tensorboard=false"]


@pytest.fixture(scope="module")
def frames(tiny_ucf101):
    # the session's tiny set already has them (conftest extracts them for the presets): this call finds them done
    info = prepare_flow_dataset(tiny_ucf101, method="dis", short_side=FLOW_SHORT_SIDE, workers=0, progress=False)
    return info


@pytest.fixture(scope="module")
def rgb_checkpoint(tiny_ucf101, tmp_path_factory):
    """An RGB TSN checkpoint (random weights, the synthetic RGB preset's network) in tsnlib's format."""
    cfg = streams.stream_config("rgb", data_root=tiny_ucf101, frames_root=tiny_ucf101 / "rawframes", workers=0)
    assert cfg["data"]["root"] == str(tiny_ucf101 / "rawframes")  # the RGB preset reads the frame folders
    torch.manual_seed(1)
    model = build_model_from_config(cfg, num_classes=13)
    path = tmp_path_factory.mktemp("rgb_run") / "best.pth"
    save_checkpoint({"model": model.state_dict(), "config": cfg, "class_names": [f"c{i}" for i in range(13)]}, path)
    return path


def test_prepare_flow_dataset_writes_folders_and_both_lists(frames, tiny_ucf101):
    root = frames["frames_root"]
    assert root == tiny_ucf101 / "rawframes"
    assert frames["videos"] == 78  # 13 classes x 6 videos, train, val and test
    names = sorted(p.name for p in frames["lists"])
    assert names == ["classInd.txt", "ucf101_test_split_1_flow.txt", "ucf101_test_split_1_rawframes.txt",
                     "ucf101_train_split_1_flow.txt", "ucf101_train_split_1_rawframes.txt",
                     "ucf101_val_split_1_flow.txt", "ucf101_val_split_1_rawframes.txt"]
    rgb = [ln.split() for ln in (root / "ucf101_test_split_1_rawframes.txt").read_text().splitlines()]
    flo = [ln.split() for ln in (root / "ucf101_test_split_1_flow.txt").read_text().splitlines()]
    assert len(rgb) == len(flo) == 26
    for r, f in zip(rgb, flo):
        assert r[0] == f[0] and r[2] == f[2] and int(r[1]) == int(f[1]) + 1  # N RGB frames, N - 1 flow fields
        assert is_complete_flow_folder(root / f[0])
    # a second call finds every video done
    again = prepare_flow_dataset(tiny_ucf101, method="dis", short_side=FLOW_SHORT_SIDE, workers=0, progress=False)
    assert (again["extracted"], again["reused"]) == (0, 78)


@pytest.mark.slow  # trains the flow stream for one short epoch
def test_flow_stream_trains_from_rgb_weights_and_tests(frames, rgb_checkpoint, tmp_path):
    cfg = streams.stream_config("flow", data_root=frames["frames_root"], workers=0, quick=True,
                                overrides=[f"model.rgb_weights={rgb_checkpoint}", *SHORT, "test.num_clips=3"])
    rgb_state = load_checkpoint(rgb_checkpoint)["model"]

    # before training: the network train() builds starts from the inflated RGB weights
    start = build_model_from_config(cfg, num_classes=13)
    w_rgb = rgb_state["backbone.conv1.weight"]  # resnet8's 3x3 stem: (32, 3, 3, 3)
    expected = (w_rgb[:, 0] + w_rgb[:, 1] + w_rgb[:, 2]).div(3).unsqueeze(1).repeat(1, 10, 1, 1)
    assert start.first_conv.weight.shape == (32, 10, 3, 3)
    assert torch.allclose(start.first_conv.weight, expected, atol=1e-7, rtol=0)
    assert torch.equal(start.backbone.layer3[0].conv2.weight, rgb_state["backbone.layer3.0.conv2.weight"])
    assert torch.equal(start.backbone.bn1.running_var, rgb_state["backbone.bn1.running_var"])

    # samples: K stacks of 5 quantised flow fields (uint8), which the model maps to [-1, 1] on its device
    ds = build_datasets(cfg, subsets=("train",))["train"]
    item = ds[0]
    assert item["imgs"].shape == (3, 10, 48, 48) and item["frame_indices"].shape == (3, 5)
    assert item["imgs"].dtype == torch.uint8
    net_input = start.prepare(item["imgs"])
    assert net_input.abs().max() <= 1.0 and torch.equal(net_input, (item["imgs"].float() - 128) / 128)

    work = tmp_path / "flow_k3"
    run = streams.train_or_reuse(cfg, work, device="cpu")
    assert run["reused"] is False and len(run["history"]) == 1
    ckpt = load_checkpoint(work / "best.pth")  # the only epoch's
    assert np.isfinite(run["history"][0]["train_loss"]) and run["history"][0]["val_top1"] == val_top1(ckpt)
    assert ckpt["config"]["data"]["modality"] == "Flow"
    assert not torch.equal(ckpt["model"]["backbone.conv1.weight"], expected)  # it trained

    # the test protocol: 3 stacks x 1 crop per test video
    scores, reused = streams.test_or_reuse(cfg, work, device="cpu")
    assert reused is False
    assert scores.scores.shape == (26, 13) and np.isfinite(scores.scores).all()
    assert (scores.meta["num_clips"], scores.meta["num_views"], scores.meta["modality"]) == (3, 1, "Flow")
    assert scores.video_ids[0].startswith("v_") and len(set(scores.video_ids)) == 26
    assert (work / "scores_test.npz").is_file()
    again, reused = streams.test_or_reuse(cfg, work, device="cpu")
    assert reused is True and np.array_equal(again.scores, scores.scores)
    # another protocol is computed anew, not read from the file
    cfg2 = streams.stream_config("flow", data_root=frames["frames_root"], workers=0, quick=True,
                                 overrides=[f"model.rgb_weights={rgb_checkpoint}", *SHORT, "test.num_clips=2"])
    two, reused = streams.test_or_reuse(cfg2, work, device="cpu")
    assert reused is False and two.meta["num_clips"] == 2

    # the run is reused when the config matches, retrained when it does not
    assert streams.run_differences(work, cfg) == []
    diffs = streams.run_differences(work, cfg, keys=streams.MATCH_KEYS + streams.FULL_RUN_KEYS)
    assert diffs == []  # quick run, quick config
    other = streams.stream_config("flow", data_root=frames["frames_root"], workers=0, num_segments=2, quick=True)
    assert streams.run_differences(work, other) == ["data.num_segments: run 3, needed 2"]
    assert streams.train_or_reuse(cfg, work, device="cpu")["reused"] is True
    assert streams.run_differences(tmp_path / "nothing", cfg) is None



def test_an_interrupted_run_is_continued(tmp_path, monkeypatch):
    """last.pth short of its planned epochs: train_or_reuse resumes it (the resume itself is tsnlib.training's)."""
    from types import SimpleNamespace

    from tsnlib import training

    cfg = streams.stream_config("flow", data_root=tmp_path / "frames", workers=0, epochs=4)
    work = tmp_path / "flow_k3"
    work.mkdir()
    state = {"model": {"w": torch.zeros(1)}, "config": cfg}
    save_checkpoint({**state, "epoch": 3}, work / "best.pth")
    save_checkpoint({**state, "epoch": 3}, work / "last.pth")
    calls = []
    monkeypatch.setattr(training, "train", lambda c, **kw: calls.append(kw) or SimpleNamespace(history=[{"epoch": 4}]))
    run = streams.train_or_reuse(cfg, work, device="cpu")
    assert run["reused"] is False and "stopped after epoch 3 of 4" in run["reason"]
    assert calls[-1]["resume"] is True and (work / "last.pth").is_file()  # nothing deleted
    # finished: reused without training
    save_checkpoint({**state, "epoch": 4}, work / "last.pth")
    assert streams.train_or_reuse(cfg, work, device="cpu")["reused"] is True and len(calls) == 1
    # another network: the old files go, a new training starts from scratch
    other = streams.stream_config("flow", data_root=tmp_path / "frames", workers=0, epochs=4, num_segments=5)
    run = streams.train_or_reuse(other, work, device="cpu")
    assert "data.num_segments: run 3, needed 5" in run["reason"] and "resume" not in calls[-1]
    assert not (work / "best.pth").exists() and not (work / "last.pth").exists()


def test_random_first_layer_start_for_the_ablation(frames, rgb_checkpoint, tmp_path):
    cfg = streams.stream_config("flow", data_root=frames["frames_root"], workers=0, quick=True)
    rgb_state = load_checkpoint(rgb_checkpoint)["model"]
    inflate = streams.save_stream_init(cfg, rgb_checkpoint, tmp_path / "inflate.pth", first_conv="inflate")
    random = streams.save_stream_init(cfg, rgb_checkpoint, tmp_path / "random.pth", first_conv="random")
    a, b = load_checkpoint(inflate)["model"], load_checkpoint(random)["model"]
    w_rgb = rgb_state["backbone.conv1.weight"]
    assert torch.allclose(a["backbone.conv1.weight"], w_rgb.mean(1, keepdim=True).expand(-1, 10, -1, -1))
    assert not torch.allclose(b["backbone.conv1.weight"], a["backbone.conv1.weight"])
    assert b["backbone.conv1.weight"].shape == (32, 10, 3, 3)
    # every other backbone tensor is the RGB network's in both starts; the classifiers are the same new one
    for key in ("backbone.layer1.0.conv1.weight", "backbone.layer3.0.bn2.weight", "backbone.bn1.running_mean"):
        assert torch.equal(a[key], rgb_state[key]) and torch.equal(b[key], rgb_state[key])
    assert torch.equal(a["fc.weight"], b["fc.weight"]) and a["fc.weight"].shape == (13, 128)
    # loadable as init_from: a model of the config accepts every tensor
    model = build_model_from_config(cfg, num_classes=13, pretrained=False)
    from tsnlib.checkpoints import init_from_checkpoint

    report = init_from_checkpoint(model, random, verbose=False)
    assert not report["missing"] and not report["unexpected"] and not report["dropped_classifier"]
    with pytest.raises(ValueError, match="RGB"):
        streams.save_stream_init(streams.stream_config("rgb", workers=0), rgb_checkpoint, tmp_path / "x.pth")


@pytest.mark.slow  # trains the RGB-difference stream for one short epoch
def test_rgbdiff_stream_trains_briefly(frames, rgb_checkpoint, tmp_path):
    cfg = streams.stream_config("rgbdiff", frames_root=frames["frames_root"], workers=0, quick=True,
                                overrides=[f"model.rgb_weights={rgb_checkpoint}", *SHORT, "test.num_clips=2"])
    start = build_model_from_config(cfg, num_classes=13)
    assert isinstance(start, TSN) and start.first_conv.in_channels == 15  # 5 differences x RGB
    item = build_datasets(cfg, subsets=("train",))["train"][0]
    # uint8: 6 raw frames x RGB per snippet; the model takes their 5 differences on its device
    assert item["imgs"].shape == (3, 18, 48, 48) and item["imgs"].dtype == torch.uint8
    diffs = start.prepare(item["imgs"])
    assert diffs.shape == (3, 15, 48, 48)
    raw = item["imgs"].float()
    assert torch.equal(diffs[:, 3:6], (raw[:, 6:9] - raw[:, 3:6]) * (1.0 / 255.0))
    assert item["frame_indices"].shape == (3, 6)  # clip_len + 1 consecutive frames per snippet
    assert np.all(np.diff(item["frame_indices"].numpy(), axis=1) == 1)
    work = tmp_path / "rgbdiff_k3"
    run = streams.train_or_reuse(cfg, work, device="cpu")
    assert len(run["history"]) == 1 and np.isfinite(run["history"][0]["train_loss"])
    scores, _ = streams.test_or_reuse(cfg, work, device="cpu")
    assert scores.scores.shape == (26, 13) and scores.meta["modality"] == "RGBDiff"
