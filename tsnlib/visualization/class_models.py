"""The paper's class models (§5): network inputs that maximise one class score each.

:func:`class_model_visualization` runs DeepDraw-style gradient ascent on the input, with jitter,
blur and decay as regularisers; :func:`input_to_rgb` and :func:`flow_input_to_color` turn an
optimised input back into a picture, and :func:`plot_class_models` shows a grid of them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

from tsnlib.flow import flow_to_color
from tsnlib.models import unwrap_model
from tsnlib.plotting import class_label
from tsnlib.precision import model_device
from tsnlib.transforms import IMAGENET_MEAN, IMAGENET_STD


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
    """Per-channel ``(low, high)`` of valid network inputs, shapes ``(C, 1, 1)``.

    RGB: the ImageNet-normalised images of pixels in ``[0, 1]``; Flow: the quantised range
    ``[-1, 127 / 128]``; RGBDiff: ``[-1, 1]``. Used by :func:`class_model_visualization`.
    """
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
    tsn = unwrap_model(model)
    if device is not None:
        tsn.to(torch.device(device))
    device = model_device(tsn)
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

    Used by :func:`plot_class_models`. Undoes the ImageNet normalisation of
    frame ``frame`` of the stack. ``stretch=True`` maps the 1st-99th percentile of the values to the
    full range (class models are faint otherwise).
    """
    x = torch.as_tensor(x).detach().float().cpu()
    rgb = x[3 * frame:3 * frame + 3] * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    img = rgb.permute(1, 2, 0).numpy()
    if stretch:
        lo, hi = np.percentile(img, 1), np.percentile(img, 99)
        img = (img - lo) / max(hi - lo, 1e-8)
    return np.uint8(np.round(np.clip(img, 0, 1) * 255))


def flow_input_to_color(x: torch.Tensor, field: int | str = "mean", bound: float = 20.0) -> np.ndarray:
    """A normalised flow network input ``(2 * L, H, W)`` as a colour-wheel image, uint8 ``(H, W, 3)``.

    Used by :func:`plot_class_models`. Channels are ``[x_1, y_1, x_2, y_2, ...]``
    with values ``(q - 128) / 128``, i.e. the flow in units of ``bound`` pixels; ``field`` picks one
    field of the stack or ``"mean"`` their average. Drawn by :func:`tsnlib.flow.flow_to_color`: hue =
    direction, saturation = speed (scaled to the fastest pixel of this picture).
    """
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
        ax.set_title(f"{class_label(class_names, result.classes[i])}\nscore {s0:.1f} → {s1:.1f}", fontsize=8)
    fig.suptitle(title or f"class models of the {result.modality} network", fontsize=10)
    fig.tight_layout()
    return fig
