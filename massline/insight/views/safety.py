"""Pages of insight: safety."""

urlpatterns: list = []
