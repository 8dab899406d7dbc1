from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from massline.core.pages import refused
from massline.directory.pages import staff_page
from massline.nav import nav


@staff_page()
def workbench(request: HttpRequest) -> HttpResponse:
    """``/work/``: the first desk the signed-in user's roles open."""
    links = nav(request)["nav_links"]
    if links:
        return redirect(links[0]["url"])
    return refused(request, "您的角色暂无可用的工作台。")


urlpatterns = [path("", workbench, name="workbench")]
