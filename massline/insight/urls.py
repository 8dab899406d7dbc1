from massline.insight.views import dashboards, hot, rates, safety

app_name = "insight"
urlpatterns = [*rates.urlpatterns, *dashboards.urlpatterns, *hot.urlpatterns, *safety.urlpatterns]
