"""The one source of time. Tests and replays set it; everything else asks it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.utils import timezone

_state = threading.local()
_global_fixed: list[datetime] = []


def now() -> datetime:
    fixed = getattr(_state, "fixed", None)
    if fixed is not None:
        return fixed
    if _global_fixed:
        return _global_fixed[-1]
    return timezone.now()


@contextlib.contextmanager
def frozen(at: datetime, *, all_threads: bool = False) -> Iterator[None]:
    """Fix the clock at ``at`` inside the block (for this thread, or every thread)."""
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if all_threads:
        _global_fixed.append(at)
        try:
            yield
        finally:
            _global_fixed.pop()
        return
    previous = getattr(_state, "fixed", None)
    _state.fixed = at
    try:
        yield
    finally:
        _state.fixed = previous


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward (tests)."""
    fixed = getattr(_state, "fixed", None)
    if fixed is None:
        raise RuntimeError("the clock is not frozen")
    _state.fixed = fixed + delta
