"""Notebooks 04 and 05 run top to bottom in quick mode on the tiny set, sharing one output folder.

04 runs standalone (no notebook 03 before it: it trains the RGB run it starts from); 05 must then reuse
04's runs and score files rather than train them again. Notebook 04 runs once per module, in a fixture,
whichever test asks for it first: each test passes alone too (``pytest tests/test_notebooks_streams.py::<test>``).

The accuracies a notebook records are compared with the same numbers computed here, by hand, from the score
files and logs its runs left.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tsnlib.synthetic import class_group


@pytest.fixture(scope="module")
def streams_env(tiny_data_root, tmp_path_factory):
    """One output folder for the module, so that 05 finds what 04 left (as in ``make demo``)."""
    return {"data": tiny_data_root, "out": tmp_path_factory.mktemp("streams_out")}


@pytest.fixture(scope="module")
def notebook_04(streams_env, run_notebook_for_fixture):
    """Notebook 04 run once for the module (its ablation opted in); what it recorded."""
    return run_notebook_for_fixture("04_optical_flow_stream.ipynb", streams_env, NUM_WORKERS=0, RUN_ABLATION=True)


def _by_id(score_set):
    """``(scores float64, labels)`` of a ScoreSet in video-id order, so that the sets of several streams line up."""
    order = np.argsort(np.asarray(score_set.video_ids))
    return score_set.scores[order].astype(np.float64), score_set.labels[order]


def _accuracies(scores, labels, class_names) -> dict:
    """top-1, mean class accuracy and each class group's mean recall, by hand (first maximum wins ties)."""
    right = np.argmax(scores, axis=1) == labels
    recall = {c: right[labels == c].mean() for c in np.unique(labels)}
    out = {"": right.mean(), "_mean_class": np.mean(list(recall.values()))}
    for g in ("appearance", "motion", "event"):
        out[f"_{g}"] = np.mean([v for c, v in recall.items() if class_group(class_names[c]) == g])
    return out


def _softmax(x):
    """Probabilities from scores, computed in float64 and stored in float32 as tsnlib's score sets are."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32).astype(np.float64)


def _zero_motion_epe(ucf101_root, num_videos: int, num_pairs: int) -> tuple[float, float]:
    """The end-point error of predicting no motion, by hand from the generator's truth, on the videos and frame
    pairs notebook 04 scores (every len/num_videos-th video, its first num_pairs pairs): whole frame, actor."""
    from tsnlib import synthetic

    videos = sorted((ucf101_root / "UCF-101").rglob("*.avi"))
    frame, actor = [], []
    for video in videos[::max(1, len(videos) // num_videos)][:num_videos]:
        truth = synthetic.load_truth(video)
        for t in range(num_pairs):
            speed = np.sqrt((synthetic.true_flow(truth, t).astype(np.float64) ** 2).sum(axis=2))
            mask = synthetic.true_flow_mask(truth, t)
            on_actor = mask & synthetic.actor_mask(truth, t)
            frame.append(speed[mask].mean())
            if on_actor.any():
                actor.append(speed[on_actor].mean())
    return float(np.mean(frame)), float(np.mean(actor))


@pytest.mark.notebook
def test_04_optical_flow_stream(streams_env, notebook_04):
    from tsnlib.evaluation import ScoreSet
    from tsnlib.flow import quantize_flow
    from tsnlib.training import read_metrics

    r = notebook_04
    # flow against the generator's truth: on the actor (what the classes differ by) DIS beats predicting no motion;
    # the whole frame is mostly background drifting by a fraction of a pixel, where no method gains much
    assert "dis" in r["flow_methods_scored"] and "farneback" in r["flow_methods_scored"]
    # predicting no motion, by hand from the truth: the smoke run scores 2 videos x 4 pairs
    zero, zero_actor = _zero_motion_epe(streams_env["data"] / "synthetic" / "ucf101", 2, 4)
    assert r["epe_zero_motion"] == pytest.approx(zero, rel=1e-9)
    assert r["epe_actor_zero_motion"] == pytest.approx(zero_actor, rel=1e-9)
    assert 0 < r["epe_actor_dis"] < 0.7 * r["epe_actor_zero_motion"]
    assert 0 < r["epe_actor_farneback"] < 0.7 * r["epe_actor_zero_motion"]
    assert 0 < r["epe_dis"] < 2 * r["epe_zero_motion"]
    # the notebook's quantisation probe, worked by hand: q = rint(255 (clip(v, -20, 20) + 20) / 40)
    probe = np.array([-25.0, -20.0, -10.0, -0.05, 0.0, 0.05, 10.0, 19.9, 30.0])
    assert quantize_flow(probe).tolist() == [0, 0, 64, 127, 128, 128, 191, 254, 255]
    assert abs(r["epe_quantized_dis"] - r["epe_dis"]) <= math.sqrt(2) * 20 / 255 + 1e-6
    assert r["pairs_per_s_dis"] > 0 and r["pairs_per_s_farneback"] > 0  # timings: no worked value
    # warped flow on v_MoveRight_g02_c01 (default size, seed 0, in both modes) filmed by a camera panning 2.5 px/frame
    # after the actor, frames 45 -> 46 (the notebook asserts its steps by hand equal tsnlib's); measured with
    # OpenCV 5.1 (in brackets)
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
    # a swaying camera: 2 motion clips of the tiny set (seed 0) filmed with and without their sway, 4 pairs each
    assert r["sway_clips"] == ["v_MoveLeft_g01_c01", "v_RotateCCW_g01_c01"]
    assert r["swaying_pairs"] == 8 and r["still_pairs"] == 8
    # the truth alone: the sway and the shake move the background 0.666 px per frame on the scored pairs, the shake
    # alone 0.163
    assert r["swaying_background_true"] == pytest.approx(0.666, abs=1e-3)
    assert r["still_background_true"] == pytest.approx(0.163, abs=1e-3)
    # warped flow leaves less than half of plain flow on the swaying clips' background [0.801 -> 0.310]; the fitted
    # homography is within 0.45 px of the true one [0.362]; warped by the true one, the actor's flow is closer to its
    # motion in the scene than plain flow [1.537 -> 1.220]
    assert r["swaying_background_warped"] < 0.5 * r["swaying_background_plain"]
    assert r["swaying_homography_error"] < 0.45
    assert r["swaying_epe_actor_true_warp"] < r["swaying_epe_actor_plain"] - 0.2
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
    runs = streams_env["out"] / "runs"
    # the recorded accuracies are those of the score file the flow run left, computed here by hand
    flow = ScoreSet.load(runs / "flow_k3" / "scores_test.npz")
    for suffix, value in _accuracies(*_by_id(flow), flow.class_names).items():
        key = {"": "flow_test_top1", "_mean_class": "flow_test_mean_class_accuracy"}.get(suffix, f"flow_test_acc{suffix}")
        assert r[key] == pytest.approx(value, abs=1e-12), key
    # the ablation's numbers are the last common epoch of the two runs' logs (one epoch in smoke mode)
    [tsn], [rand] = read_metrics(runs / "flow_k3"), read_metrics(runs / "flow_k3_random_conv1")
    assert r["ablation_val_top1_cross_modality"] == tsn["val_top1"]
    assert r["ablation_val_top1_random_conv1"] == rand["val_top1"]
    assert r["ablation_train_loss_cross_modality"] == tsn["train_loss"]
    assert r["ablation_train_loss_random_conv1"] == rand["train_loss"] and math.isfinite(rand["train_loss"])
    for f in ("best.pth", "scores_test.npz"):
        assert (runs / "flow_k3" / f).is_file() and (runs / "rgb_k3" / "best.pth").is_file()
    assert (streams_env["data"] / "synthetic" / "ucf101" / "rawframes" / "flow.json").is_file()


@pytest.mark.notebook
def test_05_two_stream_fusion_reuses_04(streams_env, notebook_04, run_notebook):
    from tsnlib import fusion
    from tsnlib.evaluation import ScoreSet, top_k_accuracy

    runs = streams_env["out"] / "runs"
    flow_scores = runs / "flow_k3" / "scores_test.npz"
    assert notebook_04["flow_scores_shape"] == [26, 13] and flow_scores.is_file()  # 04 ran in this module
    before = flow_scores.stat().st_mtime_ns
    r = run_notebook("05_two_stream_fusion.ipynb", streams_env, NUM_WORKERS=0, RUN_RGBDIFF=True)  # opt-in
    # 04's runs and scores are reused, not trained or tested again
    assert r["rgb_run_reused"] is True and r["flow_run_reused"] is True and r["flow_scores_reused"] is True
    assert flow_scores.stat().st_mtime_ns == before
    assert r["rgbdiff_run_reused"] is False  # trained here
    assert r["num_test_videos"] == 26 and r["scores_shape"] == [26, 13]
    assert r["fusion_weights"] == [1.0, 1.5] and r["fusion_all_weights"] == [1.0, 1.5, 1.0]
    # every accuracy recorded, by hand from the three streams' score files: the streams, the fusions of raw
    # scores (1 : 1.5 and 1 : 1.5 : 1, summed in float64 and stored in float32 as tsnlib does) and the
    # fusion of softmax probabilities (the notebook's inline fusion is asserted equal to tsnlib's there)
    sets = {s: ScoreSet.load(runs / f"{s}_k3" / "scores_test.npz") for s in ("rgb", "flow", "rgbdiff")}
    names = sets["rgb"].class_names
    scores, labels = {}, None
    for s, score_set in sets.items():
        scores[s], y = _by_id(score_set)
        assert labels is None or np.array_equal(y, labels)
        labels = y
    fused = {
        "rgb": scores["rgb"], "flow": scores["flow"], "rgbdiff": scores["rgbdiff"],
        "fusion": (1.0 * scores["rgb"] + 1.5 * scores["flow"]).astype(np.float32),
        "fusion_all": (1.0 * scores["rgb"] + 1.5 * scores["flow"] + 1.0 * scores["rgbdiff"]).astype(np.float32),
        "fusion_softmax": (1.0 * _softmax(scores["rgb"]) + 1.5 * _softmax(scores["flow"])).astype(np.float32),
    }
    for s, x in fused.items():
        for suffix, value in _accuracies(x, labels, names).items():
            assert r[f"acc_{s}{suffix}"] == pytest.approx(value, abs=1e-12), f"acc_{s}{suffix}"
    disagree = int((fused["fusion"].argmax(1) != fused["fusion_softmax"].argmax(1)).sum())
    assert r["fusion_softmax_disagreements"] == disagree
    # the flow weight is chosen on the validation split, then applied once to the test scores
    assert r["sweep_points"] == 17 and r["sweep_best_flow_weight"] in [round(0.25 * i, 2) for i in range(17)]
    chosen = fusion.fuse_scores([ScoreSet.load(runs / "rgb_k3" / "scores_test.npz"), ScoreSet.load(flow_scores)],
                                weights=[1.0, r["sweep_best_flow_weight"]], align=True)
    assert r["sweep_chosen_test_top1"] == top_k_accuracy(chosen.scores, chosen.labels, 1)
    assert (runs / "rgbdiff_k3" / "best.pth").is_file() and (runs / "rgb_k3" / "scores_test.npz").is_file()
    fused_file = ScoreSet.load(runs / "fusion_scores_test.npz")
    assert fused_file.scores.shape == (26, 13) and fused_file.meta["weights"] == [1.0, 1.5]
