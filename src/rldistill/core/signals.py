"""SIGINT, as a run wants it: a flag the loop checks between steps (so that it can checkpoint
first), or an immediate :class:`~rldistill.core.errors.Interrupted` with a message that says
where the run's work is (e.g. during a final evaluation)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from rldistill.core.errors import Interrupted


@contextlib.contextmanager
def sigint_flag() -> Iterator[list[int]]:
    """Inside: SIGINT appends to the yielded list instead of raising (main thread only)."""
    flag: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    old = signal.signal(signal.SIGINT, lambda *_: flag.append(1))
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def sigint_raises(message: str) -> Iterator[None]:
    """Inside: SIGINT raises :class:`Interrupted` with ``message`` at once, whatever handler was
    there before (even an inherited 'ignore'), e.g. during a final evaluation."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(*_: object) -> None:
        raise Interrupted(message)

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
