"""The organisation tree, handling units, people, roles held within a scope, categories and the
responsibility list (权责清单)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    CITIZEN = "citizen", "群众"
    INTAKE = "intake", "受理员"
    DISPATCHER = "dispatcher", "派单员"
    HANDLER = "handler", "承办人"
    SUPERVISOR = "supervisor", "督办员"
    LEADER = "leader", "领导"
    DISCIPLINE = "discipline", "纪检监察"
    ADMIN = "admin", "管理员"


class Org(models.Model):
    """A node of the organisation tree: an area (district → street/township → community/village → grid)
    or a unit hanging under an area (functional department, public utility, Party organisation,
    discipline inspection, command centre). ``path`` ("/1/5/23/") makes a subtree one indexed prefix query.
    """

    class Kind(models.TextChoices):
        DISTRICT = "district", "区县"
        STREET = "street", "街道"
        TOWNSHIP = "township", "乡镇"
        COMMUNITY = "community", "社区"
        VILLAGE = "village", "村"
        GRID = "grid", "网格"
        DEPARTMENT = "department", "职能部门"
        UTILITY = "utility", "公共服务企业"
        PARTY = "party", "党组织"
        DISCIPLINE = "discipline", "纪检监察机关"
        CENTRE = "centre", "指挥中心"

    AREA_KINDS = ("district", "street", "township", "community", "village", "grid")
    HANDLING_KINDS = ("district", "street", "township", "community", "village", "grid", "department", "utility",
                      "discipline", "centre")

    code = models.CharField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    active = models.BooleanField("启用", default=True)
    phone = models.CharField("联系电话", max_length=40, blank=True)

    class Meta:
        ordering = ["path"]
        verbose_name = "组织"
        verbose_name_plural = "组织"

    def __str__(self) -> str:
        return self.name

    @property
    def is_area(self) -> bool:
        return self.kind in self.AREA_KINDS

    @property
    def can_handle(self) -> bool:
        return self.kind in self.HANDLING_KINDS

    def ancestor_ids(self) -> list[int]:
        """Ids from this node up to the root (self first)."""
        return [int(p) for p in self.path.strip("/").split("/") if p][::-1]

    def district_id(self) -> int | None:
        ids = self.ancestor_ids()
        return ids[-1] if ids else None


class Person(models.Model):
    """A member of the public (or an agent filing for one). Staff may be linked to a person record."""

    name = models.CharField("姓名", max_length=60, blank=True)
    phone = models.CharField("电话", max_length=30, blank=True, db_index=True)
    id_number = models.CharField("身份证号", max_length=32, blank=True)
    address = models.CharField("住址", max_length=200, blank=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="person")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "群众"
        verbose_name_plural = "群众"

    def __str__(self) -> str:
        return self.name or self.phone or f"#{self.pk}"


class RoleAssignment(models.Model):
    """A role held by a user within a scope: an org node and its subtree (null: the whole jurisdiction)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField("角色", max_length=16, choices=Role.choices)
    scope = models.ForeignKey(Org, verbose_name="范围", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="role_assignments")
    active = models.BooleanField("有效", default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role", "scope"], name="role_assignment_unique")]
        verbose_name = "角色"
        verbose_name_plural = "角色"

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.scope or '全辖区'}"


class Category(models.Model):
    """A node of the three-level category tree (一级/二级/三级分类)."""

    name = models.CharField("名称", max_length=60)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField(default=1, editable=False)
    full_name = models.CharField("全称", max_length=200, unique=True, editable=False)
    active = models.BooleanField("启用", default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name")]
        ordering = ["full_name"]
        verbose_name = "诉求分类"
        verbose_name_plural = "诉求分类"

    def __str__(self) -> str:
        return self.full_name

    def lineage_ids(self) -> list[int]:
        """Ids from this category up to its first level (self first)."""
        out: list[int] = []
        node: Category | None = self
        while node is not None:
            out.append(node.pk)
            node = node.parent
        return out


class Responsibility(models.Model):
    """One entry of the responsibility list: category × area → lead unit and default co-handling units.

    ``area`` empty means the whole jurisdiction. A category entry covers its subcategories unless a more
    specific entry exists; an area entry covers its subtree unless a deeper one exists.
    """

    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.PROTECT, related_name="responsibilities")
    area = models.ForeignKey(Org, verbose_name="区域", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="area_responsibilities")
    lead_unit = models.ForeignKey(Org, verbose_name="主办单位", on_delete=models.PROTECT, related_name="lead_responsibilities")
    co_units = models.ManyToManyField(Org, verbose_name="协办单位", blank=True, related_name="co_responsibilities")
    item = models.CharField("清单事项", max_length=200, blank=True)
    basis = models.TextField("依据", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "area"], condition=models.Q(area__isnull=False),
                                    name="responsibility_unique_area"),
            models.UniqueConstraint(fields=["category"], condition=models.Q(area__isnull=True),
                                    name="responsibility_unique_all"),
        ]
        verbose_name = "权责清单条目"
        verbose_name_plural = "权责清单"

    def __str__(self) -> str:
        return f"{self.category} @ {self.area or '全辖区'} → {self.lead_unit}"
