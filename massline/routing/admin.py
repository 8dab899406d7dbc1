import json

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from massline.core.admin import AuditedAdmin, admin_actor
from massline.core.errors import DomainError

from . import queries, services
from .models import CategoryThreshold, ClassifierModel, RoutingExample, Suggestion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClassifierModel)
class ClassifierModelAdmin(ReadOnlyAdmin):
    """Registered models with their figures; activate one (on the record); the automatic-dispatch report."""

    list_display = ("version", "active", "n_train", "macro_f1", "created_at", "activated_at", "note")
    list_filter = ("active",)
    readonly_fields = ("version", "path", "data_path", "data_sha256", "labels", "n_train", "active", "note",
                       "created_at", "activated_at", "metrics_pretty")
    exclude = ("metrics", "examples")
    actions = ["activate_selected"]
    change_list_template = "admin/routing/classifiermodel_change_list.html"

    @admin.display(description="宏F1")
    def macro_f1(self, obj):
        m = obj.metrics or {}
        f1 = ((m.get("comparison") or {}).get("new") or {}).get("macro_f1")
        if f1 is None:
            f1 = (m.get("out_of_fold") or {}).get("macro_f1")
        return f"{f1:.3f}" if isinstance(f1, int | float) else "-"

    @admin.display(description="评估指标")
    def metrics_pretty(self, obj):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>",
                           json.dumps(obj.metrics, ensure_ascii=False, indent=2))

    @admin.action(description="启用所选模型（只能选一个）", permissions=["change"])
    def activate_selected(self, request, queryset):
        rows = list(queryset[:2])
        if len(rows) != 1:
            self.message_user(request, "请只选择一个模型启用", messages.ERROR)
            return
        try:
            row = services.activate(rows[0].version, admin_actor(request), reason="管理后台启用")
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"已启用分类模型 {row.version}")

    def has_change_permission(self, request, obj=None):
        # the change form is read-only; the changelist needs "change" for the activate action
        return obj is None and admin.ModelAdmin.has_change_permission(self, request)

    def get_urls(self):
        return [path("report/", self.admin_site.admin_view(self.report_view), name="routing_report"),
                *super().get_urls()]

    def report_view(self, request):
        rows = queries.report()
        context = {**self.admin_site.each_context(request), "title": "自动派单准确率（按一级分类）",
                   "rows": [r.as_dict() for r in rows], "opts": self.model._meta,
                   "default_threshold": services.default_threshold(),
                   "thresholds_url": reverse("admin:routing_categorythreshold_changelist")}
        return TemplateResponse(request, "admin/routing/report.html", context)


@admin.register(CategoryThreshold)
class CategoryThresholdAdmin(AuditedAdmin):
    list_display = ("category", "threshold")
    search_fields = ("category__name",)


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdmin):
    list_display = ("demand", "label", "score", "threshold", "decided", "reason", "chosen_label", "model_version",
                    "created_at")
    list_filter = ("decided", "reason", "label")
    search_fields = ("demand__code",)
    raw_id_fields = ("demand",)


@admin.register(RoutingExample)
class RoutingExampleAdmin(ReadOnlyAdmin):
    list_display = ("demand", "label", "predicted_label", "source", "unit", "model_version", "created_at")
    list_filter = ("source", "label")
    search_fields = ("demand__code", "title")
    raw_id_fields = ("demand",)
