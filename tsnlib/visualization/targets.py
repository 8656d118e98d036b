"""Target layers: where in a backbone Grad-CAM looks.

A class-activation map is computed from the feature maps of one layer. Later layers see larger
parts of the frame and more abstract features but have coarser maps. :func:`candidate_target_layers`
lists the blocks of a backbone with the shape of their maps (found by tracing one zero input),
:func:`default_target_layer` picks the usual choice, the last convolutional block, and
:func:`resolve_target_layer` turns a name (or ``None``) into the module. Names are relative to the
:class:`tsnlib.models.TSN` (``"backbone.layer4.1"``), whatever wraps it (DDP, DataParallel,
``torch.compile``: :func:`tsnlib.models.unwrap_model`).
"""

from __future__ import annotations

import torch
from torch import nn

from tsnlib.models import unwrap_model
from tsnlib.precision import model_device


def _search_root(model) -> tuple[nn.Module, str]:
    """Where target layers are searched (a TSN's backbone) and the name prefix that reaches it."""
    tsn = unwrap_model(model)
    backbone = getattr(tsn, "backbone", None)
    if isinstance(backbone, nn.Module):
        return backbone, "backbone."
    return tsn, ""


def channels_last_maps(model) -> bool:
    """Whether the backbone's blocks output ``(N, h, w, C)`` maps (timm's Swin: ``output_fmt == "NHWC"``).

    Used by :func:`candidate_target_layers` and :func:`~tsnlib.visualization.cam.view_cams`, which
    permutes such maps to ``(N, C, h, w)`` for Grad-CAM.
    """
    root, _ = _search_root(model)
    return str(getattr(root, "output_fmt", "NCHW")).upper() == "NHWC"


def _in_channels(model, root: nn.Module) -> int:
    c = getattr(unwrap_model(model), "in_channels", None)
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
    tsn = unwrap_model(model)
    was_training = tsn.training
    tsn.eval()
    try:
        height, width = getattr(tsn, "fixed_input_size", None) or (int(input_size), int(input_size))
        x = torch.zeros(1, _in_channels(model, root), height, width, device=model_device(root))
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
    order = (2, 0, 1) if channels_last_maps(model) else (0, 1, 2)
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
        raise ValueError(f"{type(unwrap_model(model)).__name__} has no block that outputs a feature map (N, C, h, w)")
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
    tsn = unwrap_model(model)
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
