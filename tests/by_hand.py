"""Numbers the tests count by hand, to compare with what the library or a notebook reports."""

from __future__ import annotations

import torch

from tsnlib.experiment import build_datasets, build_loaders, build_model_from_config
from tsnlib.precision import autocast_dtype


def val_top1(ckpt: dict) -> float:
    """The top-1 of a checkpoint's network on the validation loader its config builds, counted here with the
    trainer's precision (``train.amp``: fp32 on a CPU without native bf16, else bf16 autocast and channels-last)."""
    cfg = ckpt["config"]
    model = build_model_from_config(cfg, len(ckpt["class_names"]), pretrained=False)
    model.load_state_dict(ckpt["model"])
    model.eval()
    dtype = autocast_dtype("cpu", cfg["train"]["amp"])
    if dtype is not None:
        model.to(memory_format=torch.channels_last)
    right = seen = 0
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        for batch in build_loaders(cfg, build_datasets(cfg, subsets=("val",)))["val"]:
            imgs = batch["imgs"]
            if dtype is not None:
                n, v = imgs.shape[:2]
                imgs = imgs.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, (n, v))
            right += int((model(imgs).float().argmax(1) == batch["label"]).sum())
            seen += len(batch["label"])
    return right / seen
