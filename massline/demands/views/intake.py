"""Operator desk: phone/letter/visit intake, repeat callers, group visits."""

urlpatterns: list = []
