"""What git44ctl prints: plain aligned tables for people, JSON (`--json`) for programs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import typer

# (header, field of the API's item)
Columns = Sequence[tuple[str, str]]


def cell(value: Any) -> str:
    """One value as table text: `-` for nothing, yes/no, compact JSON for structures."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def table(rows: Iterable[Mapping[str, Any]], columns: Columns) -> str:
    """The rows under their headers, columns padded to their widest cell."""
    lines = [[header for header, _ in columns]]
    lines += [[cell(row.get(field)) for _, field in columns] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def show(data: Any, *, as_json: bool, columns: Columns) -> None:
    """A list (or one item) as a table, or as JSON."""
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    rows = data if isinstance(data, list) else [data]
    typer.echo(table(rows, columns))


def show_record(item: Mapping[str, Any], *, as_json: bool) -> None:
    """One item, a field per line (or as JSON)."""
    if as_json:
        typer.echo(json.dumps(item, indent=2))
        return
    typer.echo(
        table(
            ({"field": k, "value": v} for k, v in item.items()),
            [("FIELD", "field"), ("VALUE", "value")],
        )
    )
