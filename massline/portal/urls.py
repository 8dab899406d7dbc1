from django.urls import path

from massline.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("submit/", views.submit, name="submit"),
    path("submit/suggest/", views.suggest, name="suggest"),
    path("submit/places/", views.places, name="places"),
    path("submit/done/", views.submitted, name="submitted"),
    path("track/", views.track, name="track"),
    path("track/rate/", views.rate, name="rate"),
    path("track/withdraw/", views.withdraw, name="withdraw"),
    path("track/forget/", views.forget, name="forget"),
    path("report/", views.report, name="report"),
]
