"""Tests of tsnlib.config: presets against the reference tables, overrides, inheritance, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tsnlib.config import (
    ConfigError,
    config_keys,
    expand_vars,
    format_config,
    get_value,
    list_presets,
    load_config,
    save_config,
)

UCF = "tsn_r50_1x1x3_75e_ucf101_rgb"
HMDB = "tsn_r50_1x1x8_50e_hmdb51_imagenet_rgb"
PAPER = "tsn_paper_bninception_ucf101_rgb"
SYNTH = "tsn_r8_synthetic_rgb"


def test_presets_listed_and_named_after_their_files():
    presets = list_presets()
    for name in (UCF, HMDB, PAPER, SYNTH):
        assert name in presets
        assert load_config(name)["name"] == name
    assert "defaults" not in presets


def test_ucf101_preset_matches_the_seed_table():
    # reference §1h, MMAction2 0.x tsn_r50_1x1x3_75e_ucf101_rgb
    c = load_config(UCF)
    assert c["model"]["backbone"] == "resnet50" and c["model"]["pretrained"] == "imagenet"
    assert c["model"]["dropout"] == 0.4 and c["model"]["fc_init_std"] == 0.001
    assert c["model"]["partial_bn"] is False
    assert c["data"]["num_segments"] == 3 and c["data"]["modality"] == "RGB" and c["data"]["clip_len"] == 1
    assert (c["data"]["train_crop"], c["data"]["input_size"], c["data"]["scale_size"]) == ("random_resized", 224, 256)
    assert c["data"]["flip"] is True
    assert (c["data"]["val_input_size"], c["data"]["val_scale_size"]) == (256, 256)
    o = c["optim"]
    assert o["lr"] == 0.00128 and o["momentum"] == 0.9 and o["weight_decay"] == 5e-4
    assert o["schedule"] == "constant" and o["epochs"] == 75 and o["clip_grad"] == 40.0
    assert c["train"]["batch_size"] == 32
    assert (c["test"]["num_clips"], c["test"]["num_crops"], c["test"]["input_size"]) == (25, 3, 256)


def test_hmdb51_preset_matches_the_seed_table():
    c = load_config(HMDB)
    assert c["data"]["dataset"] == "hmdb51" and c["data"]["num_segments"] == 8
    o = c["optim"]
    assert (o["lr"], o["weight_decay"], o["schedule"], o["steps"], o["epochs"]) == (0.025, 1e-4, "multistep", [20, 40], 50)
    assert c["model"]["dropout"] == 0.4 and c["model"]["fc_init_std"] == 0.01
    assert (c["test"]["num_clips"], c["test"]["num_crops"], c["test"]["input_size"]) == (8, 1, 256)
    # inherited from the UCF101 preset
    assert c["data"]["train_crop"] == "random_resized" and c["optim"]["clip_grad"] == 40.0


def test_paper_preset():
    c = load_config(PAPER)
    assert c["model"]["backbone"] == "inception_v3"
    assert c["model"]["partial_bn"] is True and c["model"]["dropout"] == 0.8 and c["model"]["fc_init_std"] == 0.001
    assert c["data"]["train_crop"] == "multiscale" and c["data"]["num_fixed_crops"] == 13
    assert (c["optim"]["lr"], c["optim"]["schedule"], c["optim"]["clip_grad"]) == (0.001, "step", 40.0)
    assert (c["test"]["num_clips"], c["test"]["num_crops"]) == (25, 10)


def test_synthetic_preset_is_cpu_sized(monkeypatch, tmp_path):
    monkeypatch.setenv("TSN_DATA", str(tmp_path))
    c = load_config(SYNTH)
    assert c["model"]["backbone"] == "resnet8" and c["model"]["pretrained"] is None  # CourseResNet(width=32)
    # 48-px snippets of the ~128 x 96 frames, extracted once at a short side of 54 (the course's frame folders),
    # for training, validation and test
    assert (c["data"]["input_size"], c["data"]["scale_size"]) == (48, 54)
    assert (c["data"]["val_input_size"], c["data"]["val_scale_size"]) == (48, 54)
    assert (c["test"]["input_size"], c["test"]["scale_size"]) == (48, 54)
    assert c["data"]["val_subset"] == "val"  # model selection on the validation groups, never on test
    assert (c["optim"]["lr"], c["optim"]["epochs"]) == (0.05, 30)  # ~420 clips x 30 epochs: about 2 min
    assert (c["data"]["dataset"], c["data"]["source"], c["data"]["start_index"]) == ("list", "frames", 1)
    assert c["data"]["root"] == str(tmp_path / "synthetic" / "ucf101" / "rawframes")


def test_overrides_are_typed():
    c = load_config(UCF, ["optim.lr=0.01", "data.num_segments=5", "optim.steps=[20, 40]", "model.pretrained=null",
                          "optim.weight_decay=5e-4", "train.amp=false", "optim.clip_grad=20", "optim.warmup_epochs=1"])
    assert c["optim"]["lr"] == 0.01 and isinstance(c["optim"]["lr"], float)
    assert c["data"]["num_segments"] == 5 and isinstance(c["data"]["num_segments"], int)
    assert c["optim"]["steps"] == [20, 40]
    assert c["model"]["pretrained"] is None
    assert c["optim"]["weight_decay"] == 5e-4  # PyYAML reads 5e-4 as a string: coerced
    assert c["train"]["amp"] is False
    assert c["optim"]["clip_grad"] == 20.0 and isinstance(c["optim"]["clip_grad"], float)
    assert c["optim"]["warmup_epochs"] == 1.0
    # a mapping works too
    assert load_config(UCF, {"optim.lr": 0.5})["optim"]["lr"] == 0.5


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        load_config(UCF, ["optim.lrr=0.1"])
    msg = str(err.value)
    assert "optim.lrr" in msg and "optim.lr" in msg and "optim.weight_decay" in msg
    with pytest.raises(ConfigError, match="Did you mean optim.lr"):
        load_config(UCF, ["lr=0.1"])
    with pytest.raises(ConfigError, match="unknown config key 'data.segments'"):
        load_config({"data": {"segments": 3}})


def test_bad_values_are_errors():
    with pytest.raises(ConfigError, match="optim.epochs must be an integer"):
        load_config(UCF, ["optim.epochs=abc"])
    with pytest.raises(ConfigError, match="optim.schedule must be one of"):
        load_config(UCF, ["optim.schedule=poly"])
    with pytest.raises(ConfigError, match="model.partial_bn must be true or false"):
        load_config(UCF, ["model.partial_bn=3"])
    with pytest.raises(ConfigError, match="key=value|section.key=value"):
        load_config(UCF, ["optim.lr"])
    with pytest.raises(ConfigError, match="optim is a section"):
        load_config(UCF, ["optim=3"])
    with pytest.raises(ConfigError, match="no config 'nope'"):
        load_config("nope")


def test_base_inheritance_chain(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump({"base": UCF, "optim": {"lr": 0.1, "epochs": 3}, "data": {"num_segments": 7}}))
    b = tmp_path / "b.yaml"
    b.write_text(yaml.safe_dump({"base": "a.yaml", "optim": {"epochs": 4}}))  # relative to b.yaml
    c = load_config(b)
    assert c["name"] == "b"
    assert c["optim"]["lr"] == 0.1 and c["optim"]["epochs"] == 4 and c["data"]["num_segments"] == 7
    assert c["optim"]["weight_decay"] == 5e-4 and c["model"]["backbone"] == "resnet50"  # from UCF101
    assert c["test"]["max_views_per_forward"] == 50  # from defaults.yaml
    # overrides beat the files
    assert load_config(b, ["optim.epochs=9"])["optim"]["epochs"] == 9
    # cycles are reported
    a.write_text(yaml.safe_dump({"base": "b.yaml"}))
    with pytest.raises(ConfigError, match="cycle"):
        load_config(b)


def test_env_vars(monkeypatch, tmp_path):
    monkeypatch.setenv("TSN_DATA", str(tmp_path / "d"))
    assert load_config(UCF)["data"]["root"] == str(tmp_path / "d" / "ucf101")
    assert load_config(UCF, expand=False)["data"]["root"] == "${TSN_DATA}/ucf101"
    monkeypatch.delenv("TSN_DATA")
    from tsnlib.utils import data_root

    assert expand_vars("${TSN_DATA}/x") == f"{data_root()}/x"
    with pytest.raises(ConfigError, match="TSN_NOT_SET_ANYWHERE"):
        expand_vars("${TSN_NOT_SET_ANYWHERE}/x")


def test_save_format_roundtrip(tmp_path):
    c = load_config(HMDB, ["optim.lr=0.003"])
    text = format_config(c)
    assert "steps: [20, 40]" in text and text.startswith("name: " + HMDB)
    path = save_config(c, tmp_path / "run" / "config.yaml")
    assert load_config(path) == c
    assert load_config(c) == c  # a dict (e.g. from a checkpoint) loads too


def test_keys_and_get_value():
    keys = config_keys()
    assert "optim.lr" in keys and "data.num_segments" in keys and "test.num_crops" in keys
    assert get_value(load_config(UCF), "optim.lr") == 0.00128
    with pytest.raises(ConfigError):
        get_value({}, "optim.lr")


def test_every_preset_is_a_small_readable_file():
    folder = Path(__file__).resolve().parents[1] / "tsnlib" / "configs"
    for name in list_presets():
        text = (folder / f"{name}.yaml").read_text()
        assert len(text.splitlines()) < 80
        assert "modality:" in text and "clip_len:" in text  # placeholders for the flow presets
