from massline.demands.views import home, intake, work

app_name = "demands"
urlpatterns = [*home.urlpatterns, *intake.urlpatterns, *work.urlpatterns]
