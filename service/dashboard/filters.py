"""The task list's filter: status, type and id prefix, read from the query string."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from ..store.views import is_id_prefix
from ..task import Status

STATUSES: tuple[Status, ...] = ("queued", "running", "done", "failed", "cancelled")
ID_LENGTH = 44
TYPE_LENGTH = 200


class BadFilter(ValueError):
    """A filter value that cannot match anything; its message says which."""


@dataclass(frozen=True, slots=True)
class Filter:
    status: Status | None = None
    type: str | None = None
    prefix: str = ""
    after: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filter:
        status = args.get("status", "").strip() or None
        if status is not None and status not in STATUSES:
            raise BadFilter(f"status must be one of {', '.join(STATUSES)}")
        kind = args.get("type", "").strip() or None
        if kind is not None and len(kind) > TYPE_LENGTH:
            raise BadFilter(f"type is longer than {TYPE_LENGTH} characters")
        prefix = id_text(args.get("prefix", ""), "id prefix")
        after = id_text(args.get("after", ""), "after") or None
        return cls(status, kind, prefix, after)

    @property
    def bulk(self) -> bool:
        """Whether failed tasks can match: the bulk retry is offered."""
        return self.status in (None, "failed")

    def query(self, **changes: Any) -> str:
        """The query string of this filter with `changes`; empty values left out."""
        changed = replace(self, **changes)
        fields = {
            "status": changed.status,
            "type": changed.type,
            "prefix": changed.prefix,
            "after": changed.after,
        }
        return urlencode({name: value for name, value in fields.items() if value})

    def bound(self) -> str | None:
        """The `after` to ask the store for: the ids below it hold this prefix's."""
        bounds = [each for each in (self.after, self.prefix and self.prefix + "g") if each]
        return min(bounds, default=None)


def id_text(raw: str, name: str) -> str:
    text = raw.strip().lower()
    if len(text) > ID_LENGTH or not is_id_prefix(text):
        raise BadFilter(f"{name} must be hexadecimal digits of a task id")
    return text
