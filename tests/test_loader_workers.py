"""DataLoader workers must not hang after the parent process has used OpenCV's thread pool."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.slow  # a subprocess with two DataLoader worker processes
def test_workers_start_after_parent_used_opencv_threads(tiny_ucf101):
    script = textwrap.dedent(f"""
        import cv2, numpy as np, torch
        cv2.setNumThreads(2)
        big = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
        for _ in range(5):  # wakes OpenCV's worker threads in this (parent) process
            cv2.resize(big, (960, 540)); cv2.GaussianBlur(big, (9, 9), 0)
        from tsnlib.annotations import load_annotations
        from tsnlib.datasets import TSNDataset, seed_worker
        from tsnlib.sampling import FrameSampler
        from tsnlib.transforms import train_transform
        records, _ = load_annotations({str(tiny_ucf101)!r}, split=1, subset="train")
        ds = TSNDataset(records[:4], FrameSampler(3, clip_len=1), train_transform("RGB", 3, 1, input_size=64,
                                                                                  scale_size=72), source="video")
        loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=seed_worker,
                                             multiprocessing_context="fork")
        shapes = [tuple(b["imgs"].shape) for b in loader]
        print(shapes)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(2, 3, 3, 64, 64)" in result.stdout
