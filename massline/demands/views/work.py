"""Dispatcher, handler, supervisor, leader and discipline desks; the demand page; search and export."""

urlpatterns: list = []
