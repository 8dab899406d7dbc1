"""Who may open a staff page. One decorator for every HTML view that needs a login and a role; the
object-level rules stay with the objects (``massline.demands.policy``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from massline.core.pages import refused

from . import access


def staff_page(*roles: str) -> Callable:
    """Anonymous visitors go to the login page; signed-in users without one of ``roles`` (in any scope)
    get a 403 page in Chinese. With no roles given, any staff role will do (not ``citizen``)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            held = access.roles(user)
            wanted = set(roles) if roles else held - {"citizen"}
            if not held & wanted:
                return refused(request)
            return view(request, *args, **kwargs)

        wrapped.required_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorate
