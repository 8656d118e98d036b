"""tsnlib.datasets: shapes per modality and source, exact frames, worker-safe seeding, bad samples."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import av
import cv2

from tsnlib import transforms as T  # noqa: E402
from tsnlib.annotations import VideoRecord  # noqa: E402
from tsnlib.datasets import TSNDataset, seed_worker  # noqa: E402
from tsnlib.decoding import decode_all  # noqa: E402
from tsnlib.frame_folders import extract_frames, read_rgb_frames  # noqa: E402
from tsnlib.errors import DataError, DecodeError  # noqa: E402
from tsnlib.sampling import FrameSampler  # noqa: E402

N, W, H = 40, 64, 48
SIZE, SCALE = 32, 40  # small crops keep the tests fast


def write_video(path: Path, n: int = N, seed: int = 0) -> Path:
    """mpeg4 .avi, GOP 12; frame i has a bright bar at column i (the content identifies the frame)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.gop_size = 12
        s.options = {"sc_threshold": "1000000000"}
        for i in range(n):
            img = np.full((H, W, 3), 16 + 8 * seed, np.uint8)
            img[:, i : i + 2] = (240, 80 + 4 * i, 200)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def add_flow(folder: Path, n_flow: int, start: int = 1) -> None:
    """Hand-made flow JPEGs: flow_x of frame i is the flat value 3i + 10, flow_y is 200 - 3i."""
    for i in range(n_flow):
        cv2.imwrite(str(folder / f"flow_x_{i + start:05d}.jpg"), np.full((H, W), 3 * i + 10, np.uint8))
        cv2.imwrite(str(folder / f"flow_y_{i + start:05d}.jpg"), np.full((H, W), 200 - 3 * i, np.uint8))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    (root / "UCF-101" / "Bars").mkdir(parents=True)
    videos = [write_video(root / "UCF-101" / "Bars" / f"v_Bars_g0{k}_c01.avi", seed=k) for k in range(1, 4)]
    video_recs = [VideoRecord(path=p, label=k, num_frames=None, video_id=p.stem, source=f"trainlist01.txt:{k + 1}",
                              num_flow_frames=None) for k, p in enumerate(videos)]
    folders = []
    for p in videos:
        folder = root / "rawframes" / "Bars" / p.stem
        extract_frames(p, folder)
        add_flow(folder, N - 1)  # N RGB frames, N - 1 flow frames
        folders.append(folder)
    frame_recs = [VideoRecord(path=f, label=k, num_frames=None, video_id=f.name, source=f"rgb_list.txt:{k + 1}",
                              num_flow_frames=None) for k, f in enumerate(folders)]
    return {"root": root, "videos": videos, "video_recs": video_recs, "frame_recs": frame_recs}


def check_indices(item, num_frames: int, clips: int, clip_len: int) -> np.ndarray:
    fi = item["frame_indices"]
    assert fi.dtype == torch.int64 and tuple(fi.shape) == (clips, clip_len)
    assert 0 <= int(fi.min()) and int(fi.max()) <= num_frames - 1
    return fi.numpy()


# ----------------------------------------------------------------------------------------------
# shapes and frames
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["pyav", "auto"])
def test_rgb_video_training_sample(data, backend):
    ds = TSNDataset(data["video_recs"], FrameSampler(3), T.train_transform("RGB", 3, 1, SIZE, SCALE),
                    backend=backend, seed=0)
    item = ds[1]
    assert item["imgs"].dtype == torch.float32 and tuple(item["imgs"].shape) == (3, 3, SIZE, SIZE)
    assert (item["label"], item["index"], item["num_views"]) == (1, 1, 1)
    idx = check_indices(item, N, 3, 1).ravel()
    assert (np.diff(idx) > 0).all()  # one snippet per segment, in order

    # without a transform: the raw uint8 frames, exactly the frames of a full decode at those indices
    raw = TSNDataset(data["video_recs"], FrameSampler(3), None, backend="pyav", seed=0)[1]
    assert raw["imgs"].dtype == torch.uint8 and tuple(raw["imgs"].shape) == (3, 3, H, W)
    ref = decode_all(data["videos"][1])[raw["frame_indices"].numpy().ravel()]
    np.testing.assert_array_equal(raw["imgs"].permute(0, 2, 3, 1).numpy(), ref)


def test_rgb_frames_training_and_test_samples(data):
    ds = TSNDataset(data["frame_recs"], FrameSampler(3), T.train_transform("RGB", 3, 1, SIZE, SCALE),
                    source="frames", seed=0)
    item = ds[0]
    assert tuple(item["imgs"].shape) == (3, 3, SIZE, SIZE)
    check_indices(item, N, 3, 1)

    test = TSNDataset(data["frame_recs"], FrameSampler(5, mode="test"),
                      T.test_transform("RGB", 5, 1, SIZE, SCALE, num_crops=3), source="auto")
    item = test[2]
    assert tuple(item["imgs"].shape) == (15, 3, SIZE, SIZE) and item["num_views"] == 3
    # test sampling: int(k * 8 + 4) for 40 frames and 5 snippets
    assert check_indices(item, N, 5, 1).ravel().tolist() == [4, 12, 20, 28, 36]

    raw = TSNDataset(data["frame_recs"], FrameSampler(5, mode="test"), None, source="frames")[2]
    ref = read_rgb_frames(data["frame_recs"][2].path, [4, 12, 20, 28, 36])
    np.testing.assert_array_equal(raw["imgs"].permute(0, 2, 3, 1).numpy(), ref)


def test_flow_frames_sample_over_the_flow_count(data):
    ds = TSNDataset(data["frame_recs"], FrameSampler(3, clip_len=5), T.train_transform("Flow", 3, 5, SIZE, SCALE),
                    modality="Flow", source="frames", seed=0)
    item = ds[0]
    assert tuple(item["imgs"].shape) == (3, 10, SIZE, SIZE) and item["imgs"].dtype == torch.float32
    idx = check_indices(item, N - 1, 3, 5)
    assert (np.diff(idx, axis=1) == 1).all()  # consecutive flow frames in a stack

    # one snippet per flow frame: indices cover exactly 0 .. N-2 (N-1 flow frames, not the N RGB frames)
    raw = TSNDataset(data["frame_recs"], FrameSampler(N - 1, mode="test"), None, modality="Flow", source="frames")[0]
    assert raw["frame_indices"].ravel().tolist() == list(range(N - 1))
    x = raw["imgs"]  # uint8 (T, 2, H, W), channels (x, y)
    assert tuple(x.shape) == (N - 1, 2, H, W)
    i = np.arange(N - 1)
    np.testing.assert_allclose(x[:, 0].float().mean((1, 2)).numpy(), 3 * i + 10, atol=1)
    np.testing.assert_allclose(x[:, 1].float().mean((1, 2)).numpy(), 200 - 3 * i, atol=1)

    with pytest.raises(ValueError, match="frame folders"):
        TSNDataset(data["video_recs"], FrameSampler(3, clip_len=5), modality="Flow", source="video")


def test_rgbdiff_reads_clip_len_plus_one_frames(data):
    for recs, source in ((data["video_recs"], "video"), (data["frame_recs"], "frames")):
        ds = TSNDataset(recs, FrameSampler(3, clip_len=2), T.train_transform("RGBDiff", 3, 2, SIZE, SCALE),
                        modality="RGBDiff", source=source, seed=0)
        item = ds[0]
        assert tuple(item["imgs"].shape) == (3, 6, SIZE, SIZE)  # 2 differences of 3 channels per snippet
        idx = check_indices(item, N, 3, 3)  # clip_len + 1 = 3 frames read per snippet
        assert (np.diff(idx, axis=1) == 1).all()
        assert item["imgs"].abs().max() <= 1.0


def test_zero_based_frame_folders_are_detected(data, tmp_path):
    folder = tmp_path / "v_zero"
    folder.mkdir()
    src = data["frame_recs"][0].path
    for i in range(N):  # rename img_00001.jpg .. → img_00000.jpg .. (open-mmlab denseflow names)
        (folder / f"img_{i:05d}.jpg").write_bytes((src / f"img_{i + 1:05d}.jpg").read_bytes())
    rec = VideoRecord(path=folder, label=0, num_frames=N, video_id="v_zero", source="list.txt:1", num_flow_frames=None)
    item = TSNDataset([rec], FrameSampler(N, mode="test"), None, source="frames")[0]
    ref = read_rgb_frames(src, np.arange(N))
    np.testing.assert_array_equal(item["imgs"].permute(0, 2, 3, 1).numpy(), ref)
    # forcing the usual 1-based names on this folder fails on the last frame, naming it
    with pytest.raises(DataError, match=r"img_00040\.jpg.*list\.txt:1"):
        TSNDataset([rec], FrameSampler(N, mode="test"), None, source="frames", start_index=1)[0]


# ----------------------------------------------------------------------------------------------
# randomness
# ----------------------------------------------------------------------------------------------


def test_seed_makes_samples_reproducible_and_epochs_differ(data):
    def make(seed):
        return TSNDataset(data["video_recs"], FrameSampler(3), T.train_transform("RGB", 3, 1, SIZE, SCALE),
                          backend="pyav", seed=seed)

    a, b = make(0), make(0)
    for i in range(3):
        x, y = a[i], b[i]
        assert torch.equal(x["frame_indices"], y["frame_indices"]) and torch.equal(x["imgs"], y["imgs"])
    draws = lambda ds: [ds[i]["frame_indices"].ravel().tolist() for i in range(3)]  # noqa: E731
    first = draws(a)
    assert draws(a) == first  # the same item twice: the same sample
    a.set_epoch(1)
    assert draws(a) != first  # another epoch: new draws
    assert draws(make(1)) != first

    # seed=None draws from torch's generator: reproducible under torch.manual_seed, new on each call
    c = make(None)
    torch.manual_seed(5)
    u = [c[0]["frame_indices"].ravel().tolist() for _ in range(4)]
    torch.manual_seed(5)
    assert [c[0]["frame_indices"].ravel().tolist() for _ in range(4)] == u
    assert len({tuple(v) for v in u}) > 1


@pytest.mark.slow  # DataLoader worker processes
def test_dataloader_workers_draw_distinct_reproducible_samples(data):
    recs = data["video_recs"] * 4  # 12 items
    ds = TSNDataset(recs, FrameSampler(3), T.train_transform("RGB", 3, 1, SIZE, SCALE), backend="pyav")

    def epoch(seed):
        loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, worker_init_fn=seed_worker,
                                             generator=torch.Generator().manual_seed(seed))
        return torch.cat([b["frame_indices"].reshape(len(b["index"]), -1) for b in loader])

    e1, e1_again, e2 = epoch(0), epoch(0), epoch(1)
    assert torch.equal(e1, e1_again)
    assert not torch.equal(e1, e2)
    assert len({tuple(r) for r in e1.tolist()}) > 6  # the same videos get different draws in different workers


# ----------------------------------------------------------------------------------------------
# bad samples
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def with_bad(data, tmp_path):
    truncated = tmp_path / "v_Trunc_g01_c01.avi"
    good = data["videos"][0].read_bytes()
    truncated.write_bytes(good[: len(good) // 2])
    missing = tmp_path / "v_Missing_g01_c01.avi"
    recs = list(data["video_recs"])
    recs.insert(1, VideoRecord(path=missing, label=5, num_frames=None, video_id=missing.stem,
                               source="trainlist01.txt:7", num_flow_frames=None))
    recs.insert(2, VideoRecord(path=truncated, label=6, num_frames=None, video_id=truncated.stem,
                               source="trainlist01.txt:8", num_flow_frames=None))
    return recs  # good, missing, truncated, good, good


def test_bad_sample_raises_naming_file_and_list_line(with_bad):
    ds = TSNDataset(with_bad, FrameSampler(3), T.val_transform("RGB", 3, 1, SIZE, SCALE))
    assert ds[0]["label"] == 0
    with pytest.raises(DecodeError, match=r"not found.*v_Missing_g01_c01\.avi.*trainlist01\.txt:7"):
        ds[1]
    with pytest.raises(DecodeError, match=r"v_Trunc_g01_c01\.avi.*trainlist01\.txt:8"):
        ds[2]


def test_skip_bad_replaces_warns_once_and_records(with_bad):
    ds = TSNDataset(with_bad, FrameSampler(3), T.val_transform("RGB", 3, 1, SIZE, SCALE), skip_bad=True)
    with pytest.warns(UserWarning, match=r"skipped.*v_Missing_g01_c01") as record:
        item = ds[1]
    assert len(record) == 1
    # missing (1) and truncated (2) are both skipped: the next valid sample is 3
    assert (item["index"], item["label"]) == (3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only one warning per dataset
        assert ds[2]["index"] == 3
        assert ds[1]["index"] == 3  # known-bad samples are not retried
    skipped = ds.skipped
    assert [(vid, Path(p).name) for vid, p, _ in skipped] == [
        ("v_Missing_g01_c01", "v_Missing_g01_c01.avi"), ("v_Trunc_g01_c01", "v_Trunc_g01_c01.avi")]
    assert "not found" in skipped[0][2] and "trainlist01.txt:7" in skipped[0][2]
    assert "v_Trunc_g01_c01.avi" in skipped[1][2] and "trainlist01.txt:8" in skipped[1][2]


@pytest.mark.slow  # DataLoader worker processes
def test_skip_bad_in_dataloader_workers_is_visible_in_the_main_process(with_bad):
    ds = TSNDataset(with_bad, FrameSampler(3), T.val_transform("RGB", 3, 1, SIZE, SCALE), skip_bad=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        indices = [int(b["index"]) for b in loader]
    assert len(indices) == len(with_bad)  # nothing dropped: every bad sample replaced
    assert {1, 2}.isdisjoint(indices)
    assert {vid for vid, _, _ in ds.skipped} == {"v_Missing_g01_c01", "v_Trunc_g01_c01"}


def test_missing_frame_in_folder_names_the_file(data, tmp_path):
    folder = tmp_path / "v_gap"
    folder.mkdir()
    src = data["frame_recs"][0].path
    for i in range(1, 11):
        (folder / f"img_{i:05d}.jpg").write_bytes((src / f"img_{i:05d}.jpg").read_bytes())
    (folder / "img_00005.jpg").unlink()
    rec = VideoRecord(path=folder, label=0, num_frames=10, video_id="v_gap", source="rgb_list.txt:12", num_flow_frames=None)
    ds = TSNDataset([rec], FrameSampler(10, mode="test"), None, source="frames")
    with pytest.raises(DataError, match=r"v_gap/img_00005\.jpg.*rgb_list\.txt:12"):
        ds[0]


def test_test_protocol_item(data):
    ds = TSNDataset(data["video_recs"], FrameSampler(4, mode="test"),
                    T.test_transform("RGB", 4, 1, input_size=SIZE, scale_size=SCALE, num_crops=10), backend="pyav")
    item = ds[0]
    assert tuple(item["imgs"].shape) == (40, 3, SIZE, SIZE) and item["num_views"] == 10
    assert item["frame_indices"].ravel().tolist() == [5, 15, 25, 35]
