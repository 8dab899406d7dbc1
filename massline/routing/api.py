"""The dispatcher's suggestions for a demand: the responsibility list's route and, with a model, its top three."""

from __future__ import annotations

from ninja import Router

from massline.core.api import TokenAuth
from massline.core.errors import NotFound
from massline.core.schemas import STAFF_ERRORS
from massline.demands import policy
from massline.demands import services as demand_services

from . import services
from .schemas import SuggestionsOut

router = Router(tags=["routing"])


@router.get("/{demand_id}/suggestions", response={200: SuggestionsOut, **STAFF_ERRORS}, auth=TokenAuth(),
            operation_id="demand_suggestions")
def demand_suggestions(request, demand_id: int):
    """Where the demand could go: the responsibility list's route for its category and place (the district as
    backstop), and — when a classifier model is active — the model's three most likely first-level categories
    with their calibrated scores and the route each implies. For staff who may see the demand."""
    user = request.auth
    d = demand_services.load(demand_id)
    if not policy.has_staff_role(user) or not policy.can_see(user, d):
        raise NotFound()
    advice = services.suggest(d)
    s = advice.suggestion
    return {
        "demand_id": d.pk, "model_version": advice.model_version or None, "suggestions": advice.choices,
        "list_route": advice.list_route, "threshold": advice.threshold,
        "decided": s.decided if s is not None else "", "reason": s.reason if s is not None else "",
    }
