"""A small, explicit registry through which apps above ``demands`` (e.g. ``routing``) follow what happens to
demands, without ``demands`` importing them (the layers run one way) and without Django signals.

Apps register in their ``AppConfig.ready()``::

    hooks.register("dispatched", my_function)   # called as my_function(demand, user) after commit

The services call ``hooks.fire(kind, demand, user)`` at the end of a change. Each hook runs after the
transaction commits, on a copy of the demand as it was at that moment; a hook that fails is logged and
never undoes or blocks the change (the demand's own work is done by then).

In-transaction hooks (``register_in_txn("changed", fn)``) are different: ``fn(changes)`` runs *inside* the
transaction of the change, with a list of ``Change`` (the demand before and after, the actions and the event
time), so that derived tables (``insight``'s rollups) are kept exact under concurrency. Every path that
creates or changes demands calls ``changed``: ``services._apply`` and ``services._store``, the sweep's
batched updates, the demo city's bulk loader. A failing in-transaction hook fails the change (on purpose:
a rollup that silently missed a change would no longer be exact), so keep them small.

``model_version()`` asks the providers registered with ``provide_model_version`` which text classifier
model is active, so that every dispatch stores it.

``reply_checks(demand, text)`` asks the checkers registered with ``provide_reply_check`` (insight's reply
quality) what they find wrong with a draft reply, so that the page can show it to the supervisor before the
reply goes out. Each finding is ``{"code": "template_only", "message": "答复只有客套话……"}``; the checks
advise, they never refuse a reply (``services.check_reply_text`` does that).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction

log = logging.getLogger("massline.demands.hooks")

KINDS = ("received", "dispatched", "return_upheld")
_hooks: dict[str, list[Callable[[Any, Any], None]]] = {k: [] for k in KINDS}
_version_providers: list[Callable[[], str]] = []
_reply_checkers: list[Callable[[Any, str], list[dict]]] = []


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


# --- in-transaction hooks ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """One change to one demand, as seen inside its transaction. ``before`` is None for a new demand;
    ``actions`` names the recorded events (one for a service, several sweep stages, or ``("bulk",)`` for rows
    written by the demo city's bulk loader without events); ``at`` is the time recorded on the event."""

    before: Any
    after: Any
    actions: tuple[str, ...]
    at: datetime


IN_TXN_KINDS = ("changed",)
_in_txn: dict[str, list[Callable[[list[Change]], None]]] = {k: [] for k in IN_TXN_KINDS}


def register_in_txn(kind: str, fn: Callable[[list[Change]], None]) -> None:
    """Call ``fn(changes)`` inside the transaction of every ``kind`` change (once, however often registered)."""
    if kind not in _in_txn:
        raise ValueError(f"unknown in-transaction hook kind {kind!r}; one of {IN_TXN_KINDS}")
    if fn not in _in_txn[kind]:
        _in_txn[kind].append(fn)


def unregister_in_txn(kind: str, fn: Callable[[list[Change]], None]) -> None:
    if fn in _in_txn.get(kind, []):
        _in_txn[kind].remove(fn)


def changed(changes: list[Change]) -> None:
    """Run the ``changed`` in-transaction hooks now (the caller is inside the change's transaction). An
    exception propagates and so rolls the change back."""
    if changes:
        for fn in list(_in_txn["changed"]):
            fn(changes)


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


def provide_reply_check(fn: Callable[[Any, str], list[dict]]) -> None:
    """Register ``fn(demand, text) -> [{"code", "message"}, ...]`` (once, however often registered)."""
    if fn not in _reply_checkers:
        _reply_checkers.append(fn)


def reply_checks(demand, text: str) -> list[dict]:
    """What the registered checkers find wrong with ``text`` as a reply to ``demand`` ([] when nothing, or
    when nobody provides a check); a checker that fails is logged and skipped."""
    out: list[dict] = []
    for fn in _reply_checkers:
        try:
            found = fn(demand, text) or []
        except Exception:
            log.exception("reply check %s failed", getattr(fn, "__qualname__", fn))
            continue
        out.extend({"code": str(f["code"]), "message": str(f["message"])} for f in found)
    return out
