"""Supervisor, leader and discipline desks; the return requests to rule on; search and export."""

urlpatterns: list = []
