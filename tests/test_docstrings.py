"""Every "Introduced in notebooks/NN_topic.ipynb" line of a tsnlib docstring is true.

A docstring names the notebook that introduces its function, class or module (STYLE.md: as d2l links each
library function back to its section). The line is true when that notebook exists and its source (code
and markdown cells) mentions the documented name: a function or class by its name, a module by its dotted
name (``tsnlib.sampling``) or by an import of it (``from tsnlib import sampling``).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tsnlib"

# "Introduced in" followed by the notebook's path, which a docstring may wrap onto the next line
INTRODUCED = re.compile(r"Introduced\s+in\s+(notebooks/[\w.-]+?\.ipynb)")


@dataclass(frozen=True)
class Claim:
    """One "Introduced in" line: where it is, what it documents, which notebook it names."""

    where: str  # tsnlib/sampling.py:116
    kind: str  # "module", "function" or "class"
    name: str  # the function's or class's name, or the module's dotted name
    notebook: str  # notebooks/02_segment_sampling.ipynb


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def claims_in_source(source: str, where: str, module: str) -> list[Claim]:
    """The "Introduced in" claims of the module docstring and of every function and class docstring in ``source``."""
    tree = ast.parse(source)
    out = []

    def add(node, kind: str, name: str) -> None:
        doc = ast.get_docstring(node, clean=False)
        if not doc:
            return
        line = node.body[0].lineno if node.body else getattr(node, "lineno", 1)
        for m in INTRODUCED.finditer(doc):
            out.append(Claim(f"{where}:{line + doc[:m.start()].count(chr(10))}", kind, name, m.group(1)))

    add(tree, "module", module)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node, "function", node.name)
        elif isinstance(node, ast.ClassDef):
            add(node, "class", node.name)
    return out


def notebook_source(path: Path) -> str:
    """The source of every cell of a notebook, code and markdown, joined by newlines."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"])


def mentions(source: str, claim: Claim) -> bool:
    """Whether a notebook's ``source`` mentions what ``claim`` documents."""
    if claim.kind != "module":
        return re.search(rf"(?<![\w]){re.escape(claim.name)}(?!\w)", source) is not None
    if re.search(rf"(?<![\w.]){re.escape(claim.name)}(?!\w)", source):  # tsnlib.sampling, import tsnlib.sampling
        return True
    parent, _, leaf = claim.name.rpartition(".")
    # from tsnlib import sampling / from tsnlib import (fusion, sampling as S)
    for m in re.finditer(rf"from\s+{re.escape(parent)}\s+import\s+(\([^)]*\)|[^\n]*)", source):
        if re.search(rf"(?<![\w.]){re.escape(leaf)}(?!\w)", m.group(1)):
            return True
    return False


def violations(claims: list[Claim], notebooks_dir: Path) -> list[str]:
    """One line per false claim: the notebook is missing, or it never mentions the documented name."""
    sources: dict[str, str | None] = {}
    out = []
    for c in claims:
        if c.notebook not in sources:
            path = notebooks_dir.parent / c.notebook
            sources[c.notebook] = notebook_source(path) if path.is_file() else None
        src = sources[c.notebook]
        if src is None:
            out.append(f"{c.where}: {c.kind} {c.name}: {c.notebook} does not exist")
        elif not mentions(src, c):
            out.append(f"{c.where}: {c.kind} {c.name}: {c.notebook} never mentions {c.name}")
    return out


def all_claims() -> list[Claim]:
    claims = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        claims += claims_in_source(path.read_text(encoding="utf-8"), rel, _module_name(path))
    return claims


# ---------------------------------------------------------------------------------------------
# the checker on worked examples
# ---------------------------------------------------------------------------------------------

_SAMPLE = '''"""A module. Introduced in notebooks/02_segment_sampling.ipynb."""


def sample_train_indices(n):
    """Indices. Introduced in
    notebooks/02_segment_sampling.ipynb; used again in notebooks/03_train_rgb.ipynb."""


class Helper:
    """Introduced in notebooks/09_missing.ipynb."""

    def method(self):
        """Introduced in notebooks/02_segment_sampling.ipynb."""


def _plain():
    """No claim here."""
'''


def test_claims_are_read_from_every_docstring_even_wrapped():
    claims = claims_in_source(_SAMPLE, "tsnlib/x.py", "tsnlib.x")
    assert [(c.kind, c.name, c.notebook, c.where) for c in claims] == [
        ("module", "tsnlib.x", "notebooks/02_segment_sampling.ipynb", "tsnlib/x.py:1"),
        ("function", "sample_train_indices", "notebooks/02_segment_sampling.ipynb", "tsnlib/x.py:5"),
        ("class", "Helper", "notebooks/09_missing.ipynb", "tsnlib/x.py:10"),
        ("function", "method", "notebooks/02_segment_sampling.ipynb", "tsnlib/x.py:13"),
    ]  # the second notebook of a line ("used again in") is not a claim


def test_a_claim_holds_only_where_the_notebook_names_it(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    cells = [{"cell_type": "markdown", "source": ["We sample with `sample_train_indices`.\n"]},
             {"cell_type": "code", "source": "from tsnlib import (fusion,\n    x as X)\nmethodical = 1\n"}]
    (nbs / "02_segment_sampling.ipynb").write_text(json.dumps({"cells": cells}))
    claims = claims_in_source(_SAMPLE, "tsnlib/x.py", "tsnlib.x")
    assert violations(claims, nbs) == [
        "tsnlib/x.py:10: class Helper: notebooks/09_missing.ipynb does not exist",
        "tsnlib/x.py:13: function method: notebooks/02_segment_sampling.ipynb never mentions method",  # not "methodical"
    ]
    # a module is mentioned by its dotted name or by an import of it, not by its leaf name alone
    module = Claim("m.py:1", "module", "tsnlib.sampling", "notebooks/02_segment_sampling.ipynb")
    assert mentions("import tsnlib.sampling as S", module) and mentions("from tsnlib import fusion, sampling", module)
    assert not mentions("the sampling formula", module) and not mentions("from tsnlib import sampling_x", module)


def test_the_library_makes_claims():
    claims = all_claims()
    # the parser reaches every docstring: known claims of a module, a function and a class are among them
    named = {(c.kind, c.name, c.notebook) for c in claims}
    assert ("module", "tsnlib.sampling", "notebooks/02_segment_sampling.ipynb") in named
    assert ("function", "sample_train_indices", "notebooks/02_segment_sampling.ipynb") in named
    assert ("class", "TSN", "notebooks/03_train_rgb.ipynb") in named
    assert len({c.where.split(":")[0] for c in claims}) >= 20  # modules with a claim (about 30 after issue 13)


def test_every_introduced_in_names_a_notebook_that_uses_the_name():
    bad = violations(all_claims(), ROOT / "notebooks")
    assert not bad, f"{len(bad)} false 'Introduced in' line(s):\n" + "\n".join(bad)
