"""Warped optical flow (tsnlib.camera_motion): the camera's homography, the warp, the flow after it."""

import json

import cv2
import numpy as np
import pytest

from tsnlib import camera_motion as cm
from tsnlib import flow as F
from tsnlib.frame_folders import frame_path
from tsnlib.visualization import write_video

#: the camera between the two frames: a 2 % zoom and a pan of (2.5, -1.5) px (first frame -> second)
H_TRUE = np.array([[1.02, 0.0, 2.5], [0.0, 1.02, -1.5], [0.0, 0.0, 1.0]])
SIZE = (96, 128)  # (H, W)
ACTOR, AT, OWN = 28, (50, 36), (3, 1)  # actor side, its top-left in the first frame, its own motion (px)


def texture(shape, sigma, seed):
    noise = np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), sigma).clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def pan():
    """Two frames of a textured scene filmed by a panning, zooming camera, with a textured square
    actor that moves by OWN relative to the scene; returns the frames and the actor's true motion
    relative to the background at its centre."""
    h, w = SIZE
    prev = texture((h, w, 3), 2.0, 0)
    nxt = cv2.warpPerspective(prev, H_TRUE, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    actor = texture((ACTOR, ACTOR, 3), 1.5, 1)
    x0, y0 = AT
    prev[y0:y0 + ACTOR, x0:x0 + ACTOR] = actor
    cx, cy, _ = H_TRUE @ np.array([x0 + ACTOR / 2, y0 + ACTOR / 2, 1.0])  # where the camera takes its centre
    x1, y1 = int(round(cx - ACTOR / 2 + OWN[0])), int(round(cy - ACTOR / 2 + OWN[1]))
    nxt[y1:y1 + ACTOR, x1:x1 + ACTOR] = actor
    relative = np.array([x1 - (cx - ACTOR / 2), y1 - (cy - ACTOR / 2)])  # OWN, after rounding to whole pixels
    return prev, nxt, relative


def regions():
    h, w = SIZE
    x0, y0 = AT
    actor = np.zeros(SIZE, bool)
    actor[y0 + 6:y0 + ACTOR - 6, x0 + 6:x0 + ACTOR - 6] = True
    background = np.zeros(SIZE, bool)
    background[8:h - 8, 8:w - 8] = True
    background[y0 - 6:y0 + ACTOR + 6, x0 - 6:x0 + ACTOR + 6] = False
    return actor, background


def test_homography_flow_of_simple_transforms():
    assert np.array_equal(cm.homography_flow(np.eye(3), (4, 5)), np.zeros((4, 5, 2), np.float32))
    shift = np.array([[1.0, 0, 3], [0, 1, -2], [0, 0, 1]])
    assert np.allclose(cm.homography_flow(shift, (4, 5)), np.broadcast_to([3.0, -2.0], (4, 5, 2)))
    zoom = np.diag([2.0, 2.0, 1.0])  # p -> 2p: the flow at (x, y) is (x, y)
    f = cm.homography_flow(zoom, (3, 4))
    assert np.allclose(f[2, 3], [3.0, 2.0]) and np.allclose(f[0, 0], [0.0, 0.0])


def test_the_camera_is_found_in_a_flow_field_with_an_actor_moving_on_its_own():
    flow = cm.homography_flow(H_TRUE, SIZE)
    actor, _ = regions()
    flow[actor] += np.array(OWN, np.float32) * 3  # a fifth of the points move otherwise: RANSAC's outliers
    H, share = cm.homography_from_flow(flow)
    assert np.allclose(H, H_TRUE, atol=1e-4)
    inliers_expected = 1 - actor[2::4, 2::4].mean()
    assert share == pytest.approx(inliers_expected, abs=0.01)
    # the actor's region masked out (as iDT's human detector does): the same camera
    H2, share2 = cm.homography_from_flow(flow, mask=~actor)
    assert np.allclose(H2, H_TRUE, atol=1e-4) and share2 == 1.0


def test_too_few_points_give_the_identity():
    H, share = cm.homography_from_flow(np.zeros((8, 8, 2), np.float32), step=4)  # 4 grid points
    assert np.array_equal(H, np.eye(3)) and share == 0.0
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        cm.homography_from_flow(np.zeros((8, 8)))


def test_warping_back_undoes_the_camera(pan):
    prev, nxt, _ = pan
    _, background = regions()
    back = cm.warp_back(nxt, H_TRUE).astype(np.float64)
    assert back.shape == prev.shape and cm.warp_back(nxt, H_TRUE).dtype == np.uint8
    # bilinear resampling of a smooth texture twice: within a few grey levels of the first frame
    assert np.abs(back - prev)[background].mean() < 2.0
    assert np.abs(nxt.astype(np.float64) - prev)[background].mean() > 5.0  # without the warp: 8.6


def test_warped_flow_keeps_the_actor_and_drops_the_camera(pan):
    prev, nxt, relative = pan
    actor, background = regions()
    plain = F.FlowEstimator("farneback")(prev, nxt)
    warped, H = cm.warped_flow(prev, nxt, F.FlowEstimator("farneback"))
    camera = cm.homography_flow(H_TRUE, SIZE)
    # the fitted camera is the true one within a fifth of a pixel over the frame (0.19 here: Farneback's
    # flow near the frame's edges, where the camera brings new texture in, is biased)
    assert np.linalg.norm(cm.homography_flow(H, SIZE) - camera, axis=2)[background].mean() < 0.25
    # plain flow moves with the camera; warped flow leaves the background still ...
    assert np.linalg.norm(plain - camera, axis=2)[background].mean() < 0.3
    assert np.linalg.norm(warped, axis=2)[background].mean() < 0.3
    # ... and the actor with its own motion relative to the scene
    assert np.allclose(warped[actor].mean(0), relative, atol=0.2)
    # the estimator option does the same
    assert np.array_equal(F.FlowEstimator("farneback", warp=True)(prev, nxt), warped)
    assert repr(F.FlowEstimator("dis", warp=True)) == "FlowEstimator('dis', warp=True)"


def test_tsnlib_flow_warp_writes_warped_flow_with_its_stamp(pan, tmp_path, capsys):
    from tsnlib.cli import main

    prev, _, _ = pan
    h, w = SIZE
    # a video of a steady pan: each frame is the previous one seen by the camera H_TRUE
    frames = [prev]
    for _ in range(4):
        frames.append(cv2.warpPerspective(frames[-1], H_TRUE, (w, h), flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_REFLECT))
    root = tmp_path / "videos" / "Pan"
    root.mkdir(parents=True)
    write_video(frames, root / "pan.mp4", fps=10)
    out_plain, out_warp = tmp_path / "flow", tmp_path / "warped"
    assert main(["flow", str(root.parent), "--out", str(out_plain), "--workers", "0", "--method", "farneback"]) == 0
    assert main(["flow", str(root.parent), "--out", str(out_warp), "--workers", "0", "--method", "farneback",
                 "--warp"]) == 0
    assert json.loads((out_warp / F.FLOW_STAMP).read_text())["options"] == {"warp": True}

    def mean_motion(folder):
        q = [cv2.imread(str(frame_path(folder / "Pan" / "pan", i, kind)), cv2.IMREAD_GRAYSCALE)
             for i in range(4) for kind in ("flow_x", "flow_y")]
        v = F.dequantize_flow(np.stack(q)[:, 8:-8, 8:-8])
        return float(np.abs(v).mean())

    assert mean_motion(out_plain) > 1.0 > 0.3 > mean_motion(out_warp)
    # the same folder with plain flow settings is refused: warped and plain flow never mix
    capsys.readouterr()
    assert main(["flow", str(root.parent), "--out", str(out_warp), "--workers", "0", "--method", "farneback"]) == 1
    assert "other settings (options: {'warp': True}" in capsys.readouterr().err


def test_the_warped_flow_preset_reads_its_own_folder():
    from tsnlib.config import load_config

    flow, warped = load_config("tsn_r8_synthetic_flow"), load_config("tsn_r8_synthetic_warpflow")
    assert warped["data"]["modality"] == "Flow" and warped["data"]["clip_len"] == 5
    assert warped["data"]["root"].endswith("synthetic/ucf101/warpframes")
    assert flow["data"]["root"].endswith("synthetic/ucf101/rawframes")
    # everything but the folder is the flow stream's
    assert {k: v for k, v in warped["data"].items() if k != "root"} == {k: v for k, v in flow["data"].items() if k != "root"}
    assert warped["optim"] == flow["optim"] and warped["model"] == flow["model"]
