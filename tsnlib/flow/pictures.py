"""Pictures of optical flow: the colour wheel, and one pair's frames beside its flow JPEGs.

Part of :mod:`tsnlib.flow`, which notebooks/04_optical_flow_stream.ipynb introduces
(as ``flow.<name>``).
"""

from __future__ import annotations

import numpy as np

from tsnlib.flow.quantization import DEFAULT_BOUND, quantize_flow


def flow_to_color(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-wheel picture of flow: float ``(H, W, 2)`` (pixels) -> uint8 ``(H, W, 3)`` RGB.

    Hue is the direction, saturation the speed (white = no motion), the Middlebury colour wheel of
    ``torchvision.utils.flow_to_image``. By default the fastest pixel of *this* frame gets full
    colour (torchvision's normalisation), which makes noise in a still frame look like motion; pass
    ``max_magnitude`` (pixels, e.g. the quantisation bound 20) to use one fixed scale for a whole
    video: speeds above it are clipped.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    import torch  # noqa: PLC0415 - heavy: loaded when a picture is drawn, never by extraction workers
    from torchvision.utils import flow_to_image  # noqa: PLC0415

    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"expected flow (H, W, 2), got {flow.shape}")
    t = torch.from_numpy(np.ascontiguousarray(flow)).permute(2, 0, 1)
    if max_magnitude is not None:
        if max_magnitude <= 0:
            raise ValueError("max_magnitude must be positive")
        mag = torch.linalg.vector_norm(t, dim=0, keepdim=True)
        t = t * torch.clamp(max_magnitude / torch.clamp(mag, min=1e-12), max=1.0)
        # torchvision scales by the largest speed in the picture: add one guard row whose first
        # pixel moves at exactly max_magnitude so that the scale is fixed, then drop the row.
        guard = torch.zeros(2, 1, t.shape[2])
        guard[0, 0, 0] = max_magnitude
        img = flow_to_image(torch.cat([t, guard], dim=1))[:, :-1]
    else:
        img = flow_to_image(t)
    return img.permute(1, 2, 0).numpy().copy()


def plot_flow_pair(prev_rgb: np.ndarray, next_rgb: np.ndarray, flow: np.ndarray, bound: float = DEFAULT_BOUND,
                   title: str | None = None, max_magnitude: float | None = None, stretch: bool = True):
    """One figure for one pair: the two frames, the colour-coded flow and the two flow JPEGs.

    ``prev_rgb``/``next_rgb`` uint8 ``(H, W, 3)``; ``flow`` float32 ``(H, W, 2)`` in pixels. The colour
    panel uses :func:`flow_to_color` (``max_magnitude=None``: the fastest pixel of this pair gets
    full colour). The last two panels are what the network reads: ``flow_x`` and ``flow_y``
    quantised with ``bound`` (grey 128 = no motion). Motions of a pixel or two use only a few of
    the 256 grey levels (one level is ``2 * bound / 255`` px), which looks uniformly grey on the full
    0..255 scale; ``stretch=True`` displays the levels ``128 - d .. 128 + d`` (``d`` the largest
    deviation from 128 in either panel, named in the titles) black to white, without changing
    them. Returns the matplotlib figure.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415 - loaded when a figure is drawn, never by extraction workers

    q = quantize_flow(flow, bound)
    lo, hi = 0, 255
    if stretch:
        d = max(1, int(np.abs(q.astype(np.int16) - 128).max()))
        lo, hi = 128 - d, 128 + d
    scale = f", shown {lo}..{hi}" if stretch else ""
    panels = [
        (prev_rgb, "frame t", None),
        (next_rgb, "frame t+1", None),
        (flow_to_color(flow, max_magnitude=max_magnitude), "flow (colour wheel)", None),
        (q[..., 0], f"flow_x (bound {bound:g}{scale})", "gray"),
        (q[..., 1], f"flow_y (bound {bound:g}{scale})", "gray"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.0))
    for ax, (img, name, cmap) in zip(axes, panels):
        ax.imshow(img, cmap=cmap, vmin=lo if cmap else None, vmax=hi if cmap else None)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
