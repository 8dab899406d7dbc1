from datetime import date

from django.core.management.base import BaseCommand, CommandError

from massline.core import calendar, workcal
from massline.core.events import Actor
from massline.core.models import CalendarDay, CalendarYear, SystemAlert


class Command(BaseCommand):
    help = "工作日历：status / load / set / add-year。The working calendar (holidays and make-up workdays)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("status", help="covered years and open calendar alerts")
        ld = sub.add_parser("load", help="load years from the chinese-calendar package")
        ld.add_argument("years", nargs="+", type=int)
        st = sub.add_parser("set", help="mark one day as a working day or a rest day")
        st.add_argument("day", type=date.fromisoformat)
        g = st.add_mutually_exclusive_group(required=True)
        g.add_argument("--workday", action="store_true")
        g.add_argument("--rest", action="store_true")
        st.add_argument("--name", default="")
        st.add_argument("--reason", default="")
        ay = sub.add_parser("add-year", help="declare a year covered by the weekday rule plus days you set "
                                             "(for a year the package does not know yet)")
        ay.add_argument("year", type=int)

    def handle(self, *args, **o):
        actor = Actor.system("命令行")
        sub = o["sub"]
        if sub == "status":
            years = list(CalendarYear.objects.order_by("year").values_list("year", flat=True))
            self.stdout.write(f"已覆盖年份 covered: {years[0]}–{years[-1]}（{len(years)} 年）" if years else "没有任何年份")
            self.stdout.write(f"chinese-calendar 可提供 package covers: {workcal.chinese_calendar_years()}")
            for a in SystemAlert.objects.filter(resolved_at__isnull=True, kind="calendar_gap"):
                self.stdout.write(f"告警 ALERT: {a.message}")
        elif sub == "load":
            missing = calendar.load_years(o["years"], actor)
            done = [y for y in o["years"] if y not in missing]
            if done:
                self.stdout.write(f"已导入 loaded: {done}")
            if missing:
                raise CommandError(f"chinese-calendar 没有这些年份的数据：{missing}；请用 `calendar set` 逐日录入后 `add-year`")
        elif sub == "set":
            calendar.set_day(o["day"], bool(o["workday"]), o["name"], actor, reason=o["reason"])
            self.stdout.write(f"{o['day']} → {'上班' if o['workday'] else '休息'}")
        elif sub == "add-year":
            y = o["year"]
            CalendarYear.objects.get_or_create(year=y, defaults={"source": "manual"})
            calendar.invalidate()
            n = CalendarDay.objects.filter(date__year=y).count()
            self.stdout.write(f"{y} 年已标记为已覆盖，例外日 {n} 天（其余按周一至周五上班）。请确认已录入该年全部节假日与调休。")
