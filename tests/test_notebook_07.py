"""Notebook 07 runs top to bottom with papermill in quick mode on the tiny tag set and records the numbers it promises.

It needs no other notebook: it generates the tag dataset under its own ``$TSN_DATA`` and trains its own run.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.notebook
def test_07_multi_label(run_notebook, tmp_path):
    from tsnlib import synthetic_tags
    from tsnlib.evaluation import ScoreSet, map_by_category, mean_average_precision

    env = {"data": tmp_path / "data", "out": tmp_path / "out"}
    r = run_notebook("07_multi_label.ipynb", env, NUM_WORKERS=0)
    root = env["data"] / "synthetic" / "tags"
    assert synthetic_tags.load_tags_manifest(root)["size"] == "tiny"
    assert r["num_tags"] == 16 and r["categories"] == list(synthetic_tags.TAG_CATEGORIES)
    assert r["num_videos"] == {"train": 24, "val": 8, "test": 16}
    # the BCE and the AP written out in the notebook equal the library's
    assert r["bce_by_hand_equals_library"] is True
    assert r["ap_by_hand_equals_library"] is True and r["ap_by_hand_max_abs_diff"] <= 1e-12
    # the optimum of each loss for a clip with five tags: a fifth each under the softmax, near one under the sigmoid
    assert r["softmax_optimum_true_tag_probability"] == pytest.approx(0.2, abs=5e-3)  # 1/5 in the limit
    assert r["sigmoid_optimum_true_tag_probability"] > 0.9
    assert r["epochs_trained"] == 1  # smoke mode: one short epoch

    # the recorded numbers are those of the score file the run left
    scores = ScoreSet.load(env["out"] / "runs" / "tags_k3" / "scores_test.npz")
    assert scores.multi_label and scores.scores.shape == (16, 16) and r["num_test_videos"] == 16
    assert scores.meta["num_clips"] == 5 and scores.meta["num_views"] == 1
    m = mean_average_precision(scores.scores, scores.targets, scores.class_names)
    assert r["test_mAP"] == m["mAP"] and r["tags_without_positives"] == m["names_without_positives"]
    categories = synthetic_tags.read_tag_categories(root)
    table = map_by_category(scores.scores.astype(np.float64), scores.targets, list(scores.class_names), categories,
                            num_samples=100, seed=0)
    assert r["category_names"] == list(table) == list(synthetic_tags.TAG_CATEGORIES)
    for category, row in table.items():
        recorded = r["category_map"][category]
        assert recorded["mAP"] == row["mAP"] and recorded["chance"] == row["chance"]
        assert recorded["interval"] == row["interval"]
    assert r["categories_above_chance"] == [c for c, row in table.items() if row["interval"][0] > row["chance"]]
    assert set(r["train_category_map"]) == set(table)
    for figure in ("07_clips", "07_cooccurrence", "07_softmax_vs_sigmoid", "07_curves", "07_categories"):
        assert (env["out"] / "figures" / f"{figure}.png").is_file()
