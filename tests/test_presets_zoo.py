"""The TSN model zoo presets: each loads with the hyper-parameters read from MMAction2 0.x's configs, and each
trains a few steps on a tiny benchmark written in that benchmark's official format (nothing downloaded).

The fixtures come from ``benchmark_fixtures.py``. Training uses the library's entry, :func:`tsnlib.training.train`,
with the preset as it is except what makes it tiny: 32-px views (224 for Swin), batch 2, two steps, one epoch, no
workers, fp32, random init instead of downloaded weights (the Kinetics-initialised presets start from a
checkpoint trained here, as they would from a real one). Also here: the keys the zoo added to the library
(dense sampling, multi-scale crop scales, the loss weight, fc_lr5) and the error for a preset name that does not
exist.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tsnlib.checkpoints import load_checkpoint
from tsnlib.config import ConfigError, list_presets, load_config
from tsnlib.experiment import build_datasets, build_model_from_config
from tsnlib.models import get_param_groups
from tsnlib.training import Trainer, read_metrics, train
from tsnlib.transforms import MultiScaleCrop

import benchmark_fixtures as F

torch.set_num_threads(1)

K400 = "tsn_r50_1x1x3_100e_kinetics400_rgb"
DENSE = "tsn_r50_dense_1x1x5_50e_kinetics400_rgb"
K400_FLOW = "tsn_r50_320p_1x1x3_110e_kinetics400_flow"
K600 = "tsn_r50_video_1x1x8_100e_kinetics600_rgb"
K700 = "tsn_r50_video_1x1x8_100e_kinetics700_rgb"
STHV1 = "tsn_r50_1x1x8_50e_sthv1_rgb"
STHV2 = "tsn_r50_1x1x8_50e_sthv2_rgb"
DIVING = "tsn_r50_video_1x1x8_100e_diving48_rgb"
MIT = "tsn_r50_1x1x6_100e_mit_rgb"
MMIT = "tsn_r101_1x1x5_50e_mmit_rgb"
HVU = {c: f"tsn_r18_1x1x8_100e_hvu_{c}_rgb" for c in ("action", "attribute", "concept", "event", "object", "scene")}
ANET_CLIP = "tsn_r50_320p_1x1x8_50e_activitynet_clip_rgb"
ANET_VIDEO = "tsn_r50_320p_1x1x8_50e_activitynet_video_rgb"
HMDB_K400 = "tsn_r50_1x1x8_50e_hmdb51_kinetics400_rgb"
RESNEXT = "tsn_rn101_32x4d_320p_1x1x3_100e_kinetics400_rgb"
DENSENET = "tsn_dense161_320p_1x1x3_100e_kinetics400_rgb"
SWIN = "tsn_swin_transformer_video_320p_1x1x3_100e_kinetics400_rgb"
K400_CKPT = "${TSN_DATA}/checkpoints/tsn_r50_kinetics400_rgb.pth"

# ---------------------------------------------------------------------------------------------
# (a) every preset loads with the values of its MMAction2 config
# ---------------------------------------------------------------------------------------------

# What defines a preset, as read from MMAction2 0.x (71a938a). Keys not listed are checked where they differ
# between presets of one family (e.g. val/test crops); every value is exact.
KINETICS = {
    "model.backbone": "resnet50", "model.pretrained": "imagenet", "model.dropout": 0.4, "model.fc_init_std": 0.01,
    "model.multi_label": False, "data.dataset": "kinetics400", "data.source": "video", "data.modality": "RGB",
    "data.clip_len": 1, "data.num_segments": 3, "data.dense_sampling": False, "data.train_crop": "multiscale",
    "data.num_fixed_crops": 5, "data.crop_scales": [], "data.max_distort": 1, "data.flip": True,
    "data.val_subset": "val", "data.test_subset": "val", "data.val_input_size": 224,
    "optim.lr": 0.01, "optim.momentum": 0.9, "optim.weight_decay": 1e-4, "optim.schedule": "multistep",
    "optim.steps": [40, 80], "optim.epochs": 100, "optim.clip_grad": 40.0, "optim.loss_weight": 1.0,
    "optim.fc_lr5": False, "optim.base_batch_size": 256, "train.batch_size": 32, "train.val_interval": 5,
    "train.save_best": "val_top1", "test.num_clips": 25, "test.num_crops": 10, "test.input_size": 224,
}
VIDEO_1X1X8 = {"data.num_segments": 8, "data.train_crop": "random_resized", "data.val_input_size": 256,
               "optim.lr": 0.00375, "optim.base_batch_size": 96, "train.batch_size": 12, "test.num_crops": 3,
               "test.input_size": 256}
HVU_ACTION = {
    **KINETICS, "model.backbone": "resnet18", "model.multi_label": True, "data.dataset": "hvu", "data.hvu_category": "action",
    "data.num_segments": 8, "data.train_crop": "random_resized", "data.val_input_size": 256, "optim.loss_weight": 333.0,
    "train.val_interval": 2, "train.save_best": "val_mAP", "test.num_crops": 3, "test.input_size": 256,
}
ANET = {
    **KINETICS, "model.pretrained": K400_CKPT, "model.dropout": 0.8, "data.dataset": "activitynet",
    "data.activitynet_level": "clip", "data.num_segments": 8, "data.train_crop": "random_resized",
    "data.val_input_size": 256, "optim.lr": 0.001, "optim.steps": [20, 40], "optim.epochs": 50,
    "optim.base_batch_size": 64, "train.batch_size": 8, "test.num_crops": 3, "test.input_size": 256,
}
THIRD_PARTY = {**KINETICS, "data.train_crop": "random_resized", "data.val_input_size": 256, "train.val_interval": 1,
               "test.num_crops": 3, "test.input_size": 256}
EXPECTED = {
    K400: KINETICS,
    DENSE: {**KINETICS, "model.dropout": 0.5, "model.fc_init_std": 0.001, "data.num_segments": 5,
            "data.dense_sampling": True, "data.num_fixed_crops": 13, "optim.lr": 0.03, "optim.clip_grad": 20.0,
            "optim.base_batch_size": 128, "train.batch_size": 16, "train.val_interval": 2, "test.num_clips": 8,
            "test.num_crops": 1},
    K400_FLOW: {**KINETICS, "data.dataset": "list", "data.source": "frames", "data.modality": "Flow", "data.clip_len": 5,
                "data.train_crop": "random_resized", "data.num_fixed_crops": 13,  # the default, unused by this crop
                "optim.lr": 0.005, "optim.steps": [70, 100], "optim.epochs": 110},
    K600: {**KINETICS, **VIDEO_1X1X8, "data.dataset": "kinetics600"},
    K700: {**KINETICS, **VIDEO_1X1X8, "data.dataset": "kinetics700"},
    STHV1: {**KINETICS, "model.dropout": 0.5, "model.norm_eval": True, "model.sync_bn": True, "data.dataset": "sthv1",
            "data.source": "frames", "data.num_segments": 8, "data.num_fixed_crops": 13, "data.flip": False,
            "optim.lr": 0.02, "optim.weight_decay": 5e-4, "optim.steps": [20, 40], "optim.epochs": 50,
            "optim.clip_grad": 20.0, "optim.base_batch_size": 128, "train.batch_size": 16, "test.num_clips": 8},
    STHV2: {**KINETICS, "model.dropout": 0.5, "model.norm_eval": False, "model.sync_bn": False, "data.dataset": "sthv2",
            "data.num_segments": 8, "data.flip": False, "optim.lr": 0.02, "optim.steps": [20, 40], "optim.epochs": 50,
            "optim.base_batch_size": 128, "train.batch_size": 16, "test.num_clips": 8, "test.num_crops": 3,
            "test.input_size": 256},
    DIVING: {**KINETICS, "data.dataset": "diving48", "data.val_subset": "test", "data.test_subset": "test",
             "data.num_segments": 8, "optim.lr": 0.0025, "optim.base_batch_size": 64, "train.batch_size": 8,
             "test.num_clips": 8, "test.num_crops": 1},
    MIT: {**KINETICS, "data.dataset": "mit", "data.num_segments": 6, "data.crop_scales": [1, 0.8], "data.max_distort": 0,
          "optim.lr": 0.005, "optim.base_batch_size": 128, "train.batch_size": 16, "train.val_interval": 1,
          "test.num_clips": 6, "test.num_crops": 3, "test.input_size": 256},
    MMIT: {**KINETICS, "model.backbone": "resnet101", "model.dropout": 0.5, "model.multi_label": True,
           "data.dataset": "mmit", "data.num_segments": 5, "optim.steps": [20, 40], "optim.epochs": 50,
           "optim.clip_grad": 20.0, "optim.loss_weight": 160.0, "optim.fc_lr5": True, "optim.base_batch_size": 128,
           "train.batch_size": 16, "train.save_best": "val_mAP", "test.num_clips": 5, "test.num_crops": 1,
           "test.input_size": 256},
    **{name: {**HVU_ACTION, "data.hvu_category": category} for category, name in HVU.items()},
    ANET_CLIP: ANET,
    ANET_VIDEO: {**ANET, "data.activitynet_level": "video"},
    HMDB_K400: {**KINETICS, "model.pretrained": K400_CKPT, "data.dataset": "hmdb51", "data.val_subset": "test",
                "data.test_subset": "test", "data.num_segments": 8, "data.train_crop": "random_resized",
                "data.num_fixed_crops": 13,  # the default, unused by this crop
                "data.val_input_size": 256, "optim.lr": 0.025, "optim.steps": [20, 40], "optim.epochs": 50,
                "train.val_interval": 1, "test.num_clips": 8, "test.num_crops": 1, "test.input_size": 256},
    RESNEXT: {**THIRD_PARTY, "model.backbone": "timm:resnext101_32x4d.gluon_in1k", "optim.lr": 0.005,
              "optim.base_batch_size": 128, "train.batch_size": 16},
    DENSENET: {**THIRD_PARTY, "model.backbone": "timm:densenet161", "optim.lr": 0.00375, "optim.base_batch_size": 96,
               "train.batch_size": 12},
    SWIN: {**THIRD_PARTY, "model.backbone": "timm:swin_base_patch4_window7_224", "data.val_input_size": 224,
           "optim.lr": 0.0075, "optim.base_batch_size": 192, "train.batch_size": 24, "test.num_crops": 10,
           "test.input_size": 224},
}


def _get(cfg, dotted):
    section, key = dotted.split(".")
    return cfg[section][key]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_loads_with_its_mmaction2_values(name, monkeypatch, tmp_path):
    monkeypatch.setenv("TSN_DATA", str(tmp_path))
    cfg = load_config(name)
    assert name in list_presets() and cfg["name"] == name
    expected = {k: (v.replace("${TSN_DATA}", str(tmp_path)) if isinstance(v, str) else v)
                for k, v in EXPECTED[name].items()}
    assert {k: _get(cfg, k) for k in expected} == expected
    assert cfg["data"]["input_size"] == 224 and cfg["data"]["split"] == 1
    assert load_config(name, expand=False)["description"].startswith("TSN ")


def test_every_zoo_preset_is_listed_in_the_configs_readme():
    readme = (Path(__file__).resolve().parents[1] / "tsnlib" / "configs" / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `tsn_")]
    assert sorted(line.split("`")[1] for line in rows) == list_presets()


# ---------------------------------------------------------------------------------------------
# (b) each preset trains a few steps on its benchmark, written in the official format
# ---------------------------------------------------------------------------------------------

TINY = ["model.pretrained=null", "data.input_size=32", "data.scale_size=36", "data.val_input_size=32",
        "data.val_scale_size=36", "test.input_size=32", "test.scale_size=36", "train.batch_size=2", "train.workers=0",
        "test.workers=0", "optim.epochs=1", "train.max_steps_per_epoch=2", "train.amp=false", "test.amp=false",
        "train.tensorboard=false"]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Every benchmark of the zoo, written once: ``{name: (root, classes)}`` (HVU: classes per category)."""
    from tsnlib.cli import main

    base = tmp_path_factory.mktemp("zoo")
    data = {
        "kinetics": (base / "kinetics400", F.make_kinetics(base / "kinetics400")),
        "sthv1": (base / "sthv1", F.make_sthv1(base / "sthv1")),
        "sthv2": (base / "sthv2", F.make_sthv2(base / "sthv2")),
        "diving48": (base / "diving48", F.make_diving48(base / "diving48")),
        "mit": (base / "mit", F.make_mit(base / "mit")),
        "mmit": (base / "mmit", F.make_mmit(base / "mmit")),
        "activitynet": (base / "activitynet", F.make_activitynet(base / "activitynet")),
        "hvu": (base / "hvu", F.make_hvu(base / "hvu")),
        "hmdb51": (base / "hmdb51", F.make_hmdb51(base / "hmdb51")),
    }
    # the flow preset reads what `tsnlib flow` writes from a Kinetics root: flow frames and the official lists.
    # Trimmed clips only: the frame list line of an untrimmed video's segment carries an offset that a list named
    # kinetics400_* does not announce, and the list reader refuses it (a gap of the lists, not of the preset).
    flow_src = base / "kinetics400_trimmed"
    classes = F.make_kinetics(flow_src, untrimmed=False)
    assert main(["flow", str(flow_src), "--out", str(base / "kinetics400_flow"), "--workers", "0"]) == 0
    data["kinetics_flow"] = (base / "kinetics400_flow", classes)
    return data


def _train(name, root, work_dir, *extra):
    cfg = load_config(name, [f"data.root={root}", *TINY, *extra])
    return cfg, train(cfg, work_dir=work_dir, device="cpu")


def _check_run(trainer, work_dir, name, classes, steps=2):
    """The run wrote its checkpoint and config, its loss is finite, its classifier has the fixture's classes."""
    ckpt = load_checkpoint(work_dir / "last.pth")
    assert ckpt["class_names"] == list(classes)
    assert trainer.raw_model.fc.out_features == len(classes) == ckpt["model"]["fc.weight"].shape[0]
    assert load_config(work_dir / "config.yaml")["name"] == name
    row = read_metrics(work_dir)[0]
    assert row["steps"] == steps and math.isfinite(row["train_loss"])
    return row


@pytest.fixture(scope="module")
def kinetics_checkpoint(zoo, tmp_path_factory):
    """The Kinetics-400 preset trained on the Kinetics fixture: its run, and the checkpoint the HMDB51 and
    ActivityNet presets start from."""
    root, classes = zoo["kinetics"]
    work_dir = tmp_path_factory.mktemp("k400") / "run"
    cfg, trainer = _train(K400, root, work_dir)
    yield cfg, trainer, work_dir, classes
    shutil.rmtree(work_dir)


@pytest.mark.slow  # trains the Kinetics-400 preset (its fixture)
def test_kinetics400_preset_trains(kinetics_checkpoint):
    cfg, trainer, work_dir, classes = kinetics_checkpoint
    assert cfg["data"]["dataset"] == "kinetics400" and cfg["data"]["num_segments"] == 3
    row = _check_run(trainer, work_dir, K400, classes)
    assert len(trainer.loaders["train"].dataset) == 7  # 6 trimmed clips and the segment of an untrimmed video
    assert row["train_videos"] == 4 and row["val_videos"] == 3  # validate.csv, one clip per class


# preset -> (its benchmark in the zoo fixture, HVU category or None)
TRAINED = {
    DENSE: ("kinetics", None),
    K400_FLOW: ("kinetics_flow", None),
    K600: ("kinetics", None),
    K700: ("kinetics", None),
    STHV1: ("sthv1", None),
    STHV2: ("sthv2", None),
    DIVING: ("diving48", None),
    MIT: ("mit", None),
    MMIT: ("mmit", None),
    **{name: ("hvu", category) for category, name in HVU.items()},
}


@pytest.mark.slow  # trains each preset's network for a step
@pytest.mark.parametrize("name", list(TRAINED))
def test_preset_trains_on_its_benchmark(name, zoo, tmp_path):
    key, category = TRAINED[name]
    root, classes = zoo[key]
    classes = classes[category] if category else classes
    cfg, trainer = _train(name, root, tmp_path / "run")
    row = _check_run(trainer, tmp_path / "run", name, classes)
    assert trainer.raw_model.num_segments == EXPECTED[name]["data.num_segments"]
    if EXPECTED[name]["model.multi_label"]:
        assert trainer.raw_model.multi_label is True and "train_top1" not in row and math.isfinite(row["val_mAP"])
    else:
        assert math.isfinite(row["val_top1"])
    if name == MMIT:  # fc_lr5: the classifier's own groups, lr x5 and x10
        mults = {g["name"]: (g["lr_mult"], g["decay_mult"]) for g in trainer.optimizer.param_groups}
        assert (mults["fc_weight"], mults["fc_bias"]) == ((5.0, 1.0), (10.0, 0.0))
    shutil.rmtree(tmp_path / "run")  # checkpoints of ResNet-50/101 with momentum: hundreds of MB


@pytest.mark.slow  # trains ResNet-50 runs from the Kinetics checkpoint
@pytest.mark.parametrize("name, key", [(HMDB_K400, "hmdb51"), (ANET_CLIP, "activitynet"), (ANET_VIDEO, "activitynet")])
def test_kinetics_initialised_presets_start_from_the_kinetics_checkpoint(name, key, zoo, kinetics_checkpoint, tmp_path):
    root, classes = zoo[key]
    ckpt_path = kinetics_checkpoint[2] / "last.pth"
    cfg = load_config(name, [f"data.root={root}", *TINY, f"model.pretrained={ckpt_path}"])
    # the backbone is the Kinetics network's, tensor for tensor; the classifier is new (another class count)
    model = build_model_from_config(cfg, len(classes))
    kinetics = load_checkpoint(ckpt_path)["model"]
    own = model.backbone.state_dict()
    assert model.load_report["missing"] == [] and model.load_report["unexpected"] == []
    assert model.load_report["loaded"] == len(own)
    for k, v in own.items():
        assert torch.equal(v, kinetics[f"backbone.{k}"]), k
    assert model.fc.out_features == len(classes) and not torch.equal(model.fc.weight, kinetics["fc.weight"])
    trainer = train(cfg, work_dir=tmp_path / "run", device="cpu")
    row = _check_run(trainer, tmp_path / "run", name, classes)
    # ActivityNet: one sample per labelled segment (6 in training), or per video (4)
    expected_train = {HMDB_K400: 6, ANET_CLIP: 6, ANET_VIDEO: 4}[name]
    assert len(trainer.loaders["train"].dataset) == expected_train and row["train_videos"] == 4
    shutil.rmtree(tmp_path / "run")


# the third-party backbones: one step each at their smallest legal size (Swin: 224 px only)
HEAVY = [
    pytest.param(RESNEXT, [], id="resnext101_32x4d"),
    pytest.param(DENSENET, [], id="densenet161"),
    pytest.param(SWIN, ["data.input_size=224", "data.val_input_size=224", "test.input_size=224", "data.scale_size=256",
                        "data.val_scale_size=256", "test.scale_size=256"], id="swin_base"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, sizes", HEAVY)
def test_third_party_backbone_preset_trains_one_step(name, sizes, zoo, tmp_path):
    root, classes = zoo["kinetics"]
    cfg, trainer = _train(name, root, tmp_path / "run", "train.max_steps_per_epoch=1", "train.val_interval=0", *sizes)
    assert trainer.raw_model.backbone_name == EXPECTED[name]["model.backbone"]
    _check_run(trainer, tmp_path / "run", name, classes, steps=1)
    shutil.rmtree(tmp_path / "run")


# ---------------------------------------------------------------------------------------------
# the keys the zoo added: dense sampling, crop scales, fc_lr5, the loss weight; and a wrong name
# ---------------------------------------------------------------------------------------------


def test_dense_preset_samples_one_window_and_tests_ten(zoo):
    root, _ = zoo["kinetics"]
    cfg = load_config(DENSE, [f"data.root={root}", *TINY])
    ds = build_datasets(cfg)
    train_s, val_s, test_s = ds["train"].sampler, ds["val"].sampler, ds["test"].sampler
    assert (train_s.dense, train_s.describe(), val_s.dense, val_s.num_clips) == (True, "dense-1x1x5", True, 5)
    assert (test_s.dense, test_s.num_clips) == (True, 80)  # 8 snippets in each of 10 windows
    idx = train_s(100, np.random.default_rng(0))[:, 0]
    assert np.diff(idx).tolist() == [12, 12, 12, 12] and 0 <= idx[0] <= 35  # 64 // 5 apart, a window that fits
    assert val_s(100)[:, 0].tolist() == [18, 30, 42, 54, 66]  # the centred window: start (37 - 1) // 2
    assert ds["test"][0]["imgs"].shape == (80, 3, 32, 32)  # 80 snippets x 1 centre crop
    assert not load_config(K400)["data"]["dense_sampling"]


def test_moments_crop_scales_give_square_crops_of_two_sizes(zoo):
    root, _ = zoo["mit"]
    cfg = load_config(MIT, [f"data.root={root}"])  # the preset's own sizes: short side 256, 224 crops
    transform = build_datasets(cfg, subsets=("train",))["train"].transform
    step = next(s for s in transform.transforms if isinstance(s, MultiScaleCrop))
    assert (step.scales, step.max_distort, step.num_fixed_crops) == ((1.0, 0.8), 0, 5)
    # a 340 x 256 frame, short side kept: sides 256 and int(256 * 0.8) = 204, width and height from one scale
    assert [size for size, _ in step._candidates(256, 340)[2]] == [(256, 256), (204, 204)]
    with pytest.raises(ConfigError, match=r"data.crop_scales must be fractions in \(0, 1\] of the short side"):
        load_config(MIT, ["data.crop_scales=[1, 1.2]"])
    with pytest.raises(ConfigError, match="data.max_distort must be >= 0, got -1"):
        load_config(MIT, ["data.max_distort=-1"])


def test_fc_lr5_puts_the_classifier_in_its_own_groups():
    from tsnlib.models import TSN

    model = TSN(4, backbone="resnet18", num_segments=2, pretrained=None)
    plain = {g["name"] for g in get_param_groups(model, 0.01, 1e-4)}
    assert plain == {"first_conv_weight", "normal_weight", "normal_bias", "bn"} and "fc_weight" not in plain
    groups = {g["name"]: g for g in get_param_groups(model, 0.01, 1e-4, fc_lr5=True)}
    assert groups["fc_weight"]["params"] == [model.fc.weight] and groups["fc_bias"]["params"] == [model.fc.bias]
    assert (groups["fc_weight"]["lr"], groups["fc_weight"]["weight_decay"]) == (pytest.approx(0.05, abs=1e-15), 1e-4)
    assert (groups["fc_bias"]["lr"], groups["fc_bias"]["weight_decay"]) == (pytest.approx(0.1, abs=1e-15), 0.0)
    assert all(p is not model.fc.weight for p in groups["normal_weight"]["params"])


@pytest.mark.slow  # trains a toy network
def test_loss_weight_scales_the_step_as_lr_times_weight_does(tmp_path):
    """With momentum SGD, a loss weighted by w under lr L and weight decay D takes the step of the unweighted loss
    under lr L * w and decay D / w (clipping off): MMAction2's loss_weight 160 / 333 is such a factor."""
    g = torch.Generator().manual_seed(0)
    batch = [{"imgs": torch.randn(2, 2, 3, 32, 32, generator=g), "label": torch.tensor([0, 3])}]

    def one_step(run, *overrides):
        cfg = load_config("tsn_r8_synthetic_rgb", ["train.amp=false", "train.tensorboard=false", "data.num_segments=2",
                                                   "optim.warmup_epochs=0", "optim.clip_grad=0", "model.dropout=0",
                                                   "optim.label_smoothing=0", "optim.schedule=constant", *overrides])
        torch.manual_seed(0)
        model = build_model_from_config(cfg, 4)
        t = Trainer(cfg, model, {"train": batch}, tmp_path / run, device="cpu")
        t.train_one_epoch(0)
        return t.raw_model.state_dict()

    weighted = one_step("weighted", "optim.lr=0.01", "optim.weight_decay=1e-4", "optim.loss_weight=160")
    scaled = one_step("scaled", "optim.lr=1.6", "optim.weight_decay=6.25e-7", "optim.loss_weight=1")
    plain = one_step("plain", "optim.lr=0.01", "optim.weight_decay=1e-4", "optim.loss_weight=1")
    for k, v in weighted.items():
        if v.is_floating_point():
            torch.testing.assert_close(v, scaled[k], rtol=1e-5, atol=1e-6)
    assert not torch.equal(weighted["fc.weight"], plain["fc.weight"])
    with pytest.raises(ConfigError, match=r"optim.loss_weight must be > 0, got 0.0"):
        load_config(MMIT, ["optim.loss_weight=0"])


def test_a_preset_name_that_does_not_exist_gets_close_matches(capsys):
    from tsnlib.cli import main

    presets = ", ".join(list_presets())
    with pytest.raises(ConfigError) as info:
        load_config("tsn_r50_1x1x3_100e_kinetic400_rgb")
    assert str(info.value) == (
        "no config 'tsn_r50_1x1x3_100e_kinetic400_rgb': not a preset and not a YAML file. Did you mean "
        "tsn_r50_1x1x3_100e_kinetics400_rgb or tsn_r50_video_1x1x8_100e_kinetics700_rgb or "
        f"tsn_r50_video_1x1x8_100e_kinetics600_rgb? Presets: {presets}")
    assert main(["train", "tsn_r18_1x1x8_100e_hvu_actions_rgb"]) == 1
    assert capsys.readouterr().err == (
        "tsnlib train: error: no config 'tsn_r18_1x1x8_100e_hvu_actions_rgb': not a preset and not a YAML file. "
        "Did you mean tsn_r18_1x1x8_100e_hvu_action_rgb or tsn_r18_1x1x8_100e_hvu_concept_rgb or "
        f"tsn_r18_1x1x8_100e_hvu_object_rgb? Presets: {presets}\n")
    with pytest.raises(ConfigError, match=r"^no config 'tsn_nope': not a preset and not a YAML file\. Presets: "):
        load_config("tsn_nope")  # nothing close: no guess
