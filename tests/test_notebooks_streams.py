"""Notebooks 04 and 05 run top to bottom in quick mode on the tiny set, in order, sharing one output folder.

04 runs standalone (no notebook 03 before it: it trains the RGB run it starts from); 05 must then reuse
04's runs and score files rather than train them again.
"""

from __future__ import annotations

import math

import pytest

@pytest.fixture(scope="module")
def streams_env(tiny_data_root, tmp_path_factory):
    """One output folder for the module, so that 05 finds what 04 left (as in ``make demo``)."""
    return {"data": tiny_data_root, "out": tmp_path_factory.mktemp("streams_out")}


def _frac(x) -> bool:
    return isinstance(x, (int, float)) and 0.0 <= x <= 1.0


@pytest.mark.notebook
def test_04_optical_flow_stream(streams_env, run_notebook):
    r = run_notebook("04_optical_flow_stream.ipynb", streams_env, NUM_WORKERS=0, RUN_ABLATION=True)  # opt-in
    # flow against the generator's truth: on the actor (what the classes differ by) DIS beats predicting no motion;
    # the whole frame is mostly background drifting by a fraction of a pixel, where no method gains much
    assert r["epe_by_hand_equals_library"] is True and r["quantize_by_hand_equals_library"] is True
    assert "dis" in r["flow_methods_scored"] and "farneback" in r["flow_methods_scored"]
    assert 0 < r["epe_actor_dis"] < 0.7 * r["epe_actor_zero_motion"]
    assert 0 < r["epe_actor_farneback"] < 0.7 * r["epe_actor_zero_motion"]
    assert 0 < r["epe_dis"] < 2 * r["epe_zero_motion"]
    assert abs(r["epe_quantized_dis"] - r["epe_dis"]) <= math.sqrt(2) * 20 / 255 + 1e-6
    assert r["pairs_per_s_dis"] > 0 and r["pairs_per_s_farneback"] > 0
    # warped flow on v_MoveRight_g02_c01 (default size, seed 0, in both modes) filmed by a camera panning 2.5 px/frame
    # after the actor, frames 45 -> 46: the steps by hand equal tsnlib's; measured with OpenCV 5.1 (in brackets)
    assert r["warped_by_hand_equals_library"] is True
    assert r["warp_clip"] == "v_MoveRight_g02_c01" and r["warp_pair"] == 45
    # the truth alone: the actor moves 2.17 px in the scene; the camera adds 2.45 px on it and on the background
    assert r["warp_epe_actor_zero"] == pytest.approx(2.170, abs=1e-3)
    assert r["warp_epe_actor_true_flow"] == pytest.approx(2.448, abs=1e-3)
    assert r["warp_background_true"] == pytest.approx(2.448, abs=1e-3)
    # the fitted homography moves the frame's pixels within 0.4 px of the true one [0.334], 91 % inliers [0.912]
    assert r["warp_homography_error_px"] < 0.4 and r["warp_inlier_share"] > 0.85
    # on the actor, warped flow is 1.7 px closer to its motion in the scene than plain flow [2.741 -> 1.031]; DIS's
    # medium preset, finer, closer still [0.469]
    assert r["warp_epe_actor_warped"] < 1.15 and r["warp_epe_actor_warped"] < r["warp_epe_actor_plain"] - 1.5
    assert r["warp_epe_actor_warped_medium"] < 0.6 and r["warp_epe_actor_plain_medium"] > 2.3
    # on the background, plain flow is the camera's pan [2.237 of 2.448], warped flow nearly still [0.327]
    assert r["warp_background_true"] - 0.3 < r["warp_background_plain"] < r["warp_background_true"]
    assert r["warp_background_warped"] < 0.4
    # a flip of flow must invert x: then it matches the flow of the mirrored frames
    assert r["flip_epe_inverted"] < r["flip_epe_not_inverted"] / 2
    # the whole tiny set extracted, N RGB frames and N - 1 flow fields each, resumable
    assert r["flow_videos"] == 78 and r["flow_resumed_videos"] == 78  # train, val and test
    assert r["rgb_minus_flow_counts"] == [1]
    # standalone: the RGB run is trained here, then the flow network starts from it (exact inflation)
    assert r["rgb_run_reused"] is False and r["flow_run_reused"] is False
    assert r["first_conv_max_abs_diff"] == 0.0
    assert r["flow_epochs_trained"] == 1
    assert r["flow_scores_shape"] == [26, 13]
    for key in ("flow_test_top1", "flow_test_mean_class_accuracy", "flow_test_acc_appearance", "flow_test_acc_motion",
                "flow_test_acc_event", "ablation_val_top1_cross_modality", "ablation_val_top1_random_conv1"):
        assert _frac(r[key]), key
    assert math.isfinite(r["ablation_train_loss_random_conv1"])
    runs = streams_env["out"] / "runs"
    for f in ("best.pth", "scores_test.npz"):
        assert (runs / "flow_k3" / f).is_file() and (runs / "rgb_k3" / "best.pth").is_file()
    assert (streams_env["data"] / "synthetic" / "ucf101" / "rawframes" / "flow.json").is_file()


@pytest.mark.notebook
def test_05_two_stream_fusion_reuses_04(streams_env, run_notebook):
    from tsnlib import fusion
    from tsnlib.evaluation import ScoreSet, top_k_accuracy

    runs = streams_env["out"] / "runs"
    flow_scores = streams_env["out"] / "runs" / "flow_k3" / "scores_test.npz"
    if not flow_scores.is_file():
        pytest.fail("notebook 04 must run first in this module (it leaves runs/flow_k3)")
    before = flow_scores.stat().st_mtime_ns
    r = run_notebook("05_two_stream_fusion.ipynb", streams_env, NUM_WORKERS=0, RUN_RGBDIFF=True)  # opt-in
    # 04's runs and scores are reused, not trained or tested again
    assert r["rgb_run_reused"] is True and r["flow_run_reused"] is True and r["flow_scores_reused"] is True
    assert flow_scores.stat().st_mtime_ns == before
    assert r["rgbdiff_run_reused"] is False  # trained here
    assert r["num_test_videos"] == 26 and r["scores_shape"] == [26, 13]
    assert r["inline_fusion_equals_library"] is True
    assert r["fusion_weights"] == [1.0, 1.5] and r["fusion_all_weights"] == [1.0, 1.5, 1.0]
    streams = ("rgb", "flow", "rgbdiff", "fusion", "fusion_all", "fusion_softmax")
    for s in streams:
        for suffix in ("", "_mean_class", "_appearance", "_motion", "_event"):
            assert _frac(r[f"acc_{s}{suffix}"]), f"acc_{s}{suffix}"
    # the flow weight is chosen on the validation split, then applied once to the test scores
    assert r["sweep_points"] == 17 and r["sweep_best_flow_weight"] in [round(0.25 * i, 2) for i in range(17)]
    chosen = fusion.fuse_scores([ScoreSet.load(runs / "rgb_k3" / "scores_test.npz"), ScoreSet.load(flow_scores)],
                                weights=[1.0, r["sweep_best_flow_weight"]], align=True)
    assert r["sweep_chosen_test_top1"] == top_k_accuracy(chosen.scores, chosen.labels, 1)
    assert 0 <= r["fusion_softmax_disagreements"] <= 26
    runs = streams_env["out"] / "runs"
    assert (runs / "rgbdiff_k3" / "best.pth").is_file() and (runs / "rgb_k3" / "scores_test.npz").is_file()
    fused = ScoreSet.load(runs / "fusion_scores_test.npz")
    assert fused.scores.shape == (26, 13) and fused.meta["weights"] == [1.0, 1.5]
