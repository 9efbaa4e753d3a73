"""Task storage: one small Protocol, one module per backend, `open_store(url)` to choose."""

from .base import QueueStats, Store, open_store

__all__ = ["QueueStats", "Store", "open_store"]
