from django_tasks import task


@task()
def route_new_demand(demand_id: int) -> str:
    """Suggest a route for a new demand and dispatch it when the model is confident enough."""
    from . import services

    return services.auto_dispatch_if_confident(demand_id)
