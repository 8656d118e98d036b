"""tsnlib.evaluation and tsnlib.inference: view aggregation by hand, chunked inference, metrics with ties and
absent classes, score files (round trip, pickles refused), the autocast choice (tsnlib.precision), figures, and
one-video prediction."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tsnlib import evaluation as ev
from tsnlib import inference
from tsnlib.errors import DataError
from tsnlib.evaluation import (
    ScoreSet,
    confusion_matrix,
    evaluate_scores,
    mean_class_accuracy,
    per_class_accuracy,
    top_k_accuracy,
)
from tsnlib.inference import predict_scores, snippet_scores, video_scores
from tsnlib.precision import autocast_dtype


class ViewStub(nn.Module):
    """Per-view scores from the mean pixel value m of each view: ``[m, -m, m**2]``; records batch sizes."""

    modality = "RGB"

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.batch_sizes: list[int] = []
        self.modes: list[bool] = []

    def forward_views(self, x):
        self.batch_sizes.append(int(x.shape[0]))
        self.modes.append(self.training)
        m = x.float().mean(dim=(1, 2, 3))
        return torch.stack([m, -m, m * m], dim=1) * self.scale

    def forward(self, x):  # (N, V, C, H, W): never used by the test protocol
        raise AssertionError("predict_scores must call forward_views")


def view_value(video: int, crop: int, clip: int) -> float:
    return 100.0 * video + 10.0 * crop + clip


class ViewIndexDataset(Dataset):
    """Item ``i``: ``num_crops * num_clips`` views, view-major, view ``v * K + k`` filled with ``100 i + 10 v + k``."""

    def __init__(self, n, num_clips, num_crops, size=2):
        self.n, self.k, self.v, self.size = n, num_clips, num_crops, size
        self.records = [SimpleNamespace(video_id=f"vid{i:02d}") for i in range(n)]
        self.class_names = ["up", "down", "square"]

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        vals = torch.tensor([view_value(i, v, k) for v in range(self.v) for k in range(self.k)])
        imgs = vals[:, None, None, None].expand(-1, 3, self.size, self.size).clone()
        frames = torch.arange(self.k, dtype=torch.int64)[:, None] * 2 + i
        return {"imgs": imgs, "label": i % 3, "index": i, "frame_indices": frames, "num_views": self.v}


# ----------------------------------------------------------------------------------------------
# aggregation
# ----------------------------------------------------------------------------------------------


def test_mean_over_crops_then_clips_by_hand():
    # one video, K = 3 snippets × V = 2 crops: crop 0 holds 0, 1, 2 and crop 1 holds 10, 11, 12
    ds = ViewIndexDataset(1, num_clips=3, num_crops=2)
    model = ViewStub()
    model.train()
    out = predict_scores(model, DataLoader(ds, batch_size=1), num_clips=3, num_views=2, amp=False,
                         progress=False, keep_clip_scores=True)
    # per snippet, the crops averaged: (0 + 10) / 2, (1 + 11) / 2, (2 + 12) / 2 = 5, 6, 7;
    # squares: (0 + 100) / 2, (1 + 121) / 2, (4 + 144) / 2 = 50, 61, 74
    np.testing.assert_array_equal(out.clip_scores[0], [[5, -5, 50], [6, -6, 61], [7, -7, 74]])
    # then over snippets: 6 and 185 / 3; no softmax anywhere
    np.testing.assert_allclose(out.scores, [[6.0, -6.0, 185.0 / 3.0]], rtol=1e-7)
    assert out.scores.dtype == np.float32 and out.labels.tolist() == [0] and out.video_ids == ["vid00"]
    assert out.class_names == ["up", "down", "square"]
    assert out.frame_indices.tolist() == [[[0], [2], [4]]]
    assert out.meta["protocol"] == "3x2" and out.meta["modality"] == "RGB" and out.meta["amp"] == "fp32"
    assert model.modes == [False]  # scored in eval mode ...
    assert model.training  # ... and the caller's mode restored


def test_video_scores_are_view_major():
    k, v = 3, 2
    rows = np.array([[view_value(0, c, s)] for c in range(v) for s in range(k)])[None]  # (1, V*K, 1)
    clip, video = snippet_scores(rows, k, v), video_scores(rows, k, v)
    assert clip[0, :, 0].tolist() == [5.0, 6.0, 7.0]
    assert video.tolist() == [[6.0]]
    for f in (snippet_scores, video_scores):
        with pytest.raises(ValueError, match="6 views per video, expected .* 4 × 2"):
            f(rows, 4, 2)
    torch_rows = torch.from_numpy(rows).double()  # torch tensors alike
    assert torch.equal(video_scores(torch_rows, k, v), torch_rows.reshape(1, v, k, 1).mean(1).mean(1))


def test_chunking_bounds_every_forward_and_changes_nothing():
    ds = ViewIndexDataset(3, num_clips=25, num_crops=10)
    loader = DataLoader(ds, batch_size=2)  # batches of 2 and 1 videos, 500 and 250 views
    small, big = ViewStub(), ViewStub()
    chunked = predict_scores(small, loader, 25, 10, max_views_per_forward=3, amp=False, progress=False,
                             keep_clip_scores=True)
    whole = predict_scores(big, loader, 25, 10, max_views_per_forward=10_000, amp=False, progress=False,
                           keep_clip_scores=True)
    assert max(small.batch_sizes) == 3 and sum(small.batch_sizes) == 3 * 250
    assert big.batch_sizes == [500, 250]
    np.testing.assert_array_equal(chunked.scores, whole.scores)
    np.testing.assert_array_equal(chunked.clip_scores, whole.clip_scores)
    # video i: crops 0..9 average to 100 i + 45, snippets 0..24 to 12
    np.testing.assert_allclose(chunked.scores[:, 0], [57.0, 157.0, 257.0])
    assert chunked.clip_scores.shape == (3, 25, 3)
    np.testing.assert_allclose(chunked.clip_scores[1, :, 0], 145.0 + np.arange(25))
    assert chunked.video_ids == ["vid00", "vid01", "vid02"] and chunked.labels.tolist() == [0, 1, 2]
    assert chunked.meta["protocol"] == "25x10" and chunked.meta["max_views_per_forward"] == 3


@pytest.mark.parametrize("modality,channels,amp", [("RGB", 3, False), ("Flow", 10, False), ("RGBDiff", 18, False),
                                                    ("RGB", 3, "bf16")])
def test_uint8_views_score_as_the_normalised_ones_in_any_chunking(modality, channels, amp):
    """uint8 views, normalised chunk by chunk into one reused buffer, score exactly as pre-normalised float views."""
    from tsnlib.models import TSN
    from tsnlib.transforms import normalize_views

    torch.manual_seed(0)
    model = TSN(4, backbone="resnet18", modality=modality, fc_init_std=0.1).eval()
    g = torch.Generator().manual_seed(2)
    raw = torch.randint(0, 256, (7, channels, 40, 40), dtype=torch.uint8, generator=g)
    ref = normalize_views(raw, modality, model.clip_len)
    with torch.inference_mode():
        for cl in (False, True):
            for step in (7, 3):  # chunks 7; and 3, 3, 1 (the last one a smaller slice of the buffer)
                dtype = torch.bfloat16 if amp else None
                expect = inference.view_scores_chunked(model, ref, step, dtype=dtype, channels_last=cl)
                got = inference.view_scores_chunked(model, raw, step, dtype=dtype, channels_last=cl)
                assert got.shape == (7, 4) and torch.equal(got, expect), (cl, step)


def test_views_inferred_from_items_and_mismatch_is_explained():
    ds = ViewIndexDataset(2, num_clips=4, num_crops=3)
    out = predict_scores(ViewStub(), DataLoader(ds, batch_size=2), amp=False, progress=False)
    assert out.meta["protocol"] == "4x3"
    with pytest.raises(ValueError, match=r"12 views, but num_clips × num_views = 25 × 3 = 75"):
        predict_scores(ViewStub(), DataLoader(ds, batch_size=2), 25, 3, amp=False, progress=False)
    with pytest.raises(ValueError, match="delivers \\[3\\] crops per snippet, but num_views=1"):
        predict_scores(ViewStub(), DataLoader(ds, batch_size=2), 12, 1, amp=False, progress=False)
    with pytest.raises(ValueError, match="max_views_per_forward must be >= 1"):
        predict_scores(ViewStub(), DataLoader(ds, batch_size=2), amp=False, progress=False, max_views_per_forward=0)


def test_cpu_autocast_path_runs_and_is_recorded(monkeypatch):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    ds = ViewIndexDataset(1, num_clips=2, num_crops=1)
    out = predict_scores(ViewStub(), DataLoader(ds, batch_size=1), amp="auto", progress=False)
    assert out.meta["amp"] == "bfloat16"
    np.testing.assert_allclose(out.scores[0, :2], [0.5, -0.5], rtol=1e-2)


# ----------------------------------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------------------------------

CLASSES = ["A", "B", "C", "D"]
# D has no ground-truth video but is predicted once (video 3); videos 4 and 5 have tied top scores.
SCORES = np.array(
    [
        [3, 1, 0, 0],  # A -> A
        [1, 2, 0, 0],  # A -> B (true class ranked 2nd)
        [0, 5, 1, 0],  # B -> B
        [0, 1, 2, 4],  # B -> D (true class ranked 3rd)
        [2, 0, 2, 0],  # C: tie A/C -> A, the lower index (true class ranked 2nd)
        [0, 0, 1, 1],  # C: tie C/D -> C, the lower index
        [0, 3, 0, 0],  # B -> B
    ],
    dtype=np.float32,
)
LABELS = np.array([0, 0, 1, 1, 2, 2, 1])


def test_top_k_by_hand_with_ties():
    assert top_k_accuracy(SCORES, LABELS, 1) == pytest.approx(4 / 7)
    assert top_k_accuracy(SCORES, LABELS, 2) == pytest.approx(6 / 7)
    assert top_k_accuracy(SCORES, LABELS, 3) == 1.0
    assert top_k_accuracy(SCORES, LABELS, 5) == 1.0  # k > classes counts all classes
    # top-1 is exactly the accuracy of argmax predictions, ties included
    assert top_k_accuracy(SCORES, LABELS, 1) == pytest.approx(np.mean(ev.predictions(SCORES) == LABELS))
    # all-equal scores: class 0 comes first, so only videos of class 0 are top-1 hits
    flat = np.zeros((4, 4))
    assert top_k_accuracy(flat, [0, 1, 2, 3], 1) == 0.25
    assert top_k_accuracy(flat, [0, 1, 2, 3], 2) == 0.5
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_k_accuracy(SCORES, LABELS, 0)


def test_per_class_mean_class_and_confusion_by_hand():
    per = per_class_accuracy(SCORES, LABELS)
    np.testing.assert_allclose(per[:3], [1 / 2, 2 / 3, 1 / 2])
    assert np.isnan(per[3])  # D: no ground-truth video
    # mean over A, B, C only; MMAction2 would count D as 0 -> 5/12, Caffe/tsn-pytorch print NaN
    assert mean_class_accuracy(SCORES, LABELS) == pytest.approx(5 / 9)
    assert mean_class_accuracy(SCORES, LABELS) != pytest.approx(5 / 12)
    cm = confusion_matrix(ev.predictions(SCORES), LABELS, 4)
    assert cm.dtype == np.int64
    assert cm.tolist() == [[1, 1, 0, 0], [0, 2, 0, 1], [1, 0, 1, 0], [0, 0, 0, 0]]
    # predictions instead of scores give the same numbers
    preds = ev.predictions(SCORES)
    assert mean_class_accuracy(preds, LABELS, num_classes=4) == pytest.approx(5 / 9)


def test_metrics_agree_with_scikit_learn():
    from sklearn import metrics
    preds = ev.predictions(SCORES)
    np.testing.assert_array_equal(confusion_matrix(preds, LABELS, 4),
                                  metrics.confusion_matrix(LABELS, preds, labels=[0, 1, 2, 3]))
    with pytest.warns(UserWarning):  # sklearn warns that D is predicted but absent, then drops it as we do
        balanced = metrics.balanced_accuracy_score(LABELS, preds)
    assert mean_class_accuracy(SCORES, LABELS) == pytest.approx(balanced)
    assert top_k_accuracy(SCORES, LABELS, 2) == pytest.approx(
        metrics.top_k_accuracy_score(LABELS, SCORES, k=2, labels=[0, 1, 2, 3]))


def test_evaluate_scores_and_bad_labels():
    m = evaluate_scores(SCORES, LABELS, CLASSES)
    assert m["top1"] == pytest.approx(4 / 7) and m["top5"] == 1.0
    assert m["mean_class_accuracy"] == pytest.approx(5 / 9)
    assert m["num_videos"] == 7 and m["num_classes"] == 4 and m["num_classes_present"] == 3
    assert m["confusion"][1].tolist() == [0, 2, 0, 1] and m["class_names"] == CLASSES
    assert "top-1 57.14% | top-5 100.00% | mean class accuracy 55.56%" in ev.format_metrics(m)
    with pytest.raises(ValueError, match="label 4 of video 1 is outside 0..3"):
        evaluate_scores(SCORES[:2], [0, 4], CLASSES)
    with pytest.raises(ValueError, match="label -1 of video 0 .* unlabelled"):
        top_k_accuracy(SCORES[:1], [-1], 1)
    with pytest.raises(ValueError, match="3 class names for scores with 4 classes"):
        evaluate_scores(SCORES, LABELS, CLASSES[:3])
    with pytest.raises(ValueError, match="NaN"):
        top_k_accuracy(np.array([[np.nan, 1.0]]), [0], 1)


# ----------------------------------------------------------------------------------------------
# score files
# ----------------------------------------------------------------------------------------------


def make_set(clip=True):
    rng = np.random.default_rng(0)
    return ScoreSet(
        scores=rng.normal(size=(3, 4)).astype(np.float32),
        labels=np.array([0, 3, -1]),
        video_ids=["v_ApplyEyeMakeup_g01_c01", "v_Biking_g02_c03", "vidéo_ü"],
        class_names=["ApplyEyeMakeup", "Biking", "Cliff Diving", "Ünicode"],
        meta={"modality": "RGB", "protocol": "25x10", "checkpoint": "outputs/ckpt/best.pth", "weights": [1, 1.5]},
        clip_scores=rng.normal(size=(3, 2, 4)) if clip else None,
        frame_indices=np.arange(6).reshape(3, 2, 1) if clip else None,
    )


def test_score_file_round_trip(tmp_path):
    s = make_set()
    path = s.save(tmp_path / "sub" / "rgb_scores.npz")
    assert path == tmp_path / "sub" / "rgb_scores.npz" and path.exists()
    back = ScoreSet.load(path)
    np.testing.assert_array_equal(back.scores, s.scores)
    assert back.scores.dtype == np.float32 and back.labels.dtype == np.int64
    assert back.labels.tolist() == [0, 3, -1]
    assert back.video_ids == s.video_ids and back.class_names == s.class_names
    assert back.meta == s.meta
    np.testing.assert_array_equal(back.clip_scores, s.clip_scores)
    np.testing.assert_array_equal(back.frame_indices, s.frame_indices)
    # the documented layout, readable without tsnlib and without pickle
    with np.load(path, allow_pickle=False) as d:
        assert sorted(d.files) == ["class_names", "clip_scores", "format_version", "frame_indices", "labels",
                                   "meta_json", "scores", "video_ids"]
        assert d["video_ids"].dtype.kind == "U" and json.loads(str(d["meta_json"]))["protocol"] == "25x10"
    # without the optional arrays; a name without .npz is kept as given
    plain = make_set(clip=False).save(tmp_path / "scores.bin")
    assert plain.name == "scores.bin" and ScoreSet.load(plain).clip_scores is None


def test_pickled_arrays_are_refused(tmp_path):
    bad = tmp_path / "evil.npz"
    np.savez(bad, scores=np.array([[1.0, 2.0]], dtype=object), labels=np.array([0]),
             video_ids=np.array(["v"]), class_names=np.array(["a", "b"]), meta_json=np.array("{}"))
    with pytest.raises(DataError, match=r"'scores' holds pickled Python objects.*never run code.*evil\.npz"):
        ScoreSet.load(bad)
    pkl = tmp_path / "result.pkl"
    import pickle

    pkl.write_bytes(pickle.dumps([{"pred_score": [0.1, 0.9], "gt_label": 1}]))
    with pytest.raises(DataError, match=r"neither an \.npz archive nor a \.npy.*result\.pkl"):
        ScoreSet.load(pkl)
    partial = tmp_path / "partial.npz"
    np.savez(partial, scores=np.zeros((1, 2), np.float32), labels=np.zeros(1, np.int64))
    with pytest.raises(DataError, match=r"missing array\(s\) \['video_ids', 'class_names', 'meta_json'\]"):
        ScoreSet.load(partial)
    with pytest.raises(DataError, match="score file not found"):
        ScoreSet.load(tmp_path / "nope.npz")


def test_scoreset_checks_shapes_and_meta():
    with pytest.raises(ValueError, match="3 score rows, 2 labels and 3 video ids"):
        ScoreSet(np.zeros((3, 2)), [0, 1], ["a", "b", "c"], ["x", "y"])
    with pytest.raises(ValueError, match="1 class names for 2 score columns"):
        ScoreSet(np.zeros((1, 2)), [0], ["a"], ["x"])
    s = ScoreSet(np.zeros((1, 2)), [0], ["a"], ["x", "y"], meta={"bad": object()})
    with pytest.raises(TypeError, match="JSON data"):
        s.save("unused.npz")


def test_to_csv(tmp_path):
    import csv

    s = ScoreSet(np.array([[0.0, 2.0, 1.0], [3.0, 3.0, 0.0]], np.float32), [1, 1], ["v0", "v1"], ["a", "b", "c"])
    path = s.to_csv(tmp_path / "rgb.csv")
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["video_id"] == "v0" and rows[0]["class_name"] == "b" and rows[0]["predicted_name"] == "b"
    assert rows[0]["correct"] == "1" and rows[0]["top3"] == "b;c;a" and rows[0]["top3_scores"] == "2;1;0"
    assert rows[1]["predicted"] == "0" and rows[1]["correct"] == "0" and rows[1]["top3"] == "a;b;c"  # tie -> a


# ----------------------------------------------------------------------------------------------
# mixed precision choice
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "caps, mkldnn, expected",
    [
        ({"avx512_f": True, "avx2": True}, True, None),  # AVX512 without BF16: emulated, stay fp32
        ({"avx512_f": True, "avx512_bf16": True}, True, torch.bfloat16),
        ({"amx_bf16": True, "amx_tile": True}, True, torch.bfloat16),
        ({"architecture": "arm64", "bf16": True}, True, torch.bfloat16),
        ({"avx512_bf16": True}, False, None),  # no oneDNN
        ({"avx2": True}, True, None),
    ],
)
def test_cpu_auto_follows_native_bf16(monkeypatch, caps, mkldnn, expected):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: caps)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: mkldnn)
    assert autocast_dtype("cpu", "auto") is expected
    assert autocast_dtype("cpu", True) is torch.bfloat16  # forced: bf16 even when emulated
    assert autocast_dtype("cpu", False) is None


def test_autocast_dtype_per_device():
    assert autocast_dtype("cuda", "auto") is torch.float16
    assert autocast_dtype("cuda:1", True) is torch.float16
    assert autocast_dtype("cuda", False) is None
    assert autocast_dtype("cuda", "bf16") is torch.bfloat16
    assert autocast_dtype("cpu", "fp16") is torch.float16
    assert autocast_dtype("cpu", torch.bfloat16) is torch.bfloat16
    assert autocast_dtype("mps", "auto") is None
    assert autocast_dtype("mps", True) is torch.float16
    with pytest.raises(ValueError, match="amp must be"):
        autocast_dtype("cpu", "sometimes")


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------


def test_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsnlib.plotting import STREAM_COLORS

    m = evaluate_scores(SCORES, LABELS, CLASSES)
    fig = ev.plot_confusion_matrix(m["confusion"], CLASSES)
    img = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(img[1], [0, 2 / 3, 0, 1 / 3])
    assert img[3].tolist() == [0, 0, 0, 0]  # no videos of D: an empty row, not NaN
    plt.close(fig)
    fig = ev.plot_per_class_accuracy(m["per_class"], CLASSES, color=STREAM_COLORS["flow"])
    ax = fig.axes[0]
    bars = sorted((round(p.get_width(), 4), p.get_facecolor()) for p in ax.patches)
    assert [w for w, _ in bars] == [0.0, 0.5, 0.5, 0.6667]
    assert matplotlib.colors.to_hex(bars[-1][1]) == STREAM_COLORS["flow"]
    assert any(t.get_text() == "no videos" for t in ax.texts)
    assert "55.6%" in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)


# ----------------------------------------------------------------------------------------------
# one video (the `tsnlib predict` helper)
# ----------------------------------------------------------------------------------------------


class ChannelMeans(nn.Module):
    """Per-view scores = mean of each colour channel (after normalisation): classes red, green, blue."""

    modality = "RGB"

    def forward_views(self, x):
        return x.mean(dim=(2, 3))


def test_predict_video_on_a_tiny_red_video(tmp_path):
    import av

    from tsnlib.sampling import FrameSampler
    from tsnlib.transforms import test_transform as make_test_transform

    path = tmp_path / "red.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(12):
            frame = np.zeros((32, 32, 3), np.uint8)
            frame[..., 0] = 230
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    top = inference.predict_video(ChannelMeans(), path, make_test_transform("RGB", 4, 1, input_size=16, scale_size=20),
                           FrameSampler(4, mode="test"), ["red", "green", "blue"], topk=2, amp=False)
    assert [name for name, _ in top] == ["red", "blue"]  # normalised blue (0 - 0.406) / 0.225 > green
    assert top[0][1] > 0.9 and sum(p for _, p in top) <= 1.0 + 1e-6
