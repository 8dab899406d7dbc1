"""Reply quality in massline: the checks of ``textclf.replyq`` applied to replies (docs/reply-quality.md).

- :func:`check_draft` is registered with ``demands.hooks.provide_reply_check``: the demand page shows its
  findings to the person writing (and the supervisor reviewing) a reply before it goes out. Advice only:
  a reply is refused by ``demands.services.check_reply_text``, not here.
- :func:`report` — delays (received → first reply, calendar days) and findings over the replies of the
  demands a user may see, received in a window.
- :func:`file_report` — the same over a messages file (``replies.jsonl``: title, detail, time, reply,
  reply_time).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from massline.core.errors import PermissionDenied
from massline.demands import policy
from massline.demands.models import Demand, DemandType, Reply
from massline.directory.access import has_role
from massline.directory.models import Role
from textclf import replyq as rq

REPORT_ROLES = (Role.LEADER, Role.SUPERVISOR, Role.ADMIN)


def check_draft(demand, text: str) -> list[dict]:
    """Findings on ``text`` as a reply to ``demand``: ``[{"code", "message"}, ...]``."""
    if not (text or "").strip():
        return []
    return [{"code": f.code, "message": f.message} for f in rq.check(demand.title, demand.content, text)]


def check_reply(reply: Reply) -> list[dict]:
    d = reply.demand
    return [f.as_dict() for f in rq.check(d.title, d.content, reply.text)]


def report(user, since: datetime, until: datetime, *, flagged_limit: int = 200) -> dict:
    """Delay statistics and findings over the replies to the demands ``user`` may see (``user`` None: all,
    for the command line) received in [since, until). The delay of a demand is from its registration to its
    first reply."""
    if user is not None and not has_role(user, *REPORT_ROLES):
        raise PermissionDenied("只有领导、督办员和管理员可以查看答复质量")
    qs = Demand.objects.filter(created_at__gte=since, created_at__lt=until).exclude(type=DemandType.REPORT)
    if user is not None:
        qs = qs.filter(policy.visible_q(user))
    replies = (Reply.objects.filter(demand__in=qs).select_related("demand").order_by("demand_id", "created_at", "id"))
    first: dict[int, Reply] = {}
    counts: dict[str, int] = {}
    flagged = []
    total = 0
    for r in replies.iterator():
        total += 1
        first.setdefault(r.demand_id, r)
        found = rq.check(r.demand.title, r.demand.content, r.text)
        for f in found:
            counts[f.code] = counts.get(f.code, 0) + 1
        if found and len(flagged) < flagged_limit:
            flagged.append({"demand": r.demand.code, "reply_id": r.pk, "title": r.demand.title,
                            "codes": [f.code for f in found], "messages": [f.message for f in found]})
    delays = rq.delays((r.demand.created_at, r.created_at) for r in first.values())
    return {"replies": total, "demands_replied": len(first), "delay": delays, "findings": counts,
            "flagged": flagged}


def file_report(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return rq.records_report(json.loads(line) for line in f if line.strip())
