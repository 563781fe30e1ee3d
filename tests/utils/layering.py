"""A small AST check of the house rules (docs/architecture.md, "Where things live"):

- a collection is touched only by the database module(s) that own it: its name —
  a `git44_common.collections` constant, `db["name"]` or `db.name` — appears nowhere
  else;
- the HTTP layer (`api/`) imports no database module (`crud`, `core.db`,
  `git44_common.collections`, pymongo).

`collection_violations` and `route_violations` return one line per breach (empty when
the rules hold), so a test shows every breach at once.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from git44_common import collections as names

COLLECTIONS: dict[str, str] = {
    value: constant
    for constant, value in vars(names).items()
    if constant.isupper() and isinstance(value, str)
}
DATABASE_MODULES = ("git44_common.collections", "pymongo")


@dataclass(frozen=True)
class Touch:
    module: str  # path relative to the package, e.g. "removals/crud.py"
    line: int
    collection: str


def modules(package: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(package.rglob("*.py")):
        yield path.relative_to(package).as_posix(), ast.parse(path.read_text(), str(path))


def touches(package: Path) -> Iterator[Touch]:
    """Every place a module of `package` names a collection."""
    for module, tree in modules(package):
        for node in ast.walk(tree):
            for collection in _collections_named(node):
                yield Touch(module, getattr(node, "lineno", 0), collection)


def _collections_named(node: ast.AST) -> list[str]:
    by_constant = {constant: value for value, constant in COLLECTIONS.items()}
    if isinstance(node, ast.ImportFrom) and node.module == "git44_common.collections":
        return [by_constant[a.name] for a in node.names if a.name in by_constant]
    if isinstance(node, ast.Subscript) and _is_database(node.value):
        value = node.slice.value if isinstance(node.slice, ast.Constant) else None
        return [value] if isinstance(value, str) and value in COLLECTIONS else []
    if isinstance(node, ast.Attribute) and node.attr in COLLECTIONS and _is_database(node.value):
        return [node.attr]
    return []


def _is_database(node: ast.expr) -> bool:
    """`db`, `mongo_db`, `ctx.db`, `self._db`: what the code calls a database."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return isinstance(name, str) and name.endswith("db")


def collection_violations(package: Path, *, allowed: Callable[[str, str], bool]) -> list[str]:
    """Touches for which `allowed(module, collection)` is False."""
    return [
        f"{t.module}:{t.line} touches {t.collection}"
        for t in touches(package)
        if not allowed(t.module, t.collection)
    ]


def route_violations(package: Path, *, layer: str = "api/") -> list[str]:
    """Imports of a database module by a module of the HTTP layer."""
    found: list[str] = []
    for module, tree in modules(package):
        if not module.startswith(layer):
            continue
        for node in ast.walk(tree):
            for imported in _imported(node):
                if _is_database_module(imported):
                    found.append(f"{module}:{node.lineno} imports {imported}")  # type: ignore[attr-defined]
    return found


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def _is_database_module(name: str) -> bool:
    parts = name.split(".")
    return (
        "crud" in parts
        or name.endswith(".core.db")
        or any(name == m or name.startswith(m + ".") for m in DATABASE_MODULES)
    )
