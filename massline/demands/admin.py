from django.contrib import admin

from massline.core.admin import AuditedAdmin

from .models import DeadlinePolicy


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(AuditedAdmin):
    list_display = ("name", "demand_type", "category", "urgency", "amount", "unit", "sign_amount", "sign_unit",
                    "warn_share", "listing_after", "listing_unit", "active")
    list_filter = ("active", "unit", "demand_type", "urgency")
