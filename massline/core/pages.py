"""Small helpers shared by the HTML views of every app (no business rules here)."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from massline.core.errors import DomainError

PER_PAGE = 25


def paginate(request: HttpRequest, qs, per_page: int = PER_PAGE) -> Page:
    """The page asked for by ``?page=`` (out of range → the last page, junk → the first)."""
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current query string without ``page``, for pagination links (``?{{ qs }}&page=2``)."""
    q = request.GET.copy()
    q.pop("page", None)
    q.pop("format", None)
    return q.urlencode()


def refused(request: HttpRequest, message: str = "您没有权限访问此页面。", status: int = 403) -> HttpResponse:
    return render(request, "core/refused.html", {"message": message}, status=status)


def domain_error_response(request: HttpRequest, err: DomainError, template: str = "core/_result.html") -> HttpResponse:
    """A refusal from a service, rendered in Chinese where the action was asked (htmx) or as a page."""
    return render(request, template, {"ok": False, "message": err.message, "code": err.code}, status=err.status)
