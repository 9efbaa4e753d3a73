"""SQL text lives in .sql files beside this module: numbered migrations and named queries."""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def queries(dialect: str) -> dict[str, str]:
    """The `-- name: x` sections of `<dialect>/queries.sql`, by name."""
    text = resources.files(__name__).joinpath(dialect, "queries.sql").read_text("utf-8")
    parts = _NAME.split(text)[1:]
    return {name: body.strip() for name, body in zip(parts[::2], parts[1::2], strict=True)}


def migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, script) for every `NNN_*.sql` of the dialect, in order."""
    folder = resources.files(__name__).joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name[:3].isdigit() and entry.name.endswith(".sql"):
            found.append((int(entry.name[:3]), entry.read_text("utf-8")))
    return sorted(found)
