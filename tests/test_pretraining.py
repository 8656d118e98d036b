"""The stand-in for ImageNet pre-training: the generated image set, smoke-mode pre-training and its cache."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from tsnlib import pretraining, synthetic
from tsnlib.synthetic import scene
from tsnlib.config import load_config
from tsnlib.errors import CheckpointError, UsageError
from tsnlib.experiment import build_model_from_config
from tsnlib.pretraining import IMAGE_CLASSES, SMOKE_SETTINGS, make_images, pretrain_backbone
from tsnlib.utils import read_stamp


# ----------------------------------------------------------------------------------------------
# The image set
# ----------------------------------------------------------------------------------------------


def test_classes_are_named_and_counted_exactly():
    assert pretraining.SHAPES == ("Triangle", "Star", "Ring", "Cross", "Hexagon")
    assert pretraining.TEXTURES == ("Checked", "Wavy", "Gradient", "Marbled")
    assert list(pretraining.COLOURS) == ["Lime", "Jade", "Azure", "Violet"]
    assert len(IMAGE_CLASSES) == 80 and len(set(IMAGE_CLASSES)) == 80
    assert IMAGE_CLASSES[:6] == ["LimeCheckedTriangle", "LimeCheckedStar", "LimeCheckedRing", "LimeCheckedCross",
                                 "LimeCheckedHexagon", "LimeWavyTriangle"]
    assert IMAGE_CLASSES[-1] == "VioletMarbledHexagon"
    assert pretraining._class_parts(32) == ("Jade", "Gradient", "Ring")
    assert IMAGE_CLASSES[32] == "JadeGradientRing"


def test_classes_are_disjoint_from_the_action_classes():
    assert set(IMAGE_CLASSES).isdisjoint(synthetic.CLASSES)
    # no actor of the action set (discs, the square, the egg) and none of its surface patterns
    for word in ("Disc", "Square", "Egg", "Plain", "Striped", "Dotted"):
        assert not any(word in name for name in IMAGE_CLASSES), word
    # no colour family comes within reach of an appearance class's hues (its centre +- 0.04) or a flash's
    for hue in pretraining.COLOURS.values():
        lo, hi = hue - pretraining.HUE_JITTER, hue + pretraining.HUE_JITTER
        for actor_hue in scene._ACTOR_HUES.values():
            assert hi < actor_hue - 0.04 or lo > actor_hue + 0.04, (hue, actor_hue)
        for flash_lo, flash_hi in scene._FLASH_HUES:
            assert all(not (flash_lo <= h + k <= flash_hi) for h in (lo, hi) for k in (0.0, 1.0)), (hue, flash_lo)


def test_images_are_deterministic_per_seed_and_split():
    images, labels = make_images(2, seed=0)
    assert images.shape == (160, 54, 54, 3) and images.dtype == np.uint8
    assert labels.tolist() == [k for k in range(80) for _ in range(2)]
    again, _ = make_images(2, seed=0)
    assert np.array_equal(images, again)
    more, more_labels = make_images(3, seed=0)  # more images per class keep the first ones
    assert np.array_equal(more.reshape(80, 3, 54, 54, 3)[:, :2], images.reshape(80, 2, 54, 54, 3))
    assert more_labels.tolist() == [k for k in range(80) for _ in range(3)]
    other_seed, _ = make_images(2, seed=1)
    val, _ = make_images(2, seed=0, split="val")
    for other in (other_seed, val):
        assert not any(np.array_equal(a, b) for a, b in zip(images, other))
    with pytest.raises(ValueError, match="split must be one of"):
        make_images(1, split="test")


# ----------------------------------------------------------------------------------------------
# Pre-training and its cache (smoke mode: three steps)
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke_cache(tmp_path_factory):
    """One smoke-mode pre-training into a fresh output folder: ``(out, result)``."""
    out = tmp_path_factory.mktemp("pretrain_out")
    return out, pretrain_backbone(SMOKE_SETTINGS, out=out, device="cpu", verbose=False)


def _copy(smoke_cache, tmp_path):
    out, _ = smoke_cache
    shutil.copytree(out / "pretrained", tmp_path / "pretrained")
    return tmp_path


def test_pretraining_writes_the_cache_and_its_stamp(smoke_cache):
    out, result = smoke_cache
    pth = out / "pretrained" / "stand-in_resnet8_smoke.pth"
    assert result["trained"] is True
    assert result["path"] == pth and result["pretrained"] == str(pth) and pth.is_file()
    assert result["stamp_path"] == out / "pretrained" / "stand-in_resnet8_smoke.json"
    assert sorted(p.name for p in (out / "pretrained").iterdir()) == ["stand-in_resnet8_smoke.json",
                                                                       "stand-in_resnet8_smoke.pth"]
    stamp = read_stamp(result["stamp_path"])
    assert stamp == result["stamp"]
    assert {k: stamp[k] for k in ("imageset_version", "num_classes", "image_size", "crop_size", "backbone", "seed",
                                  "train_per_class", "val_per_class", "epochs", "batch_size", "max_steps",
                                  "train_images", "val_images")} == {
        "imageset_version": "1", "num_classes": 80, "image_size": 54, "crop_size": 48, "backbone": "resnet8",
        "seed": 0, "train_per_class": 2, "val_per_class": 1, "epochs": 1, "batch_size": 16, "max_steps": 3,
        "train_images": 160, "val_images": 80}
    assert stamp["val_top1"] == stamp["val_correct"] / 80
    assert stamp["sha256"] == pretraining._sha256(pth)
    assert len(stamp["history"]) == 1


def test_a_second_call_reuses_the_cache_without_training(smoke_cache, tmp_path, monkeypatch):
    out = _copy(smoke_cache, tmp_path)
    pth = out / "pretrained" / "stand-in_resnet8_smoke.pth"
    before = pth.stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("the cached backbone should have been reused")

    monkeypatch.setattr(pretraining, "_train", no_training)
    result = pretrain_backbone(SMOKE_SETTINGS, out=out, verbose=False)
    assert result["trained"] is False
    assert result["path"] == pth and pth.stat().st_mtime_ns == before
    assert result["stamp"]["sha256"] == smoke_cache[1]["stamp"]["sha256"]


@pytest.mark.slow  # trains again
def test_other_settings_refuse_then_retrain_with_overwrite(smoke_cache, tmp_path):
    out = _copy(smoke_cache, tmp_path)
    two_epochs = replace(SMOKE_SETTINGS, epochs=2, max_steps=1)
    with pytest.raises(UsageError, match=r"other settings \(epochs: 1 there, 2 asked, max_steps: 3 there, 1 asked\)"):
        pretrain_backbone(two_epochs, out=out, verbose=False)
    result = pretrain_backbone(two_epochs, out=out, overwrite=True, device="cpu", verbose=False)
    assert result["trained"] is True
    assert result["stamp"]["epochs"] == 2 and len(result["stamp"]["history"]) == 2
    # another name keeps both
    other = pretrain_backbone(replace(SMOKE_SETTINGS, seed=1), out=out, name="seed1", device="cpu", verbose=False)
    assert other["trained"] is True and other["path"] == out / "pretrained" / "seed1.pth"
    assert (out / "pretrained" / "stand-in_resnet8_smoke.pth").is_file()


def test_the_cached_backbone_loads_through_model_pretrained_exactly(smoke_cache):
    _, result = smoke_cache
    saved = torch.load(result["path"], map_location="cpu", weights_only=True)
    cfg = load_config("tsn_r8_synthetic_rgb", [f"model.pretrained={result['pretrained']}"])
    model = build_model_from_config(cfg, num_classes=13)
    own = model.backbone.state_dict()
    assert sorted(saved) == sorted(own)  # the backbone's keys exactly: no fc, no prefix
    assert not any(k.startswith(("fc.", "backbone.")) for k in saved)
    assert all(torch.equal(own[k], saved[k]) for k in saved)
    assert model.load_report["missing"] == [] and model.load_report["unexpected"] == []
    assert model.load_report["loaded"] == len(saved)
    assert model.fc.weight.shape == (13, 128)  # the action head is new


def test_a_corrupted_cache_file_is_a_clear_error(smoke_cache, tmp_path):
    out = _copy(smoke_cache, tmp_path)
    pth = out / "pretrained" / "stand-in_resnet8_smoke.pth"
    pth.write_bytes(pth.read_bytes()[: pth.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"stand-in_resnet8_smoke.pth' is corrupted \(its sha256 differs"):
        pretrain_backbone(SMOKE_SETTINGS, out=out, verbose=False)
    pth.unlink()
    with pytest.raises(CheckpointError, match="which is missing: pretrain again with overwrite=True"):
        pretrain_backbone(SMOKE_SETTINGS, out=out, verbose=False)


def test_an_interrupted_write_leaves_no_half_file(tmp_path, monkeypatch):
    def interrupted_save(obj, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"PK half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pretraining, "_train", lambda settings, device, verbose: ({"w": torch.zeros(1)}, {}))
    monkeypatch.setattr(torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        pretrain_backbone(SMOKE_SETTINGS, out=tmp_path, device="cpu", verbose=False)
    assert list((tmp_path / "pretrained").iterdir()) == []


def test_course_pretrained_says_which_weights(smoke_cache, tmp_path, monkeypatch):
    out = _copy(smoke_cache, tmp_path / "out")
    monkeypatch.delenv("TSN_PRETRAINED", raising=False)
    stand_in = pretraining.course_pretrained("resnet8", out=out, settings=SMOKE_SETTINGS, verbose=False)
    assert stand_in["source"] == "stand-in" and stand_in["stand_in"]["trained"] is False
    assert stand_in["pretrained"] == str(out / "pretrained" / "stand-in_resnet8_smoke.pth")
    assert stand_in["label"] == "stand-in pre-trained (80 generated image classes)"

    given = tmp_path / "my_weights.pth"
    given.write_bytes(b"")
    monkeypatch.setenv("TSN_PRETRAINED", str(given))
    assert pretraining.course_pretrained("resnet8", out=out) == {
        "pretrained": str(given), "source": "file", "label": "pre-trained (my_weights.pth)", "stand_in": None}
    monkeypatch.delenv("TSN_PRETRAINED")

    from tsnlib.backbones import imagenet_weights_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    imagenet = imagenet_weights_path("resnet18")
    imagenet.parent.mkdir(parents=True)
    imagenet.write_bytes(b"")
    assert pretraining.course_pretrained("resnet18", out=out) == {
        "pretrained": "imagenet", "source": "imagenet", "label": "ImageNet pre-trained", "stand_in": None}
    with pytest.raises(UsageError, match="pre-trained weights not found"):
        pretraining.course_pretrained("resnet8", out=out, weights=tmp_path / "nope.pth")
