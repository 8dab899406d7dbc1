from massline.demands.views import desks, home, intake, work

app_name = "demands"
urlpatterns = [*home.urlpatterns, *intake.urlpatterns, *work.urlpatterns, *desks.urlpatterns]
