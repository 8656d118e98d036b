"""Each notebook runs top to bottom with papermill in quick mode and records the numbers it promises."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def course_env(tiny_data_root, tmp_path_factory):
    """Shared output folder, so later notebooks find what earlier ones left (as in ``make demo``)."""
    out = tmp_path_factory.mktemp("course_out")
    return {"data": tiny_data_root, "out": out}


@pytest.mark.notebook
def test_01_data_preparation(course_env, run_notebook, tiny_ucf101):
    from tsnlib.synthetic import load_manifest

    r = run_notebook("01_data_preparation.ipynb", course_env)
    manifest = load_manifest(tiny_ucf101)
    assert r["num_classes"] == len(manifest["classes"])
    assert r["num_videos"] == manifest["num_videos"]
    assert r["num_train_videos"] > r["num_test_videos"] > 0
    assert r["groups_in_both_splits"] == 0
    assert r["check_clean_problems"] == 0
    # truncated, emptied, deleted video and a malformed split line: at least four problems, all three files named
    assert r["check_broken_problems"] >= 4
    assert r["check_broken_files_named"] == 3
    assert r["hmdb_special_names"] > 0 and r["hmdb_train_videos"] > 0
    assert 1 < r["mean_duration_s"] < 10


@pytest.mark.notebook
def test_02_segment_sampling(course_env, run_notebook):
    r = run_notebook("02_segment_sampling.ipynb", course_env)
    assert r["inline_equals_library"] is True
    assert r["cases_checked"] >= 100
    assert r["val_L100_K3"] == [17, 51, 84]
    # the same number of frames, spread over the video, sees a brief event more often
    assert r["event_hit_rate_tsn"] > r["event_hit_rate_clip"]
    assert r["train_sample_shape"] == [3, 3, 224, 224]
    assert r["test_shape_1crop"] == [3, 3, 224, 224]
    assert r["test_shape_3crop"][0] == 9 and r["test_shape_10crop"][0] == 30


@pytest.mark.notebook
def test_03_train_rgb(course_env, run_notebook):
    r = run_notebook("03_train_rgb.ipynb", course_env, NUM_WORKERS=0)
    assert r["consensus_is_mean_of_segments"] is True
    assert r["partial_bn_trainable_layers"] == 1  # only the first BN trains under partial BN
    assert r["loader_views_dtype"] == "uint8" and r["device_normalisation_equals_worker"] is True
    assert r["epochs_trained"] == 1  # quick mode: one short epoch
    for key in ("test_top1", "test_top5", "test_mean_class_accuracy", "ablation_k1_top1"):
        assert 0.0 <= r[key] <= 1.0
    assert r["test_top5"] >= r["test_top1"]
    assert {"test_acc_appearance", "test_acc_motion", "test_acc_event"} <= set(r)
    # the run left what notebooks 04-06 reuse: a checkpoint and its test scores
    run = course_env["out"] / "runs" / "rgb_k3"
    assert (run / "best.pth").exists() and (run / "scores_test.npz").exists()
    from tsnlib.evaluation import ScoreSet

    scores = ScoreSet.load(run / "scores_test.npz")
    assert scores.scores.shape == (len(scores.video_ids), len(scores.class_names))
    assert scores.meta["num_clips"] == 5 and scores.meta["num_views"] == 1
