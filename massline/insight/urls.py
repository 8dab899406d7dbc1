from massline.insight.views import hot, rates, safety

app_name = "insight"
urlpatterns = [*rates.urlpatterns, *hot.urlpatterns, *safety.urlpatterns]
