"""Handlers: `@handler("name")` marks a function or class; a `Registry` collects them per app."""

from .registry import Handler, Registry, handler

__all__ = ["Handler", "Registry", "handler"]
