"""The flow and RGB-difference presets: each loads and carries the values of the reference it names."""

from __future__ import annotations

import pytest

from tsnlib.config import list_presets, load_config

SYNTH_FLOW = "tsn_r8_synthetic_flow"
SYNTH_DIFF = "tsn_r8_synthetic_rgbdiff"
UCF_FLOW = "tsn_r50_1x1x3_110e_ucf101_flow"
HMDB_FLOW = "tsn_r50_1x1x8_110e_hmdb51_flow"
PAPER_FLOW = "tsn_paper_bninception_ucf101_flow"
STREAM_PRESETS = (SYNTH_FLOW, SYNTH_DIFF, UCF_FLOW, HMDB_FLOW, PAPER_FLOW)


@pytest.fixture(autouse=True)
def _data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("TSN_DATA", str(tmp_path))


@pytest.mark.parametrize("name", STREAM_PRESETS)
def test_stream_presets_load_under_their_names(name):
    assert name in list_presets()
    c = load_config(name)
    assert c["name"] == name and c["description"]
    assert c["data"]["clip_len"] == 5  # 5 flow fields or 5 RGB differences per snippet (paper)
    assert c["model"]["rgb_weights"] is None  # set per run: cross-modality init from an RGB checkpoint


def test_synthetic_flow_preset(tmp_path):
    c = load_config(SYNTH_FLOW)
    d = c["data"]
    assert (d["modality"], d["clip_len"], d["num_segments"]) == ("Flow", 5, 3)
    # the frame folders and *_flow.txt lists that `tsnlib flow` / prepare_flow_dataset write
    assert (d["dataset"], d["source"], d["start_index"]) == ("list", "frames", 1)
    assert d["root"] == str(tmp_path / "synthetic" / "ucf101" / "rawframes")
    # mirroring turns MoveLeft into MoveRight and RotateCW into RotateCCW in this dataset
    assert d["flip"] is False
    assert c["test"]["num_crops"] in (1, 3)  # no mirrored test views either
    m = c["model"]
    # paper: dropout 0.7 for flow on BN-Inception's pre-trained features; resnet8 from scratch under-fitted with it
    assert (m["backbone"], m["pretrained"], m["dropout"]) == ("resnet8", None, 0.4)
    assert c["optim"]["clip_grad"] == 20.0  # Caffe flow solver, tsn-pytorch README
    # CPU-sized like the RGB preset it inherits: same frames, same schedule, so that the streams compare
    rgb = load_config("tsn_r8_synthetic_rgb")
    assert (d["input_size"], d["scale_size"]) == (rgb["data"]["input_size"], rgb["data"]["scale_size"]) == (48, 54)
    assert d["root"] == rgb["data"]["root"] and d["source"] == "frames"  # one set of frame folders for both
    for key in ("schedule", "warmup_epochs", "base_batch_size"):
        assert c["optim"][key] == rgb["optim"][key], key
    # the RGB preset's lr 0.05 with the flow first layer's 5x multiplier did not converge; the same 30 epochs
    assert (c["optim"]["lr"], c["optim"]["epochs"]) == (0.02, 30)
    assert (rgb["optim"]["lr"], rgb["optim"]["epochs"]) == (0.05, 30)


def test_synthetic_rgbdiff_preset(tmp_path):
    c = load_config(SYNTH_DIFF)
    d = c["data"]
    assert (d["modality"], d["clip_len"], d["source"], d["flip"]) == ("RGBDiff", 5, "frames", False)
    assert d["root"] == str(tmp_path / "synthetic" / "ucf101" / "rawframes")  # the RGB stream's frame folders
    assert c["model"]["backbone"] == "resnet8"
    # tsn-pytorch README: dropout 0.8 for RGBDiff on pre-trained features; resnet8 from scratch keeps the RGB 0.4
    assert c["model"]["dropout"] == 0.4 and c["optim"]["clip_grad"] == 40.0  # clip 40: tsn-pytorch README
    assert (c["optim"]["lr"], c["optim"]["epochs"]) == (0.02, 10)  # lr as the flow preset's
    assert c["test"]["num_crops"] in (1, 3)


def test_ucf101_flow_preset_is_mmaction2s_resnet50_flow_recipe(tmp_path):
    # reference §1h: the K400 R50 flow config (5x1x3, 110 epochs) on UCF101 data
    c = load_config(UCF_FLOW)
    d, o, m, t = c["data"], c["optim"], c["model"], c["test"]
    assert (d["modality"], d["clip_len"], d["num_segments"]) == ("Flow", 5, 3)
    assert (d["dataset"], d["source"], d["root"]) == ("list", "frames", str(tmp_path / "ucf101" / "rawframes"))
    assert d["flip"] is True and d["train_crop"] == "random_resized"
    assert (d["val_input_size"], d["val_scale_size"]) == (224, 256)
    assert (o["lr"], o["weight_decay"], o["schedule"], o["steps"], o["epochs"]) == (0.005, 1e-4, "multistep", [70, 100], 110)
    assert o["clip_grad"] == 40.0 and o["base_batch_size"] == 256
    assert (m["backbone"], m["pretrained"], m["dropout"], m["fc_init_std"]) == ("resnet50", "imagenet", 0.4, 0.01)
    assert (t["num_clips"], t["num_crops"], t["input_size"]) == (25, 10, 224)


def test_hmdb51_flow_preset():
    c = load_config(HMDB_FLOW)
    assert c["data"]["root"].endswith("hmdb51/rawframes") and c["data"]["num_segments"] == 8
    assert c["data"]["modality"] == "Flow" and c["optim"]["lr"] == 0.005 and c["optim"]["epochs"] == 110
    assert c["model"]["dropout"] == 0.4 and c["optim"]["clip_grad"] == 40.0


def test_paper_flow_preset():
    # paper / Caffe TSN / tsn-pytorch README / mmaction v1 flow values
    c = load_config(PAPER_FLOW)
    m, d, o = c["model"], c["data"], c["optim"]
    assert (m["backbone"], m["pretrained"], m["partial_bn"]) == ("inception_v3", "imagenet", True)
    assert m["dropout"] == 0.7 and m["fc_init_std"] == 0.001
    assert (d["modality"], d["clip_len"], d["train_crop"], d["num_fixed_crops"], d["flip"]) == ("Flow", 5, "multiscale", 13, True)
    assert (o["lr"], o["weight_decay"], o["steps"], o["epochs"], o["clip_grad"]) == (0.005, 5e-4, [190, 300], 340, 20.0)
    assert (c["test"]["num_clips"], c["test"]["num_crops"]) == (25, 10)
    rgb = load_config("tsn_paper_bninception_ucf101_rgb")
    assert o["lr"] == 5 * rgb["optim"]["lr"]  # the temporal stream's lr is five times the spatial one's


@pytest.mark.parametrize("name,in_channels", [(SYNTH_FLOW, 10), (SYNTH_DIFF, 15), (UCF_FLOW, 10), (PAPER_FLOW, 10)])
def test_stream_presets_give_tsn_pytorchs_lr_multipliers(name, in_channels):
    from tsnlib.experiment import build_model_from_config
    from tsnlib.models import get_param_groups

    c = load_config(name)
    model = build_model_from_config(c, num_classes=4, pretrained=False)  # no weights are read or downloaded
    assert model.first_conv.in_channels == in_channels
    groups = {g["name"]: g for g in get_param_groups(model, lr=1.0, weight_decay=1.0)}
    # tsn-pytorch get_optim_policies / Caffe lr_mult: first conv x5 (bias x10) for Flow only; RGB difference
    # keeps the RGB multipliers x1 (bias x2)
    w, b = (5.0, 10.0) if c["data"]["modality"] == "Flow" else (1.0, 2.0)
    assert (groups["first_conv_weight"]["lr_mult"], groups["first_conv_weight"]["decay_mult"]) == (w, 1.0)
    if "first_conv_bias" in groups:
        assert (groups["first_conv_bias"]["lr_mult"], groups["first_conv_bias"]["decay_mult"]) == (b, 0.0)
    assert groups["normal_weight"]["lr_mult"] == 1.0 and groups["normal_bias"]["lr_mult"] == 2.0
    assert model.dropout.p == c["model"]["dropout"]
