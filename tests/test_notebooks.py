"""Each notebook runs top to bottom with papermill in smoke mode and records the numbers it promises."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def course_env(tiny_data_root, tmp_path_factory):
    """Shared output folder, so later notebooks find what earlier ones left (as in ``make demo``)."""
    out = tmp_path_factory.mktemp("course_out")
    return {"data": tiny_data_root, "out": out}


@pytest.mark.notebook
def test_01_data_preparation(course_env, run_notebook, tiny_ucf101, tmp_path):
    import numpy as np

    from tsnlib.synthetic import generate_dataset, load_manifest, plan_dataset

    r = run_notebook("01_data_preparation.ipynb", course_env)
    manifest = load_manifest(tiny_ucf101)
    assert r["num_classes"] == len(manifest["classes"])
    assert r["num_videos"] == manifest["num_videos"]
    assert r["num_train_videos"] == r["num_val_videos"] == r["num_test_videos"] == 26  # one group of 2 per class each
    assert r["groups_in_both_splits"] == 0
    assert r["check_clean_problems"] == 0
    # truncated, emptied, deleted video and a malformed split line: at least four problems, all three files named
    assert r["check_broken_problems"] >= 4
    assert r["check_broken_files_named"] == 3
    # the HMDB51 layout of the same set (seed 0), counted here from its split files: split 1's training videos
    # (tag 1), and those whose names hold the characters real HMDB51 names have
    hmdb = generate_dataset(tmp_path / "hmdb51", layout="hmdb51", size="tiny", seed=0, progress=False)
    tags = [line.split() for f in sorted((hmdb / "testTrainMulti_7030_splits").glob("*_test_split1.txt"))
            for line in f.read_text().splitlines() if line.strip()]
    train = [name for name, tag in tags if tag == "1"]
    assert r["hmdb_train_videos"] == len(train) and len(train) > 0
    assert r["hmdb_special_names"] == sum(bool(set(name) & set("&()!#'")) for name in train) > 0
    # the mean duration over the first 4 videos per class of the split lists (smoke mode), from the generator's plan
    specs = {s.rel_path: s for s in plan_dataset("ucf101", "tiny", seed=0)}
    listed = [line.split()[0] for f in ("trainlist01.txt", "vallist01.txt", "testlist01.txt")
              for line in (tiny_ucf101 / "ucfTrainTestlist" / f).read_text().splitlines() if line.strip()]
    seconds = [specs[f"UCF-101/{name}"].num_frames / specs[f"UCF-101/{name}"].fps for name in listed[:4 * 13]]
    assert r["mean_duration_s"] == pytest.approx(np.mean(seconds), rel=1e-12)


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
    from tsnlib import lessons
    from tsnlib.evaluation import ScoreSet, top_k_accuracy

    r = run_notebook("03_train_rgb.ipynb", course_env, NUM_WORKERS=0)
    # the frame folders the preset reads: every video of the tiny set (train, val, test), timed both ways
    assert r["frames_extracted_videos"] == 78
    assert r["read_ms_per_sample_video"] > 0 and r["read_ms_per_sample_frames"] > 0
    assert r["consensus_is_mean_of_segments"] is True
    # the forward pass and one training step written out in the notebook equal the library's
    assert r["forward_by_hand_equals_library"] is True and r["train_step_by_hand_equals_library"] is True
    assert r["partial_bn_trainable_layers"] == 1  # only the first BN trains under partial BN
    assert r["loader_views_dtype"] == "uint8" and r["device_normalisation_equals_worker"] is True
    assert r["epochs_trained"] == 1  # smoke mode: one short epoch
    assert r["val_subset"] == "val"  # model selection reads the validation split, not the test split
    # the run left what notebooks 04-06 reuse: a checkpoint and its test scores; the recorded numbers are theirs
    run = course_env["out"] / "runs" / "rgb_k3"
    assert (run / "best.pth").exists() and (run / "scores_test.npz").exists()
    scores = ScoreSet.load(run / "scores_test.npz")
    assert scores.scores.shape == (len(scores.video_ids), len(scores.class_names))
    assert scores.meta["num_clips"] == 5 and scores.meta["num_views"] == 1
    assert r["test_top1"] == top_k_accuracy(scores.scores, scores.labels, 1)
    assert r["test_top5"] == top_k_accuracy(scores.scores, scores.labels, 5)
    for g in ("appearance", "motion", "event"):
        acc = lessons.group_top1(scores, g)
        assert r[f"test_acc_{g}"] == acc.value and r[f"test_acc_{g}_interval"] == list(acc.interval)
    # the K = 1 ablation leaves its scores too, for the lesson table
    scores1 = ScoreSet.load(course_env["out"] / "runs" / "rgb_k1" / "scores_test.npz")
    assert r["ablation_k1_top1"] == top_k_accuracy(scores1.scores, scores1.labels, 1)
    assert r["ablation_k1_event"] == lessons.group_top1(scores1, "event").value
    assert (course_env["out"] / "figures" / "03_k_ablation.png").is_file()
