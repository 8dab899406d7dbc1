"""Every answer under /api/ has the API's error body, even those the framework makes itself."""

from __future__ import annotations

from django.http import JsonResponse

_BODIES = {
    404: ("not_found", "接口不存在"),
    405: ("method_not_allowed", "该接口不支持此请求方法"),
}


class ApiErrorBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code in _BODIES
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = _BODIES[response.status_code]
            replaced = JsonResponse({"code": code, "message": message}, status=response.status_code)
            if response.has_header("Allow"):
                replaced["Allow"] = response["Allow"]
            return replaced
        return response
