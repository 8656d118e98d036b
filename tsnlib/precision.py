"""The device-and-precision policy: one answer for training, testing, prediction and visualization.

Used by :mod:`tsnlib.training`, :mod:`tsnlib.inference` and :mod:`tsnlib.experiment`. Which device
computes is :func:`tsnlib.utils.get_device` (``cuda`` → ``mps`` → ``cpu``); how it computes there is
decided here, once:

* **Autocast dtype** (:func:`autocast_dtype`, the ``train.amp`` and ``test.amp`` settings):
  ``"auto"`` gives **fp16 on CUDA** for training and testing alike (PyTorch's and MMAction2's AMP
  default; fp16 has tensor cores from Volta on, bf16 from Ampere, and fp16's 10-bit mantissa keeps
  test scores closer to fp32 than bf16's 7 bits), paired in training with a ``GradScaler``
  (:func:`grad_scaler`) that scales the loss so that small fp16 gradients do not flush to zero,
  and skips a step whose gradients overflowed. ``train.amp=bf16`` (and ``test.amp=bf16``) is the
  choice on an Ampere or newer GPU for no loss scaling at all (bf16 has fp32's exponent). On a
  **CPU**, ``"auto"`` is bf16 only where the CPU computes bf16 natively
  (:func:`cpu_has_native_bf16`: AVX512-BF16, AMX or Arm's BF16), else fp32; on **MPS** fp32
  unless asked.
* **Autocast context** (:func:`autocast`): ``torch.autocast`` for that dtype, nothing for fp32.
* **Channels-last memory** (:func:`use_channels_last`, the ``train.channels_last`` setting): on CUDA
  and under autocast, in training and testing (cuDNN's and oneDNN's fastest convolutions there); the
  weights of a model loaded for testing on a CPU in fp32 too.
* Where a model's weights are (:func:`model_device`).

The course runs on CPUs: most of them have no native bf16, so learners train and test in fp32.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = [
    "cpu_has_native_bf16",
    "autocast_dtype",
    "autocast",
    "grad_scaler",
    "use_channels_last",
    "channels_last_views",
    "model_device",
    "precision_name",
]

_OFF = ("false", "off", "no", "fp32")
_ON = ("true", "on", "yes")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic in hardware, where bf16 autocast beats fp32.

    True when oneDNN (``torch.backends.mkldnn``) is available and the CPU reports AVX512-BF16 or
    AMX-BF16 (x86) or the BF16 extension (Arm), read from ``torch.cpu.get_capabilities()``. Plain
    AVX512 is *not* enough: oneDNN then emulates bf16, which is slower than fp32.

    Used by :func:`autocast_dtype`.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    get_caps = getattr(torch.cpu, "get_capabilities", None)
    if get_caps is None:  # older torch: ask oneDNN (it also counts AVX512 emulation as support)
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    caps = get_caps()
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16") or caps.get("bf16") or caps.get("sve_bf16"))


def autocast_dtype(device, amp="auto") -> torch.dtype | None:
    """The autocast dtype for an ``amp`` setting (``train.amp``, ``test.amp``) on ``device``, or None for fp32.

    * ``amp="auto"`` (default): CUDA → float16; CPU → bfloat16 when :func:`cpu_has_native_bf16`,
      else None; MPS and others → None.
    * ``amp=True``: CUDA and MPS → float16; CPU → bfloat16 even when emulated (slow but allowed).
    * ``amp=False`` / ``None`` / ``"fp32"``: None. ``"fp16"`` / ``"bf16"`` or a torch dtype: that dtype.

    Training and testing use this one function, so a run is tested in the precision it was trained
    in; a float16 training run gets a ``GradScaler`` (:func:`grad_scaler`).

    Used by :class:`tsnlib.training.Trainer` and :func:`tsnlib.inference.predict_scores`.
    """
    device = torch.device(device)
    if amp is None or amp is False or (isinstance(amp, str) and amp.lower() in _OFF):
        return None
    if isinstance(amp, torch.dtype):
        if amp not in (torch.float16, torch.bfloat16):
            raise ValueError(f"amp dtype must be torch.float16 or torch.bfloat16, got {amp}")
        return amp
    if isinstance(amp, str) and amp.lower() in ("fp16", "float16", "half"):
        return torch.float16
    if isinstance(amp, str) and amp.lower() in ("bf16", "bfloat16"):
        return torch.bfloat16
    forced = amp is True or (isinstance(amp, str) and amp.lower() in _ON)
    if not forced and amp != "auto":
        raise ValueError(f"amp must be 'auto', True, False, 'fp16' or 'bf16', got {amp!r}")
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu":
        return torch.bfloat16 if (forced or cpu_has_native_bf16()) else None
    if device.type == "mps":
        return torch.float16 if forced else None
    return None


def autocast(device, dtype: torch.dtype | None):
    """``torch.autocast`` on ``device``'s type with ``dtype``; a context that does nothing when ``dtype`` is None.

    Used by :func:`tsnlib.training.train_step`, the trainer's validation and
    :func:`tsnlib.inference.view_scores_chunked`.
    """
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def grad_scaler(device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """The training loss scaler: enabled for float16 autocast only (a disabled one passes everything through).

    fp16's smallest normal number is about 6e-5: gradients below it lose precision or vanish. The
    scaler multiplies the loss (hence every gradient) by a large factor before backward, divides the
    gradients by it before clipping and the optimiser step, skips the step when a gradient
    overflowed, and adapts the factor. bf16 and fp32 need none.

    Used by :class:`tsnlib.training.Trainer`.
    """
    return torch.amp.GradScaler(torch.device(device).type, enabled=dtype == torch.float16)


def use_channels_last(device, dtype: torch.dtype | None, setting="auto", inference: bool = False) -> bool:
    """Whether weights and activations use channels-last memory (``(N, H, W, C)`` order in memory).

    ``setting`` True / False (``train.channels_last``) decides. ``"auto"``: on CUDA (cuDNN's
    tensor-core kernels) and under autocast (oneDNN's bf16 kernels), for training
    (:class:`tsnlib.training.Trainer`) and the test protocol (:func:`tsnlib.inference.predict_scores`)
    alike. ``inference=True`` (the weights of a model loaded for testing,
    :func:`tsnlib.experiment.load_model_from_checkpoint`) adds a CPU in fp32, where oneDNN's
    inference convolutions were measured 1.4x faster in it on the course's CPU; a CPU trains fp32
    in the default layout. In fp32 a convolution's last bits depend on the layout (in bf16 they do
    not), which is why each of these choices stays what it was.

    Used by :class:`tsnlib.training.Trainer`, :func:`tsnlib.inference.predict_scores` and
    :func:`tsnlib.experiment.load_model_from_checkpoint`.
    """
    if setting in (True, False):
        return setting
    device = torch.device(device)
    return device.type == "cuda" or dtype is not None or (inference and device.type == "cpu")


def channels_last_views(imgs: torch.Tensor) -> torch.Tensor:
    """Views ``(N, V, C, H, W)`` (or ``(B, C, H, W)``) stored channels-last, per view; same values and shape.

    Used by the trainer and :func:`tsnlib.inference.view_scores_chunked`.
    """
    if imgs.ndim == 4:
        return imgs.contiguous(memory_format=torch.channels_last)
    n, v = imgs.shape[:2]
    return imgs.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, (n, v))


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter (or buffer); CPU for a module with neither.

    Used by :mod:`tsnlib.inference`.
    """
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def precision_name(dtype: torch.dtype | None) -> str:
    """``"fp32"``, ``"bf16 autocast"`` or ``"fp16 autocast + GradScaler"``: what a training run announces.

    Used by :class:`tsnlib.training.Trainer`.
    """
    return {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast + GradScaler"}[dtype]
