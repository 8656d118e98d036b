"""tsnlib.flow: quantisation (§3.6 worked values), flow methods, frame folders, resumable extraction, tsnlib flow."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import cv2

from tsnlib import flow as F  # noqa: E402
from tsnlib import synthetic  # noqa: E402
from tsnlib.commands.extract import video_records  # noqa: E402
from tsnlib.errors import DataError  # noqa: E402
from tsnlib.flow import (  # noqa: E402
    FLOW_METHODS,
    FlowEstimator,
    FlowUnavailableError,
    available_flow_methods,
    dequantize_flow,
    endpoint_error,
    extract_dataset_flow,
    extract_video_flow,
    flip_flow_x,
    flow_to_color,
    quantize_flow,
    write_flow_lists,
)
from tsnlib.flow import extraction as FE  # noqa: E402
from tsnlib.frame_folders import is_complete_flow_folder  # noqa: E402

# ----------------------------------------------------------------------------------------------
# quantisation
# ----------------------------------------------------------------------------------------------


def test_quantize_spot_values_round_not_truncate():
    v = np.array([-10.0, 0.0, 10.0])
    # dense_flow / denseflow cvRound formula (reference §3.6)
    assert quantize_flow(v, 20).tolist() == [64, 128, 191]
    # MMAction2's flow_extraction.py truncates: 63, 127, 191
    assert quantize_flow(v, 20, rounding="truncate").tolist() == [63, 127, 191]
    assert quantize_flow(np.zeros((2, 2, 2), np.float32)).dtype == np.uint8


def test_quantize_saturates():
    v = np.array([-1000.0, -25.0, -20.0, -19.999, 19.999, 20.0, 25.0, 1e6])
    assert quantize_flow(v, 20).tolist() == [0, 0, 0, 0, 255, 255, 255, 255]
    # another bound: 15 px (the binary default of the original dense_flow)
    assert quantize_flow(np.array([-15.0, 0.0, 7.5, 15.0]), 15).tolist() == [0, 128, 191, 255]


def test_quantize_matches_opencv_cvround():
    """cvRound is round-half-to-even (lrint); OpenCV's saturate_cast exposes it through convertScaleAbs."""
    b = 20.0
    rng = np.random.default_rng(1)
    v = rng.uniform(-30, 30, size=2000)
    # exact half cases: 255 (v + b) / (2b) = k + 0.5  <=>  v = (40k + 20) / 255 - b; representable for k = 127
    v = np.concatenate([v, [0.0, -20.0, 20.0]])
    expected = cv2.convertScaleAbs((255.0 * (np.clip(v, -b, b) + b) / (2 * b)).reshape(1, -1)).ravel()
    assert np.array_equal(quantize_flow(v, b), expected)


def test_quantize_rejects_nan_and_bad_bound():
    with pytest.raises(ValueError, match="NaN"):
        quantize_flow(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="bound"):
        quantize_flow(np.zeros(2), bound=0)
    with pytest.raises(ValueError, match="rounding"):
        quantize_flow(np.zeros(2), rounding="floor-ish")


@pytest.mark.parametrize("bound", [20.0, 15.0])
def test_dequantize_error_at_most_half_a_grey_level(bound):
    v = np.linspace(-bound, bound, 10001)
    back = dequantize_flow(quantize_flow(v, bound), bound)
    assert back.dtype == np.float32
    assert np.abs(back - v).max() <= bound / 255 + 1e-6
    # the codes: 0 -> -b, 255 -> +b, 128 -> +b/255 (zero motion has no exact code)
    assert dequantize_flow(np.array([0, 128, 255], np.uint8), bound) == pytest.approx([-bound, bound / 255, bound], abs=1e-5)


def test_flip_flow_x_by_hand():
    q = np.array([[[10, 20], [30, 40], [128, 128]],
                  [[0, 255], [255, 0], [200, 60]]], dtype=np.uint8)  # (H=2, W=3, 2)
    f = flip_flow_x(q)
    # mirror left-right, then x' = 255 - x; y only mirrored
    assert f[..., 0].tolist() == [[127, 225, 245], [55, 0, 255]]
    assert f[..., 1].tolist() == [[128, 40, 20], [60, 0, 255]]
    assert np.array_equal(flip_flow_x(f), q)  # an involution
    # 255 - x is exact negation after decoding: dequantize(255 - q) = -dequantize(q)
    assert np.allclose(dequantize_flow(f)[..., 0], -dequantize_flow(q)[:, ::-1, 0], atol=1e-5)
    # a stack (N, H, W, 2) flips every frame the same way
    stack = flip_flow_x(np.stack([q, q]))
    assert np.array_equal(stack[1], f)
    # float flow: x' = -x
    ff = flip_flow_x(np.array([[[1.5, 2.0], [-3.0, 4.0]]], np.float32))
    assert ff.tolist() == [[[3.0, 4.0], [-1.5, 2.0]]]
    with pytest.raises(ValueError, match="H, W, 2"):
        flip_flow_x(np.zeros((4, 4, 3), np.uint8))


# ----------------------------------------------------------------------------------------------
# flow methods
# ----------------------------------------------------------------------------------------------


def _texture_pair(dx=3, dy=-2, h=96, w=128, seed=0):
    """A smooth random texture and the same texture moved by (dx, dy) pixels: next[y+dy, x+dx] = prev[y, x]."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (h + 40, w + 40, 3)).astype(np.uint8)
    big = cv2.GaussianBlur(big, (0, 0), 2.0)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX)
    y0 = x0 = 20
    prev = big[y0:y0 + h, x0:x0 + w]
    nxt = big[y0 - dy:y0 - dy + h, x0 - dx:x0 - dx + w]
    return np.ascontiguousarray(prev), np.ascontiguousarray(nxt)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_estimator_recovers_translation(method):
    prev, nxt = _texture_pair(3, -2)
    flow = FlowEstimator(method)(prev, nxt)
    assert flow.shape == (96, 128, 2) and flow.dtype == np.float32
    inner = flow[16:-16, 16:-16]
    assert abs(np.median(inner[..., 0]) - 3) < 0.5
    assert abs(np.median(inner[..., 1]) - (-2)) < 0.5
    # the same estimator object is reused across pairs and gives the same answer
    est = FlowEstimator(method)
    assert np.array_equal(est(prev, nxt), est(prev, nxt))


def test_tvl1_recovers_translation_or_says_what_to_install():
    if not hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create"):
        with pytest.raises(FlowUnavailableError, match="opencv-contrib-python-headless"):
            FlowEstimator("tvl1")
        pytest.skip("TV-L1 needs cv2.optflow (opencv-contrib-python-headless); the error message was checked")
    prev, nxt = _texture_pair(3, -2, h=64, w=80)
    flow = FlowEstimator("tvl1")(prev, nxt)
    inner = flow[12:-12, 12:-12]
    assert abs(np.median(inner[..., 0]) - 3) < 0.5
    assert abs(np.median(inner[..., 1]) + 2) < 0.5


def test_estimator_rejects_bad_input():
    prev, nxt = _texture_pair()
    with pytest.raises(ValueError, match="unknown flow method 'lucas'"):
        FlowEstimator("lucas")
    with pytest.raises(TypeError, match="unknown option.*winsize"):
        FlowEstimator("dis", winsize=3)
    with pytest.raises(ValueError, match="differ in shape"):
        FlowEstimator("dis")(prev, nxt[:-1])
    with pytest.raises(TypeError, match="uint8"):
        FlowEstimator("dis")(prev.astype(np.float32), nxt.astype(np.float32))


def test_raft_missing_weights_is_a_clear_error_and_never_downloads(tmp_path, monkeypatch):
    import torch
    import torchvision  # noqa: F401 - required

    def no_network(*args, **kwargs):
        raise AssertionError("tsnlib tried to download RAFT weights")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    expected = tmp_path / "hub" / "checkpoints" / "raft_small_C_T_V2-01064c6d.pth"
    assert F.raft_weights_path("small") == expected
    with pytest.raises(FlowUnavailableError, match="never downloads") as err:
        FlowEstimator("raft")
    assert str(expected) in str(err.value)
    with pytest.raises(FlowUnavailableError, match="weights="):
        FlowEstimator("raft", weights=tmp_path / "nope.pth")
    status = available_flow_methods()["raft"]
    assert status is not True and "never downloads" in status


def test_raft_loads_local_weights_and_pads_small_frames(tmp_path):
    import torch
    from torchvision.models.optical_flow import raft_small

    torch.manual_seed(0)
    path = tmp_path / "raft_small_random.pth"
    torch.save(raft_small(weights=None).state_dict(), path)  # random weights: checks the plumbing only
    est = FlowEstimator("raft", weights=path, num_flow_updates=2, device="cpu")
    prev, nxt = _texture_pair(h=66, w=75)  # not multiples of 8, smaller than 128
    flow = est(prev, nxt)
    assert flow.shape == (66, 75, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(FlowUnavailableError, match="not a RAFT-small state dict"):
        FlowEstimator("raft", weights=bad, device="cpu")


def test_available_flow_methods_lists_every_method():
    status = available_flow_methods()
    assert tuple(status) == FLOW_METHODS
    assert status["dis"] is True and status["farneback"] is True
    assert all(v is True or (isinstance(v, str) and v) for v in status.values())


def test_flow_to_color():
    zero = flow_to_color(np.zeros((4, 5, 2), np.float32))
    assert zero.shape == (4, 5, 3) and zero.dtype == np.uint8
    assert (zero == 255).all()  # no motion is white
    f = np.zeros((4, 5, 2), np.float32)
    f[0, 0] = (5, 0)
    g = f.copy()
    g[3, 4] = (20, 0)
    # default: each picture scaled by its own fastest pixel, so (5, 0) changes colour
    assert not np.array_equal(flow_to_color(f)[0, 0], flow_to_color(g)[0, 0])
    # fixed scale: the colour of a pixel does not depend on the others
    assert np.array_equal(flow_to_color(f, 20)[0, 0], flow_to_color(g, 20)[0, 0])
    assert np.array_equal(flow_to_color(g, 20)[3, 4], flow_to_color(g)[3, 4])


def test_endpoint_error_by_hand():
    truth = np.zeros((2, 3, 2), np.float32)
    est = np.zeros_like(truth)
    est[..., 0], est[..., 1] = 3.0, 4.0
    assert endpoint_error(est, truth) == pytest.approx(5.0)
    est[0, 0] = 0
    assert endpoint_error(est, truth) == pytest.approx(25 / 6)
    mask = np.zeros((2, 3), bool)
    mask[0, 0] = True
    assert endpoint_error(est, truth, mask) == 0.0
    with pytest.raises(ValueError, match="must both be"):
        endpoint_error(est[:1], truth)


# ----------------------------------------------------------------------------------------------
# frame folders and extraction
# ----------------------------------------------------------------------------------------------


def _write_video(path: Path, num_frames: int, h: int = 48, w: int = 64, seed: int = 0) -> Path:
    """A small MPEG-4 video of a texture moving right by 2 px per frame."""
    import av
    prev, _ = _texture_pair(h=h, w=w + 2 * num_frames, seed=seed)
    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=25)
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    stream.options = {"qscale": "2"}
    for t in range(num_frames):
        x0 = 2 * (num_frames - t)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(prev[:, x0:x0 + w]), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    import tsnlib.decoding  # noqa: F401 - required
    root = tmp_path_factory.mktemp("videos")
    return [_write_video(root / f"v{i}.avi", n, seed=i) for i, n in enumerate([7, 5, 6])]


def _decoded_count(path) -> int:
    from tsnlib.decoding import open_video

    return int(open_video(path).num_frames)


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_extract_video_flow_names_and_counts(videos, tmp_path):
    n = _decoded_count(videos[0])
    assert n == 7
    out = tmp_path / "frames" / "v0"
    info = extract_video_flow(videos[0], out)
    assert info["num_frames"] == n and info["num_flow"] == n - 1
    names = sorted(os.listdir(out))
    assert names == sorted(
        [f"img_{i:05d}.jpg" for i in range(1, n + 1)]
        + [f"flow_x_{i:05d}.jpg" for i in range(1, n)]
        + [f"flow_y_{i:05d}.jpg" for i in range(1, n)]
    )
    assert is_complete_flow_folder(out)
    assert not list(out.parent.glob("*.tmp-*"))
    # the texture moves right by 2 px per frame: flow_x ~ 128 + 2 * 255 / 40 = 140.75, flow_y ~ 128
    fx = cv2.imread(str(out / "flow_x_00003.jpg"), cv2.IMREAD_GRAYSCALE)
    fy = cv2.imread(str(out / "flow_y_00003.jpg"), cv2.IMREAD_GRAYSCALE)
    assert fx.shape == (48, 64)
    assert abs(np.median(fx[8:-8, 8:-8]) - 140.75) <= 4
    assert abs(np.median(fy[8:-8, 8:-8]) - 128) <= 4
    # resizing before flow: RGB and flow alike
    info = extract_video_flow(videos[0], tmp_path / "small" / "v0", short_side=24)
    assert (info["height"], info["width"]) == (24, 32)
    assert cv2.imread(str(tmp_path / "small" / "v0" / "flow_y_00001.jpg"), cv2.IMREAD_GRAYSCALE).shape == (24, 32)


def test_half_written_folders_are_never_done(tmp_path):
    partial = tmp_path / "v0"
    partial.mkdir()
    img = np.zeros((4, 4, 3), np.uint8)
    for i in (1, 2, 3):
        cv2.imwrite(str(partial / f"img_{i:05d}.jpg"), img)
    cv2.imwrite(str(partial / "flow_x_00001.jpg"), img[..., 0])
    cv2.imwrite(str(partial / "flow_y_00001.jpg"), img[..., 0])
    assert not is_complete_flow_folder(partial)  # 3 RGB frames need 2 flow frames
    cv2.imwrite(str(partial / "flow_x_00002.jpg"), img[..., 0])
    cv2.imwrite(str(partial / "flow_y_00002.jpg"), img[..., 0])
    assert is_complete_flow_folder(partial)
    assert not is_complete_flow_folder(tmp_path / "missing")


def test_extract_dataset_resumes_after_interruption_identically(videos, tmp_path, monkeypatch, capsys):
    # reference: one uninterrupted run
    ref_root = tmp_path / "ref"
    ref_records, ref_fail = extract_dataset_flow(videos, ref_root, workers=1, progress=False, level=1)
    assert ref_fail == []
    counts = {r.video_id: (r.num_frames, r.num_flow_frames) for r in ref_records}
    assert counts == {"v0": (7, 6), "v1": (5, 4), "v2": (6, 5)}
    assert [Path(r.path) for r in ref_records] == [ref_root / "v0", ref_root / "v1", ref_root / "v2"]

    # an earlier run was killed: a leftover tmp folder (v0) and a half-written final folder (v2)
    out = tmp_path / "out"
    stale = out / "v0.tmp-99999"
    stale.mkdir(parents=True)
    (stale / "img_00001.jpg").write_bytes(b"partial")
    (out / "v2").mkdir()
    (out / "v2" / "img_00001.jpg").write_bytes(b"partial")

    # this run fails in the middle of the 2nd video (v1), while writing its 3rd flow_x file
    real_write = FE.write_jpeg

    def flaky_write(path, img, quality):
        if path.parent.name.startswith("v1.tmp-") and path.name == "flow_x_00003.jpg":
            raise OSError("disk full (simulated)")
        return real_write(path, img, quality)

    monkeypatch.setattr(FE, "write_jpeg", flaky_write)
    records, failures = extract_dataset_flow(videos, out, workers=1, progress=False, level=1)
    assert [r.video_id for r in records] == ["v0", "v2"]  # the others went on
    assert failures == [(str(videos[1]), "OSError: disk full (simulated)")]
    text = capsys.readouterr().out
    assert "1 failed" in text and f"FAILED {videos[1]}: OSError: disk full (simulated)" in text
    assert not (out / "v1").exists()  # the failed video left no final folder ...
    assert not list(out.glob("*.tmp-*"))  # ... and no tmp folder; the stale one was removed

    # resume: only v1 is redone, and the result is byte-identical to the uninterrupted run
    monkeypatch.setattr(FE, "write_jpeg", real_write)
    redone = []
    real_extract = FE.extract_video_flow

    def spy(video_path, out_dir, **kwargs):
        redone.append(Path(video_path).name)
        return real_extract(video_path, out_dir, **kwargs)

    monkeypatch.setattr(FE, "extract_video_flow", spy)
    records, failures = extract_dataset_flow(videos, out, workers=1, progress=True, level=1)
    assert failures == [] and redone == ["v1.avi"]
    assert "flow: 3 videos, 1 extracted, 2 already done, 0 failed" in capsys.readouterr().out
    assert {r.video_id: (r.num_frames, r.num_flow_frames) for r in records} == counts
    assert _tree_bytes(out) == _tree_bytes(ref_root)


@pytest.mark.slow  # two worker processes
def test_extract_dataset_parallel_lists_failures_and_continues(videos, tmp_path, capsys):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"this is not a video" * 10)
    inputs = [videos[0], broken, videos[2]]
    records, failures = extract_dataset_flow(inputs, tmp_path / "out", workers=2, progress=False, level=1)
    assert [r.video_id for r in records] == ["v0", "v2"]
    assert len(failures) == 1 and failures[0][0] == str(broken)
    assert "broken.avi" in failures[0][1]  # the error names the file
    assert f"FAILED {broken}" in capsys.readouterr().out
    # parallel workers produce the same bytes as the in-process path
    single = tmp_path / "single"
    extract_dataset_flow([videos[0]], single, workers=1, progress=False, level=1)
    assert _tree_bytes(single / "v0") == _tree_bytes(tmp_path / "out" / "v0")


def test_extract_dataset_reports_colliding_folders_and_extracts_the_rest(videos, tmp_path):
    twin = tmp_path / "other"
    twin.mkdir()
    (twin / "v0.avi").write_bytes(videos[0].read_bytes())
    records, failures = extract_dataset_flow([videos[0], twin / "v0.avi", videos[1]], tmp_path / "out", workers=1,
                                             progress=False, level=1)
    assert [Path(r.path).name for r in records] == ["v1"]
    assert [p for p, _ in failures] == [str(videos[0]), str(twin / "v0.avi")]
    assert all("same output folder" in m and str(tmp_path / "out" / "v0") in m for _, m in failures)
    assert not (tmp_path / "out" / "v0").exists()


def test_write_flow_lists_uses_each_count(tmp_path):
    from tsnlib.annotations import VideoRecord

    recs = [
        VideoRecord(path=tmp_path / "frames" / "v_A_g01_c01", label=0, num_frames=7, video_id="v_A_g01_c01",
                    source=None, num_flow_frames=6),
        VideoRecord(path=tmp_path / "frames" / "v_B_g01_c01", label=3, num_frames=5, video_id="v_B_g01_c01",
                    source=None, num_flow_frames=4),
    ]
    rgb, flow = write_flow_lists(recs, tmp_path / "rgb.txt", tmp_path / "flow.txt", root=tmp_path / "frames")
    assert rgb.read_text() == "v_A_g01_c01 7 0\nv_B_g01_c01 5 3\n"
    assert flow.read_text() == "v_A_g01_c01 6 0\nv_B_g01_c01 4 3\n"


def test_cli_flow_on_class_folders_and_on_a_plain_folder(videos, tmp_path, capsys):
    from tsnlib.cli import main

    # class folders: labels from the sorted folder names, lists with both counts
    root = tmp_path / "dataset"
    for cls, v in [("Biking", videos[0]), ("Archery", videos[1]), ("Biking", videos[2])]:
        (root / cls).mkdir(parents=True, exist_ok=True)
        (root / cls / v.name).write_bytes(v.read_bytes())
    out = tmp_path / "frames"
    assert main(["flow", str(root), "--out", str(out), "--workers", "1"]) == 0
    assert sorted((out / "flow_list.txt").read_text().splitlines()) == ["Archery/v1 4 0", "Biking/v0 6 1", "Biking/v2 5 1"]
    assert sorted((out / "rgb_list.txt").read_text().splitlines()) == ["Archery/v1 5 0", "Biking/v0 7 1", "Biking/v2 6 1"]
    # default layout out/<class folder>/<video_id>, as tsnlib frames and tsnlib lists use
    assert all(is_complete_flow_folder(out / c / v) for c, v in (("Biking", "v0"), ("Archery", "v1"), ("Biking", "v2")))
    # a plain folder of videos: extracted, no labels so no lists; exit code 0
    capsys.readouterr()
    out2 = tmp_path / "plain"
    assert main(["flow", str(videos[0].parent), "--out", str(out2), "--workers", "1"]) == 0
    assert "no list files written" in capsys.readouterr().out
    assert is_complete_flow_folder(out2 / videos[0].parent.name / "v1") and not (out2 / "rgb_list.txt").exists()


def test_score_flow_methods_on_synthetic_truth(tiny_ucf101, monkeypatch):
    from tsnlib.flow import quality

    paths = sorted((tiny_ucf101 / "UCF-101").rglob("*.avi"))[:2]
    rows = F.score_flow_methods(paths, ["dis", "tvl1"], max_pairs=3)
    dis, tvl1 = rows
    assert dis["method"] == "dis" and dis["pairs"] == 6 and dis["pairs_per_s"] > 0  # a rate: no worked value
    # the errors, by hand: mean over the 6 pairs of the mean |flow - truth| over the checkable pixels
    from tsnlib.decoding import open_video

    est, epe, zero = F.FlowEstimator("dis"), [], []
    for path in paths:
        truth = synthetic.load_truth(path)
        with open_video(path) as reader:
            frames = reader.get_frames(list(range(4)))
        for t in range(3):
            true = synthetic.true_flow(truth, t).astype(np.float64)
            mask = synthetic.true_flow_mask(truth, t)
            epe.append(np.sqrt(((est(frames[t], frames[t + 1]) - true) ** 2).sum(-1))[mask].mean())
            zero.append(np.sqrt((true ** 2).sum(-1))[mask].mean())
    assert dis["epe"] == pytest.approx(np.mean(epe), rel=1e-9) and dis["epe_zero"] == pytest.approx(np.mean(zero), rel=1e-9)
    # on the actor, which moves by a pixel or more per frame, DIS is far better than assuming no motion
    assert 0 <= dis["epe_actor"] < 0.7 * dis["epe_actor_zero"]
    assert "actor EPE" in F.format_flow_scores(rows)
    # quantising moves every vector by at most half a grey level (b / 255 px per component)
    assert abs(dis["epe_quantized"] - dis["epe"]) <= np.sqrt(2) * 20 / 255 + 1e-6
    if available_flow_methods()["tvl1"] is not True:
        assert tvl1["pairs"] == 0 and np.isnan(tvl1["epe"]) and "opencv-contrib" in tvl1["note"]
    # the truth must be at the decoded size: no silent resizing
    monkeypatch.setattr(quality, "true_flow", lambda truth, t: np.zeros((8, 8, 2), np.float32))
    with pytest.raises(DataError, match="true flow of frame 0 has shape"):
        F.score_flow_methods(paths[:1], ["dis"], max_pairs=1)


# ----------------------------------------------------------------------------------------------
# a whole dataset: prepare_flow_dataset and its settings stamp
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def no_extraction(monkeypatch):
    """prepare_flow_dataset with extraction and list writing replaced by recorders (the stamp logic alone)."""
    calls = []

    def fake_extract(records, out_root, **kwargs):
        calls.append((len(records), kwargs))
        return [], []

    monkeypatch.setattr(FE, "extract_dataset_flow", fake_extract)
    monkeypatch.setattr(FE, "build_lists", lambda *a, **k: [])
    return calls


def test_prepare_flow_dataset_stamp(tiny_ucf101, tmp_path, no_extraction):
    import json

    root = tmp_path / "frames"
    info = F.prepare_flow_dataset(tiny_ucf101, root, short_side=64, progress=False)
    assert no_extraction[-1][0] == 78 and no_extraction[-1][1]["resume"] is True  # 13 classes x 6 videos
    stamp = json.loads((root / F.FLOW_STAMP).read_text())
    assert stamp == info["stamp"]
    assert (stamp["method"], stamp["bound"], stamp["short_side"], stamp["size"]) == ("dis", 20.0, 64, None)
    assert stamp["source"]["synthetic"]["size"] == "tiny" and stamp["source"]["synthetic"]["seed"] == 0
    sentinel = root / "FlashBlue" / "v_FlashBlue_g01_c01"
    sentinel.mkdir(parents=True)

    # other settings: an error that names them, and nothing is touched
    with pytest.raises(DataError, match="short_side: 64 there, 128 asked"):
        F.prepare_flow_dataset(tiny_ucf101, root, short_side=128, progress=False)
    with pytest.raises(DataError, match="method"):
        F.prepare_flow_dataset(tiny_ucf101, root, method="farneback", short_side=64, progress=False)
    assert sentinel.is_dir() and len(no_extraction) == 1

    # the same settings: resumed as it is
    F.prepare_flow_dataset(tiny_ucf101, root, short_side=64, progress=False)
    assert sentinel.is_dir() and len(no_extraction) == 2

    # the synthetic set was regenerated (another generator version): its old frames are stale and removed
    stamp["source"]["synthetic"]["version"] = "0"
    (root / F.FLOW_STAMP).write_text(json.dumps(stamp))
    F.prepare_flow_dataset(tiny_ucf101, root, short_side=64, progress=False)
    assert not sentinel.exists() and json.loads((root / F.FLOW_STAMP).read_text()) == info["stamp"]

    # overwrite=True: everything again, whatever was there
    sentinel.mkdir(parents=True)
    F.prepare_flow_dataset(tiny_ucf101, root, short_side=128, overwrite=True, progress=False)
    assert not sentinel.exists() and no_extraction[-1][1]["resume"] is False

    # a folder without a stamp (frames made elsewhere) is resumed, never deleted
    other = tmp_path / "denseflow"
    (other / "FlashBlue" / "v_FlashBlue_g01_c01").mkdir(parents=True)
    F.prepare_flow_dataset(tiny_ucf101, other, progress=False)
    assert (other / "FlashBlue" / "v_FlashBlue_g01_c01").is_dir()


def test_prepare_flow_dataset_writes_val_lists(tiny_ucf101, tmp_path, monkeypatch):
    """A root with a vallist0N.txt (the synthetic set): its val videos are extracted and get
    ucf101_val_split_1_{rawframes,flow}.txt; a root without one (the official layout) still works."""
    import shutil

    from tsnlib.annotations import read_ucf101

    ok, jpg = cv2.imencode(".jpg", np.full((8, 8), 128, np.uint8))
    assert ok

    def fake_extract(records, out_root, **kwargs):  # frame folders of 3 RGB and 2 flow frames, real JPEGs
        for r in records:
            folder = Path(out_root) / r.path.parent.name / r.video_id
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("img_00001", "img_00002", "img_00003", "flow_x_00001", "flow_x_00002", "flow_y_00001",
                         "flow_y_00002"):
                (folder / f"{name}.jpg").write_bytes(jpg.tobytes())
        return [], []

    monkeypatch.setattr(FE, "extract_dataset_flow", fake_extract)
    frames = tmp_path / "frames"
    info = F.prepare_flow_dataset(tiny_ucf101, frames, progress=False)
    assert [p.name for p in info["lists"]] == [
        "classInd.txt", "ucf101_train_split_1_rawframes.txt", "ucf101_train_split_1_flow.txt",
        "ucf101_val_split_1_rawframes.txt", "ucf101_val_split_1_flow.txt",
        "ucf101_test_split_1_rawframes.txt", "ucf101_test_split_1_flow.txt"]
    val, _ = read_ucf101(tiny_ucf101, 1, "val")
    assert len(val) == 26 and info["videos"] == 78  # train + val + test: every video once
    assert (frames / "ucf101_val_split_1_rawframes.txt").read_text().splitlines() == [
        f"{r.path.parent.name}/{r.video_id} 3 {r.label}" for r in val]
    assert (frames / "ucf101_val_split_1_flow.txt").read_text().splitlines() == [
        f"{r.path.parent.name}/{r.video_id} 2 {r.label}" for r in val]
    # tsnlib flow --subset val, and every subset by default
    assert sorted(r.video_id for r in video_records(tiny_ucf101, 1, "val")) == sorted(r.video_id for r in val)
    assert len(video_records(tiny_ucf101, 1, None)) == 78

    # the official layout: no vallist0N.txt, no val lists, no error
    official = tmp_path / "official"
    official.mkdir()
    (official / "UCF-101").symlink_to(tiny_ucf101 / "UCF-101", target_is_directory=True)
    shutil.copytree(tiny_ucf101 / "ucfTrainTestlist", official / "ucfTrainTestlist",
                    ignore=shutil.ignore_patterns("vallist*"))
    info = F.prepare_flow_dataset(official, tmp_path / "frames2", progress=False)
    assert [p.name for p in info["lists"]] == [
        "classInd.txt", "ucf101_train_split_1_rawframes.txt", "ucf101_train_split_1_flow.txt",
        "ucf101_test_split_1_rawframes.txt", "ucf101_test_split_1_flow.txt"]
    assert info["videos"] == 78 - 26
    assert len(video_records(official, 1, None)) == 78 - 26


def test_prepare_flow_dataset_needs_official_splits(videos, tmp_path):
    root = tmp_path / "dataset"  # a folder per class: no official split lists to extract for
    (root / "Biking").mkdir(parents=True)
    (root / "Biking" / videos[0].name).write_bytes(videos[0].read_bytes())
    with pytest.raises(DataError, match="UCF101 or HMDB51 root with official splits, found layout 'folders'"):
        F.prepare_flow_dataset(root, tmp_path / "frames", progress=False)


def test_cli_flow_on_a_ucf101_root_uses_the_stamp(tiny_ucf101, tmp_path, no_extraction, capsys):
    from tsnlib.cli import main

    out = tmp_path / "frames"
    assert main(["flow", str(tiny_ucf101), "--out", str(out), "--short-side", "64", "--workers", "0"]) == 0
    assert (out / F.FLOW_STAMP).is_file() and no_extraction[-1][0] == 78
    # asking for other settings in the same folder is refused (exit 1), --no-resume redoes everything
    assert main(["flow", str(tiny_ucf101), "--out", str(out), "--workers", "0"]) == 1
    assert "other settings" in capsys.readouterr().out
    assert main(["flow", str(tiny_ucf101), "--out", str(out), "--workers", "0", "--no-resume"]) == 0
    assert no_extraction[-1][1]["resume"] is False
