"""Grad-CAM on TSN snippets: one class-activation map per view, through the ``grad-cam`` package.

A TSN scores every sampled snippet with the same 2D network and averages the scores, so every
explanation is *per snippet*. Grad-CAM (Selvaraju et al., 2017), for a class score :math:`y^c` of
one view and the feature maps :math:`A^k` (``k`` = channel) of a target layer
(:mod:`tsnlib.visualization.targets`):

    alpha_k = mean_{i,j} dy^c / dA^k_{ij},        L^c = ReLU( sum_k alpha_k A^k ),

upsampled to the network input and scaled to ``[0, 1]`` per view, before and after upsampling
(the package's convention: brightness cannot be compared between snippets; the score timeline
can). The package needs a model that maps a batch of images to class scores: :class:`ViewScorer`
wraps :meth:`tsnlib.models.TSN.forward_views` for that. :func:`view_cams` runs any method the
package offers (:data:`CAM_METHODS`: Grad-CAM, Grad-CAM++, XGrad-CAM, Score-CAM, ...) over many
views in chunks (memory stays bounded), in eval mode, with the model's parameters frozen for the
call (only gradients with respect to activations are computed, and nothing is left in ``.grad``).

``pytorch_grad_cam`` is imported where it is used, not at the top: importing it takes seconds (it
loads SciPy, scikit-learn and matplotlib), and ``tsnlib predict`` reads :data:`CAM_METHODS` to
build its arguments whether or not it draws a heatmap.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from tsnlib.models import unwrap_model
from tsnlib.precision import model_device
from tsnlib.visualization.targets import channels_last_maps, resolve_target_layer


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


def cam_class(method: str):
    """The ``pytorch_grad_cam`` class of a method name in :data:`CAM_METHODS` (case-insensitive).

    Used by :func:`view_cams`. Class names (``"GradCAMPlusPlus"``) are accepted too.
    """
    import pytorch_grad_cam  # seconds to import: see the module's docstring

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
        self.tsn = unwrap_model(model)

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


def video_consensus(model, view_scores: torch.Tensor) -> torch.Tensor:
    """Video scores ``(N, num_classes)`` from view scores ``(N, V, num_classes)``: the model's own consensus.

    A :class:`tsnlib.models.TSN`'s segmental consensus (``model.consensus``); the mean over the
    views for a model without one. Used by :func:`view_cams` and
    :func:`~tsnlib.visualization.embeddings.video_embeddings`.
    """
    consensus = getattr(unwrap_model(model), "consensus", None)
    return consensus(view_scores) if consensus is not None else view_scores.mean(1)


def _nhwc_to_nchw(maps: torch.Tensor) -> torch.Tensor:
    """``(N, h, w, C)`` → ``(N, C, h, w)``: the ``reshape_transform`` Grad-CAM needs for Swin's maps."""
    return maps.permute(0, 3, 1, 2)


def view_cams(model, views: torch.Tensor, target_class: int | None = None, method: str = "gradcam",
              target_layer: str | None = None, max_views_per_forward: int = 16, device=None) -> ViewCams:
    """One class-activation map per view of a TSN, computed by the ``grad-cam`` package.

    Introduced in notebooks/06_model_visualization.ipynb.

    ``views``: float ``(V, C, H, W)``, the network inputs (e.g. a dataset item's ``imgs``: the
    ``K`` snippets of a video, ``C = clip_len * channels``). ``target_class``: the class whose
    score is explained in *every* view; ``None`` = the class the model's consensus over these views
    predicts (the video's decision, not each view's). ``method``: a key of :data:`CAM_METHODS`.
    ``target_layer``: a name (see :func:`~tsnlib.visualization.targets.resolve_target_layer`), default
    the last convolutional block.

    The views go through :class:`ViewScorer` (``forward_views``) at most ``max_views_per_forward``
    at a time, so memory is bounded whatever ``V`` is. The model is put in eval mode (dropout off,
    BatchNorm statistics frozen: deterministic on a CPU) and its parameters are frozen for the call
    (``requires_grad`` restored afterwards); the input carries the gradient instead, so only
    gradients with respect to activations are computed. Each map is ``ReLU``-ed and scaled to
    ``[0, 1]`` on its own by the package. ``device``: where to compute (default: the model's).
    """
    # seconds to import (see the module's docstring); first the package itself, to fail early with its import error
    import pytorch_grad_cam  # noqa: F401
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    tsn = unwrap_model(model)
    views = torch.as_tensor(views)
    if views.ndim != 4 or not views.is_floating_point():
        raise ValueError(f"view_cams expects float views (V, C, H, W), got {tuple(views.shape)} {views.dtype}")
    step = int(max_views_per_forward)
    if step < 1:
        raise ValueError(f"max_views_per_forward must be >= 1, got {max_views_per_forward}")
    if device is not None:
        tsn.to(torch.device(device))
    device = model_device(tsn)
    layer_name, layer = resolve_target_layer(tsn, target_layer)
    cls = cam_class(method)
    scorer = ViewScorer(tsn)
    was_training = tsn.training
    flags = [(p, p.requires_grad) for p in tsn.parameters()]
    tsn.eval()
    try:
        with torch.no_grad():
            scores = torch.cat([scorer(chunk.to(device)).float().cpu() for chunk in views.split(step)])
            video = video_consensus(tsn, scores[None].to(device)).float().cpu()[0]
        if target_class is None:
            target_class = int(video.argmax())
        target_class = int(target_class)
        if not 0 <= target_class < scores.shape[1]:
            raise ValueError(f"target_class {target_class} is not a class of this model (0..{scores.shape[1] - 1})")
        for p, _ in flags:
            p.requires_grad_(False)
        cam = cls(model=scorer, target_layers=[layer],
                  reshape_transform=_nhwc_to_nchw if channels_last_maps(tsn) else None)
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
