"""Blocking work off the event loop, in a daemon thread.

``asyncio.to_thread`` runs work in the loop's executor, which ``asyncio.run`` joins at the
end however long the work takes: a stuck DNS lookup or a trickling S3 answer would hold
the exit. Work run here is awaited through a future; given up on (a deadline, ctrl+c), its
thread is abandoned and holds nothing at exit.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_daemon_thread(fn: Callable[..., T], *args: Any, name: str) -> asyncio.Future[T]:
    """``fn(*args)`` in a daemon thread (with the caller's context variables); the future
    holds its result or its exception."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # handed to the awaiting task, as to_thread does
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop is gone: nobody waits for this answer any more
            pass

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), daemon=True, name=name).start()
    return future
