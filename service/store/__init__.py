"""Task storage: one small Protocol, one module per backend, `open_store(url)` to choose."""

from .base import QueueStats, Store, open_store
from .views import Count, Failed, Instance, Minute

__all__ = ["Count", "Failed", "Instance", "Minute", "QueueStats", "Store", "open_store"]
