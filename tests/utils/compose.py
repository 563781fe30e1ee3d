"""Compose files rendered as `docker compose config` renders them, without Docker.

Each file is interpolated on its own (`${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?error}` and `${VAR?error}`, `$$`), then the files are merged in order with
Compose's rules: mappings merge key by key; lists add up (ports, volumes, secrets),
except `command`, `entrypoint` and a health check's `test`, which are replaced; a value
tagged `!override` replaces, one tagged `!reset` removes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DEVELOPMENT = ROOT / "deploy" / "compose.development.yml"

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}")
_REPLACED_LISTS = frozenset({"command", "entrypoint", "test"})


class MissingVariable(ValueError):
    """A `${VAR:?error}` without a value: Compose refuses the whole file."""


@dataclass(frozen=True)
class _Tagged:
    tag: str  # "!override" or "!reset"
    value: Any


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    name, colon, operator, argument = match.groups()
    if name is None:
        return "$"  # `$$`
    value = env.get(name)
    missing = value is None or (colon == ":" and value == "")
    if operator is None or not missing:
        return value or ""
    if operator == "-":
        return str(argument)
    raise MissingVariable(f"required variable {name} is missing a value: {argument}")


def interpolate(text: str, env: Mapping[str, str] | None = None) -> str:
    """Compose's interpolation of one file with `env` (empty by default)."""
    return _VARIABLE.sub(lambda match: _substitute(match, env or {}), text)


def variables(text: str) -> set[str]:
    """The variables a compose file interpolates."""
    return {match.group(1) for match in _VARIABLE.finditer(text) if match.group(1)}


class _Loader(yaml.SafeLoader):
    pass


def _construct_tagged(loader: yaml.SafeLoader, node: yaml.Node) -> _Tagged:
    value: Any
    if isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return _Tagged(str(node.tag), value)


for _tag in ("!override", "!reset"):
    _Loader.add_constructor(_tag, _construct_tagged)


def _plain(value: Any) -> Any:
    """`value` with its tags resolved as if nothing was underneath."""
    if isinstance(value, _Tagged):
        return None if value.tag == "!reset" else _plain(value.value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if not _is_reset(item)}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _is_reset(value: Any) -> bool:
    return isinstance(value, _Tagged) and value.tag == "!reset"


def merge(base: Any, overlay: Any, key: str | None = None) -> Any:
    """Compose's merge of a later file's `overlay` into `base`."""
    if isinstance(overlay, _Tagged):
        return _plain(overlay)
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for name, value in overlay.items():
            if _is_reset(value):
                merged.pop(name, None)
            else:
                merged[name] = merge(base[name], value, name) if name in base else _plain(value)
        return merged
    if isinstance(base, list) and isinstance(overlay, list) and key not in _REPLACED_LISTS:
        return base + [item for item in _plain(overlay) if item not in base]
    return copy.deepcopy(_plain(overlay))


def load(path: Path, env: Mapping[str, str] | None = None) -> Any:
    """One file, interpolated and parsed, tags kept for `merge`."""
    return yaml.load(interpolate(path.read_text(), env), Loader=_Loader)


def render(*paths: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The configuration Compose runs for `-f paths[0] -f paths[1] ...` with `env`."""
    rendered: Any = {}
    for path in paths:
        rendered = merge(rendered, load(path, env))
    result: dict[str, Any] = _plain(rendered)
    return result
