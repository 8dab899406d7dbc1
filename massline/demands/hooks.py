"""A small, explicit registry through which apps above ``demands`` (e.g. ``routing``) follow what happens to
demands, without ``demands`` importing them (the layers run one way) and without Django signals.

Apps register in their ``AppConfig.ready()``::

    hooks.register("dispatched", my_function)   # called as my_function(demand, user) after commit

The services call ``hooks.fire(kind, demand, user)`` at the end of a change. Each hook runs after the
transaction commits, on a copy of the demand as it was at that moment; a hook that fails is logged and
never undoes or blocks the change (the demand's own work is done by then).

``model_version()`` asks the providers registered with ``provide_model_version`` which text classifier
model is active, so that every dispatch stores it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

log = logging.getLogger("massline.demands.hooks")

KINDS = ("received", "dispatched", "return_upheld")
_hooks: dict[str, list[Callable[[Any, Any], None]]] = {k: [] for k in KINDS}
_version_providers: list[Callable[[], str]] = []


def register(kind: str, fn: Callable[[Any, Any], None]) -> None:
    """Call ``fn(demand, user)`` after each commit of a ``kind`` change (once, however often registered)."""
    if kind not in _hooks:
        raise ValueError(f"unknown hook kind {kind!r}; one of {KINDS}")
    if fn not in _hooks[kind]:
        _hooks[kind].append(fn)


def unregister(kind: str, fn: Callable[[Any, Any], None]) -> None:
    if fn in _hooks.get(kind, []):
        _hooks[kind].remove(fn)


def registered(kind: str) -> list[Callable[[Any, Any], None]]:
    return list(_hooks[kind])


def _run(fn: Callable[[Any, Any], None], kind: str, demand, user) -> None:
    try:
        fn(demand, user)
    except Exception:
        log.exception("hook %s after %s of demand %s failed", getattr(fn, "__qualname__", fn), kind, demand.pk)


def fire(kind: str, demand, user) -> None:
    """Schedule the ``kind`` hooks for after the current transaction commits (at once outside one)."""
    fns = _hooks[kind]
    if not fns:
        return
    snapshot = copy.copy(demand)
    for fn in fns:
        transaction.on_commit(partial(_run, fn, kind, snapshot, user), robust=True)


def provide_model_version(fn: Callable[[], str]) -> None:
    if fn not in _version_providers:
        _version_providers.append(fn)


def model_version() -> str:
    """The active classifier model's version ("" when there is none or nobody provides one)."""
    for fn in _version_providers:
        try:
            value = fn()
        except Exception:
            log.exception("model version provider %s failed", getattr(fn, "__qualname__", fn))
            continue
        if value:
            return str(value)
    return ""
