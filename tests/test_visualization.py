"""Tests of tsnlib.visualization: Grad-CAM per snippet, geometry, the box metric, class models, embeddings, videos."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsnlib import visualization as V
from tsnlib.models import TSN
from tsnlib.visualization.class_models import _input_bounds

torch.set_num_threads(1)

PRESET = "tsn_r8_synthetic_rgb"
#: small frames: the whole pipeline in seconds (as tests/test_experiment.py), read from the videos, beside which
#: the generator's truth lies (the preset reads frame folders)
SMALL = ["data.input_size=64", "data.scale_size=72", "data.val_input_size=64", "data.val_scale_size=72",
         "test.input_size=64", "test.scale_size=72", "train.workers=0", "test.workers=0", "train.tensorboard=false",
         "data.dataset=ucf101", "data.source=video"]


@pytest.fixture(scope="module")
def rgb_model():
    torch.manual_seed(0)
    return TSN(12, "resnet18", num_segments=3, fc_init_std=0.1).eval()


@pytest.fixture
def small_cfg(tiny_data_root, monkeypatch):
    from tsnlib.config import load_config

    monkeypatch.setenv("TSN_DATA", str(tiny_data_root))
    return load_config(PRESET, SMALL + [f"data.root={tiny_data_root / 'synthetic' / 'ucf101'}"])


def _videos(tiny_ucf101):
    return sorted((tiny_ucf101 / "UCF-101").rglob("*.avi"))


# ----------------------------------------------------------------------------------------------
# target layers
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backbone, size, default, channels",
    [
        ("resnet18", 64, "backbone.layer4.1", 512),
        ("resnet8", 64, "backbone.layer3.0", 128),  # the course's CourseResNet: its last map is 8 x 8 at 64 px
        ("mobilenet_v3_small", 64, "backbone.features.12", 576),
        ("densenet121", 64, "backbone.features", 1024),
        ("efficientnet_b0", 64, "backbone.features.8", 1280),
        ("inception_v3", 80, "backbone.Mixed_7c", 2048),
    ],
)
def test_target_layer_helper_on_backbones(backbone, size, default, channels):
    model = TSN(5, backbone, num_segments=2)  # no weights
    cands = V.candidate_target_layers(model, input_size=size)
    names = [n for n, _ in cands]
    assert default in names and len(names) == len(set(names))
    assert all(len(shape) == 3 for _, shape in cands)
    assert V.default_target_layer(model, input_size=size) == default
    assert dict(cands)[default][0] == channels  # the last feature map, before global pooling
    if backbone == "resnet8":
        assert dict(cands)[default] == (128, 8, 8)
    name, module = V.resolve_target_layer(model, default[len("backbone."):])  # relative to the backbone works too
    assert name == default and module is model.get_submodule(default)
    # the default block's map is the last spatial map: every later candidate has the same shape
    later = [shape for n, shape in cands[names.index(default):]]
    assert all(shape == later[0] for shape in later)
    assert model.training  # the helper restores the mode


def test_resolve_target_layer_names_and_errors(rgb_model):
    assert V.resolve_target_layer(rgb_model, "layer4/1")[0] == "backbone.layer4.1"  # MMAction2's spelling
    assert V.resolve_target_layer(rgb_model, "backbone.layer3")[0] == "backbone.layer3"
    with pytest.raises(ValueError, match="backbone.layer4.1"):
        V.resolve_target_layer(rgb_model, "layer9")
    with pytest.raises(ValueError, match="unknown CAM method"):
        V.cam_class("nocam")
    assert V.cam_class("GradCAM++").__name__ == "GradCAMPlusPlus"


# ----------------------------------------------------------------------------------------------
# Grad-CAM on views
# ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # Grad-CAM ten times: 1-3 s here
def test_view_cams_shapes_determinism_chunking(rgb_model):
    torch.manual_seed(1)
    views = torch.randn(5, 3, 64, 64)
    flags = [p.requires_grad for p in rgb_model.parameters()]
    rgb_model.train()
    a = V.view_cams(rgb_model, views, max_views_per_forward=2)
    assert rgb_model.training  # mode restored
    rgb_model.eval()
    assert [p.requires_grad for p in rgb_model.parameters()] == flags
    assert all(p.grad is None for p in rgb_model.parameters())  # nothing left behind
    assert a.cams.shape == (5, 64, 64) and a.cams.dtype == np.float32
    assert a.cams.min() >= 0.0 and np.allclose(a.cams.max(axis=(1, 2)), 1.0, atol=1e-5)
    assert a.view_scores.shape == (5, 12) and a.target_layer == "backbone.layer4.1"
    # default class: the consensus (mean over views) decision
    assert a.target_class == int(a.view_scores.mean(0).argmax())
    np.testing.assert_allclose(a.video_scores, a.view_scores.mean(0), atol=1e-6)
    # deterministic in eval mode: two runs are equal, bit for bit
    b = V.view_cams(rgb_model, views, max_views_per_forward=2)
    assert np.array_equal(a.cams, b.cams) and np.array_equal(a.view_scores, b.view_scores)
    # chunking changes nothing but memory
    c = V.view_cams(rgb_model, views, max_views_per_forward=5)
    np.testing.assert_allclose(a.cams, c.cams, atol=1e-5)
    with torch.no_grad():  # gradients are switched back on inside
        assert np.array_equal(V.view_cams(rgb_model, views, max_views_per_forward=2).cams, a.cams)
    with pytest.raises(ValueError, match="target_class"):
        V.view_cams(rgb_model, views, target_class=12)
    with pytest.raises(ValueError, match=r"\(V, C, H, W\)"):
        V.view_cams(rgb_model, views[None])


def test_view_cams_equals_gradcam_by_hand(rgb_model):
    """alpha_k = mean_ij dy_c/dA_k,ij ; cam = ReLU(sum_k alpha_k A_k), scaled to [0, 1], upsampled, scaled again."""
    torch.manual_seed(2)
    views = torch.randn(3, 3, 64, 64)
    rgb_model.eval()  # the reference runs in eval mode too (dropout off, BatchNorm running statistics)
    lib = V.view_cams(rgb_model, views, target_class=4)
    layer = rgb_model.get_submodule(lib.target_layer)
    store = {}
    handle = layer.register_forward_hook(lambda m, i, o: store.__setitem__("A", o))
    try:
        for i in range(3):
            x = views[i:i + 1].clone().requires_grad_(True)
            y = rgb_model.forward_views(x)[0, 4]
            (g,) = torch.autograd.grad(y, store["A"])
            cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * store["A"]).sum(1))[0].detach()
            cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-7)
            up = torch.nn.functional.interpolate(cam[None, None], size=(64, 64), mode="bilinear", align_corners=False)
            up = (up - up.min()) / (up.max() - up.min() + 1e-7)  # the package scales again after upsampling
            np.testing.assert_allclose(up[0, 0].numpy(), lib.cams[i], atol=1e-4)
    finally:
        handle.remove()


def test_every_cam_method_of_the_package_runs(rgb_model):
    # small input and an early layer (128 channels): Score-CAM and Ablation-CAM run one forward pass per channel
    views = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    base = V.view_cams(rgb_model, views, target_class=1, target_layer="layer2")
    for method in V.CAM_METHODS:
        r = V.view_cams(rgb_model, views, target_class=1, method=method, target_layer="layer2")
        assert r.cams.shape == (1, 32, 32) and r.method == method and r.target_layer == "backbone.layer2"
        assert r.cams.min() == 0.0 and r.cams.max() == pytest.approx(1.0, abs=1e-5)  # each map scaled to [0, 1]
    eigen = V.view_cams(rgb_model, views, target_class=1, method="eigencam", target_layer="layer2")
    assert not np.allclose(base.cams, eigen.cams)
    assert all(p.grad is None for p in rgb_model.parameters())


# ----------------------------------------------------------------------------------------------
# geometry and the box metric
# ----------------------------------------------------------------------------------------------


def test_input_region_follows_the_test_crop():
    # 160x120 -> short side 128: 170x128; the 112 crop at x = 29, y = 8 maps back to the decoded frame:
    # left round(29 * 160/170) = 27, right round(141 * 160/170) = 133; top round(8 * 0.9375) = 8, bottom 112
    assert V.input_region((120, 160), 112, 128, "center") == (8, 27, 104, 106)
    assert V.input_region((120, 160), 112, 128, "full") == (0, 0, 120, 160)
    assert V.input_region((128, 176), 112, None, "center") == (8, 32, 112, 112)  # no resize: a plain centre crop
    with pytest.raises(ValueError, match="geometry"):
        V.input_region((120, 160), 112, 128, "corner")


def test_cam_to_frame_pastes_into_the_region():
    cam = np.zeros((4, 4), np.float32)
    cam[:, 2:] = 1.0
    heat = V.cam_to_frame(cam, (2, 3, 8, 8), (12, 16))
    assert heat.shape == (12, 16)
    assert heat[:2].sum() == 0 and heat[:, :3].sum() == 0 and heat[10:].sum() == 0 and heat[:, 11:].sum() == 0
    assert heat[2:10, 3:6].max() == 0.0 and np.all(heat[2:10, 8:11] == 1.0)  # left half cold, right half hot
    with pytest.raises(ValueError, match="inside"):
        V.cam_to_frame(cam, (6, 0, 8, 8), (12, 16))


def test_cam_mass_in_box_known_answers():
    heat = np.zeros((10, 10))
    heat[2:4, 3:7] = 1.0  # 8 units in the box
    heat[8, 8] = 2.0  # 2 units outside
    box = (3, 2, 7, 4)  # x0, y0, x1, y1 (exclusive): the 2 x 4 hot rectangle
    mass, share = V.cam_mass_in_box(heat, box)
    assert mass == pytest.approx(0.8) and share == pytest.approx(8 / 100)
    # only the left half of the frame was seen: box ∩ region is 2 x 2, the seen mass is 4
    mass, share = V.cam_mass_in_box(heat, box, region=(0, 0, 10, 5))
    assert mass == pytest.approx(1.0) and share == pytest.approx(4 / 50)
    # a uniform heatmap gets exactly the box's share
    mass, share = V.cam_mass_in_box(np.ones((10, 10)), (0, 0, 5, 2))
    assert mass == pytest.approx(share) == pytest.approx(0.1)
    # an empty box (actor off-screen) or a box outside the seen region: NaN, to be skipped
    assert all(math.isnan(v) for v in V.cam_mass_in_box(heat, (5, 5, 5, 9)))
    assert all(math.isnan(v) for v in V.cam_mass_in_box(heat, box, region=(5, 0, 5, 10)))
    assert V.box_is_empty((5, 5, 5, 9)) and not V.box_is_empty(box)
    with pytest.raises(ValueError, match="non-negative"):
        V.cam_mass_in_box(-heat, box)


# ----------------------------------------------------------------------------------------------
# one video, explained: frames tied to the sampled indices
# ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # Grad-CAM over four videos, one of them five times: 2-5 s here
def test_explain_video_is_tied_to_the_sampled_frames(small_cfg, tiny_ucf101, rgb_model):
    from tsnlib.decoding import decode_all
    from tsnlib.experiment import build_datasets
    from tsnlib.sampling import FrameSampler
    from tsnlib.synthetic import load_truth

    val = build_datasets(small_cfg, subsets=("val",))["val"]
    item = val[2]
    video = val.records[2].path
    e = V.explain_video(rgb_model, video, input_size=64, scale_size=72, geometry="center")
    frames = decode_all(video)
    n, h, w = frames.shape[:3]
    # the indices are the validation dataset's (and the sampler's), the frames shown are those frames
    assert np.array_equal(e.frame_indices, item["frame_indices"].numpy())
    assert np.array_equal(e.frame_indices, FrameSampler(3, mode="val")(n))
    assert e.num_frames == n and np.array_equal(e.display_indices, e.frame_indices[:, 0])
    assert np.array_equal(e.frames, frames[e.display_indices])
    # the snippet scores are the model's on the dataset's views
    with torch.no_grad():
        expected = rgb_model.segment_scores(item["imgs"][None])[0].numpy()
    np.testing.assert_allclose(e.view_scores, expected, atol=1e-4)
    assert e.cams.shape == (3, 64, 64) and e.heatmaps.shape == (3, h, w)
    top, left, rh, rw = e.region
    assert e.region == V.input_region((h, w), 64, 72, "center")
    outside = np.ones((h, w), bool)
    outside[top:top + rh, left:left + rw] = False
    assert e.heatmaps[:, outside].max() == 0.0 and e.heatmaps.max() > 0.5
    # whole-frame geometry: the input keeps the aspect ratio, the heatmap covers every pixel
    f = V.explain_video(rgb_model, video, input_size=64, scale_size=72, geometry="full")
    from tsnlib.transforms import resized_short_side_size

    assert f.cams.shape[1:] == resized_short_side_size(w, h, 72)[::-1]
    assert f.region == (0, 0, h, w) and f.heatmaps.shape == (3, h, w)
    # deterministic
    g = V.explain_video(rgb_model, video, input_size=64, scale_size=72, geometry="full")
    assert np.array_equal(f.heatmaps, g.heatmaps)
    # more snippets, test sampling: K heatmaps at the test protocol's frames
    t = V.explain_video(rgb_model, video, num_segments=7, mode="test", input_size=64, scale_size=72)
    assert t.heatmaps.shape[0] == 7 and np.array_equal(t.frame_indices, FrameSampler(7, mode="test")(n))
    # the metric over a few videos: one row per kept frame, mass and share in [0, 1]
    videos = [val.records[i].path for i in range(3)]
    r = V.cam_box_scores(rgb_model, videos, targets=[val.records[i].label for i in range(3)], input_size=64,
                         scale_size=72)
    assert len(r["mass"]) + r["skipped"] == 9 and len(r["mass"]) > 0 and 0 <= r["no_heat"] <= r["skipped"]
    truth = load_truth(videos[int(r["video"][0])])
    x0, y0, x1, y1 = truth["boxes"][int(r["frame"][0])]
    th, tw = truth["frame_size"]
    assert r["uniform"][0] == pytest.approx((x1 - x0) * (y1 - y0) / (th * tw))  # full geometry: share of the frame
    # every kept frame of that video, by hand from its own explanation: the heatmap's share inside the box
    v = int(r["video"][0])
    ev = V.explain_video(rgb_model, videos[v], input_size=64, scale_size=72, geometry="full", mode="val",
                         target_class=val.records[v].label)
    for j in np.flatnonzero(r["video"] == v):
        t = int(r["frame"][j])
        heat = ev.heatmaps[list(ev.display_indices).index(t)].astype(np.float64)
        x0, y0, x1, y1 = (int(c) for c in truth["boxes"][t])
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, tw), min(y1, th)
        assert r["mass"][j] == pytest.approx(heat[y0:y1, x0:x1].sum() / heat.sum(), rel=1e-6)
        assert r["uniform"][j] == pytest.approx((x1 - x0) * (y1 - y0) / (th * tw))


@pytest.mark.slow  # extracts flow, then Grad-CAM: 1.2-3 s here
def test_explain_video_flow_is_drawn_on_the_rgb_frame(tiny_ucf101, tmp_path):
    from tsnlib.decoding import decode_all
    from tsnlib.flow import extract_video_flow

    video = _videos(tiny_ucf101)[7]
    folder = tmp_path / "flow" / video.stem
    info = extract_video_flow(video, folder, short_side=64)  # flow frames at half size
    torch.manual_seed(0)
    flow_model = TSN(12, "resnet18", modality="Flow", num_segments=3).eval()
    e = V.explain_video(flow_model, folder, input_size=56, scale_size=64, geometry="center", display_video=video)
    frames = decode_all(video)
    assert e.modality == "Flow" and e.num_frames == info["num_flow"]
    assert e.frame_indices.shape == (3, 5) and e.frame_indices.max() < info["num_flow"]
    # the RGB frame shown is where the stack's middle flow field starts
    assert np.array_equal(e.display_indices, e.frame_indices[:, 2])
    assert np.array_equal(e.frames, frames[e.display_indices])
    assert e.heatmaps.shape == (3, *frames.shape[1:3])
    # the crop seen at 64 px short side, scaled to the full-size RGB frame
    small = V.input_region((info["height"], info["width"]), 56, 64, "center")
    sy, sx = frames.shape[1] / info["height"], frames.shape[2] / info["width"]
    top, left = round(small[0] * sy), round(small[1] * sx)  # the edges are mapped, then the sizes follow
    bottom, right = round((small[0] + small[2]) * sy), round((small[1] + small[3]) * sx)
    assert e.region == (top, left, bottom - top, right - left)
    # without an RGB video the folder's own img_*.jpg frames are shown
    own = V.explain_video(flow_model, folder, input_size=56, scale_size=64)
    assert own.frames.shape == (3, info["height"], info["width"], 3) and np.array_equal(own.cams, e.cams)
    with pytest.raises(ValueError, match="flow frame folders"):
        V.explain_video(flow_model, video)


# ----------------------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------------------


def test_overlay_and_figures(tiny_ucf101, rgb_model):
    import matplotlib.pyplot as plt

    from tsnlib.synthetic import load_truth

    frame = np.full((20, 30, 3), 100, np.uint8)
    heat = np.zeros((20, 30), np.float32)
    heat[5:10, 5:10] = 1.0
    over = V.overlay_heatmap(frame, heat, alpha=0.5, region=(0, 0, 20, 25))
    assert over.shape == frame.shape and over.dtype == np.uint8
    assert over[7, 7, 0] > over[7, 7, 2]  # hot = red in JET
    assert np.all(over[:, 25:] == 45)  # unseen: darkened, uncoloured
    video = _videos(tiny_ucf101)[40]
    e = V.explain_video(rgb_model, video, input_size=64, scale_size=72, num_segments=4)
    fig = V.plot_segment_cams(e, [f"c{i}" for i in range(12)], boxes=load_truth(video)["boxes"])
    assert len([ax for ax in fig.axes if ax.images]) == 4
    fig2 = V.plot_score_timeline(e.view_scores, e.frame_indices, e.num_frames, [f"c{i}" for i in range(12)], topk=3,
                                 event_span=(3, 9))
    assert len(fig2.axes[0].lines) == 3
    plt.close("all")


# ----------------------------------------------------------------------------------------------
# class models
# ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # twice 12 gradient-ascent steps: about 3 s here
def test_class_model_visualization_raises_the_score_deterministically(rgb_model):
    before = {k: v.clone() for k, v in rgb_model.state_dict().items()}
    r = V.class_model_visualization(rgb_model, [0, 5], steps=12, input_size=48, seed=3)
    assert r.inputs.shape == (2, 3, 48, 48) and r.score_history.shape == (12, 2)
    assert np.all(r.score_end > r.score_start + 0.05)  # gradient ascent works, measured without jitter
    with torch.no_grad():
        np.testing.assert_allclose(rgb_model.forward_views(r.inputs)[[0, 1], [0, 5]].numpy(), r.score_end, atol=1e-5)
    lo, hi = _input_bounds("RGB", 1)
    assert torch.all(r.inputs >= lo - 1e-6) and torch.all(r.inputs <= hi + 1e-6)  # valid pixels only
    again = V.class_model_visualization(rgb_model, [0, 5], steps=12, input_size=48, seed=3)
    assert torch.equal(r.inputs, again.inputs)
    assert all(torch.equal(v, before[k]) for k, v in rgb_model.state_dict().items())  # weights untouched
    assert all(p.grad is None for p in rgb_model.parameters())
    img = V.input_to_rgb(r.inputs[0])
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8 and img.max() > img.min()

    torch.manual_seed(0)
    flow_model = TSN(12, "resnet18", modality="Flow", fc_init_std=0.1).eval()
    f = V.class_model_visualization(flow_model, 2, steps=6, input_size=48)
    assert f.inputs.shape == (1, 10, 48, 48)
    assert f.inputs.min() >= -1.0 and f.inputs.max() <= 127 / 128 + 1e-6
    assert f.score_end[0] > f.score_start[0]
    col = V.flow_input_to_color(f.inputs[0])
    assert col.shape == (48, 48, 3) and col.dtype == np.uint8
    # a pure rightward flow field is one hue everywhere
    right = torch.zeros(10, 8, 8)
    right[0::2] = 0.5
    c = V.flow_input_to_color(right)
    assert np.all(c == c[0, 0])
    import matplotlib.pyplot as plt

    assert len(V.plot_class_models(f, [f"c{i}" for i in range(12)]).axes) == 1
    plt.close("all")


# ----------------------------------------------------------------------------------------------
# embeddings and mistakes
# ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # features of a whole validation set: 1.5-4 s here
def test_video_embeddings_match_the_model(small_cfg, rgb_model):
    from tsnlib.experiment import build_datasets

    val = build_datasets(small_cfg, subsets=("val",))["val"]
    emb = V.video_embeddings(rgb_model, val, batch_size=5, max_views_per_forward=4)
    n = len(val)
    assert emb.features.shape == (n, 512) and emb.scores.shape == (n, 12) and emb.frame_indices.shape == (n, 3, 1)
    assert emb.video_ids == [r.video_id for r in val.records] and emb.labels.tolist() == [r.label for r in val.records]
    with torch.no_grad():
        item = val[4]
        np.testing.assert_allclose(emb.scores[4], rgb_model(item["imgs"][None])[0].numpy(), atol=1e-4)
        np.testing.assert_allclose(emb.features[4], rgb_model.features(item["imgs"][None])[0].mean(0).numpy(), atol=1e-5)
    xy = V.tsne_2d(emb.features, seed=0)
    assert xy.shape == (n, 2) and np.isfinite(xy).all()
    assert np.array_equal(xy, V.tsne_2d(emb.features, seed=0))


def test_knn_accuracy_and_misclassified_order():
    rng = np.random.default_rng(0)
    feats = np.concatenate([rng.normal(0, 0.1, (5, 4)) + [5, 0, 0, 0], rng.normal(0, 0.1, (5, 4)) + [0, 5, 0, 0]])
    labels = np.array([0] * 5 + [1] * 5)
    assert V.knn_accuracy(feats, labels) == 1.0
    assert V.knn_accuracy(feats, 1 - labels) == 1.0  # swapped names, same clusters
    assert V.knn_accuracy(feats, np.array([0, 1] * 5)) < 0.5
    scores = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [0.1, 0.0, 0.0]])
    labels = np.array([0, 2, 1, 1])
    assert V.misclassified(scores, labels).tolist() == [1, 2, 3]  # most confident mistake first


@pytest.mark.slow  # a whole validation set through the network: 1.4-3 s here
def test_misclassified_gallery(small_cfg, rgb_model):
    import matplotlib.pyplot as plt

    from tsnlib.experiment import build_datasets

    val = build_datasets(small_cfg, subsets=("val",))["val"]
    emb = V.video_embeddings(rgb_model, val)
    wrong = V.misclassified(emb.scores, emb.labels)
    fig = V.plot_misclassified(emb.paths, emb.frame_indices, emb.scores, emb.labels, [f"c{i}" for i in range(12)],
                               max_videos=2, topk=3)
    rows = min(2, len(wrong))
    assert len([ax for ax in fig.axes if ax.images]) == 3 * rows  # the three sampled frames of each row
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    first = emb.frame_indices[wrong[0], :, 0]
    assert titles[:3] == [f"frame {int(t)}" for t in first]
    plt.close("all")


# ----------------------------------------------------------------------------------------------
# videos and `tsnlib predict --out`
# ----------------------------------------------------------------------------------------------


def test_write_video_mp4_and_gif(tmp_path):
    import av

    from tsnlib.decoding import open_video

    frames = [np.full((33, 45, 3), (40 * i) % 256, np.uint8) for i in range(7)]
    for f in frames:
        f[:, :, 1] = 128
    assert V.write_video(frames, tmp_path / "a.mp4", fps=10) == 7
    with open_video(tmp_path / "a.mp4") as r:
        assert r.num_frames == 7 and (r.height, r.width) == (34, 46) and r.fps == pytest.approx(10)
        back = r.get_frames(range(7))
    assert np.abs(back[3, :33, :45].astype(int) - frames[3].astype(int)).mean() < 8
    assert V.write_video(iter(frames), tmp_path / "a.gif", fps=10) == 7
    with av.open(str(tmp_path / "a.gif")) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(decoded) == 7 and decoded[0].shape == (33, 45, 3)
    assert np.abs(decoded[5].astype(int) - frames[5].astype(int)).mean() < 8
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        V.write_video(frames, tmp_path / "a.avi")
    assert not list(tmp_path.glob(".*tmp*"))


def _checkpoint(cfg, path):
    from tsnlib.checkpoints import save_checkpoint
    from tsnlib.experiment import build_model_from_config, load_subset

    names = list(load_subset(cfg, "test")[1].names)
    torch.manual_seed(0)
    model = build_model_from_config(cfg, len(names), pretrained=False)
    save_checkpoint({"model": model.state_dict(), "config": cfg, "class_names": names}, path)
    return names


@pytest.mark.slow  # Grad-CAM over a whole video, encoded: about 3 s here
def test_predict_writes_a_playable_video(small_cfg, tiny_ucf101, tmp_path, capsys):
    import av

    from tsnlib.cli import main
    from tsnlib.decoding import open_video

    ckpt = tmp_path / "best.pth"
    names = _checkpoint(small_cfg, ckpt)
    video = _videos(tiny_ucf101)[12]
    with open_video(video) as r:
        n, fps, h, w = r.num_frames, r.fps, r.height, r.width
    out = tmp_path / "pred.mp4"
    rc = main(["predict", str(video), "--checkpoint", str(ckpt), "--clips", "3", "--crops", "1", "--device", "cpu",
               "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    ranked = [ln for ln in text.splitlines() if ln.strip()[:2] in {f"{i}." for i in range(1, 6)}]
    assert len(ranked) == 5 and all(ln.split()[1] in names for ln in ranked)  # the text output is unchanged
    assert f"wrote {out}" in text and "backbone.layer3.0" in text  # the preset's resnet8: its last block
    with open_video(out) as r:  # decoded back with tsnlib.decoding: every frame is there
        assert r.num_frames == n and r.fps == pytest.approx(fps, rel=1e-3)
        assert r.height > h and r.width > w  # the frame, a label panel on the right, a timeline strip below
        last = r.get_frames([n - 1])[0]
    assert last.std() > 5
    # a gif with another method and layer
    gif = tmp_path / "pred.gif"
    rc = main(["predict", str(video), "--checkpoint", str(ckpt), "--clips", "4", "--crops", "1", "--device", "cpu",
               "--out", str(gif), "--cam-method", "gradcam++", "--target-layer", "layer3"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "gradcam++" in text and "backbone.layer3" in text
    with av.open(str(gif)) as c:
        assert sum(1 for _ in c.decode(video=0)) == n
    with pytest.raises(SystemExit, match=".mp4 or .gif"):
        main(["predict", str(video), "--checkpoint", str(ckpt), "--out", str(tmp_path / "x.avi")])
