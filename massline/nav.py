"""The navigation bar: which workbenches a signed-in user sees, by role. It lives at the project level
(like ``urls.py``) because it links pages of every app."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from massline.directory import access

# (label, url name, roles that see it). A page whose URL is not (yet) installed is left out.
ENTRIES: list[tuple[str, str, set[str]]] = [
    ("受理登记", "demands:intake", {"intake", "admin"}),
    ("集体访", "demands:group_visits", {"intake", "supervisor", "leader", "admin"}),
    ("待派单", "routing:dispatch_queue", {"dispatcher", "admin"}),
    ("退单审核", "demands:returns", {"dispatcher", "admin"}),
    ("承办工作台", "demands:handler_queue", {"handler"}),
    ("督办", "demands:supervisor", {"supervisor", "admin"}),
    ("领导", "demands:leader", {"leader", "admin"}),
    ("举报件", "demands:reports", {"discipline"}),
    ("查询", "demands:search", {"intake", "dispatcher", "handler", "supervisor", "leader", "discipline", "admin"}),
    ("预警", "insight:warnings", {"supervisor", "leader", "admin"}),
    ("热点", "insight:hot", {"supervisor", "leader", "admin"}),
    ("分析", "insight:dashboard", {"supervisor", "leader", "admin"}),
    ("领导驾驶舱", "insight:leader_dashboard", {"leader", "admin"}),
    ("督办驾驶舱", "insight:supervisor_dashboard", {"supervisor", "leader", "admin"}),
]


def nav(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": [], "nav_roles": []}
    held = access.roles(user)
    links = []
    for label, name, roles in ENTRIES:
        if not held & roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        links.append({"label": label, "url": url, "active": False})
    # the page is under the link with the longest matching address (/insight/leader/ is not "分析" /insight/)
    here = max((link for link in links if request.path.startswith(link["url"])), key=lambda link: len(link["url"]),
               default=None)
    if here is not None:
        here["active"] = True
    from massline.directory.models import Role

    labels = dict(Role.choices)
    return {"nav_links": links, "nav_roles": sorted(labels.get(r, r) for r in held)}
