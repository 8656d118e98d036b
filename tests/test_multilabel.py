"""Multi-label TSN: average precision by hand and against scikit-learn, the BCE loss, multi-hot targets,
the config switch, bad input, and one tiny run trained, tested and scored end to end."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from tsnlib.annotations import LabelMap, VideoRecord
from tsnlib.config import ConfigError, load_config
from tsnlib.datasets import TSNDataset, multi_hot
from tsnlib.errors import AnnotationError, DataError
from tsnlib.evaluation import (ScoreSet, average_precision, format_map, map_by_category, mean_average_precision,
                               random_ranking_ap, sigmoid)
from tsnlib.sampling import FrameSampler
from tsnlib.training import multi_label_loss

torch.set_num_threads(1)

# ---------------------------------------------------------------------------------------------
# average precision, worked by hand
# ---------------------------------------------------------------------------------------------


def test_average_precision_worked_example():
    # ranked 0.9 (+), 0.8 (-), 0.7 (+), 0.6 (-), 0.5 (+): the recall steps by 1/3 at ranks 1, 3 and 5,
    # where the precision is 1/1, 2/3 and 3/5: AP = (1 + 2/3 + 3/5) / 3 = 34/45
    scores = np.array([0.6, 0.9, 0.5, 0.8, 0.7])
    targets = np.array([0, 1, 1, 0, 1])
    assert average_precision(scores, targets) == pytest.approx(34 / 45, abs=1e-15)


def test_tied_scores_enter_together():
    # 0.9 (-); then 0.7 twice, one (+) one (-): at that threshold TP 1, FP 2, P = 1/3, R = 1/2; then 0.4 (+): P = 2/4, R = 1.
    # AP = 1/2 * 1/3 + 1/2 * 2/4 = 5/12. Ranking the tied positive first would give 1/2 * 1/2 + 1/2 * 2/4 = 1/2.
    scores = np.array([0.9, 0.7, 0.7, 0.4])
    targets = np.array([0, 1, 0, 1])
    assert average_precision(scores, targets) == pytest.approx(5 / 12, abs=1e-15)
    assert average_precision(scores[[0, 2, 1, 3]], targets[[0, 2, 1, 3]]) == pytest.approx(5 / 12, abs=1e-15)
    assert math.isnan(average_precision(scores, np.zeros(4)))  # no positive: no recall, no AP


def test_mean_average_precision_by_hand_lists_the_classes_without_positives():
    scores = np.array([[0.6, 0.1, 0.3],
                       [0.9, 0.4, 0.2],
                       [0.5, 0.3, 0.9],
                       [0.8, 0.2, 0.1],
                       [0.7, 0.6, 0.5]])
    targets = np.array([[0, 0, 0],
                        [1, 1, 0],
                        [1, 0, 0],
                        [0, 0, 0],
                        [1, 1, 0]])
    m = mean_average_precision(scores, targets, ["run", "jump", "swim"])
    # run: the worked example above, 34/45; jump: its two positives have its two highest scores, AP 1;
    # swim: no video has it
    np.testing.assert_allclose(m["per_class_ap"][:2], [34 / 45, 1.0], rtol=0, atol=1e-15)
    assert math.isnan(m["per_class_ap"][2])
    assert m["mAP"] == pytest.approx((34 / 45 + 1.0) / 2, abs=1e-15)
    assert m["classes_without_positives"] == [2] and m["names_without_positives"] == ["swim"]
    assert (m["num_videos"], m["num_classes"], m["num_classes_with_positives"]) == (5, 3, 2)
    assert format_map(m, name="toy") == ("toy: mAP 87.78% over 2 classes with positives (5 videos); 1 class without "
                                         "positives, left out of the mean: swim")
    # scikit-learn's macro average counts swim as AP 0 (and warns); ours is its mean over the other two
    with pytest.warns(UserWarning, match="No positive class"):
        macro = average_precision_score(targets, scores, average="macro")
    assert macro == pytest.approx((34 / 45 + 1.0) / 3, abs=1e-15)


def test_mean_average_precision_equals_scikit_learn_on_random_data_with_ties():
    rng = np.random.default_rng(3)
    n, c = 57, 9
    scores = rng.integers(0, 6, size=(n, c)) / 5.0  # six values per class: many ties
    targets = (rng.random((n, c)) < 0.3).astype(np.int64)
    targets[0] = 1  # every class has a positive
    assert (scores[:, :, None] == scores[:, None, :]).any()
    m = mean_average_precision(scores, targets)
    per_sklearn = np.array([average_precision_score(targets[:, k], scores[:, k]) for k in range(c)])
    assert np.abs(m["per_class_ap"] - per_sklearn).max() <= 1e-12
    assert abs(m["mAP"] - per_sklearn.mean()) <= 1e-12
    assert abs(m["mAP"] - average_precision_score(targets, scores, average="macro")) <= 1e-12
    assert m["classes_without_positives"] == []
    # the sigmoid of the scores ranks every class the same: the same mAP
    logits = rng.normal(size=(n, c))
    assert mean_average_precision(sigmoid(logits).astype(np.float64), targets)["mAP"] == pytest.approx(
        mean_average_precision(logits, targets)["mAP"], abs=1e-12)


def test_map_by_category_by_hand_with_its_bootstrap():
    # run: the worked example above (34/45); jump: its two positives score highest (1); swim: likewise (1)
    scores = np.array([[0.6, 0.1, 0.3], [0.9, 0.4, 0.2], [0.5, 0.3, 0.9], [0.8, 0.2, 0.1], [0.7, 0.6, 0.5]])
    targets = np.array([[0, 0, 0], [1, 1, 0], [1, 0, 1], [0, 0, 0], [1, 1, 0]])
    categories = {"run": "action", "jump": "action", "swim": "scene"}
    m = map_by_category(scores, targets, ["run", "jump", "swim"], categories, num_samples=3, seed=7)
    assert list(m) == ["action", "scene"]
    assert m["action"]["classes"] == ["run", "jump"] and m["scene"]["classes"] == ["swim"]
    assert m["action"]["mAP"] == pytest.approx((34 / 45 + 1) / 2, abs=1e-15)
    assert m["action"]["positive_rate"] == pytest.approx([0.6, 0.4]) and m["scene"]["positive_rate"] == [0.2]
    # chance: what a random ranking gets on 5 videos, (P - 1)/4 + H_5 (5 - P)/20 with H_5 = 137/60
    h5 = 137 / 60
    assert m["action"]["chance_per_class"] == pytest.approx([2 / 4 + h5 * 2 / 20, 1 / 4 + h5 * 3 / 20], abs=1e-15)
    assert m["action"]["chance"] == pytest.approx((3 / 4 + h5 * 5 / 20) / 2, abs=1e-15)
    assert m["scene"]["mAP"] == 1.0 and m["scene"]["chance"] == pytest.approx(h5 * 4 / 20, abs=1e-15)
    # the bootstrap: the same three resamples of the five videos for every category, percentiles of their mAPs
    rng = np.random.default_rng(7)
    draws = []
    for _ in range(3):
        rows = rng.integers(0, 5, 5)
        aps = [average_precision(scores[rows, c], targets[rows, c]) for c in (0, 1)]
        draws.append(np.nanmean(aps) if np.isfinite(aps).any() else np.nan)
    draws = np.array(draws)[np.isfinite(draws)]
    assert m["action"]["interval"] == pytest.approx(list(np.quantile(draws, [0.025, 0.975])), abs=1e-15)
    assert map_by_category(scores, targets, ["run", "jump", "swim"], categories, num_samples=3, seed=7) == m
    with pytest.raises(ValueError, match=r"no category for the class\(es\) \['swim'\]"):
        map_by_category(scores, targets, ["run", "jump", "swim"], {"run": "a", "jump": "a"})


def test_random_ranking_ap_is_the_mean_over_every_ranking():
    # every ranking of 6 videos with 2 positives (15 of them, equally likely): the mean AP is the formula's
    for n, p in ((6, 2), (5, 1), (5, 4), (7, 3)):
        aps = [average_precision(-np.arange(n, dtype=float), np.isin(np.arange(n), pos).astype(int))
               for pos in itertools.combinations(range(n), p)]
        assert random_ranking_ap(p, n) == pytest.approx(np.mean(aps), abs=1e-12)
    assert random_ranking_ap(3, 3) == 1.0 and math.isnan(random_ranking_ap(0, 4))
    assert random_ranking_ap(360, 1440) == pytest.approx(0.25, abs=0.01)  # -> the positive rate on many videos
    assert random_ranking_ap(4, 16) == pytest.approx(0.369, abs=1e-3) and random_ranking_ap(4, 16) > 0.25
    with pytest.raises(ValueError, match="num_positives <= num_videos"):
        random_ranking_ap(5, 4)


def test_targets_must_be_multi_hot_and_match_the_scores():
    s = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"targets must be multi-hot \(3, 2\)"):
        mean_average_precision(s, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="0 or 1 in every cell"):
        mean_average_precision(s, np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="2 class names for scores with 3 classes"):
        mean_average_precision(np.zeros((2, 3)), np.ones((2, 3)), ["a", "b"])


# ---------------------------------------------------------------------------------------------
# the loss, the targets, the switch
# ---------------------------------------------------------------------------------------------


def test_multi_label_loss_is_binary_cross_entropy_by_hand():
    logits = torch.tensor([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0]])
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    p = 1 / (1 + torch.exp(-logits.double()))
    by_hand = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    assert multi_label_loss(logits.double(), y.double()).item() == pytest.approx(by_hand.item(), abs=1e-12)
    # smoothing 0.1 over 3 classes: targets 0.9 y + 0.1 / 3
    ys = 0.9 * y.double() + 0.1 / 3
    smoothed = -(ys * torch.log(p) + (1 - ys) * torch.log(1 - p)).mean()
    assert multi_label_loss(logits.double(), y.double(), 0.1).item() == pytest.approx(smoothed.item(), abs=1e-12)
    with pytest.raises(DataError, match=r"targets \(2, 4\) do not match the model's logits \(2, 3\)"):
        multi_label_loss(logits, torch.zeros(2, 4))


def test_multi_hot():
    assert multi_hot((3, 0), 5).tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]
    assert multi_hot((), 2).tolist() == [0.0, 0.0] and multi_hot((1,), 2).dtype == torch.float32
    with pytest.raises(ValueError, match=r"class id\(s\) \[5\] outside 0..4"):
        multi_hot((1, 5), 5)


def _record(name, labels, label=None, line=1):
    first = label if label is not None else (labels[0] if labels else -1)
    return VideoRecord(path=Path(f"/nowhere/{name}.mp4"), label=first, video_id=name, source=f"train.txt:{line}",
                       labels=labels)


def test_dataset_checks_the_records_against_the_task():
    sampler = FrameSampler(2)
    ok = TSNDataset([_record("a", (0, 2)), _record("b", ())], sampler, multi_label=True, num_classes=3)
    assert ok.num_classes == 3
    with pytest.raises(DataError, match=r"record b has no multi-label classes .*from train.txt:2.*model.multi_label=false"):
        TSNDataset([_record("a", (0, 2)), _record("b", None, label=1, line=2)], sampler, multi_label=True, num_classes=3)
    with pytest.raises(AnnotationError, match=r"class id\(s\) \[3\] of record c outside 0..2 \(3 classes\).*train.txt:5"):
        TSNDataset([_record("c", (1, 3), line=5)], sampler, multi_label=True, num_classes=3)
    with pytest.raises(DataError, match=r"record a has 2 classes \[0, 2\] but the dataset is single-label.*"
                                        r"model.multi_label=true"):
        TSNDataset([_record("a", (0, 2))], sampler)
    TSNDataset([_record("d", (1,))], sampler)  # one class: a single-label dataset may carry it
    with pytest.raises(ValueError, match="needs num_classes"):
        TSNDataset([_record("a", (0,))], sampler, multi_label=True)


def test_config_switch_and_its_metric():
    cfg = load_config("tsn_r8_synthetic_rgb", ["model.multi_label=true", "train.save_best=val_mAP"])
    assert cfg["model"]["multi_label"] is True and cfg["train"]["save_best"] == "val_mAP"
    assert load_config("tsn_r8_synthetic_rgb")["model"]["multi_label"] is False
    with pytest.raises(ConfigError, match="a multi-label run .* set train.save_best=val_mAP"):
        load_config("tsn_r8_synthetic_rgb", ["model.multi_label=true"])
    with pytest.raises(ConfigError, match="train.save_best=val_mAP is the metric of multi-label runs"):
        load_config("tsn_r8_synthetic_rgb", ["train.save_best=val_mAP"])
    with pytest.raises(ConfigError, match="model.multi_label must be true or false, got 'yes please'"):
        load_config("tsn_r8_synthetic_rgb", ["model.multi_label='yes please'"])


def test_score_set_keeps_the_targets(tmp_path):
    s = ScoreSet(scores=np.array([[1.0, -2.0], [0.0, 3.0]]), labels=[0, -1], video_ids=["a", "b"],
                 class_names=["x", "y"], targets=np.array([[1, 1], [0, 0]]))
    assert s.multi_label and s.targets.dtype == np.uint8
    np.testing.assert_allclose(s.probabilities(), 1 / (1 + np.exp(-s.scores)), rtol=1e-6)
    back = ScoreSet.load(s.save(tmp_path / "s.npz"))
    assert back.multi_label and np.array_equal(back.targets, [[1, 1], [0, 0]])
    assert back.evaluate()["names_without_positives"] == []
    s.to_csv(tmp_path / "s.csv")
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[1].startswith("a,0,x;y,0,x,1,") and rows[2].startswith("b,-1,,1,y,0,")
    from tsnlib.fusion import check_compatible

    with pytest.raises(ValueError, match="multi-label scores: fusion .* not supported yet"):
        check_compatible([s, s])


# ---------------------------------------------------------------------------------------------
# end to end: a tiny multi-label set of videos, trained with BCE, tested, scored
# ---------------------------------------------------------------------------------------------

CLASSES = ["red", "green", "blue", "moving", "unseen"]
# (name, classes): "unseen" (4) is in no test video, so the test reports it
TRAIN = [("t0", (0, 3)), ("t1", (1,)), ("t2", (2, 3)), ("t3", (0, 1)), ("t4", (2,)), ("t5", (0, 4))]
TEST = [("s0", (0, 3)), ("s1", (1, 2)), ("s2", (2,)), ("s3", (0, 1, 3))]


def _videos(root: Path, items) -> list[VideoRecord]:
    from tsnlib.visualization import write_video

    records = []
    for i, (name, labels) in enumerate(items):
        rng = np.random.default_rng(i)
        colour = np.array([200 * (0 in labels), 200 * (1 in labels), 200 * (2 in labels)], np.uint8)
        frames = []
        for t in range(12):
            f = np.full((48, 64, 3), 30, np.uint8) + rng.integers(0, 20, (48, 64, 3), dtype=np.uint8)
            x = (4 * t if 3 in labels else 20) % 52
            f[16:32, x:x + 12] = colour
            frames.append(f)
        path = root / f"{name}.mp4"
        write_video(frames, path)
        records.append(VideoRecord(path=path, label=labels[0], video_id=name, source=f"list.txt:{i + 1}",
                                   labels=labels))
    return records


@pytest.mark.slow  # trains a toy network
def test_multi_label_run_trains_with_bce_and_tests_to_scikit_learn_map(tmp_path, monkeypatch, capsys):
    import tsnlib.experiment as experiment
    from tsnlib.cli import main
    from tsnlib.checkpoints import load_checkpoint
    from tsnlib.training import read_metrics, train

    train_records, test_records = _videos(tmp_path, TRAIN), _videos(tmp_path, TEST)
    label_map = LabelMap(CLASSES)
    # the multi-label list readers are the data side of this work; the run takes the records directly
    subsets = {"train": train_records, "val": test_records, "test": test_records}
    monkeypatch.setattr(experiment, "load_subset", lambda cfg, subset: (subsets[subset], label_map))
    overrides = ["model.multi_label=true", "train.save_best=val_mAP", f"data.root={tmp_path}", "data.source=video",
                 "data.num_segments=2", "data.input_size=32", "data.scale_size=36", "data.val_input_size=32",
                 "data.val_scale_size=36", "test.input_size=32", "test.scale_size=36", "test.num_clips=3",
                 "test.num_crops=1", "test.workers=0", "train.workers=0", "train.batch_size=3", "optim.epochs=2",
                 "optim.warmup_epochs=0", "train.amp=false", "test.amp=false", "train.tensorboard=false",
                 "optim.label_smoothing=0.0", "model.dropout=0.0"]
    cfg = load_config("tsn_r8_synthetic_rgb", overrides)

    from tsnlib import training

    seen = []

    original = training.multi_label_loss

    def recorded(logits, targets, label_smoothing=0.0):
        loss = original(logits, targets, label_smoothing)
        if logits.requires_grad:  # training steps, not validation
            seen.append((logits.detach().double(), targets.detach().double(), loss.detach().double()))
        return loss

    monkeypatch.setattr(training, "multi_label_loss", recorded)
    trainer = train(cfg, work_dir=tmp_path / "run", device="cpu")

    # the loss of every training step is the binary cross-entropy of the consensus logits, by hand
    assert len(seen) == 4  # 6 videos in batches of 3, two epochs
    for logits, targets, loss in seen:
        assert logits.shape == (3, 5) and targets.shape == (3, 5)
        assert set(targets.unique().tolist()) <= {0.0, 1.0}
        p = torch.sigmoid(logits)
        assert loss.item() == pytest.approx(-(targets * p.log() + (1 - targets) * (1 - p).log()).mean().item(),
                                            abs=1e-6)
    rows = read_metrics(tmp_path / "run")
    assert [sorted(k for k in r if k.startswith(("train_top1", "val_"))) for r in rows] == [
        ["val_classes_without_positives", "val_loss", "val_mAP", "val_time_s", "val_videos"]] * 2
    assert rows[0]["train_loss"] == pytest.approx(float(np.mean([s[2].item() for s in seen[:2]])), abs=1e-6)
    assert all(r["val_classes_without_positives"] == 1 and r["val_videos"] == 4 for r in rows)
    best = load_checkpoint(tmp_path / "run" / "best.pth")
    assert best["metric_name"] == "val_mAP" and best["best_metric"] == max(r["val_mAP"] for r in rows)
    assert trainer.raw_model.multi_label is True

    # tsnlib test on the saved config: the same views, averaged logits, mAP printed
    capsys.readouterr()
    out = tmp_path / "scores.npz"
    assert main(["test", str(tmp_path / "run" / "config.yaml"), str(tmp_path / "run" / "last.pth"), "--out", str(out),
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    scores = ScoreSet.load(out)
    assert scores.multi_label and scores.meta["multi_label"] is True
    assert scores.scores.shape == (4, 5) and scores.targets.shape == (4, 5)
    assert scores.targets.tolist() == [multi_hot(labels, 5).int().tolist() for _, labels in TEST]
    assert scores.labels.tolist() == [0, 1, 2, 0] and scores.video_ids == ["s0", "s1", "s2", "s3"]
    kept = [c for c in range(5) if scores.targets[:, c].any()]
    assert kept == [0, 1, 2, 3]
    expected = float(np.mean([average_precision_score(scores.targets[:, c], scores.scores[:, c]) for c in kept]))
    m = mean_average_precision(scores.scores, scores.targets, scores.class_names)
    assert abs(m["mAP"] - expected) <= 1e-12
    assert f"mean average precision  {expected:.4f}" in printed
    assert "1 class without positives, left out of the mean: unseen" in printed

    # the averaging order: the mean of each view's logits (3 snippets x 1 crop), no sigmoid before it
    from tsnlib.experiment import build_datasets, load_model_from_checkpoint

    model, _, _ = load_model_from_checkpoint(tmp_path / "run" / "last.pth", device="cpu")
    item = build_datasets(load_config(tmp_path / "run" / "config.yaml"), subsets=("test",))["test"][1]
    assert item["imgs"].shape == (3, 3, 32, 32) and item["target"].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    with torch.no_grad():
        by_hand = model.forward_views(item["imgs"]).double().mean(0)
    np.testing.assert_allclose(scores.scores[1], by_hand.numpy(), rtol=1e-5, atol=1e-6)
