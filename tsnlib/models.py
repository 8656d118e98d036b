"""The TSN model: one 2D backbone shared by K segments, a new classifier, a segmental consensus.

Introduced in notebooks/03_train_rgb.ipynb; cross-modality initialisation (a flow network
started from RGB weights) in notebooks/04_optical_flow_stream.ipynb.

A batch of snippets ``(N, V, C, H, W)`` (V = ``num_segments`` during training, any number of
views at test time) is folded into ``(N*V, C, H, W)``, every view goes through the *same*
backbone, dropout and linear classifier, giving per-view class scores ``(N, V, num_classes)``;
the segmental consensus then reduces the V scores to one video-level score ``(N, num_classes)``:

    G(T_1, ..., T_K) = g(F(T_1; W), ..., F(T_K; W))      (Wang et al., ECCV 2016, eq. 1)

with ``g`` = average (the paper's best), max, or a learned weighted average.

The backbone ``F`` comes by name from :mod:`tsnlib.backbones` (the course's ``resnet8``, torchvision,
timm); this module adapts it: a first convolution for the modality's channels, a new classifier.

What else lives here, one function per idea:

* :func:`inflate_conv_weight` / :func:`init_from_rgb` — cross-modality initialisation (paper §3.2):
  the first convolution of a flow (or RGB-difference) network is the RGB one averaged over
  the colour channels and replicated over the new input channels.
* Partial BN (paper §3.2): every BatchNorm layer except the first is frozen
  (``TSN(partial_bn=True)``, see :meth:`TSN.train`).
* :func:`get_param_groups` — the optimiser groups of the original implementation
  (learning-rate and weight-decay multipliers for first conv, weights, biases, BN).
* :func:`build_model` — construction from a plain dict (a config's ``model`` section; the paper's
  settings are the presets ``tsn_paper_bninception_ucf101_{rgb,flow}``, :mod:`tsnlib.config`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm, _NormBase

from tsnlib.backbones import build_backbone, fixed_input_size, load_imagenet_state_dict, read_weights
from tsnlib.transforms import MODALITIES, MODALITY_CHANNELS, normalize_views

__all__ = [
    "unwrap_model",
    "MODALITIES",
    "CONSENSUS_TYPES",
    "MODEL_KEYS",
    "SegmentConsensus",
    "TSN",
    "inflate_conv_weight",
    "init_from_rgb",
    "get_param_groups",
    "build_model",
]

CONSENSUS_TYPES = ("avg", "max", "weighted")

#: Channels contributed by one frame of each modality (flow: x and y; RGB difference: 3).
CHANNELS_PER_FRAME = MODALITY_CHANNELS
#: ``clip_len`` when none is given: one frame for RGB, a stack of 5 for Flow and RGBDiff
#: (paper §3.2 and tsn-pytorch ``new_length``).
DEFAULT_CLIP_LEN = {"RGB": 1, "Flow": 5, "RGBDiff": 5}

#: The keyword arguments of :class:`TSN`, i.e. the keys :func:`build_model` reads from a config.
MODEL_KEYS = (
    "num_classes",
    "backbone",
    "modality",
    "num_segments",
    "clip_len",
    "consensus",
    "dropout",
    "partial_bn",
    "pretrained",
    "fc_init_std",
    "rgb_weights",
    "multi_label",
)

# Normalisation layers: their parameters never get weight decay (see get_param_groups).
_NORM_TYPES = (_NormBase, nn.LayerNorm, nn.GroupNorm)
# Auxiliary heads of Inception v3 / GoogLeNet: present in the ImageNet files, switched off here.
_AUX_PREFIXES = ("AuxLogits", "aux1", "aux2")
# Old torchvision DenseNet files: 'denselayer1.norm.1.weight' for the module's 'denselayer1.norm1.weight'.
_DENSENET_LEGACY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$"
)
# Prefixes that wrap a backbone's keys in other checkpoints: DataParallel, tsnlib, tsn-pytorch.
_WRAPPER_PREFIXES = ("module.", "backbone.", "base_model.")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model itself under its wrappers: ``DistributedDataParallel`` / ``DataParallel`` (``.module``) and
    ``torch.compile`` (``._orig_mod``), in any order; a plain model is returned as it is.

    Used by :func:`tsnlib.inference.view_scores_chunked`, :func:`tsnlib.checkpoints.init_from_checkpoint`,
    :class:`tsnlib.training.Trainer` (training and testing see a TSN through these wrappers).
    """
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def _canonical_modality(modality: str) -> str:
    for name in MODALITIES:
        if str(modality).lower() == name.lower():
            return name
    raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")


# --------------------------------------------------------------------------------------------
# Cross-modality initialisation
# --------------------------------------------------------------------------------------------


def inflate_conv_weight(w_rgb: torch.Tensor, in_channels: int, keep_rgb: bool = False) -> torch.Tensor:
    """Cross-modality initialisation of a first convolution: RGB filters → ``in_channels`` inputs.

    Introduced in notebooks/04_optical_flow_stream.ipynb (paper §3.2, "cross modality
    pre-training"; tsn-pytorch ``_construct_flow_model`` / ``_construct_diff_model``).

    ``w_rgb`` has layout ``(O, 3, kh, kw)`` (O output filters, 3 colour channels). The result
    has layout ``(O, in_channels, kh, kw)`` with

        W_new[o, c] = (W_rgb[o, 0] + W_rgb[o, 1] + W_rgb[o, 2]) / 3      for every c,

    i.e. the mean over the colour channels replicated over the new channels, with **no
    rescaling** (the response to a constant input therefore grows by ``in_channels / 3``, as
    in the original implementations).

    ``keep_rgb=True`` (tsn-pytorch's RGB-difference variant that also feeds the RGB frame) keeps
    the original RGB filters as the first 3 channels and fills the remaining
    ``in_channels - 3`` with the replicated mean; pass ``in_channels = 3 + 3 * clip_len`` then.
    The bias (if any) is unchanged and is not handled here.
    """
    if not isinstance(w_rgb, torch.Tensor) or w_rgb.ndim != 4 or w_rgb.shape[1] != 3:
        shape = tuple(w_rgb.shape) if isinstance(w_rgb, torch.Tensor) else type(w_rgb).__name__
        raise ValueError(f"inflate_conv_weight expects RGB filters of layout (O, 3, kh, kw), got {shape}")
    n_new = int(in_channels) - (3 if keep_rgb else 0)
    if n_new < 1:
        raise ValueError(
            f"in_channels={in_channels} leaves no channel to fill"
            + (" after the 3 kept RGB channels" if keep_rgb else "")
        )
    mean = w_rgb.mean(dim=1, keepdim=True)
    replicated = mean.expand(-1, n_new, -1, -1)
    out = torch.cat([w_rgb, replicated], dim=1) if keep_rgb else replicated
    return out.contiguous().clone()


def init_from_rgb(flow_model: "TSN", rgb_state_dict: Mapping | str | os.PathLike) -> dict:
    """Initialise a Flow / RGBDiff :class:`TSN` from the weights of an RGB network (in place).

    Used by :class:`TSN`, :func:`tsnlib.streams.save_stream_init`.

    ``rgb_state_dict`` is the ``state_dict()`` of an RGB :class:`TSN` with the same backbone, a
    torchvision backbone state dict, or a path to either (``.pth``, loaded with
    ``weights_only=True``). Every backbone tensor is copied; the first convolution's weight
    ``(O, 3, kh, kw)`` is inflated to ``(O, in_channels, kh, kw)`` by
    :func:`inflate_conv_weight`; its bias (if any) is copied. The RGB classifier is not used
    (the flow classifier keeps its fresh initialisation). Missing or unexpected backbone keys
    raise a ``RuntimeError`` that lists them.

    Returns the load report of :meth:`TSN.load_backbone_weights`.
    """
    if not isinstance(flow_model, TSN):
        raise TypeError(f"init_from_rgb expects a tsnlib TSN model, got {type(flow_model).__name__}")
    state, label = read_weights(rgb_state_dict)
    state = flow_model._backbone_keys(state)
    key = flow_model.first_conv_name + ".weight"
    if key in state and (state[key].ndim != 4 or state[key].shape[1] != 3):
        raise RuntimeError(
            f"{label} is not an RGB network: its first convolution '{key}' has "
            f"{tuple(state[key].shape)} (expected 3 input channels)"
        )
    return flow_model.load_backbone_weights(state, strict=True, _label=label)


# --------------------------------------------------------------------------------------------
# Backbone surgery: the first convolution's input channels
# --------------------------------------------------------------------------------------------

def _first_module_name(net: nn.Module, kind) -> str | None:
    for name, module in net.named_modules():
        if isinstance(module, kind):
            return name
    return None


def _set_submodule(net: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    setattr(parent, child, new)


def _conv_with_inputs(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    if conv.groups != 1:
        raise ValueError(f"cannot change the input channels of a grouped first convolution ({conv})")
    return nn.Conv2d(
        in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    )


# --------------------------------------------------------------------------------------------
# Consensus and model
# --------------------------------------------------------------------------------------------


class SegmentConsensus(nn.Module):
    """Segmental consensus ``g``: per-view class scores ``(N, V, C)`` → video scores ``(N, C)``.

    Used by :class:`TSN`.

    * ``"avg"``: mean over the V views (the paper's best, Table 3).
    * ``"max"``: maximum over the views, per class.
    * ``"weighted"``: ``sum_k softmax(a)_k * scores[:, k]`` with a learned vector ``a`` of
      length ``num_segments`` (initialised to zeros, i.e. uniform weights). The weights belong
      to segment positions, so when the number of views differs from ``num_segments`` (e.g. 25
      test frames × 10 crops) it falls back to the plain average.
    """

    def __init__(self, kind: str = "avg", num_segments: int = 3):
        super().__init__()
        if kind not in CONSENSUS_TYPES:
            raise ValueError(f"unknown consensus {kind!r}; choose one of {CONSENSUS_TYPES}")
        self.kind = kind
        self.num_segments = int(num_segments)
        if kind == "weighted":
            self.weight_logits = nn.Parameter(torch.zeros(self.num_segments))

    def segment_weights(self) -> torch.Tensor:
        """The normalised weights ``(num_segments,)`` of the weighted consensus."""
        if self.kind != "weighted":
            raise AttributeError(f"the {self.kind!r} consensus has no learned weights")
        return torch.softmax(self.weight_logits, dim=0)

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        if scores.ndim != 3:
            raise ValueError(f"consensus expects per-view scores (N, V, C), got {tuple(scores.shape)}")
        if self.kind == "max":
            return scores.amax(dim=1)
        if self.kind == "weighted" and scores.shape[1] == self.num_segments:
            w = self.segment_weights().to(scores.dtype)
            return (scores * w.reshape(1, -1, 1)).sum(dim=1)
        return scores.mean(dim=1)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, num_segments={self.num_segments}"


class TSN(nn.Module):
    """Temporal Segment Network: a shared 2D backbone, dropout, a new classifier, a consensus.

    Introduced in notebooks/03_train_rgb.ipynb (RGB); Flow and cross-modality initialisation in
    notebooks/04_optical_flow_stream.ipynb.

    Input ``(N, V, C, H, W)`` float: N videos, V views (V = ``num_segments`` in training; any
    number at test time), ``C = in_channels`` = ``3 * clip_len`` (RGB), ``2 * clip_len`` (Flow,
    channels ``[x_t, y_t, x_{t+1}, ...]``) or ``3 * clip_len`` (RGBDiff: frame differences).
    Or the same views in uint8, as the ``normalize=False`` presets deliver them (RGBDiff: the
    ``3 * (clip_len + 1)`` raw frames): :meth:`prepare` normalises them on the model's device
    first. Output ``(N, num_classes)`` class scores (logits, before softmax).

    Computation: backbone on ``(N*V, C, H, W)`` → pooled features ``(N*V, D)`` → dropout →
    ``Linear(D, num_classes)`` → per-view scores ``(N, V, num_classes)`` → consensus over V.
    The consensus is on class scores *after* the classifier, as in the paper, Caffe and
    tsn-pytorch. MMAction2 instead averages the pooled features *before* dropout and FC: at eval
    time the two are identical (FC is linear, dropout is off); in training they differ through
    where the dropout acts (one mask per view here, one per video there).

    Arguments:

    * ``backbone``: any torchvision classification model name (``resnet18/34/50/101``,
      ``resnext50_32x4d``, ``densenet121``, ``mobilenet_v3_small/large``, ``efficientnet_b0``,
      ``inception_v3`` — nearest to the paper's BN-Inception, built without auxiliary head and
      with ``transform_input=False``; 299×299 is its native size but 224 and down to 75 work),
      or ``"timm:<name>"`` (timm is an optional dependency, the ``timm`` extra; the tests build
      ``timm:swin_base_patch4_window7_224``, ``timm:resnext101_32x4d`` and ``timm:densenet161``).
      Its classifier is replaced by ``Identity`` (a dropout right before it too); ``feature_dim``
      is the classifier's input size. Vision transformers such as Swin take views of one size only
      (``fixed_input_size``, 224 x 224 for the Swin above): other sizes raise a ``ValueError``
      before the backbone runs.
    * ``clip_len``: frames per snippet; default 1 for RGB, 5 for Flow and RGBDiff.
    * ``consensus``: ``"avg"``, ``"max"`` or ``"weighted"`` (see :class:`SegmentConsensus`; the
      weighted one falls back to the average when V != ``num_segments``).
    * ``dropout``: before the classifier (paper: 0.8 RGB, 0.7 Flow).
    * ``partial_bn``: freeze every BatchNorm layer but the first (see :meth:`train`). A backbone
      without BatchNorm (Swin: LayerNorm, which has no running statistics and normalises each
      token on its own) has nothing to freeze: partial BN is then a no-op and every LayerNorm trains.
    * ``pretrained``: ``None`` (random), ``"imagenet"`` (torchvision's default weights from the
      torch hub cache, see :func:`tsnlib.backbones.load_imagenet_state_dict`), a path to a ``.pth`` file or a
      state dict: a torchvision backbone state dict or a tsnlib checkpoint (its ``backbone.*``
      keys); classifier keys are dropped, other missing or unexpected keys raise.
    * ``rgb_weights``: the state dict (or path) of an RGB network with the same backbone, to
      initialise a Flow / RGBDiff network (exclusive with ``pretrained``).
    * ``fc_init_std``: the new classifier is ``Normal(0, fc_init_std)``, bias 0.
    * ``multi_label``: the outputs are per-class logits for a sigmoid (several classes per video,
      trained with binary cross-entropy) instead of logits for a softmax. The network is the same
      (consensus included); the flag tells the trainer and the test protocol how to read it.

    Cross-modality initialisation: when ``modality`` is Flow or RGBDiff and weights are given
    (``pretrained`` or ``rgb_weights``), every backbone tensor is copied and the first
    convolution is inflated with :func:`inflate_conv_weight` (mean over RGB, replicated).
    MMAction2 silently skips this: for ``in_channels=10`` its loader copies only tensors whose
    shapes match, so conv1 stays randomly initialised (mmaction2 issue #565). Without weights,
    the new first convolution has PyTorch's default ``Conv2d`` initialisation.

    Attributes: ``backbone`` (the headless network), ``dropout``, ``fc``, ``consensus``,
    ``first_conv`` / ``first_conv_name``, ``first_bn`` / ``first_bn_name`` (None when the
    backbone has no BatchNorm), ``feature_dim``, ``backbone_name``, ``modality``,
    ``in_channels``, ``clip_len``, ``num_segments``, ``num_classes``, ``partial_bn``,
    ``multi_label``, ``fixed_input_size`` (``(H, W)`` or None), ``load_report`` (what the weight
    loading did, or None).

    Note for inception_v3 / googlenet with ImageNet weights: torchvision trained them with
    ``transform_input=True``, which equals normalising RGB inputs with mean = std = 0.5; since
    it is off here, normalise their RGB inputs that way instead of with the ImageNet statistics.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet50",
        modality: str = "RGB",
        num_segments: int = 3,
        clip_len: int | None = None,
        consensus: str = "avg",
        dropout: float = 0.8,
        partial_bn: bool = True,
        pretrained=None,
        fc_init_std: float = 0.001,
        rgb_weights=None,
        multi_label: bool = False,
    ):
        super().__init__()
        self._partial_bn = False
        modality = _canonical_modality(modality)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if int(num_segments) < 1:
            raise ValueError(f"num_segments must be >= 1, got {num_segments}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if pretrained is not None and rgb_weights is not None:
            raise ValueError("give either pretrained or rgb_weights, not both")
        if rgb_weights is not None and modality == "RGB":
            raise ValueError("rgb_weights initialises a Flow or RGBDiff network; for RGB use pretrained=<state dict or path>")
        if isinstance(pretrained, str) and pretrained.lower() == "imagenet":
            pretrained = "imagenet"
        clip_len = DEFAULT_CLIP_LEN[modality] if clip_len is None else int(clip_len)
        if clip_len < 1:
            raise ValueError(f"clip_len must be >= 1, got {clip_len}")

        self.num_classes = int(num_classes)
        self.multi_label = bool(multi_label)
        self.backbone_name = str(backbone)
        self.modality = modality
        self.num_segments = int(num_segments)
        self.clip_len = clip_len
        self.in_channels = CHANNELS_PER_FRAME[modality] * clip_len

        is_timm = self.backbone_name.startswith("timm:")
        self.backbone, self.feature_dim, self._classifier_names = build_backbone(
            self.backbone_name, timm_pretrained=is_timm and pretrained == "imagenet"
        )
        self.first_conv_name = _first_module_name(self.backbone, nn.Conv2d)
        if self.first_conv_name is None:
            raise ValueError(f"backbone {backbone!r} has no nn.Conv2d to take the input")
        self.first_bn_name = _first_module_name(self.backbone, _BatchNorm)
        self.fixed_input_size = fixed_input_size(self.backbone)

        rgb_state = None
        if pretrained == "imagenet":
            rgb_state = (
                {k: v.detach().clone() for k, v in self.backbone.state_dict().items()}
                if is_timm
                else load_imagenet_state_dict(self.backbone_name)
            )
        elif pretrained is not None:
            rgb_state = pretrained

        if self.in_channels != self.first_conv.in_channels:
            _set_submodule(self.backbone, self.first_conv_name, _conv_with_inputs(self.first_conv, self.in_channels))

        self.dropout = nn.Dropout(p=float(dropout))
        self.fc = nn.Linear(self.feature_dim, self.num_classes)
        nn.init.normal_(self.fc.weight, mean=0.0, std=float(fc_init_std))
        nn.init.zeros_(self.fc.bias)
        self.consensus = SegmentConsensus(consensus, self.num_segments)

        self.load_report = None
        if rgb_state is not None:
            label = "ImageNet weights" if pretrained == "imagenet" else None
            self.load_report = self.load_backbone_weights(rgb_state, strict=True, _label=label)
        elif rgb_weights is not None:
            self.load_report = init_from_rgb(self, rgb_weights)

        self.partial_bn = partial_bn

    # -- submodules found at construction -------------------------------------------------------

    @property
    def first_conv(self) -> nn.Conv2d:
        """The first ``nn.Conv2d`` of the backbone in module order (the one that sees the input)."""
        return self.backbone.get_submodule(self.first_conv_name)

    @property
    def first_bn(self) -> nn.Module | None:
        """The first BatchNorm layer of the backbone (the one partial BN keeps trainable)."""
        return None if self.first_bn_name is None else self.backbone.get_submodule(self.first_bn_name)

    def batchnorm_layers(self) -> list[nn.Module]:
        """All BatchNorm layers (1d/2d/3d, SyncBatchNorm) of the backbone, in module order."""
        return [m for m in self.backbone.modules() if isinstance(m, _BatchNorm)]

    # -- partial BN ---------------------------------------------------------------------------

    @property
    def partial_bn(self) -> bool:
        """Partial BN switch (paper §3.2). Setting it updates ``requires_grad`` and the BN modes."""
        return self._partial_bn

    @partial_bn.setter
    def partial_bn(self, value: bool) -> None:
        self._partial_bn = bool(value)
        for i, bn in enumerate(self.batchnorm_layers()):
            trainable = i == 0 or not self._partial_bn
            for p in (bn.weight, bn.bias):
                if p is not None:
                    p.requires_grad_(trainable)
        self.train(self.training)

    def train(self, mode: bool = True) -> "TSN":
        """Set training mode; under partial BN every BatchNorm layer except the first stays in eval.

        Introduced in notebooks/03_train_rgb.ipynb. The frozen layers keep their running mean and
        variance (ImageNet statistics when pretrained) and, since construction, their affine
        parameters have ``requires_grad=False``; only the first BN layer adapts, to the new input
        distribution (e.g. optical flow).
        """
        super().train(mode)
        if mode and self._partial_bn:
            for bn in self.batchnorm_layers()[1:]:
                bn.eval()
        return self

    # -- weights ------------------------------------------------------------------------------

    def _backbone_keys(self, state: Mapping) -> dict:
        """Keys of ``state`` as the backbone names them: wrappers stripped, classifiers dropped."""
        state = dict(state)
        changed = True
        while changed and state:
            changed = False
            for prefix in _WRAPPER_PREFIXES:
                if any(k.startswith(prefix) for k in state):
                    # A tsnlib / tsn-pytorch checkpoint: keep the backbone part only.
                    if prefix == "module." and not all(k.startswith(prefix) for k in state):
                        continue
                    state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
                    changed = True
        drop = tuple(self._classifier_names) + _AUX_PREFIXES
        state = {k: v for k, v in state.items() if not any(k == d or k.startswith(d + ".") for d in drop)}
        if self.backbone_name.startswith("densenet"):
            # Old DenseNet files name 'norm.1' what the module now calls 'norm1' (as torchvision fixes).
            state = {_DENSENET_LEGACY.sub(r"\1\2", k): v for k, v in state.items()}
        return state

    def load_backbone_weights(self, weights, strict: bool = True, _label: str | None = None) -> dict:
        """Load backbone weights (path or state dict), inflating an RGB first conv if needed.

        Used by :func:`init_from_rgb`, :class:`TSN`. Accepts a torchvision state dict, a tsnlib
        checkpoint (``backbone.*`` keys; ``fc``/consensus ignored), a DataParallel
        (``module.``) or tsn-pytorch (``base_model.``) one, or a training checkpoint holding one
        under ``state_dict`` / ``model``. Files are read with ``weights_only=True``. Classifier
        and auxiliary-head keys are dropped. A first-conv weight with 3 input channels loaded
        into a network with another ``in_channels`` is inflated (:func:`inflate_conv_weight`).
        Shape mismatches always raise; missing or unexpected keys raise when ``strict``. Nothing
        is loaded when it raises.

        Returns ``{"source", "loaded", "inflated_first_conv", "missing", "unexpected"}``.
        """
        state, label = read_weights(weights)
        label = _label or label
        state = self._backbone_keys(state)
        own = self.backbone.state_dict()
        inflated = False
        key = self.first_conv_name + ".weight"
        if key in state and tuple(state[key].shape) != tuple(own[key].shape):
            w = state[key]
            if w.ndim == 4 and w.shape[1] == 3 and w.shape[0] == own[key].shape[0] and w.shape[2:] == own[key].shape[2:]:
                state[key] = inflate_conv_weight(w, self.in_channels)
                inflated = True
        mismatched = [
            f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
            for k, v in state.items()
            if k in own and tuple(v.shape) != tuple(own[k].shape)
        ]
        if mismatched:
            raise RuntimeError(
                f"{label} does not fit backbone {self.backbone_name!r} ({len(mismatched)} shape "
                f"mismatches): " + "; ".join(mismatched[:10])
            )
        missing = sorted(k for k in own if k not in state and not k.endswith("num_batches_tracked"))
        unexpected = sorted(k for k in state if k not in own)
        if strict and (missing or unexpected):
            raise RuntimeError(
                f"{label} does not match backbone {self.backbone_name!r}: "
                f"{len(missing)} missing keys {missing[:10]}, {len(unexpected)} unexpected keys "
                f"{unexpected[:10]}"
            )
        self.backbone.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
        return {
            "source": label,
            "loaded": sum(1 for k in state if k in own),
            "inflated_first_conv": inflated,
            "missing": missing,
            "unexpected": unexpected,
        }

    # -- forward --------------------------------------------------------------------------------

    def _check_views(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"TSN({self.modality}, clip_len={self.clip_len}) expects views (B, {self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        if self.fixed_input_size is not None and tuple(x.shape[2:]) != self.fixed_input_size:
            h, w = self.fixed_input_size
            raise ValueError(
                f"backbone {self.backbone_name!r} takes {h} x {w} views only (timm builds it for one input size), "
                f"got {x.shape[2]} x {x.shape[3]}: crop the views to {h} px (data.input_size, data.val_input_size "
                f"and test.input_size={h})"
            )

    def prepare(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """The backbone's input from views ``(..., C, H, W)``: uint8 views are normalised here, on their device.

        Introduced in notebooks/03_train_rgb.ipynb. uint8 views come from the presets built with
        ``normalize=False`` (the training and test pipelines of :mod:`tsnlib.experiment`):
        :func:`tsnlib.transforms.normalize_views` turns them into the float32 network input
        (ImageNet statistics for RGB, ``(q - 128) / 128`` for Flow, frame differences for RGBDiff,
        whose uint8 views carry ``3 * (clip_len + 1)`` channels), keeping channels-last memory.
        Float views are taken as already normalised and returned unchanged. ``out``: a float32
        tensor to write the normalised views into (see :func:`~tsnlib.transforms.normalize_views`).
        """
        if x.dtype == torch.uint8:
            return normalize_views(x, self.modality, self.clip_len, out=out)
        return x

    def _features_views(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prepare(x)
        self._check_views(x)
        f = self.backbone(x)
        if isinstance(f, (tuple, list)):  # e.g. InceptionOutputs; the logits slot holds features
            f = f[0]
        if f.ndim != 2:
            f = f.flatten(1)
        if f.shape[1] != self.feature_dim:
            raise RuntimeError(f"backbone returned {tuple(f.shape)}, expected (B, {self.feature_dim})")
        return f

    def _split(self, x: torch.Tensor) -> tuple[int, int, torch.Tensor]:
        if x.ndim != 5:
            raise ValueError(
                f"TSN expects (N, V, C, H, W) with V views per video, got {tuple(x.shape)}; "
                "use forward_views for (B, C, H, W)"
            )
        n, v = x.shape[:2]
        return n, v, x.reshape(n * v, *x.shape[2:])

    def forward_views(self, x: torch.Tensor) -> torch.Tensor:
        """Per-view class scores: ``(B, C, H, W)`` → ``(B, num_classes)`` (no consensus).

        Introduced in notebooks/06_model_visualization.ipynb; used by the chunked test protocol, which
        feeds 25 × 10 views in pieces and averages the scores itself.
        """
        return self.fc(self.dropout(self._features_views(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features before dropout and classifier: ``(N, V, C, H, W)`` → ``(N, V, D)``."""
        n, v, flat = self._split(x)
        return self._features_views(flat).reshape(n, v, self.feature_dim)

    def segment_scores(self, x: torch.Tensor) -> torch.Tensor:
        """Per-view class scores before the consensus: ``(N, V, C, H, W)`` → ``(N, V, num_classes)``."""
        n, v, flat = self._split(x)
        return self.forward_views(flat).reshape(n, v, self.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Video-level scores: ``(N, V, C, H, W)`` → ``(N, num_classes)`` (logits)."""
        return self.consensus(self.segment_scores(x))

    def extra_repr(self) -> str:
        return (
            f"backbone={self.backbone_name!r}, modality={self.modality!r}, in_channels={self.in_channels}, "
            f"num_segments={self.num_segments}, feature_dim={self.feature_dim}, partial_bn={self._partial_bn}"
        )


# --------------------------------------------------------------------------------------------
# Optimiser groups, presets, construction from a config
# --------------------------------------------------------------------------------------------


def get_param_groups(model: TSN, lr: float, weight_decay: float, fc_lr5: bool = False) -> list[dict]:
    """Optimiser parameter groups with the learning-rate / weight-decay multipliers of TSN.

    Introduced in notebooks/03_train_rgb.ipynb (tsn-pytorch ``get_optim_policies``; Caffe
    ``lr_mult`` / ``decay_mult``). Groups, in this order (empty ones omitted):

    ===================== ===================== ============
    ``name``              lr_mult               decay_mult
    ===================== ===================== ============
    first_conv_weight     1 (5 for Flow)        1
    first_conv_bias       2 (10 for Flow)       0
    normal_weight         1                     1
    normal_bias           2                     0
    bn                    1                     0
    consensus             1                     0
    fc_weight             5                     1
    fc_bias               10                    0
    ===================== ===================== ============

    The ×5 / ×10 first-convolution multipliers are tsn-pytorch's for optical flow only; its RGB
    difference stream keeps the RGB values 1 / 2, and so does this function. The ``fc_*`` groups
    exist only with ``fc_lr5=True`` (MMAction2's ``TSMOptimizerConstructor(fc_lr5=True)``, used by
    its Multi-Moments config); otherwise the classifier is in the ``normal_*`` groups.

    ``bn`` holds the trainable parameters of normalisation layers (BatchNorm, and LayerNorm /
    GroupNorm of other backbones): under partial BN only the first BN layer's. ``normal_*``
    includes the new classifier. Only parameters with ``requires_grad`` are included and each
    exactly once (checked). Each group carries ``lr = lr * lr_mult``,
    ``weight_decay = weight_decay * decay_mult`` and the two multipliers, so a scheduler can
    rescale with ``group["lr"] = new_lr * group["lr_mult"]``.
    """
    flow = model.modality == "Flow"
    policy = {
        "first_conv_weight": (5.0 if flow else 1.0, 1.0),
        "first_conv_bias": (10.0 if flow else 2.0, 0.0),
        "normal_weight": (1.0, 1.0),
        "normal_bias": (2.0, 0.0),
        "bn": (1.0, 0.0),
        "consensus": (1.0, 0.0),
        "fc_weight": (5.0, 1.0),
        "fc_bias": (10.0, 0.0),
    }
    buckets: dict[str, list] = {name: [] for name in policy}
    first_conv = model.first_conv
    fc = model.fc if fc_lr5 else None
    seen: set[int] = set()
    for module in model.modules():
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            is_bias = pname.endswith("bias")
            if module is first_conv:
                bucket = "first_conv_bias" if is_bias else "first_conv_weight"
            elif module is model.consensus:
                bucket = "consensus"
            elif module is fc:
                bucket = "fc_bias" if is_bias else "fc_weight"
            elif isinstance(module, _NORM_TYPES):
                bucket = "bn"
            else:
                bucket = "normal_bias" if is_bias else "normal_weight"
            buckets[bucket].append(p)
    groups = [
        {
            "name": name,
            "params": params,
            "lr": lr * policy[name][0],
            "weight_decay": weight_decay * policy[name][1],
            "lr_mult": policy[name][0],
            "decay_mult": policy[name][1],
        }
        for name, params in buckets.items()
        if params
    ]
    grouped = [id(p) for g in groups for p in g["params"]]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    if len(grouped) != len(set(grouped)) or set(grouped) != trainable:
        raise RuntimeError("get_param_groups: every trainable parameter must be in exactly one group")
    return groups


def build_model(cfg: Mapping, strict: bool = False) -> TSN:
    """Build a :class:`TSN` from a plain dict (e.g. a config loaded from YAML).

    Used by :func:`tsnlib.experiment.build_model_from_config`. Reads the keys in :data:`MODEL_KEYS`
    (``num_classes`` is required); other keys (learning rate, epochs, ...) are ignored, or
    raise a ``ValueError`` naming them when ``strict``.
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"build_model expects a dict, got {type(cfg).__name__}")
    if "num_classes" not in cfg:
        raise ValueError("build_model: the config has no 'num_classes'")
    unknown = sorted(set(cfg) - set(MODEL_KEYS))
    if strict and unknown:
        raise ValueError(f"build_model: keys that are not TSN arguments: {unknown} (known: {list(MODEL_KEYS)})")
    return TSN(**{k: cfg[k] for k in MODEL_KEYS if k in cfg})
