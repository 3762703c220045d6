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


_PENDING: list[str] = []  # the message of a SIGINT that arrived inside sigint_raises


@contextlib.contextmanager
def sigint_raises(message: str) -> Iterator[None]:
    """Inside: SIGINT raises :class:`Interrupted` with ``message``, whatever handler was there
    before (even an inherited 'ignore'), e.g. during a final evaluation: at the next
    :func:`raise_pending` (an evaluation asks between two env steps), else at the block's end.
    Not from inside whatever runs when the signal lands: an env's own objects, half made
    (Box2D's), print tracebacks when they are collected at exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, lambda *_: _PENDING.append(message))
    try:
        yield
        raise_pending()
    finally:
        signal.signal(signal.SIGINT, old)
        _PENDING.clear()


def raise_pending() -> None:
    """:class:`Interrupted` where a SIGINT arrived inside :func:`sigint_raises`."""
    if _PENDING:
        raise Interrupted(_PENDING[0])
