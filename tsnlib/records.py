"""Numbers that a notebook records, so that tests and the course runner can check them.

Each notebook writes ``<output>/results/<notebook>.json``; the course runner prints them as a
table, and the notebook tests read them after papermill has executed the notebook.

Introduced in notebooks/01_data_preparation.ipynb.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from tsnlib.utils import output_dir


def _plain(value):
    """Turn NumPy / torch scalars and arrays into JSON-friendly Python values."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Recorder:
    """A dictionary of results kept on disk: ``rec["num_videos"] = 480`` writes at once.

    >>> rec = Recorder("01_data_preparation")        # doctest: +SKIP
    >>> rec["num_videos"] = 480                       # doctest: +SKIP
    """

    def __init__(self, notebook: str, out: str | Path | None = None):
        self.path = output_dir(out) / "results" / f"{notebook}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.values: dict = {}
        self.path.write_text("{}\n")

    def __setitem__(self, key: str, value) -> None:
        self.values[key] = _plain(value)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.values, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)

    def __getitem__(self, key: str):
        return self.values[key]

    def update(self, values: dict) -> None:
        for k, v in values.items():
            self[k] = v


def load_records(out: str | Path | None = None) -> dict[str, dict]:
    """All recorded results under ``<output>/results``, keyed by notebook name."""
    folder = output_dir(out) / "results"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
