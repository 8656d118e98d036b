"""Experiment configs: small YAML presets, inheritance with ``base:``, dotted command-line overrides.

Introduced in notebooks/03_train_rgb.ipynb.

A config is a plain nested ``dict`` with six sections, every key documented with its default in
``tsnlib/configs/defaults.yaml`` (the schema: a key that is not there is an error):

* ``model``  — backbone, pretrained weights, dropout, classifier init, partial BN, consensus;
* ``data``   — dataset layout and split, modality / clip length / segments, augmentation sizes;
* ``optim``  — SGD (lr, momentum, weight decay), schedule with warm-up, epochs, gradient clipping;
* ``train``  — batch size, workers, mixed precision, compile, seeds, checkpoints, validation;
* ``test``   — the full test protocol (clips × crops) used by ``tsnlib test``;
* ``name`` / ``description`` — what the run is.

Presets live in ``tsnlib/configs/<name>.yaml`` and are named as in the reference tables, e.g.
``tsn_r50_1x1x3_75e_ucf101_rgb``. A preset (or any YAML file) may start with ``base: <preset
name or path>`` to inherit another and change only a few keys; every config implicitly inherits
``defaults.yaml``. Overrides are ``"section.key=value"`` strings whose value is read as YAML
(``optim.lr=0.01`` is a float, ``optim.steps=[20,40]`` a list, ``model.pretrained=null`` None).

Strings may reference environment variables: ``${TSN_DATA}`` (default: :func:`tsnlib.utils.data_root`,
i.e. ``<repo>/data``) and any other ``${NAME}`` that is set.

    >>> cfg = load_config("tsn_r50_1x1x3_75e_ucf101_rgb", ["optim.lr=0.01", "data.num_segments=5"])
    >>> cfg["optim"]["lr"], cfg["data"]["num_segments"]
    (0.01, 5)
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from tsnlib.annotations import LAYOUTS
from tsnlib.annotations.benchmarks import ACTIVITYNET_LEVELS, HVU_CHOICES
from tsnlib.decoding import BACKENDS
from tsnlib.errors import ConfigError
from tsnlib.utils import data_root

__all__ = [
    "CONFIG_DIR",
    "ConfigError",
    "list_presets",
    "preset_path",
    "default_config",
    "load_config",
    "apply_overrides",
    "validate_config",
    "save_config",
    "format_config",
    "config_keys",
    "get_value",
    "expand_vars",
]

#: The folder of the shipped presets (``<name>.yaml``) and of the schema ``defaults.yaml``.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
_DEFAULTS = "defaults"
#: Top-level keys that hold text, not a section.
_TEXT_KEYS = ("name", "description")
#: Keys whose value may be any scalar whatever the default's type (e.g. ``auto`` or a bool).
_ANY_SCALAR = {
    "model.pretrained",
    "model.rgb_weights",
    "train.amp",
    "train.compile",
    "train.channels_last",
    "train.tensorboard",
    "test.amp",
}

#: Keys that may be ``null`` (every other key needs a value: ``optim.lr=`` is an error).
_NULLABLE = {
    "model.pretrained",
    "model.rgb_weights",
    "data.annotations",
    "data.start_index",
    "optim.clip_grad",
    "train.work_dir",
    "train.max_steps_per_epoch",
}

#: Range of the numeric keys (checked by :func:`validate_config`): ``(low, high, text)``, where
#: ``low``/``high`` are ``(bound, inclusive)`` or None, and ``text`` is what the message says.
_AT_LEAST_1 = ((1, True), None, ">= 1")
_AT_LEAST_0 = ((0, True), None, ">= 0")
_POSITIVE = ((0, False), None, "> 0")
_FRACTION = ((0, True), (1, False), "in [0, 1)")
RANGES = {
    "model.dropout": _FRACTION,
    "model.fc_init_std": _POSITIVE,
    "data.split": _AT_LEAST_1,
    "data.start_index": _AT_LEAST_0,
    "data.clip_len": _AT_LEAST_1,
    "data.frame_interval": _AT_LEAST_1,
    "data.num_segments": _AT_LEAST_1,
    "data.input_size": _AT_LEAST_1,
    "data.scale_size": _AT_LEAST_1,
    "data.val_input_size": _AT_LEAST_1,
    "data.val_scale_size": _AT_LEAST_1,
    "data.max_distort": _AT_LEAST_0,
    "optim.lr": _POSITIVE,
    "optim.momentum": _FRACTION,
    "optim.weight_decay": _AT_LEAST_0,
    "optim.step_size": _POSITIVE,
    "optim.gamma": _POSITIVE,
    "optim.min_lr": _AT_LEAST_0,
    "optim.warmup_epochs": _AT_LEAST_0,
    "optim.warmup_start_factor": ((0, False), (1, True), "in (0, 1]"),
    "optim.epochs": _AT_LEAST_1,
    "optim.clip_grad": _AT_LEAST_0,
    "optim.label_smoothing": _FRACTION,
    "optim.base_batch_size": _AT_LEAST_1,
    "optim.loss_weight": _POSITIVE,
    "train.batch_size": _AT_LEAST_1,
    "train.accumulate_steps": _AT_LEAST_1,
    "train.workers": _AT_LEAST_0,
    "train.val_interval": _AT_LEAST_0,
    "train.max_keep": _AT_LEAST_0,
    "train.log_interval": _AT_LEAST_1,
    "train.max_steps_per_epoch": _AT_LEAST_1,
    "test.num_clips": _AT_LEAST_1,
    "test.input_size": _AT_LEAST_1,
    "test.scale_size": _AT_LEAST_1,
    "test.batch_size": _AT_LEAST_1,
    "test.workers": _AT_LEAST_0,
    "test.max_views_per_forward": _AT_LEAST_1,
}

#: Types of the keys whose default is ``null`` (their type cannot be read from the schema).
_NULL_DEFAULT_TYPES = {
    "model.rgb_weights": str,
    "data.annotations": str,
    "data.start_index": int,
    "train.work_dir": str,
    "train.max_steps_per_epoch": int,
}

#: Accepted values of the keys that are choices (checked by :func:`validate_config`).
CHOICES = {
    "train.tensorboard": ("auto", True, False),
    "data.dataset": LAYOUTS,
    "data.activitynet_level": ACTIVITYNET_LEVELS,
    "data.hvu_category": HVU_CHOICES,
    "data.modality": ("RGB", "Flow", "RGBDiff"),
    "data.source": ("video", "frames", "auto"),
    "data.train_crop": ("multiscale", "random_resized"),
    "model.consensus": ("avg", "max", "weighted"),
    "optim.schedule": ("constant", "step", "multistep", "cosine"),
    "train.amp": ("auto", True, False, "bf16", "fp16"),
    "test.amp": ("auto", True, False, "bf16", "fp16"),
    "train.channels_last": ("auto", True, False),
    "test.num_crops": (1, 3, 10),
    "data.num_fixed_crops": (5, 13),
    "train.save_best": ("val_top1", "val_top5", "val_mean_class_accuracy", "val_mAP"),
    "data.backend": BACKENDS,
}


# ---------------------------------------------------------------------------------------------
# finding and reading files
# ---------------------------------------------------------------------------------------------


def list_presets() -> list[str]:
    """Names of the shipped presets (the YAML files of :data:`CONFIG_DIR`, without ``defaults``).

    Used by :func:`preset_path`.
    """
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != _DEFAULTS)


def preset_path(name_or_path: str | os.PathLike, relative_to: Path | None = None) -> Path:
    """The YAML file of a preset name (``tsn_r8_synthetic_rgb``) or of a path to a YAML file.

    A relative path is looked up next to ``relative_to`` (the file that names it as ``base:``)
    first, then in the current folder. Raises :class:`ConfigError` listing the presets.

    Used by :func:`load_config`.
    """
    text = str(name_or_path)
    candidates = []
    if text.endswith((".yaml", ".yml")) or os.sep in text or "/" in text:
        p = Path(text).expanduser()
        if not p.is_absolute() and relative_to is not None:
            candidates.append(relative_to.parent / p)
        candidates.append(p)
    else:
        candidates.append(CONFIG_DIR / f"{text}.yaml")
    for c in candidates:
        if c.is_file():
            return c.resolve()
    if text.endswith((".yaml", ".yml")):
        raise ConfigError(f"config file not found: '{text}'"
                          f"{f' (named as base: in {relative_to})' if relative_to else ''}; give an existing YAML "
                          f"file or a preset name: {', '.join(list_presets())}")
    presets = list_presets()
    close = difflib.get_close_matches(text, presets, n=3, cutoff=0.8)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ConfigError(
        f"no config {text!r}: not a preset and not a YAML file"
        f"{f' (named as base: in {relative_to})' if relative_to else ''}.{hint} Presets: {', '.join(presets)}"
    )


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"cannot parse config file '{path}'{_yaml_problem(err)}: fix the YAML there") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping (section: {{key: value}}), got {type(data).__name__}")
    return data


def _yaml_problem(err: yaml.YAMLError) -> str:
    """``" at line L, column C: <problem> (<context>)"`` of a YAML error, on one line."""
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(err, "problem", None) or " ".join(str(err).split())
    context = getattr(err, "context", None)
    return f"{where}: {problem}" + (f" ({context})" if context else "")


def _merge(base: dict, child: Mapping) -> dict:
    """``child`` deep-merged onto a copy of ``base`` (dicts merge key by key; anything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_chain(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The file at ``path`` merged onto its ``base:`` chain (without the defaults)."""
    if path in seen:
        chain = " -> ".join(str(p.name) for p in (*seen, path))
        raise ConfigError(f"cycle in 'base:' inheritance: {chain}")
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"'base:' in '{path}' must be a preset name or a path, got {base!r}")
    parent = _resolve_chain(preset_path(base, relative_to=path), (*seen, path))
    parent.pop("name", None)
    parent.pop("description", None)
    return _merge(parent, data)


def default_config() -> dict:
    """Every key with its default value (the schema), read from ``configs/defaults.yaml``.

    Used by :func:`config_keys`, :func:`validate_config`, :func:`load_config`.
    """
    return _read_yaml(CONFIG_DIR / f"{_DEFAULTS}.yaml")


# ---------------------------------------------------------------------------------------------
# keys, types, values
# ---------------------------------------------------------------------------------------------


def config_keys(cfg: Mapping | None = None, prefix: str = "") -> list[str]:
    """All dotted keys of a config (default: of the schema), e.g. ``["model.backbone", ...]``.

    Used by :func:`validate_config`, :func:`load_config`, :func:`apply_overrides`.
    """
    cfg = default_config() if cfg is None else cfg
    keys = []
    for k, v in cfg.items():
        full = f"{prefix}{k}"
        if isinstance(v, Mapping):
            keys.extend(config_keys(v, full + "."))
        else:
            keys.append(full)
    return keys


def get_value(cfg: Mapping, dotted: str):
    """``cfg["a"]["b"]`` for ``"a.b"``; raises :class:`ConfigError` when a part is missing.

    Used by :func:`validate_config`, :class:`tsnlib.datasets.TSNDataset`, :func:`tsnlib.streams.run_differences`.
    """
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"config has no key {dotted!r}")
        node = node[part]
    return node


def _unknown_key_error(dotted: str, schema: Mapping, where: str) -> ConfigError:
    parts = dotted.split(".")
    node, section = schema, ""
    for part in parts[:-1]:
        if isinstance(node.get(part), Mapping):
            node, section = node[part], f"{section}{part}."
        else:
            break
    valid = [f"{section}{k}" for k in node] if section else list(node)
    close = [k for k in config_keys(schema) if k.split(".")[-1] == parts[-1]]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ConfigError(f"unknown config key {dotted!r} ({where}).{hint} Valid keys{' in ' + section[:-1] if section else ''}: "
                       f"{', '.join(valid)}")


_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _coerce(dotted: str, value, default, where: str):
    """``value`` checked against the type of ``default`` (ints become floats where floats are expected).

    ``null`` (or an empty override, ``optim.lr=``) is accepted only for the keys of :data:`_NULLABLE`.
    """
    if value is None:
        if dotted in _NULLABLE:
            return None
        example = f", e.g. {dotted}={_format_value(default)}" if default is not None else ""
        raise ConfigError(f"{dotted} needs a value{example}; got nothing ({where})")
    if isinstance(value, Mapping):
        raise ConfigError(f"{dotted} must be a single value, got a mapping ({where})")
    if default is None and dotted in _NULL_DEFAULT_TYPES:
        default = _NULL_DEFAULT_TYPES[dotted]()
    if dotted in _ANY_SCALAR or default is None:
        if isinstance(value, list):
            raise ConfigError(f"{dotted} must be a single value, got a list {value!r} ({where})")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{dotted} must be true or false, got {value!r} ({where})")
        return value
    if isinstance(default, float):
        # PyYAML reads 5e-4 (no dot) as a string; accept it as the number it means
        if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{dotted} must be a number, got {value!r} ({where})")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{dotted} must be an integer, got {value!r} ({where})")
        return value
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{dotted} must be a list, e.g. [20, 40], got {value!r} ({where})")
        return value
    if isinstance(default, str):
        if isinstance(value, (list, Mapping, bool)):
            raise ConfigError(f"{dotted} must be a text value, got {value!r} ({where})")
        return value if isinstance(value, str) else str(value)
    return value


def _format_value(value) -> str:
    """A config value as it is written in an override (``0.01``, ``true``, ``null``, ``[20, 40]``)."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _check_against(cfg: Mapping, schema: Mapping, where: str, prefix: str = "") -> dict:
    """A copy of ``cfg`` with every key checked against ``schema`` (unknown keys raise)."""
    out = {}
    for key, value in cfg.items():
        dotted = f"{prefix}{key}"
        if not prefix and key in _TEXT_KEYS:
            out[key] = value if value is None else str(value)
            continue
        if key not in schema:
            raise _unknown_key_error(dotted, _root_schema(), where)
        default = schema[key]
        if isinstance(default, Mapping):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{dotted} is a section: give a mapping of its keys, got {value!r} ({where})")
            out[key] = _check_against(value, default, where, dotted + ".")
        else:
            out[key] = _coerce(dotted, value, default, where)
    return out


_SCHEMA_CACHE: dict | None = None


def _root_schema() -> dict:
    global _SCHEMA_CACHE
    if _SCHEMA_CACHE is None:
        _SCHEMA_CACHE = default_config()
    return _SCHEMA_CACHE


def _parse_override(text: str) -> tuple[str, object]:
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value, e.g. optim.lr=0.01")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has no key before '='")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(f"cannot read the value of override {text!r} as YAML{_yaml_problem(err)}; quote "
                          "text values, e.g. key='a: b'") from err
    return key, value


def apply_overrides(cfg: Mapping, overrides: Sequence[str] | Mapping | None) -> dict:
    """A copy of ``cfg`` with dotted overrides applied: ``["optim.lr=0.01"]`` or ``{"optim.lr": 0.01}``.

    Values given as strings are read as YAML (so ``5``, ``0.1``, ``true``, ``null``, ``[20, 40]`` get
    their types); every key must exist in the schema (the error lists the valid keys).

    Used by :func:`load_config`.
    """
    out = copy.deepcopy(dict(cfg))
    if not overrides:
        return out
    items = overrides.items() if isinstance(overrides, Mapping) else [_parse_override(o) for o in overrides]
    schema = _root_schema()
    for key, value in items:
        parts = key.split(".")
        node_schema, node = schema, out
        for i, part in enumerate(parts):
            dotted = ".".join(parts[: i + 1])
            if part not in node_schema and not (i == 0 and part in _TEXT_KEYS):
                raise _unknown_key_error(key, schema, f"override {key}={value!r}")
            if i == len(parts) - 1:
                if i == 0 and part in _TEXT_KEYS:
                    node[part] = str(value)
                elif isinstance(node_schema[part], Mapping):
                    raise ConfigError(f"{dotted} is a section; override one of its keys: "
                                      f"{', '.join(f'{dotted}.{k}' for k in node_schema[part])}")
                else:
                    node[part] = _coerce(dotted, value, node_schema[part], f"override {key}")
            else:
                if not isinstance(node_schema[part], Mapping):
                    raise ConfigError(f"{dotted} is a value, not a section (override {key})")
                node_schema = node_schema[part]
                node = node.setdefault(part, {})
    return out


# ---------------------------------------------------------------------------------------------
# environment variables
# ---------------------------------------------------------------------------------------------

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_vars(text: str) -> str:
    """Expand ``${NAME}`` in a string; ``${TSN_DATA}`` defaults to :func:`tsnlib.utils.data_root`.

    A variable that is neither set nor ``TSN_DATA`` raises :class:`ConfigError`. A leading ``~``
    becomes the home folder.

    Used by :func:`load_config`.
    """

    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name in os.environ:
            return os.environ[name]
        if name == "TSN_DATA":
            return str(data_root())
        raise ConfigError(f"environment variable ${{{name}}} used in the config is not set ({text!r})")

    out = _VAR_RE.sub(repl, text)
    return os.path.expanduser(out) if out.startswith("~") else out


def _expand_all(node):
    if isinstance(node, dict):
        return {k: _expand_all(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_all(v) for v in node]
    if isinstance(node, str):
        return expand_vars(node)
    return node


# ---------------------------------------------------------------------------------------------
# validation and loading
# ---------------------------------------------------------------------------------------------


def validate_config(cfg: Mapping) -> dict:
    """Check keys, types, choices and ranges of a full config; returns it (typed). Raises :class:`ConfigError`.

    Every value is checked here, when the config is loaded, so that a bad one (``optim.lr=abc``,
    ``optim.lr=``, ``train.workers=-1``) is reported by its key before anything is built. So is a
    ``train.save_best`` that does not fit ``model.multi_label`` (``val_mAP`` for multi-label runs,
    an accuracy otherwise).

    Used by :func:`load_config`.
    """
    out = _check_against(cfg, _root_schema(), "config")
    for dotted, allowed in CHOICES.items():
        try:
            value = get_value(out, dotted)
        except ConfigError:
            continue
        if value not in allowed or (isinstance(value, bool) and True not in allowed and False not in allowed):
            raise ConfigError(f"{dotted} must be one of {list(allowed)}, got {value!r}")
    for dotted, (low, high, text) in RANGES.items():
        try:
            value = get_value(out, dotted)
        except ConfigError:
            continue
        if value is None or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if ((low is not None and (value < low[0] or (value == low[0] and not low[1])))
                or (high is not None and (value > high[0] or (value == high[0] and not high[1])))):
            raise ConfigError(f"{dotted} must be {text}, got {value!r}")
    scales = out["data"]["crop_scales"]
    if any(isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s <= 1 for s in scales):
        raise ConfigError(f"data.crop_scales must be fractions in (0, 1] of the short side, e.g. [1, 0.875, 0.75, 0.66], "
                          f"or [] for the modality's; got {scales!r}")
    o = out["optim"]
    if o["schedule"] == "multistep" and any(not isinstance(s, (int, float)) for s in o["steps"]):
        raise ConfigError(f"optim.steps must be a list of epochs, got {o['steps']!r}")
    if o["schedule"] == "step" and not o["step_size"] > 0:
        raise ConfigError(f"optim.schedule=step needs optim.step_size > 0 (epochs between decays), got {o['step_size']}")
    if o["warmup_epochs"] > o["epochs"]:
        raise ConfigError(f"optim.warmup_epochs must be in [0, optim.epochs], got {o['warmup_epochs']}")
    best, multi = out["train"]["save_best"], out["model"]["multi_label"]
    if multi and best != "val_mAP":
        raise ConfigError(f"train.save_best={best} ranks single-label accuracy, which a multi-label run "
                          "(model.multi_label=true) does not measure: set train.save_best=val_mAP (mean average "
                          "precision on the validation subset)")
    if not multi and best == "val_mAP":
        raise ConfigError("train.save_best=val_mAP is the metric of multi-label runs: set model.multi_label=true, "
                          "or pick val_top1, val_top5 or val_mean_class_accuracy")
    return out


def load_config(name_or_path: str | os.PathLike | Mapping, overrides: Sequence[str] | Mapping | None = None,
                expand: bool = True) -> dict:
    """Load a preset by name, a YAML file, or a dict; apply ``base:`` inheritance, defaults and overrides.

    Introduced in notebooks/03_train_rgb.ipynb.

    * ``name_or_path``: a preset name (:func:`list_presets`), a path to a YAML file, or a dict
      (e.g. a config stored in a checkpoint).
    * ``overrides``: ``["optim.lr=0.01", "data.num_segments=5"]`` (values read as YAML) or a
      mapping ``{"optim.lr": 0.01}``.
    * ``expand``: expand ``${TSN_DATA}`` and other ``${VAR}`` in strings.

    Returns a plain nested dict with every key of the schema (``configs/defaults.yaml``);
    ``name`` is the preset's (or file's) name unless the file sets one. Unknown keys, wrong
    types and bad choices raise :class:`ConfigError` naming the key and listing the valid ones.
    """
    if isinstance(name_or_path, Mapping):
        user = copy.deepcopy(dict(name_or_path))
        user.pop("base", None)
        label = "the given dict"
        default_name = user.get("name") or "custom"
    else:
        path = preset_path(name_or_path)
        user = _resolve_chain(path)
        label = f"'{path}'"
        default_name = path.stem
    checked = _check_against(user, _root_schema(), label)
    cfg = _merge(_root_schema(), checked)
    if not cfg.get("name"):
        cfg["name"] = default_name
    cfg = apply_overrides(cfg, overrides)
    cfg = validate_config(cfg)
    if expand:
        cfg = _expand_all(cfg)
    # keep the order of the schema: name, description, then the sections
    return {k: cfg[k] for k in [*_TEXT_KEYS, *[k for k in cfg if k not in _TEXT_KEYS]] if k in cfg}


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def _plain(node):
    """The config as YAML-safe builtins (Paths → str, tuples → lists)."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    if isinstance(node, Path):
        return str(node)
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if hasattr(node, "item"):  # numpy / torch scalars
        return node.item()
    return str(node)


class _Dumper(yaml.SafeDumper):
    """Sections as blocks, lists inline (``steps: [20, 40]``)."""


_Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def format_config(cfg: Mapping) -> str:
    """The config as readable YAML text (section by section, in schema order, lists inline).

    Used by :func:`save_config`.
    """
    return yaml.dump(_plain(cfg), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


def save_config(cfg: Mapping, path: str | os.PathLike) -> Path:
    """Write the config as YAML to ``path`` (folders created); ``load_config(path)`` reads it back.

    Used by :class:`tsnlib.training.Trainer`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(format_config(cfg), encoding="utf-8")
    os.replace(tmp, path)
    return path
