from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    # name, type, urgency, unit, amount, sign_unit, sign_amount, listing_unit, listing_after
    ("一般诉求", "", "", "working_days", 7, "working_hours", 2, "working_days", 3),
    ("咨询", "enquiry", "", "working_days", 3, "working_hours", 2, "working_days", 2),
    ("举报", "report", "", "working_days", 15, "working_hours", 4, "working_days", 5),
    ("建议", "suggestion", "", "working_days", 15, "working_days", 1, "working_days", 5),
    ("加急", "", "urgent", "calendar_hours", 24, "calendar_hours", 1, "calendar_hours", 12),
    ("紧急（危及安全）", "", "emergency", "calendar_hours", 2, "calendar_hours", Decimal("0.5"), "calendar_hours", 2),
]


def seed(apps, schema_editor):
    DeadlinePolicy = apps.get_model("demands", "DeadlinePolicy")
    for name, typ, urg, unit, amount, sunit, samount, lunit, lafter in DEFAULTS:
        DeadlinePolicy.objects.get_or_create(
            name=name,
            defaults=dict(demand_type=typ, urgency=urg, unit=unit, amount=amount, sign_unit=sunit, sign_amount=samount,
                          listing_unit=lunit, listing_after=lafter),
        )


class Migration(migrations.Migration):
    dependencies = [("demands", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
