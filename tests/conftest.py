"""Shared fixtures: one tiny synthetic dataset per test session, an isolated output folder."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory):
    """A ``$TSN_DATA``-style folder holding the tiny synthetic dataset at ``synthetic/ucf101``."""
    from tsnlib.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("tsn_data")
    generate_dataset(root / "synthetic" / "ucf101", size="tiny", seed=0, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_ucf101(tiny_data_root):
    """The root of the tiny synthetic dataset in the UCF101 layout (``UCF-101/``, ``ucfTrainTestlist/``)."""
    return tiny_data_root / "synthetic" / "ucf101"


@pytest.fixture(autouse=True)
def _quiet_progress(monkeypatch):
    monkeypatch.setenv("TSN_PROGRESS", os.environ.get("TSN_PROGRESS", "off"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
