"""tsnlib.decoding and tsnlib.frame_folders: exact frames from videos (both backends, avi and mp4), bad files,
frame folders, extraction."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import av
import cv2

from tsnlib import decoding as D  # noqa: E402
from tsnlib.annotations import VideoRecord  # noqa: E402
from tsnlib.decoding import decode_all, open_video  # noqa: E402
from tsnlib.errors import DataError, DecodeError  # noqa: E402
from tsnlib.frame_folders import (  # noqa: E402
    atomic_folder,
    count_frames,
    detect_start_index,
    extract_dataset_frames,
    extract_frames,
    frame_path,
    is_complete_frame_folder,
    read_flow_frames,
    read_rgb_frames,
)

HAS_DECORD = D.available_backends()["decord"] is True
BACKENDS = ["pyav", pytest.param("decord", marks=pytest.mark.skipif(not HAS_DECORD, reason="decord not installed"))]
N_FRAMES, W, H = 60, 64, 48
# unsorted, repeated, first and last; all but 0 are not keyframes (GOP 12 and 25)
INDICES = [47, 5, 30, 30, 0, 59, 13, 5, 26, 23]


def bar_frame(i: int) -> np.ndarray:
    """Frame ``i`` of the test videos: a 2-pixel bright bar at column ``i``, colour depending on ``i``."""
    img = np.full((H, W, 3), 16, np.uint8)
    img[:, i : i + 2] = (240, (i * 37) % 200 + 40, (i * 11) % 200 + 40)
    return img


def make_video(path: Path, codec: str, gop: int, n: int = N_FRAMES, fps: int = 25) -> Path:
    """Encode ``n`` bar frames with PyAV: fixed GOP (no scene-cut keyframes), so most frames are not keyframes."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "mpeg4":
            stream.options = {"sc_threshold": "1000000000"}
        else:
            stream.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0", "bf": "2"}
        for i in range(n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(bar_frame(i), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    return {
        "avi": make_video(root / "bars_mpeg4.avi", "mpeg4", gop=12),
        "mp4": make_video(root / "bars_h264.mp4", "libx264", gop=25),
    }


@pytest.fixture(scope="module")
def reference(videos):
    return {k: decode_all(p) for k, p in videos.items()}


def keyframe_indices(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [i for i, f in enumerate(c.decode(s)) if f.key_frame]


# ----------------------------------------------------------------------------------------------
# exactness
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["avi", "mp4"])
def test_reference_decode_holds_the_bars(videos, reference, kind):
    """The full sequential decode is in order: the bar of frame i is at column i (content, not compression, decides)."""
    full = reference[kind]
    assert full.shape == (N_FRAMES, H, W, 3) and full.dtype == np.uint8
    red_profile = full[:, :, :, 0].astype(float).mean(axis=1)  # (N, W)
    bar_left = [int(np.floor(np.flatnonzero(row > 128).mean())) for row in red_profile]  # centre of the bar - 0.5
    assert bar_left == list(range(N_FRAMES))


@pytest.mark.parametrize("kind", ["avi", "mp4"])
def test_naive_seek_would_return_the_wrong_frame(videos, reference, kind):
    """Seeking and taking the first decoded frame yields the keyframe before, not the frame asked for."""
    path = videos[kind]
    keys = keyframe_indices(path)
    assert keys == list(range(0, N_FRAMES, 12 if kind == "avi" else 25))
    targets = [i for i in sorted(set(INDICES)) if i not in keys]
    assert targets == [5, 13, 23, 26, 30, 47, 59]
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        wrong = 0
        for i in targets:
            pts = int(round(i / (s.average_rate * s.time_base)))
            c.seek(pts, backward=True, any_frame=False, stream=s)
            naive = next(c.decode(s)).to_ndarray(format="rgb24")
            previous_key = max(k for k in keys if k <= i)
            assert np.array_equal(naive, reference[kind][previous_key])
            wrong += not np.array_equal(naive, reference[kind][i])
    assert wrong == len(targets)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["avi", "mp4"])
def test_frames_are_exact_at_unsorted_repeated_indices(videos, reference, kind, backend):
    """Each backend equals its own full sequential decode exactly; PyAV equals decode_all exactly."""
    with open_video(videos[kind], backend=backend) as reader:
        assert (reader.backend, reader.num_frames, reader.width, reader.height) == (backend, N_FRAMES, W, H)
        assert reader.fps == pytest.approx(25.0)
        own_sequential = reader.get_frames(np.arange(reader.num_frames))
    rng = np.random.default_rng(0)
    draws = [INDICES] + [rng.integers(0, N_FRAMES, size=rng.integers(1, 12)).tolist() for _ in range(15)]
    with open_video(videos[kind], backend=backend) as reader:  # one reader, many calls (its decoder state moves)
        for idx in draws:
            got = reader.get_frames(idx)
            assert got.shape == (len(idx), H, W, 3) and got.dtype == np.uint8
            np.testing.assert_array_equal(got, own_sequential[idx])
    if backend == "pyav":
        np.testing.assert_array_equal(own_sequential, reference[kind])
    else:
        # decord bundles another FFmpeg: its mpeg4 decoder/colour conversion may differ by rounding (seen: <= 2)
        diff = np.abs(own_sequential.astype(int) - reference[kind].astype(int))
        assert diff.max() <= 6 and diff.mean() < 0.1


@pytest.mark.parametrize("kind", ["avi", "mp4"])
def test_pyav_survives_late_seeks_and_unusable_timestamps(videos, reference, kind, monkeypatch):
    """Exact even when a seek lands after the target (retries further back) or timestamps are unusable."""
    ref = reference[kind]
    original = D.PyAVVideoReader._seek_pts_of
    with open_video(videos[kind], backend="pyav") as reader:
        # seeks 14 frames too late: the first keyframe after the seek is past the target
        monkeypatch.setattr(D.PyAVVideoReader, "_seek_pts_of", lambda self, i: original(self, i + 14))
        np.testing.assert_array_equal(reader.get_frames(INDICES), ref[INDICES])
        assert not reader._sequential
    monkeypatch.setattr(D.PyAVVideoReader, "_seek_pts_of", original)
    with open_video(videos[kind], backend="pyav") as reader:

        def no_timestamps(self, frame):
            raise D._TimestampsUnusable("test: timestamps unusable")

        monkeypatch.setattr(D.PyAVVideoReader, "_index_of", no_timestamps)
        np.testing.assert_array_equal(reader.get_frames(INDICES), ref[INDICES])
        assert reader._sequential  # counted frames from the start instead
        np.testing.assert_array_equal(reader.get_frames([3, 1]), ref[[3, 1]])


def test_pyav_fallback_when_decord_is_unavailable(videos, reference, monkeypatch):
    monkeypatch.setattr(D, "_import_decord", lambda: None)
    assert D.available_backends()["decord"] is not True
    with open_video(videos["avi"]) as reader:
        assert reader.backend == "pyav"
        np.testing.assert_array_equal(reader.get_frames(INDICES), reference["avi"][INDICES])
    with pytest.raises(ImportError, match="decord is not installed"):
        open_video(videos["avi"], backend="decord")


@pytest.mark.skipif(not HAS_DECORD, reason="decord not installed")
def test_auto_prefers_decord_and_falls_back_with_one_warning(videos, reference, monkeypatch):
    with open_video(videos["mp4"]) as reader:
        assert reader.backend == "decord"

    def refuse(self, path, num_threads=1):
        raise DecodeError("decord says no (test)", path=path)

    monkeypatch.setattr(D.DecordVideoReader, "__init__", refuse)
    monkeypatch.setattr(D, "_FALLBACK_WARNED", False)
    with pytest.warns(UserWarning, match="bars_mpeg4.avi"):
        reader = open_video(videos["avi"])
    assert reader.backend == "pyav"
    np.testing.assert_array_equal(reader.get_frames(INDICES), reference["avi"][INDICES])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second fallback is not warned about again
        assert open_video(videos["mp4"]).backend == "pyav"


# ----------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------


def _bad_file(kind: str, videos, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "no_such_video.avi"
    if kind == "text":
        p = tmp_path / "notes_renamed.avi"
        p.write_text("this is not a video\n" * 10)
        return p
    if kind == "empty":
        p = tmp_path / "zero_bytes.avi"
        p.write_bytes(b"")
        return p
    if kind in ("half_avi", "half_mp4"):
        src = videos[kind[-3:]]
        p = tmp_path / f"half_{src.name}"
        data = src.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return p
    if kind == "audio_only":
        p = tmp_path / "only_sound.wav"
        with av.open(str(p), "w") as c:
            s = c.add_stream("pcm_s16le", rate=8000)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
            frame.sample_rate = 8000
            for packet in s.encode(frame):
                c.mux(packet)
            for packet in s.encode():
                c.mux(packet)
        return p
    raise AssertionError(kind)


@pytest.mark.parametrize("backend", ["auto", *BACKENDS])
@pytest.mark.parametrize("kind", ["missing", "text", "empty", "half_avi", "half_mp4", "audio_only"])
def test_bad_videos_raise_decode_error_naming_the_file(videos, tmp_path, kind, backend):
    path = _bad_file(kind, videos, tmp_path)
    with pytest.raises(DecodeError) as info:
        open_video(path, backend=backend)
    assert path.name in str(info.value)
    assert isinstance(info.value, DataError) and info.value.path == path


def test_truncated_avi_is_reported_as_truncated(videos, tmp_path):
    path = _bad_file("half_avi", videos, tmp_path)
    with pytest.raises(DecodeError, match="truncated"):
        open_video(path, backend="pyav")
    with pytest.raises(DecodeError, match=f"truncated.*{path.name}"):
        decode_all(path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_out_of_range_names_the_file(videos, backend):
    with open_video(videos["avi"], backend=backend) as reader:
        for bad in ([N_FRAMES], [0, -1], [3, 1000]):
            with pytest.raises(DecodeError, match=r"out of range.*60 frames.*bars_mpeg4\.avi"):
                reader.get_frames(bad)
        assert reader.get_frames([]).shape == (0, H, W, 3)


# ----------------------------------------------------------------------------------------------
# frame folders
# ----------------------------------------------------------------------------------------------


def write_folder(folder: Path, n_rgb: int, n_flow: int, start: int = 1) -> None:
    """Flat-colour JPEGs whose value encodes the frame: RGB (10i, 100, 200-10i), flow x = 20 + 3i, y = 200 - 3i."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_rgb):
        rgb = np.zeros((12, 16, 3), np.uint8) + np.array([10 * i, 100, 200 - 10 * i], np.uint8)
        cv2.imwrite(str(folder / f"img_{i + start:05d}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    for i in range(n_flow):
        cv2.imwrite(str(folder / f"flow_x_{i + start:05d}.jpg"), np.full((12, 16), 20 + 3 * i, np.uint8))
        cv2.imwrite(str(folder / f"flow_y_{i + start:05d}.jpg"), np.full((12, 16), 200 - 3 * i, np.uint8))


@pytest.mark.parametrize("start", [1, 0])
def test_read_frames_from_1_and_0_based_folders(tmp_path, start):
    folder = tmp_path / f"v_start{start}"
    write_folder(folder, n_rgb=8, n_flow=7, start=start)
    assert detect_start_index(folder) == start
    assert count_frames(folder) == {"img": 8, "flow_x": 7, "flow_y": 7}  # flow: one fewer than RGB
    assert frame_path(folder, 0, start_index=start).name == f"img_{start:05d}.jpg"
    assert frame_path(folder, 6, "flow_y", start_index=1).name == "flow_y_00007.jpg"
    idx = [7, 2, 2, 0]
    rgb = read_rgb_frames(folder, idx, start_index=start)
    assert rgb.shape == (4, 12, 16, 3) and rgb.dtype == np.uint8
    np.testing.assert_allclose(rgb.reshape(4, -1, 3).mean(1), [[10 * i, 100, 200 - 10 * i] for i in idx], atol=2)
    flow = read_flow_frames(folder, [6, 0, 3], start_index=start)
    assert flow.shape == (3, 12, 16, 2)
    np.testing.assert_allclose(flow.reshape(3, -1, 2).mean(1), [[20 + 3 * i, 200 - 3 * i] for i in [6, 0, 3]], atol=1)


def test_frame_reads_are_exact_pixels_in_the_order_asked(tmp_path):
    """Textured JPEGs: rows equal cv2's own decode of each file (RGB order), for any order and repeats."""
    folder = tmp_path / "v_tex"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(1, 6):
        cv2.imwrite(str(folder / f"img_{i:05d}.jpg"), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
        cv2.imwrite(str(folder / f"flow_x_{i:05d}.jpg"), rng.integers(0, 256, (24, 32), dtype=np.uint8))
        cv2.imwrite(str(folder / f"flow_y_{i:05d}.jpg"), rng.integers(0, 256, (24, 32), dtype=np.uint8))
    idx = [4, 0, 4, 2, 1]
    for where in (folder, str(folder), str(folder) + "/"):  # Path, str, trailing separator: same files
        rgb = read_rgb_frames(where, idx)
        assert rgb.shape == (5, 24, 32, 3) and rgb.flags.c_contiguous
        for row, i in zip(rgb, idx):
            ref = cv2.cvtColor(cv2.imread(str(folder / f"img_{i + 1:05d}.jpg")), cv2.COLOR_BGR2RGB)
            np.testing.assert_array_equal(row, ref)
    flow = read_flow_frames(folder, idx)
    assert flow.shape == (5, 24, 32, 2) and flow.flags.c_contiguous
    for row, i in zip(flow, idx):
        np.testing.assert_array_equal(row[..., 0], cv2.imread(str(folder / f"flow_x_{i + 1:05d}.jpg"), cv2.IMREAD_GRAYSCALE))
        np.testing.assert_array_equal(row[..., 1], cv2.imread(str(folder / f"flow_y_{i + 1:05d}.jpg"), cv2.IMREAD_GRAYSCALE))
    assert read_rgb_frames(folder, []).shape == (0, 0, 0, 3) and read_flow_frames(folder, []).shape == (0, 0, 0, 2)


def test_frames_of_different_sizes_name_the_folder(tmp_path):
    folder = tmp_path / "v_mixed"
    write_folder(folder, n_rgb=3, n_flow=2)
    cv2.imwrite(str(folder / "img_00002.jpg"), np.zeros((10, 16, 3), np.uint8))
    cv2.imwrite(str(folder / "flow_y_00002.jpg"), np.zeros((10, 16), np.uint8))
    with pytest.raises(DataError, match=r"different sizes.*v_mixed.*list\.txt:4"):
        read_rgb_frames(folder, [0, 1], source="list.txt:4")
    with pytest.raises(DataError, match=r"flow_x and flow_y of frame 1 differ in size.*flow_x_00002\.jpg"):
        read_flow_frames(folder, [1])


def test_missing_frame_names_the_exact_file(tmp_path):
    folder = tmp_path / "v_gap"
    write_folder(folder, n_rgb=6, n_flow=5)
    (folder / "img_00004.jpg").unlink()
    with pytest.raises(DataError, match=r"not found.*v_gap/img_00004\.jpg.*trainlist01\.txt:3"):
        read_rgb_frames(folder, [0, 3], source="trainlist01.txt:3")
    # the flow list has one frame fewer: asking for the RGB count over-reads by one (tsn-pytorch #84)
    with pytest.raises(DataError, match=r"flow_x_00006\.jpg"):
        read_flow_frames(folder, [5])
    (folder / "img_00002.jpg").write_text("not a jpeg")
    with pytest.raises(DataError, match=r"cannot be read.*img_00002\.jpg"):
        read_rgb_frames(folder, [1])
    # a 1-based reader on a 0-based folder fails on the last frame, naming it
    zero = tmp_path / "v_zero"
    write_folder(zero, n_rgb=3, n_flow=2, start=0)
    with pytest.raises(DataError, match=r"img_00003\.jpg"):
        read_rgb_frames(zero, [2], start_index=1)


# ----------------------------------------------------------------------------------------------
# extraction
# ----------------------------------------------------------------------------------------------


def test_extract_frames_writes_all_frames_atomically(videos, reference, tmp_path, monkeypatch):
    out = tmp_path / "frames" / "bars"
    assert extract_frames(videos["avi"], out) == N_FRAMES
    assert count_frames(out) == {"img": N_FRAMES, "flow_x": 0, "flow_y": 0}
    assert is_complete_frame_folder(out) and detect_start_index(out) == 1
    got = read_rgb_frames(out, [0, 31, 59])
    assert np.abs(got.astype(int) - reference["avi"][[0, 31, 59]]).mean() < 3  # JPEG q95
    assert [p.name for p in out.parent.iterdir()] == ["bars"]  # no temporary folder left

    small = tmp_path / "frames" / "bars_small"
    assert extract_frames(videos["avi"], small, short_side=24) == N_FRAMES
    assert read_rgb_frames(small, [0]).shape == (1, 24, 32, 3)
    fixed = tmp_path / "frames" / "bars_fixed"
    extract_frames(videos["mp4"], fixed, size=(34, 26))
    assert read_rgb_frames(fixed, [0]).shape == (1, 26, 34, 3)

    # a failure half-way leaves neither a folder nor a temporary folder
    calls = {"n": 0}
    real_imwrite = cv2.imwrite

    def failing_imwrite(name, img, params=None):
        calls["n"] += 1
        if calls["n"] > 10:
            raise OSError("disk full (test)")
        return real_imwrite(name, img, params)

    monkeypatch.setattr(cv2, "imwrite", failing_imwrite)
    broken = tmp_path / "frames" / "bars_broken"
    with pytest.raises(OSError, match="disk full"):
        extract_frames(videos["avi"], broken)
    assert not broken.exists() and not list(broken.parent.glob("bars_broken.tmp-*"))


def test_extract_dataset_frames_is_resumable_and_reports_failures(videos, tmp_path, capsys):
    src = tmp_path / "UCF-101"
    (src / "Bars").mkdir(parents=True)
    (src / "Broken").mkdir()
    recs = []
    for k, name in enumerate(["v_Bars_g01_c01", "v_Bars_g01_c02", "v_Bars_g02_c01"]):
        p = src / "Bars" / f"{name}.avi"
        p.write_bytes(videos["avi"].read_bytes())
        recs.append(VideoRecord(p, 0, None, name, f"trainlist01.txt:{k + 1}"))
    bad = src / "Broken" / "v_Broken_g01_c01.avi"
    bad.write_text("not a video")
    recs.insert(1, VideoRecord(bad, 1, None, "v_Broken_g01_c01", "trainlist01.txt:9"))

    out = tmp_path / "rawframes"
    # before: one folder complete (extracted), one half-written temporary folder from an interrupted run
    extract_frames(recs[0].path, out / "Bars" / "v_Bars_g01_c01")
    done_mtime = (out / "Bars" / "v_Bars_g01_c01" / "img_00001.jpg").stat().st_mtime_ns
    stale = out / "Bars" / "v_Bars_g01_c02.tmp-99999"
    write_folder(stale, n_rgb=3, n_flow=0)
    assert not is_complete_frame_folder(stale)

    frame_recs, failures = extract_dataset_frames(recs, out, workers=0, progress=False, return_failures=True)
    # the broken video is reported, the others are all done (not stopped at the first failure)
    assert [f[0] for f in failures] == [str(bad)] and "DecodeError" in failures[0][1]
    assert "FAILED" in capsys.readouterr().out
    assert [r.video_id for r in frame_recs] == ["v_Bars_g01_c01", "v_Bars_g01_c02", "v_Bars_g02_c01"]
    for r in frame_recs:
        assert r.path == out / "Bars" / r.video_id and r.num_frames == N_FRAMES and r.label == 0
        assert is_complete_frame_folder(r.path)
    assert [r.source for r in frame_recs] == ["trainlist01.txt:1", "trainlist01.txt:2", "trainlist01.txt:3"]
    assert not stale.exists()  # the stale temporary folder was replaced, not counted as done
    assert (out / "Bars" / "v_Bars_g01_c01" / "img_00001.jpg").stat().st_mtime_ns == done_mtime  # skipped

    # a second run does nothing but still returns all folder records
    again = extract_dataset_frames(recs[:1] + recs[2:], out, workers=0, progress=False)
    assert [r.num_frames for r in again] == [N_FRAMES] * 3


def test_frames_command_takes_every_subset_the_dataset_has(tiny_ucf101):
    """``tsnlib frames`` on the synthetic set: train, validation and test videos, each once (13 x 6)."""
    from tsnlib.commands.extract import video_records

    records = video_records(tiny_ucf101, 1, None)
    assert len(records) == 78 and len({r.path for r in records}) == 78
    assert len(video_records(tiny_ucf101, 1, "val")) == 26


def test_atomic_folder_writes_whole_or_not_at_all(tmp_path):
    out = tmp_path / "v1"
    (tmp_path / "v1.tmp-12345").mkdir()  # left by an interrupted run: removed first
    with atomic_folder(out) as tmp:
        assert tmp.name.startswith("v1.tmp-") and not out.exists()
        (tmp / "img_00001.jpg").write_bytes(b"a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"] and (out / "img_00001.jpg").read_bytes() == b"a"
    with pytest.raises(OSError, match="disk full"):
        with atomic_folder(out) as tmp:
            (tmp / "img_00001.jpg").write_bytes(b"b")
            raise OSError("disk full")
    # the failed rewrite left the finished folder as it was and no temporary folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"] and (out / "img_00001.jpg").read_bytes() == b"a"
