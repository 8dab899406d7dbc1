"""Pages of insight: rates."""

urlpatterns: list = []
