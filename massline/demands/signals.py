"""Signals beyond the category, on the Django side: read a demand with :mod:`textclf.signals`, and at intake act
on what was found.

``assess(demand)`` only reads. ``apply_on_intake(demand)`` acts, inside the caller's transaction:

* if the text shows more urgency than intake chose (gas leaking, a fire, someone trapped, water or power out,
  no heating in the heating season…), the demand's urgency is raised while it is still before dispatch, so the
  shorter deadline policy applies when it is dispatched; the change goes through the same compare-and-swap as
  every other change and is recorded as an ``urgency_raised`` event with the reasons;
* if there are signs of escalation (threats of extreme action, many people affected, petitioning higher up or
  going to the media), a ``risk_flagged`` event is recorded with the reasons and, after commit, the supervisors
  over the demand's area get an inbox message (for a whistle-blowing report: discipline inspection, never the
  area's staff).

Nothing here lowers what a person chose, and nothing here dispatches, merges or closes anything.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from massline.core import clock, events, notify
from massline.core.events import Actor
from massline.core.models import Event
from massline.directory import queries as directory
from massline.directory.models import Role
from textclf import signals as textsignals

from .models import Demand, State, Urgency

log = logging.getLogger("massline.demands.signals")

ACTOR = Actor.system("智能研判")
LEVELS = (Urgency.NORMAL, Urgency.URGENT, Urgency.EMERGENCY)
# urgency is raised only before the handling clock starts: afterwards the deadline is already set
BEFORE_DISPATCH = frozenset({State.RECEIVED, State.ACCEPTED})
URGENCY_RAISED = "urgency_raised"
RISK_FLAGGED = "risk_flagged"

# the text similarity behind duplicate proposals; ``duplicates`` takes it from here, so that this module stays the
# demands app's one door to ``textclf``
fingerprint = textsignals.fingerprint
similarity = textsignals.similarity
DUPLICATE_THRESHOLD = textsignals.DUPLICATE_THRESHOLD


def _month(demand: Demand) -> int | None:
    when = demand.created_at or clock.now()
    return timezone.localtime(when).month


def assess(demand: Demand) -> dict[str, Any]:
    """What the text of ``demand`` says: the suggested type, the urgency and the signs of escalation, each with
    reasons (see ``textclf.signals.assess``). Reads only; the operator's restatement counts as text too."""
    text = demand.content or ""
    if demand.restatement:
        text = f"{text}\n{demand.restatement}"
    return textsignals.assess(demand.title or "", text, month=_month(demand))


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def _raise_urgency(demand: Demand, level: str, reasons: list[str]) -> None:
    """Through the services' one compare-and-swap (``services`` imports this module, hence the late import)."""
    from . import services

    services.raise_urgency(demand, level, ACTOR, reason="；".join(reasons),
                           data={"from": demand.urgency, "to": level, "reasons": reasons,
                                 "rules_version": textsignals.RULES_VERSION})


def risk_recipients(demand: Demand) -> list[int]:
    """Who is told of a flagged demand: the supervisors over its area, or for a whistle-blowing report the
    discipline inspectors (a report is never shown to the area's staff)."""
    where = demand.place or demand.lead_unit
    if demand.is_report:
        return directory.users_with_role(Role.DISCIPLINE, where)
    return directory.users_with_role(Role.SUPERVISOR, where)


def _flag_risk(demand: Demand, result: dict[str, Any]) -> None:
    reasons = list(result["risk_reasons"])
    events.record(
        demand.chain,
        RISK_FLAGGED,
        ACTOR,
        from_state=demand.state,
        to_state=demand.state,
        reason="；".join(reasons),
        data={
            "score": result["risk_score"],
            "kinds": result["risk_kinds"],
            "reasons": reasons,
            "rules_version": textsignals.RULES_VERSION,
        },
    )
    recipients = risk_recipients(demand)
    if recipients:
        title = f"风险提示 {demand.code}：{demand.title}"
        body = "研判发现以下情况，请关注并视情督办：" + "；".join(reasons)
        link = f"/work/d/{demand.pk}/"
        transaction.on_commit(lambda: notify.inbox(recipients, RISK_FLAGGED, title, body, link))


@transaction.atomic
def apply_on_intake(demand: Demand) -> dict[str, Any]:
    """Assess ``demand`` and act on it (see the module docstring). Call it in the transaction that records the
    demand, before dispatch. Returns the assessment and what was done (``urgency_raised``, ``risk_flagged``).

    Safe to call twice: a higher urgency is never lowered or raised again to the same level, and a demand is
    flagged once."""
    result = assess(demand)
    done = {"urgency_raised": False, "risk_flagged": False}
    suggested = result["urgency"]
    if _rank(suggested) > _rank(demand.urgency):
        if demand.state in BEFORE_DISPATCH:
            _raise_urgency(demand, suggested, list(result["urgency_reasons"]))
            done["urgency_raised"] = True
        else:
            log.info("demand %s: urgency %s suggested after dispatch; left as %s", demand.pk, suggested, demand.urgency)
    if result["risk"] and not Event.objects.filter(chain=demand.chain, action=RISK_FLAGGED).exists():
        _flag_risk(demand, result)
        done["risk_flagged"] = True
    return {**result, **done}
