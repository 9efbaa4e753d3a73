"""The handler registry.

`@handler("name")` only marks its target. At start-up `Registry.load` imports the built-in
module and every module named in `SERVICE_HANDLERS`, collects the marked objects each module
defines, and refuses a name seen twice. Nothing global is mutated, so every app (and every
test) gets a registry of its own.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar, cast

from ..errors import ConfigError, DuplicateHandler
from ..task import Task
from .batch import BatchSpec, batch_spec
from .threads import HandlerThreads

BUILTIN_MODULE = "service.handlers.builtin"
MARK = "__service_handler__"
BATCH_MARK = "__service_batch__"

log = logging.getLogger("service.handlers")

Target = TypeVar("Target")
Run = Callable[[Any], Awaitable[Any]]


class Handler:
    """Base for class-based handlers, with the seeds' lifecycle.

    `startup()` runs before the first task, `shutdown()` after the drain, and `handle(task)`
    for every task. Each may be `async def` or a plain `def`; a plain `handle` runs in a
    worker thread so that it cannot block intake.
    """

    def startup(self) -> Any:
        return None

    def shutdown(self) -> Any:
        return None

    def handle(self, task: Task) -> Any:
        raise NotImplementedError


def handler(
    name: str, batch_size: int | None = None, batch_wait: float | None = None
) -> Callable[[Target], Target]:
    """Mark an `async def f(task)` (or a `Handler` subclass) as the handler for `name`.

    With `batch_size`, the target takes a list of up to that many tasks of the type instead,
    collected for at most `batch_wait` seconds (0 by default); it is checked at start-up.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError("a handler name must be a non-empty string")

    def mark(target: Target) -> Target:
        setattr(target, MARK, name)
        if batch_size is not None or batch_wait is not None:
            setattr(target, BATCH_MARK, (batch_size, 0.0 if batch_wait is None else batch_wait))
        return target

    return mark


class Registry:
    def __init__(self, threads: int = 16) -> None:
        self._runs: dict[str, Run] = {}
        self._instances: list[Handler] = []
        self.batches: dict[str, BatchSpec] = {}
        """The batch types, by name: their handlers take a list of tasks."""
        self.threads = HandlerThreads(threads)
        """Where plain-`def` handlers run."""

    def __contains__(self, name: object) -> bool:
        return name in self._runs

    def __repr__(self) -> str:
        return f"Registry({sorted(self._runs)})"

    @property
    def names(self) -> list[str]:
        return sorted(self._runs)

    @classmethod
    def load(cls, module_names: Iterable[str], threads: int = 16) -> Registry:
        registry = cls(threads)
        for module_name in (BUILTIN_MODULE, *module_names):
            registry.add_module(_import(module_name))
        return registry

    def add_module(self, module: ModuleType) -> None:
        for value in list(vars(module).values()):
            name = getattr(value, MARK, None)
            if name is not None and getattr(value, "__module__", None) == module.__name__:
                self.add(name, value)

    def add(self, name: str, target: Any) -> None:
        if name in self._runs:
            raise DuplicateHandler(f"handler {name!r} is registered twice")
        declared = getattr(target, BATCH_MARK, None)
        if declared is not None:
            self.batches[name] = batch_spec(name, target, *declared)
        if inspect.isclass(target):
            instance = cast(Handler, target())
            self._instances.append(instance)
            self._runs[name] = self._as_async(instance.handle)
        elif callable(target):
            self._runs[name] = self._as_async(target)
        else:
            raise ConfigError(f"handler {name!r} is neither a function nor a class")

    async def run(self, task: Task) -> Any:
        return await self._runs[task.type](task)

    async def run_batch(self, tasks: list[Task]) -> Any:
        """Call the batch handler of the tasks' type (one type) with the list."""
        return await self._runs[tasks[0].type](tasks)

    async def startup(self) -> None:
        """Start every class-based handler; if one fails, stop those started before it."""
        for started, instance in enumerate(self._instances):
            try:
                await self._call(instance.startup)
            except Exception as error:
                await self._shutdown(self._instances[:started])
                name = type(instance).__qualname__
                raise ConfigError(
                    f"handler {name} failed to start: {type(error).__name__}: {error}"
                ) from error

    async def shutdown(self) -> None:
        await self._shutdown(self._instances)

    async def _shutdown(self, instances: list[Handler]) -> None:
        for instance in reversed(instances):
            try:
                await self._call(instance.shutdown)
            except Exception:
                log.exception("handler shutdown failed: %r", instance)

    def _as_async(self, function: Callable[[Any], Any]) -> Run:
        if inspect.iscoroutinefunction(function):
            return function
        threads = self.threads

        async def in_thread(argument: Any) -> Any:
            return await threads.run(function, argument)

        return in_thread

    @staticmethod
    async def _call(function: Callable[[], Any]) -> None:
        result = function()
        if inspect.isawaitable(result):
            await result


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as error:
        raise ConfigError(
            f"cannot import handler module {module_name!r}: {type(error).__name__}: {error}"
        ) from error
