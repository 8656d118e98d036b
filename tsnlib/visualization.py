"""Looking inside a TSN: per-segment Grad-CAM, score timelines, class models, embeddings, mistakes.

Introduced in notebooks/06_model_visualization.ipynb; :func:`write_prediction_video` is what
``tsnlib predict VIDEO --checkpoint CKPT --out OUT.mp4`` calls.

A TSN scores every sampled snippet with the same 2D network and averages the scores, so every
explanation here is *per snippet* and tied to the frames the sampler picked:

* **Grad-CAM** (Selvaraju et al., 2017) through the ``grad-cam`` package (``pytorch_grad_cam``).
  For a class score :math:`y^c` of one view and the feature maps :math:`A^k` (``k`` = channel)
  of a target layer,

      alpha_k = mean_{i,j} dy^c / dA^k_{ij},        L^c = ReLU( sum_k alpha_k A^k ),

  upsampled to the network input and scaled to ``[0, 1]`` per view, before and after upsampling
  (the package's convention: brightness cannot be compared between snippets; the score timeline can). The package needs a
  model that maps a batch of images to class scores: :class:`ViewScorer` wraps
  :meth:`tsnlib.models.TSN.forward_views` for that. :func:`view_cams` runs any method the package
  offers (:data:`CAM_METHODS`: Grad-CAM, Grad-CAM++, XGrad-CAM, Score-CAM, ...) over many views in
  chunks (memory stays bounded), in eval mode, with the model's parameters frozen for the call
  (only gradients with respect to activations are computed, and nothing is left in ``.grad``).
  :func:`candidate_target_layers` lists where a backbone can be looked at, and
  :func:`default_target_layer` picks its last convolutional block.
* :func:`explain_video` samples a video exactly as a dataset does (a
  :class:`tsnlib.datasets.TSNDataset` of one record, so the frame indices are the real ones),
  scores every snippet, computes one heatmap per snippet and maps it from the network input back
  to the frame it came from (:func:`input_region`, :func:`cam_to_frame`), for RGB and for flow
  (a flow heatmap is drawn over the RGB frame where its stack sits in time).
* :func:`cam_mass_in_box`: the share of a heatmap's mass inside a box, against the box's share
  of the area the network saw (what a uniform heatmap would get) — a number to go with the pictures;
  :func:`cam_box_scores` measures it over many synthetic videos with the generator's actor boxes.
* :func:`plot_score_timeline`: each snippet's class scores along the video and the consensus.
* :func:`class_model_visualization`: the paper's §5 class models (DeepDraw-style gradient ascent on
  the input with jitter, blur and decay), shown with :func:`input_to_rgb` / :func:`flow_input_to_color`.
* :func:`video_embeddings` (the pooled features of :meth:`TSN.features`, averaged over views),
  :func:`tsne_2d`, :func:`knn_accuracy`, :func:`plot_embedding`.
* :func:`misclassified` and :func:`plot_misclassified`: a gallery of mistakes with their sampled frames.
* :func:`write_video` (PyAV for ``.mp4``, Pillow for ``.gif``) and :func:`write_prediction_video`.

Overlays are drawn with OpenCV (no matplotlib needed to write a video); figures are returned as
matplotlib figures, as everywhere in ``tsnlib``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tsnlib.evaluation import _model_device, softmax

__all__ = [
    "CAM_METHODS",
    "GEOMETRIES",
    "ViewScorer",
    "ViewCams",
    "VideoExplanation",
    "ClassModels",
    "VideoEmbeddings",
    "cam_class",
    "candidate_target_layers",
    "default_target_layer",
    "resolve_target_layer",
    "view_cams",
    "input_region",
    "views_transform",
    "cam_to_frame",
    "cam_mass_in_box",
    "box_is_empty",
    "cam_box_scores",
    "plot_mass_vs_share",
    "read_display_frames",
    "explain_video",
    "overlay_heatmap",
    "plot_segment_cams",
    "plot_score_timeline",
    "class_model_visualization",
    "input_to_rgb",
    "flow_input_to_color",
    "plot_class_models",
    "video_embeddings",
    "tsne_2d",
    "knn_accuracy",
    "plot_embedding",
    "misclassified",
    "plot_misclassified",
    "write_video",
    "write_prediction_video",
]

#: CAM methods of the ``grad-cam`` package by short name → class name in ``pytorch_grad_cam``.
#: Gradient-based ones need one backward pass per chunk of views; ``scorecam`` and ``ablationcam``
#: need one forward pass per channel of the target layer (hundreds); ``eigencam`` needs no backward
#: pass and ignores the class (the first principal component of the feature maps: a control).
CAM_METHODS: dict[str, str] = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "xgradcam": "XGradCAM",
    "hirescam": "HiResCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "eigengradcam": "EigenGradCAM",
    "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
}

#: How a frame becomes the network input for explanations:
#: ``"center"``: the test transform's centre crop (short side ``scale_size``, then an
#: ``input_size`` square from its middle; the sides of a wide frame are not seen);
#: ``"full"``: the whole frame, short side resized to ``scale_size`` (or ``input_size``), aspect kept:
#: objects have the size they have in the test crops, and every pixel is seen (the network is
#: convolutional, the input need not be square).
GEOMETRIES = ("center", "full")


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def _tsn(model) -> nn.Module:
    """The TSN inside its wrappers (:func:`tsnlib.models.unwrap_model`)."""
    from tsnlib.models import unwrap_model

    return unwrap_model(model)


def _cv2():
    import cv2

    return cv2


# ----------------------------------------------------------------------------------------------
# Target layers
# ----------------------------------------------------------------------------------------------


def _search_root(model) -> tuple[nn.Module, str]:
    """Where target layers are searched (a TSN's backbone) and the name prefix that reaches it."""
    tsn = _tsn(model)
    backbone = getattr(tsn, "backbone", None)
    if isinstance(backbone, nn.Module):
        return backbone, "backbone."
    return tsn, ""


def _channels_last_maps(model) -> bool:
    """Whether the backbone's blocks output ``(N, h, w, C)`` maps (timm's Swin: ``output_fmt == "NHWC"``)."""
    root, _ = _search_root(model)
    return str(getattr(root, "output_fmt", "NCHW")).upper() == "NHWC"


def _nhwc_to_nchw(maps: torch.Tensor) -> torch.Tensor:
    """``(N, h, w, C)`` → ``(N, C, h, w)``: the ``reshape_transform`` Grad-CAM needs for Swin's maps."""
    return maps.permute(0, 3, 1, 2)


def _in_channels(model, root: nn.Module) -> int:
    c = getattr(_tsn(model), "in_channels", None)
    if c:
        return int(c)
    for m in root.modules():
        if isinstance(m, nn.Conv2d):
            return int(m.in_channels)
    raise ValueError(f"cannot tell the input channels of {type(model).__name__}: it has no nn.Conv2d")


def _trace_blocks(model, input_size: int) -> list[tuple[str, torch.Tensor]]:
    """``(name, output)`` of every non-leaf module of the backbone, in the order their forward ends.

    The zero input is ``input_size`` square, or the one size a backbone takes (``TSN.fixed_input_size``).
    """
    root, _ = _search_root(model)
    fired: list[tuple[str, torch.Tensor]] = []
    handles = []
    for name, module in root.named_modules():
        if not name or next(module.children(), None) is None:
            continue  # the backbone itself, and leaves (convs, norms, activations, pools)
        handles.append(module.register_forward_hook(lambda m, i, o, name=name: fired.append((name, o))))
    tsn = _tsn(model)
    was_training = tsn.training
    tsn.eval()
    try:
        height, width = getattr(tsn, "fixed_input_size", None) or (int(input_size), int(input_size))
        x = torch.zeros(1, _in_channels(model, root), height, width, device=_model_device(root))
        with torch.no_grad():
            root(x)
    finally:
        for h in handles:
            h.remove()
        tsn.train(was_training)
    return fired


def candidate_target_layers(model, input_size: int = 112) -> list[tuple[str, tuple[int, ...]]]:
    """Where Grad-CAM can look: ``[(name, (C, h, w)), ...]`` of the backbone's blocks, input to output.

    Introduced in notebooks/06_model_visualization.ipynb.

    Runs one zero input ``(1, in_channels, input_size, input_size)`` through the backbone (eval
    mode, no gradients) and lists every non-leaf module (a block or stage, not a single
    convolution or activation) whose output is a spatial feature map ``(1, C, h, w)``, in the
    order their forward passes end, with that map's shape. Names are relative to ``model``
    (``"backbone.layer4.1"`` for a :class:`tsnlib.models.TSN`), so ``model.get_submodule(name)``
    returns the layer; pass them as ``target_layer``. Later layers see larger parts of the frame
    and more abstract features but have coarser maps (``h, w`` shrink): ResNets at 112 px end at
    4 x 4. ``input_size`` must suit the backbone (Inception v3 needs at least 75); a backbone that
    takes one size only (timm's Swin: 224) is traced at that size. Backbones whose blocks output channels-last maps ``(1, h, w, C)`` (timm's Swin) are
    reported as ``(C, h, w)`` too, and :func:`view_cams` permutes their maps for Grad-CAM.
    """
    _, prefix = _search_root(model)
    order = (2, 0, 1) if _channels_last_maps(model) else (0, 1, 2)
    return [(prefix + name, tuple(int(out.shape[1:][i]) for i in order))
            for name, out in _trace_blocks(model, input_size)
            if isinstance(out, torch.Tensor) and out.ndim == 4]


def default_target_layer(model, input_size: int = 112) -> str:
    """The last convolutional block of the backbone: the usual Grad-CAM target layer.

    Introduced in notebooks/06_model_visualization.ipynb.

    Rule: take the last feature map the backbone produces (the input of its global pooling) and
    name the innermost block that returns that very tensor. ResNet: ``backbone.layer4.1`` (not the
    stage ``layer4``, which returns the same tensor); MobileNet v3 / EfficientNet: the last
    ``features.N``; DenseNet: ``backbone.features`` (ends in ``norm5``); Inception v3:
    ``backbone.Mixed_7c``; timm's Swin: the last transformer block, ``backbone.layers.3.blocks.1``.
    """
    _, prefix = _search_root(model)
    maps = [(name, out) for name, out in _trace_blocks(model, input_size)
            if isinstance(out, torch.Tensor) and out.ndim == 4]
    if not maps:
        raise ValueError(f"{type(_tsn(model)).__name__} has no block that outputs a feature map (N, C, h, w)")
    last = maps[-1][1]
    name = next(n for n, out in maps if out is last)
    return prefix + name


def resolve_target_layer(model, name: str | None = None) -> tuple[str, nn.Module]:
    """``(full name, module)`` of a target layer; ``None`` = :func:`default_target_layer`.

    Introduced in notebooks/06_model_visualization.ipynb. ``name`` may be relative to the model
    (``"backbone.layer4.1"``) or to its backbone (``"layer4.1"``, ``"layer4/1"``: slashes as in
    MMAction2's ``--target-layer-name`` are accepted). An unknown name raises a ``ValueError``
    listing the candidates.
    """
    tsn = _tsn(model)
    if name is None:
        name = default_target_layer(tsn)
    name = str(name).strip().replace("/", ".")
    _, prefix = _search_root(tsn)
    for full in (name, prefix + name):
        try:
            return full, tsn.get_submodule(full)
        except AttributeError:
            continue
    try:
        names = [n for n, _ in candidate_target_layers(tsn)]
    except Exception:  # noqa: BLE001 - the listing is only a hint in the message
        names = []
    raise ValueError(f"no layer named {name!r} in the model; candidates (from the input to the output): "
                     + (", ".join(names) if names else "see candidate_target_layers(model)"))


# ----------------------------------------------------------------------------------------------
# Grad-CAM over views
# ----------------------------------------------------------------------------------------------


def cam_class(method: str):
    """The ``pytorch_grad_cam`` class of a method name in :data:`CAM_METHODS` (case-insensitive).

    Introduced in notebooks/06_model_visualization.ipynb. Class names (``"GradCAMPlusPlus"``)
    are accepted too.
    """
    import pytorch_grad_cam

    key = str(method).lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {"gradcamplusplus": "gradcam++", "gradcampp": "gradcam++"}
    key = aliases.get(key, key)
    for short, cls_name in CAM_METHODS.items():
        if key in (short, cls_name.lower()):
            return getattr(pytorch_grad_cam, cls_name)
    raise ValueError(f"unknown CAM method {method!r}; choose one of {list(CAM_METHODS)}")


class ViewScorer(nn.Module):
    """A TSN seen as an image classifier: views ``(B, C, H, W)`` → class scores ``(B, num_classes)``.

    Introduced in notebooks/06_model_visualization.ipynb. CAM libraries expect a model that maps
    a batch of images to scores; a TSN maps videos ``(N, V, C, H, W)`` to one score per video.
    This wrapper calls :meth:`tsnlib.models.TSN.forward_views` (backbone, dropout, classifier; no
    consensus), so each sampled snippet is explained on its own.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.tsn = _tsn(model)

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        return self.tsn.forward_views(views)


@dataclasses.dataclass
class ViewCams:
    """What :func:`view_cams` returns.

    * ``cams``: float32 ``(V, H, W)`` in ``[0, 1]``, one heatmap per view at the network input's size;
    * ``view_scores``: float32 ``(V, num_classes)``, each view's class scores (logits);
    * ``video_scores``: float32 ``(num_classes,)``, the model's consensus over the V views;
    * ``target_class``: the class explained; ``target_layer``: its full name; ``method``: the CAM method.
    """

    cams: np.ndarray
    view_scores: np.ndarray
    video_scores: np.ndarray
    target_class: int
    target_layer: str
    method: str


def _consensus(tsn, view_scores: torch.Tensor) -> torch.Tensor:
    """Video scores ``(C,)`` from view scores ``(V, C)`` with the model's own consensus (mean otherwise)."""
    consensus = getattr(tsn, "consensus", None)
    if consensus is not None:
        with torch.no_grad():
            return consensus(view_scores[None].to(_model_device(tsn)).float()).float().cpu()[0]
    return view_scores.mean(0)


def view_cams(model, views: torch.Tensor, target_class: int | None = None, method: str = "gradcam",
              target_layer: str | None = None, max_views_per_forward: int = 16, device=None) -> ViewCams:
    """One class-activation map per view of a TSN, computed by the ``grad-cam`` package.

    Introduced in notebooks/06_model_visualization.ipynb.

    ``views``: float ``(V, C, H, W)``, the network inputs (e.g. a dataset item's ``imgs``: the
    ``K`` snippets of a video, ``C = clip_len * channels``). ``target_class``: the class whose
    score is explained in *every* view; ``None`` = the class the model's consensus over these views
    predicts (the video's decision, not each view's). ``method``: a key of :data:`CAM_METHODS`.
    ``target_layer``: a name (see :func:`resolve_target_layer`), default the last convolutional block.

    The views go through :class:`ViewScorer` (``forward_views``) at most ``max_views_per_forward``
    at a time, so memory is bounded whatever ``V`` is. The model is put in eval mode (dropout off,
    BatchNorm statistics frozen: deterministic on a CPU) and its parameters are frozen for the call
    (``requires_grad`` restored afterwards); the input carries the gradient instead, so only
    gradients with respect to activations are computed. Each map is ``ReLU``-ed and scaled to
    ``[0, 1]`` on its own by the package. ``device``: where to compute (default: the model's).
    """
    import pytorch_grad_cam  # noqa: F401 - fail early with the package's import error
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    tsn = _tsn(model)
    views = torch.as_tensor(views)
    if views.ndim != 4 or not views.is_floating_point():
        raise ValueError(f"view_cams expects float views (V, C, H, W), got {tuple(views.shape)} {views.dtype}")
    step = int(max_views_per_forward)
    if step < 1:
        raise ValueError(f"max_views_per_forward must be >= 1, got {max_views_per_forward}")
    if device is not None:
        tsn.to(torch.device(device))
    device = _model_device(tsn)
    layer_name, layer = resolve_target_layer(tsn, target_layer)
    cls = cam_class(method)
    scorer = ViewScorer(tsn)
    was_training = tsn.training
    flags = [(p, p.requires_grad) for p in tsn.parameters()]
    tsn.eval()
    try:
        with torch.no_grad():
            scores = torch.cat([scorer(chunk.to(device)).float().cpu() for chunk in views.split(step)])
        video = _consensus(tsn, scores)
        if target_class is None:
            target_class = int(video.argmax())
        target_class = int(target_class)
        if not 0 <= target_class < scores.shape[1]:
            raise ValueError(f"target_class {target_class} is not a class of this model (0..{scores.shape[1] - 1})")
        for p, _ in flags:
            p.requires_grad_(False)
        cam = cls(model=scorer, target_layers=[layer],
                  reshape_transform=_nhwc_to_nchw if _channels_last_maps(tsn) else None)
        try:
            maps = []
            with torch.enable_grad():  # also when called under torch.no_grad()
                for chunk in views.split(step):
                    x = chunk.to(device).detach().clone().requires_grad_(True)
                    out = cam(input_tensor=x, targets=[ClassifierOutputTarget(target_class)] * len(x))
                    maps.append(np.asarray(out, dtype=np.float32))
        finally:
            cam.activations_and_grads.release()
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        tsn.train(was_training)
    return ViewCams(cams=np.concatenate(maps), view_scores=scores.numpy(), video_scores=video.numpy(),
                    target_class=target_class, target_layer=layer_name, method=str(method))


# ----------------------------------------------------------------------------------------------
# Geometry: from the network input back to the frame
# ----------------------------------------------------------------------------------------------


def input_region(frame_size: tuple[int, int], input_size: int, scale_size: int | None = None,
                 geometry: str = "center") -> tuple[int, int, int, int]:
    """The part of a frame the network input shows: ``(top, left, height, width)`` in frame pixels.

    Introduced in notebooks/06_model_visualization.ipynb. ``frame_size`` is ``(H, W)``.

    * ``geometry="center"``: the box of :class:`tsnlib.transforms.ResizedCenterCrop`
      ``(input_size, scale_size)`` — the test transform's own computation, so it cannot drift from
      it: a 160x120 frame with ``scale_size=128``, ``input_size=112`` (resized to 170x128, crop at
      ``x = 29, y = 8``) is seen through ``(top 8, left 27, height 104, width 106)``;
    * ``geometry="full"``: the whole frame ``(0, 0, H, W)``.
    """
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    h, w = (int(v) for v in frame_size)
    if geometry == "full":
        return 0, 0, h, w
    from tsnlib.transforms import ResizedCenterCrop

    p = ResizedCenterCrop(int(input_size), scale_size).make_params([torch.empty((1, h, w), dtype=torch.uint8)])
    return int(p["top"]), int(p["left"]), int(p["height"]), int(p["width"])


def views_transform(modality: str, num_clips: int, clip_len: int, input_size: int, scale_size: int | None = None,
                    geometry: str = "center"):
    """The transform that turns sampled uint8 frames into the views that :func:`explain_video` explains.

    Introduced in notebooks/06_model_visualization.ipynb. ``"center"``:
    :func:`tsnlib.transforms.val_transform` (= the 1-crop test transform); ``"full"``:
    :class:`tsnlib.transforms.ResizeShortSide` to ``scale_size`` (or ``input_size``) then the same
    normalisation (RGB: ImageNet statistics; Flow: ``(q - 128) / 128``; RGBDiff: differences) and
    :class:`~tsnlib.transforms.FormatShape`. Output float32 ``(num_clips, clip_len * C, h, w)``.
    """
    from torchvision.transforms import v2

    from tsnlib import transforms as T

    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    if geometry == "center":
        return T.val_transform(modality, num_clips, clip_len, input_size=int(input_size), scale_size=scale_size)
    steps = [T.ResizeShortSide(int(scale_size or input_size))]
    if modality == "RGB":
        steps += [T.NormalizeRGB(), T.FormatShape(num_clips, clip_len)]
    elif modality == "Flow":
        steps += [T.NormalizeFlow(), T.FormatShape(num_clips, clip_len)]
    elif modality == "RGBDiff":
        steps += [T.RGBDiff(num_clips, clip_len), T.FormatShape(num_clips, clip_len)]
    else:
        raise ValueError(f"modality must be RGB, Flow or RGBDiff, got {modality!r}")
    return v2.Compose(steps)


def cam_to_frame(cam: np.ndarray, region: tuple[int, int, int, int], frame_size: tuple[int, int]) -> np.ndarray:
    """Put a heatmap of the network input back on the frame: float32 ``(H, W)``, 0 where unseen.

    Introduced in notebooks/06_model_visualization.ipynb. ``cam``: ``(h, w)`` over the network
    input; ``region``: ``(top, left, height, width)`` of the frame that input shows
    (:func:`input_region`); ``frame_size``: ``(H, W)``. The heatmap is resized (bilinear) to the
    region and pasted there; pixels outside the region get 0 (the network never saw them).
    """
    cv2 = _cv2()
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim != 2:
        raise ValueError(f"cam must be (h, w), got {cam.shape}")
    top, left, h, w = (int(v) for v in region)
    H, W = (int(v) for v in frame_size)
    if h < 1 or w < 1 or top < 0 or left < 0 or top + h > H or left + w > W:
        raise ValueError(f"region {region} is not inside a {H}x{W} frame")
    out = np.zeros((H, W), np.float32)
    out[top:top + h, left:left + w] = cv2.resize(cam, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def _scale_region(region, src_size, dst_size) -> tuple[int, int, int, int]:
    """A region of a ``src_size`` frame mapped to the same picture at ``dst_size`` (both ``(H, W)``)."""
    top, left, h, w = region
    sy, sx = dst_size[0] / src_size[0], dst_size[1] / src_size[1]
    t, l_ = int(round(top * sy)), int(round(left * sx))
    b, r = int(round((top + h) * sy)), int(round((left + w) * sx))
    t, l_ = min(max(t, 0), dst_size[0] - 1), min(max(l_, 0), dst_size[1] - 1)
    b, r = min(max(b, t + 1), dst_size[0]), min(max(r, l_ + 1), dst_size[1])
    return t, l_, b - t, r - l_


def box_is_empty(box) -> bool:
    """Whether an ``(x0, y0, x1, y1)`` box (exclusive ends) holds no pixel (e.g. actor off-screen)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    return x1 <= x0 or y1 <= y0


def cam_mass_in_box(heatmap: np.ndarray, box, region: tuple[int, int, int, int] | None = None) -> tuple[float, float]:
    """``(mass in box, uniform share)``: how much of a heatmap falls in a box, and what chance would give.

    Introduced in notebooks/06_model_visualization.ipynb.

    ``heatmap``: non-negative ``(H, W)`` in frame coordinates (:func:`cam_to_frame`); ``box``:
    ``(x0, y0, x1, y1)`` in pixels, ``x1``/``y1`` exclusive (the synthetic set's
    ``load_truth(video)["boxes"][t]``); ``region``: ``(top, left, height, width)`` of the frame the
    network saw (default: the whole frame). Returns

        mass    = sum(heatmap[box ∩ region]) / sum(heatmap[region])
        uniform = area(box ∩ region) / area(region)

    i.e. the share a uniform heatmap over the seen region would put in the box. ``mass > uniform``
    means the map concentrates on the box. Both are NaN when the box is empty inside the region (an
    actor off-screen or outside the crop: skip such frames) or the heatmap has no mass there.
    """
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.ndim != 2:
        raise ValueError(f"heatmap must be (H, W), got {heat.shape}")
    if (heat < 0).any():
        raise ValueError("heatmap must be non-negative")
    H, W = heat.shape
    top, left, h, w = region if region is not None else (0, 0, H, W)
    x0, y0, x1, y1 = (int(v) for v in box)
    bx0, by0 = max(x0, left, 0), max(y0, top, 0)
    bx1, by1 = min(x1, left + w, W), min(y1, top + h, H)
    seen = heat[top:top + h, left:left + w]
    total = float(seen.sum())
    if bx1 <= bx0 or by1 <= by0 or total <= 0.0 or h * w <= 0:
        return float("nan"), float("nan")
    inside = float(heat[by0:by1, bx0:bx1].sum())
    return inside / total, (bx1 - bx0) * (by1 - by0) / float(h * w)


# ----------------------------------------------------------------------------------------------
# One video, explained
# ----------------------------------------------------------------------------------------------


def read_display_frames(path, indices, start_index: int | None = None, backend: str = "auto") -> np.ndarray:
    """RGB frames ``uint8 (N, H, W, 3)`` at 0-based ``indices`` of a video file or a frame folder.

    Introduced in notebooks/06_model_visualization.ipynb. A video file is read with
    :func:`tsnlib.decoding.open_video` (exact frames, turned upright by its rotation flag, with
    ``backend``); a folder's ``img_*.jpg`` with
    :func:`tsnlib.decoding.read_rgb_frames` (``start_index`` detected when None).
    """
    from tsnlib.decoding import open_video
    from tsnlib.frame_folders import detect_start_index, read_rgb_frames

    path = Path(path)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if path.is_dir():
        start = detect_start_index(path) if start_index is None else int(start_index)
        return read_rgb_frames(path, idx, start_index=start)
    with open_video(path, backend=backend) as reader:
        return reader.get_frames(idx)


def _count_frames(path: Path, modality: str, backend: str = "auto") -> int:
    from tsnlib.decoding import open_video
    from tsnlib.frame_folders import count_frames

    if path.is_dir():
        counts = count_frames(path)
        return int(counts["flow_x"] if modality == "Flow" else counts["img"])
    with open_video(path, backend=backend) as reader:
        return int(reader.num_frames)


@dataclasses.dataclass
class VideoExplanation:
    """What :func:`explain_video` returns: one heatmap per sampled snippet, tied to its frames.

    * ``video``: the path explained; ``display_video``: where the shown RGB frames come from;
      ``modality``; ``num_frames``: frames (flow fields for Flow) the sampler chose from;
    * ``frame_indices``: int64 ``(K, L)``, the 0-based frames (flow fields) each snippet was built
      from, exactly as a :class:`~tsnlib.datasets.TSNDataset` read them;
    * ``display_indices``: int64 ``(K,)``, the RGB frame shown for each snippet: its middle frame
      (``frame_indices[:, L // 2]``; for a flow stack, the frame where its middle field starts);
    * ``frames``: uint8 ``(K, H, W, 3)``, those RGB frames;
    * ``cams``: float32 ``(K, h, w)`` in ``[0, 1]``, the heatmaps over the network input;
    * ``heatmaps``: float32 ``(K, H, W)``, the same mapped back onto the shown frames (0 where unseen);
    * ``region``: ``(top, left, height, width)`` of the shown frame that the input covers;
    * ``view_scores``: float32 ``(K, num_classes)``; ``video_scores``: float32 ``(num_classes,)``
      (the model's consensus); ``target_class``, ``target_layer``, ``method``, ``geometry``.
    """

    video: str
    display_video: str
    modality: str
    num_frames: int
    frame_indices: np.ndarray
    display_indices: np.ndarray
    frames: np.ndarray
    cams: np.ndarray
    heatmaps: np.ndarray
    region: tuple[int, int, int, int]
    view_scores: np.ndarray
    video_scores: np.ndarray
    target_class: int
    target_layer: str
    method: str
    geometry: str

    @property
    def num_segments(self) -> int:
        return int(self.frame_indices.shape[0])


def explain_video(model, video, num_segments: int | None = None, input_size: int = 224, scale_size: int | None = 256,
                  geometry: str = "center", mode: str = "val", target_class: int | None = None,
                  method: str = "gradcam", target_layer: str | None = None, display_video=None,
                  start_index: int | None = None, backend: str = "auto", max_views_per_forward: int = 16,
                  device=None) -> VideoExplanation:
    """Grad-CAM for every sampled snippet of one video, mapped back onto the frames it came from.

    Introduced in notebooks/06_model_visualization.ipynb.

    * ``model``: a :class:`tsnlib.models.TSN`; its ``modality`` and ``clip_len`` decide what is read.
    * ``video``: a video file (RGB, RGBDiff) or a frame folder (any modality; Flow reads the
      ``flow_x/flow_y`` JPEGs of a folder written by ``tsnlib flow``).
    * ``num_segments``: snippets (default: the model's ``num_segments``), sampled by
      :class:`tsnlib.sampling.FrameSampler` in ``mode`` ``"val"`` (segment centres, as validation)
      or ``"test"`` (the test protocol's evenly spaced snippets).
    * ``input_size``, ``scale_size``, ``geometry``: how frames become network inputs
      (:func:`views_transform`, :func:`input_region`); use the config's ``test.input_size`` /
      ``test.scale_size``.
    * ``target_class``, ``method``, ``target_layer``, ``max_views_per_forward``, ``device``: as in
      :func:`view_cams` (default class: the consensus prediction over these snippets).
    * ``display_video``: where to read the RGB frames shown (default: the frames already read for
      RGB / RGBDiff; for Flow the folder's own ``img_*.jpg``). Give the RGB video of a flow folder to
      draw on the original frames: the heatmap is scaled to that frame size.

    The frames are read by a :class:`tsnlib.datasets.TSNDataset` of this one record, with no
    random draw (val/test sampling), so ``frame_indices`` are the ones a test run uses.
    """
    from tsnlib.annotations import VideoRecord
    from tsnlib.datasets import TSNDataset
    from tsnlib.sampling import FrameSampler

    tsn = _tsn(model)
    modality = str(getattr(tsn, "modality", "RGB"))
    clip_len = int(getattr(tsn, "clip_len", 1))
    k = int(num_segments or getattr(tsn, "num_segments", 3))
    path = Path(video)
    if modality == "Flow" and not path.is_dir():
        raise ValueError(f"a Flow model reads flow frame folders (tsnlib flow), not the video file '{path}'")
    record = VideoRecord(path=path, label=-1, num_frames=None, video_id=path.stem, source=None, num_flow_frames=None)
    sampler = FrameSampler(k, clip_len=clip_len, mode=mode)
    ds = TSNDataset([record], sampler, transform=None, modality=modality, source="auto", start_index=start_index,
                    backend=backend)
    item = ds[0]
    raw = item["imgs"]  # uint8 Video (T, C, H, W): the frames the sampler picked, in clip-major order
    idx = item["frame_indices"].numpy().astype(np.int64)  # (K, L), L = clip_len (+1 for RGBDiff)
    views = views_transform(modality, k, clip_len, input_size, scale_size, geometry)(raw)
    vc = view_cams(tsn, views, target_class=target_class, method=method, target_layer=target_layer,
                   max_views_per_forward=max_views_per_forward, device=device)

    col = idx.shape[1] // 2
    display_indices = idx[:, col].copy()
    if display_video is None and modality != "Flow":
        display_video = path
        rows = np.arange(k) * idx.shape[1] + col
        frames = raw.as_subclass(torch.Tensor)[rows].permute(0, 2, 3, 1).contiguous().numpy()
    else:
        display_video = path if display_video is None else Path(display_video)
        frames = read_display_frames(display_video, display_indices,
                                     start_index=start_index if Path(display_video) == path else None, backend=backend)
    src_size = (int(raw.shape[-2]), int(raw.shape[-1]))
    dst_size = (int(frames.shape[1]), int(frames.shape[2]))
    region = input_region(src_size, input_size, scale_size, geometry)
    if dst_size != src_size:
        region = _scale_region(region, src_size, dst_size)
    heatmaps = np.stack([cam_to_frame(c, region, dst_size) for c in vc.cams])
    return VideoExplanation(
        video=str(path), display_video=str(display_video), modality=modality,
        num_frames=_count_frames(path, modality, backend), frame_indices=idx, display_indices=display_indices,
        frames=frames, cams=vc.cams, heatmaps=heatmaps, region=tuple(int(v) for v in region),
        view_scores=vc.view_scores, video_scores=vc.video_scores, target_class=vc.target_class,
        target_layer=vc.target_layer, method=vc.method, geometry=geometry,
    )


def cam_box_scores(model, videos: Sequence, targets: Sequence[int] | None = None, truth_videos: Sequence | None = None,
                   num_segments: int | None = None, input_size: int = 224, scale_size: int | None = 256,
                   geometry: str = "full", method: str = "gradcam", target_layer: str | None = None,
                   max_views_per_forward: int = 16, device=None) -> dict:
    """Heatmap mass inside the synthetic actor's box, per sampled frame of many videos.

    Introduced in notebooks/06_model_visualization.ipynb.

    For every video, :func:`explain_video` (``mode="val"``: the K segment centres) gives one heatmap
    per snippet on the RGB frame where the snippet sits; the actor's box at that frame comes from
    the generator's truth (:func:`tsnlib.synthetic.load_truth` of ``truth_videos[i]``, default the
    video itself: for a flow folder pass the RGB video it was extracted from); frames whose box is
    empty (the actor off-screen) or outside the seen region are skipped. ``targets``: the class
    explained per video (e.g. the true labels; default: each video's predicted class).

    Returns ``{"mass", "uniform"}`` float64 arrays ``(n,)`` over the kept frames
    (:func:`cam_mass_in_box`), ``"video"`` (index into ``videos``) and ``"frame"`` (frame index) int64
    ``(n,)``, ``"skipped"``: the number of frames left out, of which ``"no_heat"`` had a visible actor
    but an all-zero heatmap (no positive evidence for the class anywhere: nothing to locate).
    """
    from tsnlib.synthetic import load_truth

    videos = list(videos)
    truth_videos = list(truth_videos) if truth_videos is not None else videos
    if len(truth_videos) != len(videos) or (targets is not None and len(targets) != len(videos)):
        raise ValueError("videos, truth_videos and targets must have the same length")
    mass, uniform, vids, frames = [], [], [], []
    skipped = no_heat = 0
    for i, (video, truth_video) in enumerate(zip(videos, truth_videos)):
        truth = load_truth(truth_video)
        expl = explain_video(model, video, num_segments=num_segments, input_size=input_size, scale_size=scale_size,
                             geometry=geometry, mode="val", target_class=None if targets is None else int(targets[i]),
                             method=method, target_layer=target_layer, display_video=truth_video,
                             max_views_per_forward=max_views_per_forward, device=device)
        for k, t in enumerate(expl.display_indices):
            box = truth["boxes"][int(t)]
            m, u = (float("nan"), float("nan")) if box_is_empty(box) else cam_mass_in_box(expl.heatmaps[k], box, expl.region)
            if math.isnan(m):
                skipped += 1
                no_heat += int(not box_is_empty(box) and not expl.heatmaps[k].any())
                continue
            mass.append(m)
            uniform.append(u)
            vids.append(i)
            frames.append(int(t))
    return {"mass": np.asarray(mass, np.float64), "uniform": np.asarray(uniform, np.float64),
            "video": np.asarray(vids, np.int64), "frame": np.asarray(frames, np.int64), "skipped": skipped,
            "no_heat": no_heat}


def plot_mass_vs_share(results: dict, colors: dict | None = None, title: str | None = None):
    """Heatmap mass in the box against the box's share of the frame, one point per frame; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb. ``results``: ``{stream name: the dict of
    :func:`cam_box_scores`}``; ``colors``: ``{stream name: colour}`` (default:
    :data:`tsnlib.plotting.STREAM_COLORS` by lower-case name). Points above the diagonal are frames
    where the map concentrates on the actor more than a uniform map would; the legend gives the means.
    """
    import matplotlib.pyplot as plt

    from tsnlib.plotting import STREAM_COLORS

    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    top = 0.05
    for name, r in results.items():
        col = (colors or {}).get(name, STREAM_COLORS.get(str(name).lower(), None))
        ax.scatter(r["uniform"], r["mass"], s=12, alpha=0.6, color=col,
                   label=f"{name}: mass {np.mean(r['mass']):.2f} vs share {np.mean(r['uniform']):.2f} "
                         f"({len(r['mass'])} frames)")
        if len(r["mass"]):
            top = max(top, float(np.max(r["mass"])), float(np.max(r["uniform"])))
    top = min(1.0, top * 1.05)
    ax.plot([0, top], [0, top], color="0.4", ls="--", lw=1, label="uniform heatmap")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("box share of the seen frame (uniform heatmap)")
    ax.set_ylabel("heatmap mass inside the box")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(title or "does the heatmap sit on the actor?")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Pictures of heatmaps and scores
# ----------------------------------------------------------------------------------------------


def overlay_heatmap(frame: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5,
                    region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A heatmap blended over an RGB frame: uint8 ``(H, W, 3)``.

    Introduced in notebooks/06_model_visualization.ipynb. ``frame``: uint8 ``(H, W, 3)`` RGB;
    ``heatmap``: ``(H, W)`` in ``[0, 1]``, coloured with OpenCV's JET map (blue = low, red = high)
    and blended as ``(1 - alpha) * frame + alpha * colour``. Pixels outside ``region`` (``(top, left,
    height, width)``: the part the network saw) are shown darkened and uncoloured.
    """
    cv2 = _cv2()
    frame = np.asarray(frame)
    heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or heat.shape != frame.shape[:2]:
        raise ValueError(f"expected a uint8 (H, W, 3) frame and an (H, W) heatmap, got {frame.shape} {frame.dtype} "
                         f"and {heat.shape}")
    colour = cv2.cvtColor(cv2.applyColorMap(np.uint8(np.round(heat * 255)), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    out = (1.0 - alpha) * frame.astype(np.float32) + alpha * colour.astype(np.float32)
    if region is not None:
        top, left, h, w = region
        mask = np.zeros(heat.shape, bool)
        mask[top:top + h, left:left + w] = True
        out[~mask] = 0.45 * frame[~mask].astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _name(class_names, c: int) -> str:
    return str(class_names[c]) if class_names is not None else f"class {c}"


def plot_segment_cams(expl: VideoExplanation, class_names: Sequence[str] | None = None, boxes=None,
                      alpha: float = 0.5, max_columns: int = 8, title: str | None = None):
    """One overlay per sampled snippet, titled with its frame index and scores; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb. ``boxes``: optional ``(T, 4)`` boxes per
    frame (the synthetic truth), drawn in green at each shown frame (skipped when empty). The
    region the network saw is outlined (dashed) when it is not the whole frame. Each title gives the
    snippet's frame(s), the explained class's score in that snippet and the snippet's own top class.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    k = expl.num_segments
    cols = min(k, int(max_columns))
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.3 * rows * expl.frames.shape[1] / expl.frames.shape[2] + 0.9),
                             squeeze=False)
    c = expl.target_class
    top, left, h, w = expl.region
    full = (top, left, h, w) == (0, 0, expl.frames.shape[1], expl.frames.shape[2])
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= k:
            continue
        ax.imshow(overlay_heatmap(expl.frames[i], expl.heatmaps[i], alpha, None if full else expl.region))
        if not full:
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, ec="white", ls="--", lw=1))
        t = int(expl.display_indices[i])
        if boxes is not None and t < len(boxes) and not box_is_empty(boxes[t]):
            x0, y0, x1, y1 = (int(v) for v in boxes[t])
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="lime", lw=1.2))
        fi = expl.frame_indices[i]
        span = f"frame {int(fi[0])}" if len(fi) == 1 else f"frames {int(fi[0])}–{int(fi[-1])}"
        own = int(np.argmax(expl.view_scores[i]))
        ax.set_title(f"snippet {i + 1}: {span}\nscore {expl.view_scores[i, c]:.2f} · top {_name(class_names, own)}",
                     fontsize=8)
    fig.suptitle(title or f"{expl.method} for '{_name(class_names, c)}' ({expl.modality}, {expl.target_layer})",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_score_timeline(view_scores, frame_indices, num_frames: int, class_names: Sequence[str] | None = None,
                        classes: Sequence[int] | None = None, topk: int = 3, consensus=None, event_span=None,
                        color_of: dict | None = None, title: str | None = None):
    """Each snippet's class scores along the video, with the consensus on top; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb.

    ``view_scores``: ``(K, num_classes)`` per-snippet scores (logits); ``frame_indices``: ``(K, L)``
    (each snippet is placed at the mean of its frames); ``num_frames``: the video's length.
    ``consensus``: the video scores (default: the mean over snippets, TSN's average consensus).
    ``classes``: which classes to draw (default: the ``topk`` of the consensus). Each class is a
    line through its snippet scores and a dashed horizontal line at its consensus score: the class
    with the highest dashed line is the decision, however the individual snippets vote.
    ``event_span``: ``(start, end)`` frames (inclusive) to shade, e.g. the synthetic truth's event.
    """
    import matplotlib.pyplot as plt

    s = np.asarray(view_scores, dtype=np.float64)
    pos = np.asarray(frame_indices, dtype=np.float64).reshape(s.shape[0], -1).mean(1)
    cons = s.mean(0) if consensus is None else np.asarray(consensus, dtype=np.float64)
    if classes is None:
        classes = list(np.argsort(-cons, kind="stable")[: max(1, int(topk))])
    order = np.argsort(pos, kind="stable")
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    if event_span is not None and int(event_span[0]) >= 0:
        ax.axvspan(int(event_span[0]) - 0.5, int(event_span[1]) + 0.5, color="0.85", zorder=0, label="event (truth)")
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, c in enumerate(classes):
        col = (color_of or {}).get(int(c), palette[j % len(palette)])
        ax.plot(pos[order], s[order, c], marker="o", ms=4, color=col, label=f"{_name(class_names, int(c))}")
        ax.hlines(cons[c], 0, max(int(num_frames) - 1, 1), colors=col, linestyles="--", lw=1.4)
        ax.annotate(f"consensus {cons[c]:.2f}", (max(int(num_frames) - 1, 1), cons[c]), fontsize=7, color=col,
                    xytext=(2, 2), textcoords="offset points", ha="right")
    ax.set_xlim(-0.5, max(int(num_frames) - 0.5, 1))
    ax.set_xlabel("frame index (snippet position)")
    ax.set_ylabel("class score (logit)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    winner = int(np.argmax(cons))
    ax.set_title(title or f"{s.shape[0]} snippets; the consensus decides '{_name(class_names, winner)}'")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Class models (paper §5, DeepDraw-style)
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ClassModels:
    """What :func:`class_model_visualization` returns.

    * ``inputs``: float32 ``(B, C, H, W)``, one optimised network input per class (normalised
      space: RGB as after ImageNet normalisation, Flow as ``(q - 128) / 128``);
    * ``classes``: the ``B`` classes;
    * ``score_start`` / ``score_end``: float32 ``(B,)``, each class's score (logit) for the initial
      noise and for the final input, both unshifted: the ascent should raise it;
    * ``score_history``: float32 ``(steps, B)``, the score at each step's jittered input;
    * ``modality``, ``clip_len``.
    """

    inputs: torch.Tensor
    classes: list
    score_start: np.ndarray
    score_end: np.ndarray
    score_history: np.ndarray
    modality: str
    clip_len: int


def _input_bounds(modality: str, clip_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(low, high)`` of valid network inputs, shapes ``(C, 1, 1)``."""
    from tsnlib.transforms import IMAGENET_MEAN, IMAGENET_STD

    if modality == "RGB":
        m, s = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        lo, hi = (-m / s).repeat(clip_len), ((1 - m) / s).repeat(clip_len)
    elif modality == "Flow":
        lo, hi = torch.full((2 * clip_len,), -1.0), torch.full((2 * clip_len,), 127.0 / 128.0)
    else:
        lo, hi = torch.full((3 * clip_len,), -1.0), torch.full((3 * clip_len,), 1.0)
    return lo.view(-1, 1, 1), hi.view(-1, 1, 1)


def class_model_visualization(model, classes: int | Sequence[int], steps: int = 200, input_size: int = 112,
                              lr: float = 0.05, jitter: int | None = None, blur_every: int = 4, blur_sigma: float = 0.5,
                              decay: float = 0.01, seed: int = 0, device=None) -> ClassModels:
    """The paper's class models: inputs that maximise one class score each, by gradient ascent.

    Introduced in notebooks/06_model_visualization.ipynb (TSN paper §5, which used the DeepDraw
    toolbox; regularisers as in Yosinski et al. 2015, "Understanding neural networks through deep
    visualization").

    Starting from small seeded noise ``x`` (one input ``(C, input_size, input_size)`` per class, all
    optimised together as one batch, independent since the model is in eval mode), each step

    1. shifts ``x`` by a random ``(dy, dx)`` in ``[-jitter, jitter]`` (circularly) — *jitter*, so the
       image does not exploit one pixel grid (default ``input_size // 32``: 3 px at 112);
    2. computes the class score ``y_c = forward_views(x)[c]`` and its gradient ``g`` with respect to
       the input, and takes a normalised ascent step ``x += lr * g / mean|g|``;
    3. shifts back, multiplies ``x`` by ``1 - decay`` — *L2 decay*, pulling it towards the mean
       image (0 after normalisation) so only what raises the score survives;
    4. every ``blur_every`` steps blurs ``x`` with a Gaussian of ``blur_sigma`` pixels — *blur*,
       which suppresses the high frequencies gradient ascent otherwise fills the image with;
    5. clips ``x`` to the range of real inputs (RGB in ``[0, 1]`` before normalisation, flow in the
       quantised range).

    Deterministic for a given ``seed``. The model's parameters are not changed and get no
    gradients. Returns :class:`ClassModels`. RGB results are shown with :func:`input_to_rgb`, flow
    results as colour-wheel images with :func:`flow_input_to_color`.
    """
    from torchvision.transforms.v2 import functional as F

    tsn = _tsn(model)
    if device is not None:
        tsn.to(torch.device(device))
    device = _model_device(tsn)
    classes = [int(classes)] if isinstance(classes, (int, np.integer)) else [int(c) for c in classes]
    modality, clip_len = str(getattr(tsn, "modality", "RGB")), int(getattr(tsn, "clip_len", 1))
    jitter = max(1, int(input_size) // 32) if jitter is None else int(jitter)
    lo, hi = (t.to(device) for t in _input_bounds(modality, clip_len))
    gen = torch.Generator().manual_seed(int(seed))
    c_in = int(getattr(tsn, "in_channels", lo.shape[0]))
    x = (0.05 * torch.randn(len(classes), c_in, int(input_size), int(input_size), generator=gen)).to(device)
    x = torch.maximum(torch.minimum(x, hi), lo)
    target = torch.tensor(classes, device=device)
    kernel = max(3, 2 * int(math.ceil(3 * float(blur_sigma))) + 1)
    was_training = tsn.training
    flags = [(p, p.requires_grad) for p in tsn.parameters()]

    def score(inputs):
        with torch.no_grad():
            return tsn.forward_views(inputs).gather(1, target[:, None]).squeeze(1).float().cpu().numpy()

    history = []
    tsn.eval()
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        start = score(x)
        for step in range(int(steps)):
            dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen)) if jitter else (0, 0)
            xj = torch.roll(x, shifts=(dy, dx), dims=(2, 3)).requires_grad_(True)
            with torch.enable_grad():
                scores = tsn.forward_views(xj).gather(1, target[:, None]).squeeze(1)
                (grad,) = torch.autograd.grad(scores.sum(), xj)
            history.append(scores.detach().float().cpu().numpy())
            grad = grad / (grad.abs().mean(dim=(1, 2, 3), keepdim=True) + 1e-12)
            x = torch.roll(xj.detach() + float(lr) * grad, shifts=(-dy, -dx), dims=(2, 3))
            x = x * (1.0 - float(decay))
            if blur_every and (step + 1) % int(blur_every) == 0 and blur_sigma > 0:
                x = F.gaussian_blur(x, [kernel, kernel], [float(blur_sigma), float(blur_sigma)])
            x = torch.maximum(torch.minimum(x, hi), lo)
        end = score(x)
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        tsn.train(was_training)
    hist = np.stack(history).astype(np.float32) if history else np.zeros((0, len(classes)), np.float32)
    return ClassModels(inputs=x.detach().cpu(), classes=classes, score_start=start.astype(np.float32),
                       score_end=end.astype(np.float32), score_history=hist, modality=modality, clip_len=clip_len)


def input_to_rgb(x: torch.Tensor, frame: int = 0, stretch: bool = True) -> np.ndarray:
    """A normalised RGB network input ``(3 * L, H, W)`` as a picture: uint8 ``(H, W, 3)``.

    Introduced in notebooks/06_model_visualization.ipynb. Undoes the ImageNet normalisation of
    frame ``frame`` of the stack. ``stretch=True`` maps the 1st-99th percentile of the values to the
    full range (class models are faint otherwise).
    """
    from tsnlib.transforms import IMAGENET_MEAN, IMAGENET_STD

    x = torch.as_tensor(x).detach().float().cpu()
    rgb = x[3 * frame:3 * frame + 3] * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    img = rgb.permute(1, 2, 0).numpy()
    if stretch:
        lo, hi = np.percentile(img, 1), np.percentile(img, 99)
        img = (img - lo) / max(hi - lo, 1e-8)
    return np.uint8(np.round(np.clip(img, 0, 1) * 255))


def flow_input_to_color(x: torch.Tensor, field: int | str = "mean", bound: float = 20.0) -> np.ndarray:
    """A normalised flow network input ``(2 * L, H, W)`` as a colour-wheel image, uint8 ``(H, W, 3)``.

    Introduced in notebooks/06_model_visualization.ipynb. Channels are ``[x_1, y_1, x_2, y_2, ...]``
    with values ``(q - 128) / 128``, i.e. the flow in units of ``bound`` pixels; ``field`` picks one
    field of the stack or ``"mean"`` their average. Drawn by :func:`tsnlib.flow.flow_to_color`: hue =
    direction, saturation = speed (scaled to the fastest pixel of this picture).
    """
    from tsnlib.flow import flow_to_color

    x = torch.as_tensor(x).detach().float().cpu()
    if x.ndim != 3 or x.shape[0] % 2:
        raise ValueError(f"expected a flow input (2 * L, H, W), got {tuple(x.shape)}")
    fields = x.reshape(-1, 2, *x.shape[1:])
    f = fields.mean(0) if field == "mean" else fields[int(field)]
    return flow_to_color(f.permute(1, 2, 0).numpy() * float(bound))


def plot_class_models(result: ClassModels, class_names: Sequence[str] | None = None, max_columns: int = 6,
                      title: str | None = None):
    """A grid of class models (RGB pictures or flow colour wheels) with their score gains; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb.
    """
    import matplotlib.pyplot as plt

    n = len(result.classes)
    cols = min(n, int(max_columns))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.7 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        x = result.inputs[i]
        img = flow_input_to_color(x) if result.modality == "Flow" else input_to_rgb(x)
        ax.imshow(img)
        s0, s1 = result.score_start[i], result.score_end[i]
        ax.set_title(f"{_name(class_names, result.classes[i])}\nscore {s0:.1f} → {s1:.1f}", fontsize=8)
    fig.suptitle(title or f"class models of the {result.modality} network", fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Embeddings
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class VideoEmbeddings:
    """What :func:`video_embeddings` returns, one row per video.

    ``features`` float32 ``(N, D)`` (pooled backbone features averaged over the views),
    ``scores`` float32 ``(N, num_classes)`` (the model's consensus), ``labels`` int64 ``(N,)``,
    ``video_ids``, ``paths`` (lists of N), ``frame_indices`` int64 ``(N, K, L)``.
    """

    features: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    video_ids: list
    paths: list
    frame_indices: np.ndarray


def video_embeddings(model, dataset, batch_size: int = 4, num_workers: int = 0, max_views_per_forward: int = 64,
                     device=None) -> VideoEmbeddings:
    """The feature vector of every video of a dataset (what the classifier sees), plus its scores.

    Introduced in notebooks/06_model_visualization.ipynb.

    ``dataset``: a :class:`tsnlib.datasets.TSNDataset` with a deterministic sampler and transform
    (e.g. the ``val`` dataset of :func:`tsnlib.experiment.build_datasets`: K segment centres, one
    centre crop), items ``imgs`` ``(V, C, H, W)``. Each view goes through
    :meth:`tsnlib.models.TSN.features` (backbone and global pooling, before dropout and classifier),
    at most ``max_views_per_forward`` views per call; a video's embedding is the mean over its views
    ``(D,)``. Scores are the classifier applied to each view's features, reduced by the model's
    consensus (equal to ``model(imgs)`` in eval mode). Runs under ``torch.inference_mode`` in eval
    mode (restored afterwards).
    """
    from torch.utils.data import DataLoader

    tsn = _tsn(model)
    if device is not None:
        tsn.to(torch.device(device))
    device = _model_device(tsn)
    loader = DataLoader(dataset, batch_size=int(batch_size), shuffle=False, num_workers=int(num_workers))
    records = getattr(dataset, "records", None)
    feats, scores, labels, ids, paths, frames = [], [], [], [], [], []
    was_training = tsn.training
    tsn.eval()
    try:
        with torch.inference_mode():
            for batch in loader:
                imgs = batch["imgs"]
                b, v = imgs.shape[:2]
                per_call = max(1, int(max_views_per_forward) // max(v, 1))
                f = torch.cat([tsn.features(imgs[i:i + per_call].to(device)).float().cpu()
                               for i in range(0, b, per_call)])  # (B, V, D)
                view_scores = tsn.fc(f.to(device)).float()  # (B, V, C): forward_views without dropout
                scores.append(_consensus_batch(tsn, view_scores).cpu().numpy())
                feats.append(f.mean(1).numpy())
                labels.extend(int(x) for x in batch["label"])
                frames.append(batch["frame_indices"].numpy())
                for i in batch["index"].tolist():
                    rec = records[int(i)] if records is not None else None
                    ids.append(str(getattr(rec, "video_id", i)))
                    paths.append(str(getattr(rec, "path", "")))
    finally:
        tsn.train(was_training)
    return VideoEmbeddings(features=np.concatenate(feats).astype(np.float32), scores=np.concatenate(scores).astype(np.float32),
                           labels=np.asarray(labels, np.int64), video_ids=ids, paths=paths,
                           frame_indices=np.concatenate(frames).astype(np.int64))


def _consensus_batch(tsn, view_scores: torch.Tensor) -> torch.Tensor:
    consensus = getattr(tsn, "consensus", None)
    return consensus(view_scores) if consensus is not None else view_scores.mean(1)


def tsne_2d(features: np.ndarray, seed: int = 0, perplexity: float | None = None) -> np.ndarray:
    """A 2-D t-SNE map of feature vectors ``(N, D)`` → ``(N, 2)`` (scikit-learn, PCA init, seeded).

    Introduced in notebooks/06_model_visualization.ipynb. ``perplexity`` (roughly the number of
    neighbours each point keeps close) defaults to ``min(30, (N - 1) / 3)``, since it must stay below
    ``N``. t-SNE keeps neighbourhoods, not distances: the size of a cluster and the gap between two
    clusters carry no meaning.
    """
    from sklearn.manifold import TSNE

    x = np.asarray(features, dtype=np.float32)
    n = x.shape[0]
    if n < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {n}")
    p = float(perplexity) if perplexity is not None else min(30.0, (n - 1) / 3.0)
    p = min(max(p, 1.0), n - 1.0)
    return TSNE(n_components=2, perplexity=p, init="pca", learning_rate="auto", random_state=int(seed)).fit_transform(x)


def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Leave-one-out k-nearest-neighbour accuracy in feature space (cosine similarity, majority vote).

    Introduced in notebooks/06_model_visualization.ipynb: a number for "are videos of one class
    close together?", measured on the features themselves rather than on a 2-D picture of them.
    Ties in the vote go to the nearest neighbour's class.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    if len(x) < 2:
        raise ValueError("knn_accuracy needs at least 2 points")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    k = max(1, min(int(k), len(x) - 1))
    nn_idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    correct = 0
    for i, row in enumerate(nn_idx):
        votes = np.bincount(y[row], minlength=y.max() + 1)
        best = np.flatnonzero(votes == votes.max())
        pred = y[row[0]] if y[row[0]] in best else best[0]
        correct += int(pred == y[i])
    return correct / len(x)


def plot_embedding(xy: np.ndarray, labels: np.ndarray, class_names: Sequence[str] | None = None,
                   groups: dict | None = None, title: str | None = None):
    """A scatter plot of a 2-D embedding, one colour per class (and one marker per class group).

    Introduced in notebooks/06_model_visualization.ipynb. ``groups``: optional ``{group: [class
    names]}`` (e.g. :data:`tsnlib.synthetic.CLASS_GROUPS`): classes of one group share a marker.
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    xy = np.asarray(xy, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    markers = ["o", "^", "s", "D", "v", "P", "X"]
    group_of = {}
    for gi, (g, names) in enumerate((groups or {}).items()):
        for n in names:
            group_of[n] = (g, markers[gi % len(markers)])
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(7.0, 5.0))
    for c in np.unique(labels):
        name = _name(class_names, int(c))
        _, marker = group_of.get(name, (None, "o"))
        sel = labels == c
        ax.scatter(xy[sel, 0], xy[sel, 1], s=28, color=cmap(int(c) % 20), marker=marker, label=name,
                   edgecolors="k", linewidths=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), ncol=1)
    ax.set_title(title or "video embeddings (t-SNE)")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Mistakes
# ----------------------------------------------------------------------------------------------


def misclassified(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of the videos whose top-1 class is wrong, most confident mistakes first.

    Introduced in notebooks/06_model_visualization.ipynb. ``scores``: ``(N, num_classes)``;
    ``labels``: ``(N,)``. Ordered by the softmax probability of the wrong prediction, descending.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    pred = scores.argmax(1)
    wrong = np.flatnonzero(pred != labels)
    conf = softmax(scores)[wrong, pred[wrong]]
    return wrong[np.argsort(-conf, kind="stable")]


def plot_misclassified(paths: Sequence, frame_indices: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                       class_names: Sequence[str], max_videos: int = 6, topk: int = 3, max_frames: int = 5,
                       title: str | None = None):
    """A gallery of misclassified videos: their sampled frames and top-k scores; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb. ``paths``: each video's file or RGB frame
    folder; ``frame_indices``: ``(N, K, L)`` the frames each snippet was built from (the middle one
    of each snippet is shown, at most ``max_frames``); ``scores``: ``(N, num_classes)`` video
    scores; ``labels``: ``(N,)``. The ``max_videos`` most confident mistakes (:func:`misclassified`)
    get one row each: frames, then a bar chart of the top-``topk`` probabilities (softmax of the
    scores) with the true class in green. A figure that says "no mistakes" is returned when there
    are none.
    """
    import matplotlib.pyplot as plt

    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    frame_indices = np.asarray(frame_indices).astype(np.int64)
    rows = misclassified(scores, labels)[: int(max_videos)]
    if len(rows) == 0:
        fig, ax = plt.subplots(figsize=(5, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified videos", ha="center", va="center")
        return fig
    k = min(frame_indices.shape[1], int(max_frames))
    probs = softmax(scores)
    fig, axes = plt.subplots(len(rows), k + 1, figsize=(1.9 * k + 3.2, 1.7 * len(rows) + 0.5), squeeze=False,
                             gridspec_kw={"width_ratios": [1] * k + [1.6]})
    for r, i in enumerate(rows):
        pick = np.linspace(0, frame_indices.shape[1] - 1, k).round().astype(int)
        shown = frame_indices[i][pick, frame_indices.shape[2] // 2]
        frames = read_display_frames(paths[i], shown)
        for j in range(k):
            ax = axes[r, j]
            ax.imshow(frames[j])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            ax.set_title(f"frame {int(shown[j])}", fontsize=7)
            if j == 0:
                ax.set_ylabel(Path(str(paths[i])).stem[:22], fontsize=7)
        ax = axes[r, k]
        top = np.argsort(-probs[i], kind="stable")[: int(topk)]
        colours = ["tab:green" if c == labels[i] else "tab:red" for c in top]
        ax.barh(range(len(top))[::-1], probs[i, top], color=colours)
        ax.set_yticks(range(len(top))[::-1])
        ax.set_yticklabels([_name(class_names, int(c)) for c in top], fontsize=7)
        ax.set_xlim(0, 1)
        ax.tick_params(axis="x", labelsize=6)
        ax.set_title(f"true: {_name(class_names, int(labels[i]))}", fontsize=8, color="tab:green")
    fig.suptitle(title or f"{len(misclassified(scores, labels))} misclassified videos; the most confident first",
                 fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Videos
# ----------------------------------------------------------------------------------------------


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad a frame by one replicated row/column where needed so both sides are even (yuv420p needs it)."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def _frame_times(times: Sequence[float], n: int) -> list[float]:
    """The first ``n`` of ``times`` as floats; ValueError when there are fewer."""
    out = [float(t) for t in list(times)[:n]]
    if len(out) < n:
        raise ValueError(f"write_video: {len(out)} times for {n} frames")
    return out


def write_video(frames: Iterable[np.ndarray], path, fps: float = 25.0, times: Sequence[float] | None = None) -> int:
    """Write RGB frames (uint8 ``(H, W, 3)``, all the same size) to ``.mp4`` or ``.gif``; returns the count.

    Introduced in notebooks/06_model_visualization.ipynb (``tsnlib predict --out``).

    ``times``: when each frame is shown, in seconds (e.g. :func:`tsnlib.decoding.frame_times` of a
    variable-frame-rate source), at least one per frame; default: every ``1 / fps`` seconds.

    * ``.mp4``: PyAV, H.264 (``libx264``; MPEG-4 Part 2 when that encoder is missing), ``yuv420p``
      (plays everywhere), odd sides padded by one pixel;
    * ``.gif``: Pillow, an adaptive palette per frame, looping forever, ``1000 / fps`` ms per frame
      (GIF counts in 10 ms steps). Pillow merges identical consecutive frames into one longer frame
      (the playback is the same).

    The file appears atomically (written under a temporary name, then renamed).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".mp4", ".gif"):
        raise ValueError(f"write_video writes .mp4 or .gif files, got '{path.name}'")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{ext}")
    n = 0
    try:
        if ext == ".gif":
            from PIL import Image

            images = [Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8)) for f in frames]
            if not images:
                raise ValueError("write_video: no frames to write")
            n = len(images)
            step = 1000.0 / float(fps)
            if times is None:
                duration = max(20, int(round(step)))
            else:
                ms = [1000.0 * float(t) for t in _frame_times(times, n)]
                duration = [max(20, int(round(b - a))) for a, b in zip(ms, ms[1:] + [ms[-1] + step])]
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
        else:
            import av

            codec = "libx264"
            try:
                av.codec.Codec(codec, "w")
            except Exception:  # noqa: BLE001 - an FFmpeg build without x264
                codec = "mpeg4"
            rate = Fraction(float(fps)).limit_denominator(1001)
            tick = Fraction(1, 1000) if times is not None else 1 / rate  # millisecond timestamps for given times
            shown = iter(times) if times is not None else None
            with av.open(str(tmp), mode="w", format="mp4") as container:
                stream = None
                for frame in frames:
                    frame = _even(np.ascontiguousarray(frame, dtype=np.uint8))
                    if stream is None:
                        stream = container.add_stream(codec, rate=rate)
                        stream.width, stream.height = frame.shape[1], frame.shape[0]
                        stream.pix_fmt = "yuv420p"
                        stream.codec_context.time_base = tick
                    out = av.VideoFrame.from_ndarray(frame, format="rgb24")
                    if shown is not None:
                        t = next(shown, None)
                        if t is None:
                            raise ValueError(f"write_video: {len(times)} times for more frames")
                        out.pts, out.time_base = int(round(float(t) / tick)), tick
                    else:
                        out.pts, out.time_base = n, tick
                    for packet in stream.encode(out):
                        container.mux(packet)
                    n += 1
                if stream is None:
                    raise ValueError("write_video: no frames to write")
                for packet in stream.encode():
                    container.mux(packet)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def _iter_rgb(path: Path, backend: str = "auto"):
    """RGB frames of a video file (sequential decode, upright) or of a frame folder's ``img_*.jpg``, in order."""
    from tsnlib.decoding import iter_frames
    from tsnlib.frame_folders import count_frames, detect_start_index, read_rgb_frames

    if path.is_dir():
        start = detect_start_index(path)
        for i in range(count_frames(path)["img"]):
            yield read_rgb_frames(path, [i], start_index=start)[0]
    else:
        yield from iter_frames(path, backend=backend)


def _interpolated_heatmap(expl: VideoExplanation, t: int, order: np.ndarray) -> np.ndarray:
    """The heatmap at frame ``t``: linear in time between the two nearest sampled frames (held at the ends)."""
    d = expl.display_indices[order]
    j = int(np.searchsorted(d, t, side="right"))
    if j == 0:
        return expl.heatmaps[order[0]]
    if j >= len(d):
        return expl.heatmaps[order[-1]]
    a, b = d[j - 1], d[j]
    w = 0.0 if b == a else (t - a) / float(b - a)
    return (1.0 - w) * expl.heatmaps[order[j - 1]] + w * expl.heatmaps[order[j]]


def _annotate(frame: np.ndarray, labels: Sequence[tuple[str, float]], t: int, n: int, sampled: np.ndarray,
              footer: str) -> np.ndarray:
    """The overlaid frame with a side panel of the top labels and a timeline strip under both."""
    cv2 = _cv2()
    h, w = frame.shape[:2]
    scale = float(np.clip(h / 420.0, 0.32, 0.7))
    line = int(round(26 * scale / 0.5))
    pw = int(max(150, round(300 * scale / 0.5)))
    panel = np.full((h, pw, 3), 24, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    y = line
    cv2.putText(panel, "top-%d" % len(labels), (6, y), font, scale, (200, 200, 200), 1, cv2.LINE_AA)
    for name, p in labels:
        y += line
        if y > h - 4:
            break
        bar = int(round((pw - 12) * float(p)))
        cv2.rectangle(panel, (6, y - line + 6), (6 + bar, y + 2), (60, 90, 160), -1)
        cv2.putText(panel, f"{name[:16]} {p:.2f}", (8, y - 2), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    if y + line < h:
        cv2.putText(panel, footer, (6, h - 6), font, scale * 0.8, (170, 170, 170), 1, cv2.LINE_AA)
    strip_h = max(8, h // 16)
    strip = np.full((strip_h, w + pw, 3), 40, np.uint8)
    span = max(n - 1, 1)
    for s in sampled:
        x = int(round(s / span * (w - 1)))
        cv2.line(strip, (x, 1), (x, strip_h - 2), (255, 200, 0), 1)
    x = int(round(t / span * (w - 1)))
    cv2.rectangle(strip, (max(x - 1, 0), 0), (min(x + 1, w - 1), strip_h - 1), (255, 255, 255), -1)
    cv2.putText(strip, f"{t}", (w + 4, strip_h - 2), font, max(0.25, strip_h / 30.0), (220, 220, 220), 1, cv2.LINE_AA)
    return np.vstack([np.hstack([frame, panel]), strip])


def write_prediction_video(model, video, out, class_names: Sequence[str], predictions=None, num_snippets: int = 8,
                           topk: int = 5, method: str = "gradcam", target_layer: str | None = None,
                           input_size: int = 224, scale_size: int | None = 256, geometry: str = "full",
                           alpha: float = 0.45, fps: float | None = None, max_frames: int | None = None,
                           max_views_per_forward: int = 16, device=None, backend: str = "auto") -> dict:
    """Write ``video`` with the model's top labels and its Grad-CAM heatmap over every frame.

    Introduced in notebooks/06_model_visualization.ipynb; what ``tsnlib predict VIDEO --checkpoint
    CKPT --out OUT.mp4|OUT.gif`` calls.

    * ``model``: an RGB (or RGBDiff) :class:`tsnlib.models.TSN`; ``video``: a video file (or an RGB
      frame folder).
    * ``predictions``: ``[(class name, probability), ...]`` to print (e.g. what
      :func:`tsnlib.evaluation.predict_video` returned with the full test protocol); default: the
      softmax of the consensus over the explained snippets, top ``topk``. The heatmap explains the
      first of them.
    * ``num_snippets``: snippets explained (test sampling: evenly spaced); every other frame's heatmap
      is interpolated linearly in time between the two nearest explained frames.
    * ``geometry``: ``"full"`` (default: the whole frame) or ``"center"`` (the test crop; the rest is
      darkened); ``input_size``, ``scale_size``: the config's ``test.input_size`` /
      ``test.scale_size``.
    * Output frames: the overlaid frame, a panel of the labels on its right, and a timeline strip
      below (yellow ticks: explained frames; white: the current frame). ``fps``: default the
      video's own timing (each frame shown when the source shows it, :func:`tsnlib.decoding.frame_times`,
      so a variable-frame-rate video keeps its duration; the nominal rate when the file has no
      usable timestamps); ``max_frames``: stop early.
    * ``backend``: the video decoder (:func:`tsnlib.decoding.open_video`). Heatmaps and shown frames
      come from the same upright frames (the file's rotation flag is applied to both).

    Returns ``{"path", "frames", "predictions", "target_class", "target_layer", "method",
    "display_indices"}``.
    """
    tsn = _tsn(model)
    if str(getattr(tsn, "modality", "RGB")) == "Flow":
        raise ValueError("write_prediction_video draws on RGB frames: use an RGB (or RGBDiff) checkpoint; a flow "
                         "network's heatmaps can be drawn with explain_video(..., display_video=<the RGB video>)")
    names = list(class_names)
    target = None
    if predictions is not None:
        predictions = [(str(n), float(p)) for n, p in predictions]
        if predictions and predictions[0][0] in names:
            target = names.index(predictions[0][0])
    expl = explain_video(tsn, video, num_segments=num_snippets, input_size=input_size, scale_size=scale_size,
                         geometry=geometry, mode="test", target_class=target, method=method, target_layer=target_layer,
                         max_views_per_forward=max_views_per_forward, device=device, backend=backend)
    if predictions is None:
        probs = softmax(expl.video_scores)
        top = np.argsort(-probs, kind="stable")[: max(1, int(topk))]
        predictions = [(names[int(c)], float(probs[c])) for c in top]
    path = Path(video)
    times = None
    if fps is None:
        fps = 25.0
        if not path.is_dir():
            from tsnlib.decoding import frame_times, open_video

            with open_video(path, backend=backend) as reader:
                fps = float(reader.fps) or 25.0
            times = frame_times(path)
            if times is not None and len(times) != expl.num_frames:
                times = None  # the packets and the decoder disagree: keep the nominal rate
    order = np.argsort(expl.display_indices, kind="stable")
    full = expl.region == (0, 0, expl.frames.shape[1], expl.frames.shape[2])
    footer = f"{expl.method}: {names[expl.target_class][:14]}"

    def frames():
        for t, frame in enumerate(_iter_rgb(path, backend)):
            if max_frames is not None and t >= int(max_frames):
                return
            heat = _interpolated_heatmap(expl, t, order)
            if heat.shape != frame.shape[:2]:
                heat = _cv2().resize(heat, (frame.shape[1], frame.shape[0]), interpolation=_cv2().INTER_LINEAR)
            over = overlay_heatmap(frame, heat, alpha, None if full else expl.region)
            yield _annotate(over, predictions, t, expl.num_frames, expl.display_indices, footer)

    n = write_video(frames(), out, fps=fps, times=times)
    return {"path": str(out), "frames": n, "predictions": predictions, "target_class": expl.target_class,
            "target_layer": expl.target_layer, "method": expl.method,
            "display_indices": expl.display_indices.tolist()}

