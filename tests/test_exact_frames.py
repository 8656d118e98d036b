"""Frames you can trust (issue 11): B-frame MPEG-4 and HEVC, rotation flags, odd sizes, variable frame rate,
``check-data --exact``, videos that share a folder name, and extraction workers that die with their parent.

Every video is made here with PyAV; "exact" means equal, pixel for pixel, to the same frames of a full
sequential decode (:func:`tsnlib.decoding.decode_all`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import av
import cv2

from tsnlib import decoding as D  # noqa: E402
from tsnlib.checks import check_video  # noqa: E402
from tsnlib.cli import main  # noqa: E402
from tsnlib.decoding import decode_all, open_video, probe_video  # noqa: E402
from tsnlib.errors import DecodeError  # noqa: E402
from tsnlib.sampling import sample_test_indices, sample_train_indices  # noqa: E402

HAS_DECORD = D.available_backends()["decord"] is True
needs_decord = pytest.mark.skipif(not HAS_DECORD, reason="decord not installed")
N_FRAMES, W, H = 60, 64, 48


def _has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:  # noqa: BLE001
        return False


def bar_frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    """Frame ``i``: a bright bar at column ``i`` (its colour depends on ``i``) and a white marker at the top left."""
    img = np.full((h, w, 3), 16, np.uint8)
    img[:, 12 + i % (w - 14) : 14 + i % (w - 14)] = (240, (i * 37) % 200 + 40, (i * 11) % 200 + 40)
    img[:8, :8] = 255
    return img


def make_video(path: Path, codec: str, gop: int = 12, b_frames: int = 0, n: int = N_FRAMES, rotation: int = 0,
               size: tuple[int, int] = (W, H)) -> Path:
    """Encode ``n`` bar frames with PyAV: fixed GOP, ``b_frames`` B-frames, an optional rotation flag."""
    w, h = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "mpeg4":
            stream.options = {"sc_threshold": "1000000000", "bf": str(b_frames)}
        elif codec == "libx264":
            stream.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0", "bf": str(b_frames)}
        else:  # libx265
            stream.options = {"x265-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={b_frames}:"
                                             "log-level=error"}
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(bar_frame(i, w, h), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def raw_frames(path: Path) -> np.ndarray:
    """Every frame as stored, ignoring any rotation flag: ``(N, H, W, 3)``."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def tsn_reads(n: int) -> list[np.ndarray]:
    """What a TSNDataset asks a decoder for: five 3-segment training draws and the 25 test snippets."""
    reads = [sample_train_indices(n, 3, rng=np.random.default_rng(seed)).ravel() for seed in range(5)]
    return reads + [sample_test_indices(n, 25).ravel()]


B_FRAME_FILES = [
    pytest.param("mpeg4", ".avi", 2, id="mpeg4-avi-bframes"),
    pytest.param("libx265", ".mp4", 3, id="hevc-mp4-bframes",
                 marks=pytest.mark.skipif(not _has_encoder("libx265"), reason="this PyAV build has no libx265")),
]


# ----------------------------------------------------------------------------------------------
# B-frames: the default path is exact
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec, ext, bf", B_FRAME_FILES)
def test_b_frame_files_are_exact_through_the_default_path(tmp_path, codec, ext, bf):
    path = make_video(tmp_path / f"b{ext}", codec, gop=12 if codec == "mpeg4" else 25, b_frames=bf)
    probe = probe_video(path)
    assert probe.codec == ("mpeg4" if codec == "mpeg4" else "hevc") and probe.b_frames and probe.rotation == 0
    ref = decode_all(path)
    assert ref.shape == (N_FRAMES, H, W, 3)
    for indices in tsn_reads(N_FRAMES):
        with open_video(path) as reader:  # a fresh reader per sample, as a dataset item opens it
            assert reader.backend == "pyav" or not HAS_DECORD  # decord is not exact on such files
            assert np.array_equal(reader.get_frames(indices), ref[indices]), indices


@needs_decord
@pytest.mark.parametrize("codec, ext, bf", B_FRAME_FILES)
def test_decord_asked_by_name_says_why_it_would_not_be_exact(tmp_path, codec, ext, bf):
    path = make_video(tmp_path / f"clip{ext}", codec, gop=12 if codec == "mpeg4" else 25, b_frames=bf)
    with pytest.raises(DecodeError, match="B-frames") as info:
        open_video(path, backend="decord")
    assert f"clip{ext}" in str(info.value)


def test_the_course_avi_stays_on_decord_with_the_same_frames(tiny_ucf101):
    """The synthetic set (MPEG-4 Part 2 AVI, GOP 12, no B-frames) keeps the fast path and today's frames."""
    video = sorted((tiny_ucf101 / "UCF-101").rglob("*.avi"))[0]
    probe = probe_video(video)
    assert probe.codec == "mpeg4" and not probe.b_frames and probe.rotation == 0
    assert D.decord_problem(probe) is None
    with open_video(video) as reader:
        n = reader.num_frames
        assert reader.backend == ("decord" if HAS_DECORD else "pyav")
        got = [reader.get_frames(i) for i in tsn_reads(n)]
    if HAS_DECORD:
        import decord

        bare = decord.VideoReader(str(video), num_threads=1)
        for indices, frames in zip(tsn_reads(n), got):
            assert np.array_equal(frames, bare.get_batch([int(i) for i in indices]).asnumpy())


def test_odd_frame_sizes_go_to_pyav_and_are_exact(tmp_path):
    path = make_video(tmp_path / "odd.avi", "mpeg4", size=(65, 49), n=24)
    assert "odd frame size 65x49" in D.decord_problem(probe_video(path))
    ref = decode_all(path)
    with open_video(path) as reader:
        assert reader.backend == "pyav" and (reader.width, reader.height) == (65, 49)
        assert np.array_equal(reader.get_frames([17, 3, 11]), ref[[17, 3, 11]])


# ----------------------------------------------------------------------------------------------
# check-data --exact
# ----------------------------------------------------------------------------------------------


@needs_decord
def test_check_data_exact_names_the_file_a_decoder_reads_wrongly(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    for cls in ("A", "B"):
        (root / cls).mkdir(parents=True)
    bad = make_video(root / "A" / "bframes.avi", "mpeg4", b_frames=2)
    make_video(root / "A" / "plain.avi", "mpeg4")
    make_video(root / "B" / "plain2.avi", "mpeg4")
    # with the policy, every file is read exactly: the exact check passes
    assert main(["check-data", str(root), "--exact"]) == 0
    capsys.readouterr()
    # without it decord would read the B-frame file: the check sees the wrong frames and names that file only
    monkeypatch.setattr(D, "decord_problem", lambda probe: None)
    found = check_video(bad, exact=True)
    assert [k for k, _ in found] == ["inexact-frames"] and found[0][1].startswith("decord: ")
    assert check_video(root / "A" / "plain.avi", exact=True) == []
    assert main(["check-data", str(root), "--exact"]) == 1
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "inexact-frames" in ln]
    assert len(lines) == 1 and str(bad) in lines[0]
    assert "plain" not in out.split("problem")[0]
    # without --exact the wrong frames go unseen: that is what the option is for
    assert main(["check-data", str(root)]) == 0


# ----------------------------------------------------------------------------------------------
# rotation: honoured everywhere, as players do
# ----------------------------------------------------------------------------------------------

ROTATIONS = [pytest.param(".mp4", "libx264", 90, id="mp4-90"), pytest.param(".mkv", "libx264", -90, id="mkv-270"),
             pytest.param(".mov", "mpeg4", 180, id="mov-180")]


@pytest.mark.parametrize("ext, codec, rotation", ROTATIONS)
def test_rotation_flag_is_applied_by_every_path(tmp_path, ext, codec, rotation):
    from tsnlib.decoding import iter_frames
    from tsnlib.frame_folders import extract_frames, read_rgb_frames
    from tsnlib.flow import extract_video_flow
    from tsnlib.visualization import read_display_frames

    path = make_video(tmp_path / f"rot{ext}", codec, gop=12, n=20, rotation=rotation)
    assert probe_video(path).rotation == rotation % 360
    upright = np.stack([np.rot90(f, rotation // 90) for f in raw_frames(path)])  # counter-clockwise, as players
    # the white marker, top left as encoded, is where a player shows it
    corner = {90: (slice(-8, None), slice(None, 8)), -90: (slice(None, 8), slice(-8, None)),
              180: (slice(-8, None), slice(-8, None))}[rotation]
    assert upright[0][corner].min() > 200
    expect_hw = (W, H) if rotation % 180 else (H, W)
    assert upright.shape[1:3] == expect_hw
    idx = [13, 2, 7]
    for backend in ("auto", "pyav"):
        with open_video(path, backend=backend) as reader:
            assert reader.backend == "pyav" and reader.rotation == rotation % 360
            assert (reader.height, reader.width) == expect_hw
            assert np.array_equal(reader.get_frames(idx), upright[idx])
    assert np.array_equal(decode_all(path), upright)
    assert np.array_equal(np.stack(list(iter_frames(path))), upright)
    assert np.array_equal(read_display_frames(path, idx), upright[idx])  # what Grad-CAM is drawn on
    # tsnlib frames and tsnlib flow write upright JPEGs
    assert extract_frames(path, tmp_path / "frames") == 20
    assert read_rgb_frames(tmp_path / "frames", [0]).shape[1:3] == expect_hw
    extract_video_flow(path, tmp_path / "flow")
    assert cv2.imread(str(tmp_path / "flow" / "flow_x_00001.jpg"), cv2.IMREAD_GRAYSCALE).shape == expect_hw
    if HAS_DECORD:
        with pytest.raises(DecodeError, match="rotation"):
            open_video(path, backend="decord")


def test_the_training_sample_and_the_frame_folder_see_the_same_image(tmp_path):
    """A rotated video read as a video and read from its extracted frames gives the same picture."""
    from tsnlib.frame_folders import extract_frames, read_rgb_frames

    path = make_video(tmp_path / "phone.mp4", "libx264", gop=12, n=12, rotation=90)
    extract_frames(path, tmp_path / "f", quality=100)
    with open_video(path) as reader:
        video = reader.get_frames([5]).astype(int)
    jpeg = read_rgb_frames(tmp_path / "f", [5]).astype(int)
    assert video.shape == jpeg.shape and np.abs(video - jpeg).mean() < 3


# ----------------------------------------------------------------------------------------------
# predict --out keeps a variable-frame-rate video's timing
# ----------------------------------------------------------------------------------------------


def make_vfr_video(path: Path, gaps_ms: list[int]) -> np.ndarray:
    """An H.264 MP4 whose frames are shown ``gaps_ms`` apart; returns the times in seconds."""
    tb = Fraction(1, 1000)
    times = np.concatenate([[0], np.cumsum(gaps_ms)])
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.time_base = tb
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(bar_frame(i), format="rgb24")
            frame.pts, frame.time_base = int(t), tb
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return times / 1000.0


@pytest.mark.slow  # Grad-CAM over a video, encoded: 1-3 s here
def test_predict_out_writes_a_vfr_video_with_its_real_timing(tmp_path):
    import torch

    from tsnlib.decoding import frame_times
    from tsnlib.models import TSN
    from tsnlib.visualization import write_prediction_video

    gaps = [40 if i % 3 else 250 for i in range(1, 24)]  # 24 frames over 2.5 s; 0.92 s at the nominal 25 fps
    video = tmp_path / "vfr.mp4"
    times = make_vfr_video(video, gaps)
    assert np.allclose(frame_times(video), times)
    torch.manual_seed(0)
    model = TSN(3, "resnet18", num_segments=3).eval()
    for out in (tmp_path / "pred.mp4", tmp_path / "pred.gif"):
        info = write_prediction_video(model, video, out, ["a", "b", "c"], num_snippets=3, input_size=64,
                                      scale_size=72, device="cpu")
        assert info["frames"] == len(times)
        if out.suffix == ".mp4":
            assert np.allclose(frame_times(out), times, atol=1e-3)
        else:
            from PIL import Image

            with Image.open(out) as gif:
                durations = []
                for k in range(gif.n_frames):
                    gif.seek(k)
                    durations.append(gif.info["duration"])
            assert durations[:-1] == gaps


# ----------------------------------------------------------------------------------------------
# frames / flow: videos sharing a folder name; workers stop with their parent
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["frames", "flow"])
def test_videos_sharing_a_stem_are_reported_and_the_rest_extracted(tmp_path, capsys, command):
    src = tmp_path / "videos" / "Wave"
    src.mkdir(parents=True)
    a = make_video(src / "clip.avi", "mpeg4", n=6)
    b = make_video(src / "clip.mp4", "libx264", n=6)
    make_video(src / "other.avi", "mpeg4", n=6)
    out = tmp_path / "out"
    rc = main([command, str(tmp_path / "videos"), "--out", str(out), "--workers", "0"])
    assert rc == 1
    text = capsys.readouterr().out
    for clip in (a, b):
        failed = [ln for ln in text.splitlines() if ln.strip().startswith(f"FAILED {clip}:")]
        assert len(failed) == 1 and "same output folder" in failed[0]
    assert (out / "Wave" / "other" / "img_00001.jpg").is_file()
    assert not (out / "Wave" / "clip").exists()


def test_frame_extraction_api_reports_each_conflict(tmp_path):
    from tsnlib.frame_folders import extract_dataset_frames

    (tmp_path / "v" / "c").mkdir(parents=True)
    a = make_video(tmp_path / "v" / "c" / "x.avi", "mpeg4", n=5)
    b = make_video(tmp_path / "v" / "c" / "x.mkv", "libx264", n=5)
    c = make_video(tmp_path / "v" / "c" / "y.avi", "mpeg4", n=5)
    records, failures = extract_dataset_frames([a, b, c], tmp_path / "out", workers=0, progress=False,
                                               return_failures=True)
    assert [Path(r.path).name for r in records] == ["y"]
    assert sorted(Path(p).name for p, _ in failures) == ["x.avi", "x.mkv"]
    assert all("x.mkv" in m for p, m in failures if p.endswith("x.avi"))


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow  # processes, one of them killed
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the worker processes")
def test_extraction_workers_stop_when_the_main_process_is_killed(tmp_path):
    """``kill -9`` of the main process: its worker processes exit within seconds, not after their video."""
    script = ("import time\nfrom tsnlib.utils import run_per_video\n"
              "if __name__ == '__main__':\n"
              "    run_per_video(time.sleep, {0: (120,), 1: (120,)}, {0: 'a', 1: 'b'}, workers=2,\n"
              "                  show_progress=False)\n")
    (tmp_path / "job.py").write_text(script)
    env = dict(os.environ, PYTHONPATH=str(Path(D.__file__).resolve().parents[1]))
    parent = subprocess.Popen([sys.executable, str(tmp_path / "job.py")], cwd=tmp_path, env=env)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = [p for p in _children(parent.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()
                       and "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) == 2, "the workers did not start"
        time.sleep(3)  # let them import and start their jobs
        assert all(_alive(p) for p in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers), "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for p in workers:  # only if the test failed: do not leave them sleeping
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


# ----------------------------------------------------------------------------------------------
# --backend on predict, test, frames and flow
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["predict", "v.avi", "--checkpoint", "c.pth"], ["test", "preset", "c.pth"],
                                  ["frames", "src", "--out", "o"], ["flow", "src", "--out", "o"]])
def test_commands_take_a_backend(argv):
    from tsnlib.cli import build_parser

    assert build_parser(only=argv[0]).parse_args(argv + ["--backend", "pyav"]).backend == "pyav"
    with pytest.raises(SystemExit):
        build_parser(only=argv[0]).parse_args(argv + ["--backend", "opencv"])


@needs_decord
def test_frames_backend_decord_refuses_a_file_it_would_read_wrongly(tmp_path, capsys):
    src = tmp_path / "videos" / "Wave"
    src.mkdir(parents=True)
    clip = make_video(src / "clip.avi", "mpeg4", b_frames=2, n=12)
    assert main(["frames", str(tmp_path / "videos"), "--out", str(tmp_path / "a"), "--workers", "0",
                 "--backend", "decord"]) == 1
    failed = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith(f"FAILED {clip}")]
    assert len(failed) == 1 and "would not be exact" in failed[0] and "B-frames" in failed[0]
    assert main(["frames", str(tmp_path / "videos"), "--out", str(tmp_path / "b"), "--workers", "0",
                 "--backend", "pyav"]) == 0
    assert len(list((tmp_path / "b" / "Wave" / "clip").glob("img_*.jpg"))) == 12
