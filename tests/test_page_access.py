"""Every staff page refuses whoever lacks its role: anonymous visitors are sent to the login page and
signed-in users without one of the page's roles get 403 — for GET and for POST, before any object is
looked up. The pages are found by walking the URL configuration, so a new page is covered the day it is
added (and a page that forgets ``@staff_page`` fails here)."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from massline.directory import access

pytestmark = pytest.mark.django_db
STAFF_NAMESPACES = {"demands", "routing", "insight"}


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield namespace, p, prefix + str(p.pattern)


def _concrete(route: str, converters: dict) -> str:
    import re

    def sub(m):
        kind = (m.group(1) or "str").rstrip(":")
        return {"int": "1", "slug": "x", "str": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}.get(
            kind, "1")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", sub, route)


def staff_pages():
    out = []
    for ns, pattern, route in _walk(get_resolver().url_patterns):
        if ns in STAFF_NAMESPACES:
            out.append((f"{ns}:{pattern.name}", pattern.callback, _concrete(route, {})))
    return out


PAGES = staff_pages()


def test_the_staff_pages_are_found():
    names = {name for name, _, _ in PAGES}
    assert "demands:workbench" in names


@pytest.mark.parametrize(("name", "view", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_every_staff_page_is_guarded(name, view, url):
    # ``@staff_page()`` with no roles means "any staff role"; object rules then decide (demands.policy)
    assert hasattr(view, "required_roles"), f"{name} ({url}) is not decorated with @staff_page"


@pytest.mark.parametrize(("name", "view", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_is_sent_to_login(client, name, view, url):
    answered = 0
    for method in (client.get, client.post):
        resp = method(url)
        if resp.status_code == 405:  # a method the page does not take at all (checked before the login)
            continue
        answered += 1
        assert resp.status_code == 302, (name, url, resp.status_code)
        assert resp["Location"].startswith("/login/?next="), (name, resp["Location"])
    assert answered, f"{name} answers neither GET nor POST"


@pytest.fixture(scope="module")
def city(module_city):
    return module_city


@pytest.mark.parametrize(("name", "view", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_signed_in_without_the_role_is_refused(client, city, name, view, url):
    required = set(getattr(view, "required_roles", ()))
    refused_users = 0
    for username, user in city.users.items():
        held = access.roles(user)
        allowed = (held & required) if required else (held - {"citizen"})
        if allowed:
            continue
        refused_users += 1
        client.force_login(user)
        for method in (client.get, client.post):
            resp = method(url)
            if resp.status_code == 405:
                continue
            assert resp.status_code == 403, (name, url, username, resp.status_code)
            assert "无权访问" in resp.content.decode(), (name, username)
    assert refused_users >= 2  # at least "nobody" and "citizen"
