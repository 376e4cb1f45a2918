"""Sync APIs that also work where an event loop is already running (Jupyter, async apps).

``asyncio.run`` refuses to start inside a running loop ("asyncio.run() cannot be called from a
running event loop"), which is every notebook cell. :func:`run_sync` runs the coroutine on a
fresh loop in a worker thread then, and waits for it; the caller's loop is blocked for that
time, as any sync call blocks it. Async code should await the ``*_async`` versions instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to completion from sync code, loop or no loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    result: dict[str, Any] = {}
    context = contextvars.copy_context()

    def worker() -> None:
        try:
            result["value"] = context.run(asyncio.run, make())
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=worker, name="htan-cds-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value
