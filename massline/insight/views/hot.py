"""Pages of insight: hot."""

urlpatterns: list = []
