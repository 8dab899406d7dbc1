"""The one JSON API (``/api/v1/``): a router per app, one error body for every refusal."""

from __future__ import annotations

import logging

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from massline.core.api import router as core_router
from massline.core.errors import DomainError
from massline.demands.api import group_router
from massline.demands.api import router as demands_router
from massline.directory.api import auth_router
from massline.directory.api import router as directory_router
from massline.routing.api import router as routing_router

log = logging.getLogger("massline.api")


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class NulRefusingParser(Parser):
    """Text with a NUL character is refused here, before it reaches PostgreSQL (which cannot store it and would
    answer 500): in a JSON body as a malformed body (400), in the query string or a form as invalid (422)."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if _has_nul(data):
            raise ValueError("NUL character in the request body")
        return data

    def parse_querydict(self, data, list_fields, request):
        result = super().parse_querydict(data, list_fields, request)
        where = "query" if data is request.GET else "form"
        for key, value in result.items():
            if _has_nul(key) or _has_nul(value):
                raise ValidationError([{"loc": [where, key], "msg": "不能包含 NUL 字符", "type": "nul_character"}])
        return result


api = NinjaAPI(
    title="massline API",
    version="1.0.0",
    description=(
        "群众路线诉求办理平台接口。工作人员用 `Authorization: Bearer <令牌>`（`POST /api/v1/auth/token` 取得）；"
        "群众提交与查询无需登录，但有频率限制。所有拒绝都返回 `{code, message, detail}`：`code` 是稳定的英文代码，"
        "`message` 是中文说明。"
    ),
    urls_namespace="api",
    parser=NulRefusingParser(),
)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if exc.status == 429:
        response["Retry-After"] = "60"
    return response


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors = [
        {"loc": [str(x) for x in e.get("loc", [])], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors
    ]
    return api.create_response(
        request, {"code": "invalid", "message": "请求数据不符合要求", "detail": {"errors": errors}}, status=422
    )


@api.exception_handler(OverflowError)
def overflow_error(request, exc):
    # an integer larger than the database can hold (SQLite raises this for ids past 2**63)
    return api.create_response(request, {"code": "invalid", "message": "数值超出范围"}, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return api.create_response(request, {"code": "unauthenticated", "message": "请先登录（提供有效的 API 令牌）"},
                               status=401)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    codes = {400: ("bad_request", "请求格式不正确"), 401: ("unauthenticated", "请先登录"), 403: ("forbidden", "无权访问"),
             404: ("not_found", "对象不存在"), 405: ("method_not_allowed", "不支持该请求方法"),
             429: ("rate_limited", "请求过于频繁，请稍后再试")}
    code, message = codes.get(exc.status_code, ("error", str(exc)))
    return api.create_response(request, {"code": code, "message": message}, status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"code": "not_found", "message": "对象不存在或您无权查看"}, status=404)


api.add_router("", core_router)
api.add_router("", auth_router)
api.add_router("", directory_router)
api.add_router("/demands", demands_router)
api.add_router("/demands", routing_router)
api.add_router("/group-visits", group_router)
