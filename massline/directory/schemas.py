from ninja import Schema


class OrgOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    depth: int


class CategoryOut(Schema):
    id: int
    name: str
    full_name: str
    level: int
    parent_id: int | None
