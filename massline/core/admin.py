from django.contrib import admin

from . import calendar, events
from .events import Actor
from .models import CalendarDay, CalendarYear, Event, SystemAlert


def admin_actor(request) -> Actor:
    return Actor(request.user.pk, request.user.get_full_name() or request.user.get_username(), "admin")


class AuditedAdmin(admin.ModelAdmin):
    """Every change to reference data made here is recorded as an event, like the services do."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        events.record(f"{obj._meta.model_name}:{obj.pk}", "admin_changed" if change else "admin_created",
                      admin_actor(request), data={"fields": sorted(form.changed_data), "repr": str(obj)[:200]})

    def delete_model(self, request, obj):
        chain = f"{obj._meta.model_name}:{obj.pk}"
        text = str(obj)[:200]
        super().delete_model(request, obj)
        events.record(chain, "admin_deleted", admin_actor(request), data={"repr": text})


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedAdmin):
    list_display = ("date", "is_workday", "name")
    list_filter = ("is_workday",)
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        CalendarYear.objects.get_or_create(year=obj.date.year, defaults={"source": "manual"})
        calendar.invalidate()


@admin.register(CalendarYear)
class CalendarYearAdmin(AuditedAdmin):
    list_display = ("year", "source", "loaded_at")


@admin.register(SystemAlert)
class SystemAlertAdmin(admin.ModelAdmin):
    list_display = ("message", "kind", "created_at", "resolved_at")
    list_filter = ("kind",)
    readonly_fields = ("kind", "key", "message", "created_at")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("chain", "seq", "at", "actor_name", "actor_role", "action", "from_state", "to_state")
    search_fields = ("chain", "action", "actor_name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
