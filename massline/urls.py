from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from massline.api import api
from massline.core import views as core_views

admin.site.site_header = "群众路线 · 管理后台"
admin.site.site_title = "群众路线"
admin.site.index_title = "基础数据管理"

urlpatterns = [
    path("", include("massline.portal.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=False), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("work/dispatch/", include("massline.routing.urls")),
    path("work/", include("massline.demands.urls")),
    path("insight/", include("massline.insight.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
