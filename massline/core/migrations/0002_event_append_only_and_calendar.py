from django.db import migrations

TRIGGER = """
CREATE OR REPLACE FUNCTION massline_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS core_event_append_only ON core_event;
CREATE TRIGGER core_event_append_only BEFORE UPDATE OR DELETE ON core_event
    FOR EACH ROW EXECUTE FUNCTION massline_event_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS core_event_append_only ON core_event;
DROP FUNCTION IF EXISTS massline_event_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


def seed_calendar(apps, schema_editor):
    """Every year chinese-calendar knows, into our own editable table."""
    from massline.core import workcal

    CalendarDay = apps.get_model("core", "CalendarDay")
    CalendarYear = apps.get_model("core", "CalendarYear")
    for year in workcal.chinese_calendar_years():
        days = workcal.chinese_calendar_days(year)
        names = workcal.holiday_names(year)
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=d, is_workday=w, name=names.get(d, "调休上班" if w else "")) for d, w in sorted(days.items())],
            ignore_conflicts=True,
        )
        CalendarYear.objects.get_or_create(year=year, defaults={"source": "chinese-calendar"})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(seed_calendar, migrations.RunPython.noop),
    ]
