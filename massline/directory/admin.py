from django.contrib import admin

from massline.core.admin import AuditedAdmin, admin_actor

from . import services
from .models import Category, Org, Person, Responsibility, RoleAssignment


@admin.register(Org)
class OrgAdmin(AuditedAdmin):
    list_display = ("code", "name", "kind", "parent", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code", "kind", "parent") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.create_org(obj.code, obj.name, obj.kind, obj.parent, admin_actor(request), phone=obj.phone)
        obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = ("full_name", "level", "active")
    list_filter = ("level", "active")
    search_fields = ("full_name",)

    def save_model(self, request, obj, form, change):
        obj.level = obj.parent.level + 1 if obj.parent else 1
        obj.full_name = f"{obj.parent.full_name}/{obj.name}" if obj.parent else obj.name
        super().save_model(request, obj, form, change)


@admin.register(Responsibility)
class ResponsibilityAdmin(AuditedAdmin):
    list_display = ("category", "area", "lead_unit", "item")
    search_fields = ("category__full_name", "lead_unit__name", "item")
    autocomplete_fields = ("category", "area", "lead_unit", "co_units")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(AuditedAdmin):
    list_display = ("user", "role", "scope", "active")
    list_filter = ("role", "active")
    autocomplete_fields = ("scope",)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "created_at")
    search_fields = ("name", "phone")
