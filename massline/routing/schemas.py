from __future__ import annotations

from ninja import Schema


class UnitOut(Schema):
    id: int
    code: str
    name: str


class RouteOut(Schema):
    lead: UnitOut
    co: list[UnitOut]
    entry: int | None = None
    backstop: bool


class ChoiceOut(Schema):
    label: str
    score: float
    route: RouteOut | None = None


class SuggestionsOut(Schema):
    demand_id: int
    model_version: str | None = None
    suggestions: list[ChoiceOut]
    list_route: RouteOut | None = None
    threshold: float | None = None
    decided: str
    reason: str
