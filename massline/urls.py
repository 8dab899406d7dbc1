from django.contrib import admin
from django.urls import path

from massline.api import api
from massline.core import views as core_views

admin.site.site_header = "群众路线 · 管理后台"
admin.site.site_title = "群众路线"
admin.site.index_title = "基础数据管理"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
