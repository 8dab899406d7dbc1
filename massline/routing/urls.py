from massline.routing import views

app_name = "routing"
urlpatterns = views.urlpatterns
