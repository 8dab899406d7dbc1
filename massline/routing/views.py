"""The dispatcher's desk: demands to dispatch with the suggested unit."""

urlpatterns: list = []
