"""A small demo: the small jurisdiction and a few weeks of demands in every state, made through the
services (so every step is on the record). Deterministic for a given seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction

from massline.core import clock
from massline.core.errors import DomainError
from massline.directory.models import Org
from massline.directory.smallcity import PASSWORD, SmallCity, build

from . import services
from .intake import IntakeData
from .models import Demand

PROBLEMS = [
    ("市政设施", "complaint", "{place}路灯不亮", "{place}附近的路灯已经坏了{n}天，晚上出行很不安全，请尽快修理。"),
    ("市政设施", "help", "{place}井盖松动", "{place}人行道上的井盖松动，踩上去会晃，老人孩子经过很危险。"),
    ("停水停电", "help", "{place}突然停水", "{place}从今天早上开始停水，没有任何通知，家里有老人，请尽快恢复供水。"),
    ("物业管理", "complaint", "{place}物业不作为", "{place}小区物业长期不清理楼道垃圾，电梯坏了{n}天也没人修。"),
    ("施工噪音", "complaint", "{place}工地夜间施工扰民", "{place}旁边的工地每天晚上十一点以后还在施工，噪音很大，影响休息。"),
    ("拖欠工资", "help", "讨要被拖欠的工资", "我在{place}附近的工地干活，老板拖欠{n}个月工资不给，请帮忙讨薪。"),
    ("占道停车", "complaint", "{place}车辆乱停", "{place}门口每天都有车辆占用消防通道停放，出了事消防车进不来。"),
    ("医疗纠纷", "enquiry", "社区医院报销政策咨询", "请问在{place}的社区卫生服务中心看病，医保报销比例是多少？"),
]
NAMES = ["陈女士", "王先生", "李阿姨", "张大爷", "刘先生", "赵女士", "孙先生", "周女士"]
GOOD_REPLY = "经核查，您反映的问题属实。我单位已于{d}派人到现场处理，问题已解决，后续将加强日常巡查，感谢您的监督。"


def _at(base: datetime, days: float) -> datetime:
    return base + timedelta(days=days)


@transaction.atomic
def make(seed: int = 7, weeks: int = 4, per_week: int = 15) -> tuple[SmallCity, int]:
    rng = random.Random(seed)
    city = build()
    u = city.users
    handler_for = {city.units[k].pk: u[f"handler_{k}"] for k in ("city", "water", "power", "housing")}
    handler_for[city.streets[0].pk] = u["handler_street1"]
    handler_for[city.district.pk] = u["handler_district"]
    now = clock.now()
    start = now - timedelta(weeks=weeks)
    made = 0
    for i in range(weeks * per_week):
        cat_name, typ, title, content = rng.choice(PROBLEMS)
        grid: Org = rng.choice(city.grids)
        created = start + timedelta(days=i * 7 / per_week, hours=rng.randint(0, 8))
        created = created.replace(hour=9 + rng.randint(0, 7), minute=rng.randint(0, 59))
        place = grid.name.replace("第1网格", "").replace("第2网格", "")
        with clock.frozen(created):
            try:
                d, secret = services.receive(IntakeData(
                    channel=rng.choice(["hotline", "hotline", "web", "visit", "letter", "board"]), type=typ,
                    title=title.format(place=place, n=rng.randint(2, 9)),
                    content=content.format(place=place, n=rng.randint(2, 9)),
                    category_id=city.categories[cat_name].pk, place_id=grid.pk,
                    identity=rng.choice(["named", "named", "confidential", "anonymous"]),
                    name=rng.choice(NAMES), phone=f"139{rng.randint(10000000, 99999999)}",
                ), u["intake"])
            except DomainError:
                continue
        made += 1
        age_days = (now - created).days
        fate = rng.random()
        try:
            _advance(d, city, handler_for, created, age_days, fate, rng, secret)
        except DomainError:
            pass
    return city, made


def _advance(d: Demand, city: SmallCity, handler_for, t0: datetime, age: int, fate: float, rng, secret: str):
    u = city.users
    with clock.frozen(_at(t0, 0.01)):
        if d.type == "enquiry" and fate < 0.5:
            services.answer_directly(d.pk, u["intake"], text="您好，社区卫生服务中心门诊费用医保报销比例为百分之七十，具体以医保目录为准。")
            return
        if fate < 0.05:
            services.reject(d.pk, u["intake"], reason="不属于本区受理范围，已告知诉求人向市级部门反映")
            return
        services.accept(d.pk, u["intake"], restatement=d.content[:60])
    if fate < 0.1:
        return  # waiting for the dispatcher
    with clock.frozen(_at(t0, 0.05)):
        d = services.dispatch(d.pk, u["dispatcher"])
    handler = handler_for.get(d.lead_unit_id)
    if handler is None or fate < 0.15:
        return  # dispatched, not yet signed (some will go overdue)
    with clock.frozen(_at(t0, 0.1)):
        services.sign(d.pk, handler)
    if fate < 0.2 and d.lead_unit_id == city.units["city"].pk:
        with clock.frozen(_at(t0, 0.2)):
            services.request_return(d.pk, handler, reason="该路段设施由街道属地管理，不属于本单位职责",
                                    cited_item="街巷市政设施属地管理", suggested_unit_id=city.streets[0].pk)
        return
    with clock.frozen(_at(t0, 0.2)):
        services.start(d.pk, handler)
    if fate < 0.3 or age < 2:
        return  # in progress
    with clock.frozen(_at(t0, min(age - 0.5, rng.uniform(1, 9)))):
        services.reply(d.pk, handler, text=GOOD_REPLY.format(d=clock.now().strftime("%m月%d日")))
    if fate < 0.4:
        return  # waiting for the callback
    sat = "satisfied" if fate < 0.8 else ("basic" if fate < 0.9 else "dissatisfied")
    with clock.frozen(_at(t0, min(age - 0.2, 10))):
        services.callback_by_person(d.code, secret, resolved=sat != "dissatisfied", satisfaction=sat)


LOGINS = [
    ("intake", "受理员（热线、来信来访登记）"), ("dispatcher", "派单员（指挥中心）"), ("handler_city", "承办人（区城管委）"),
    ("handler_street1", "承办人（东城街道）"), ("supervisor", "督办员"), ("leader", "领导"), ("discipline", "纪检监察"),
    ("admin", "管理员"),
]


def logins_text() -> str:
    lines = [f"  {name:<16} {label}" for name, label in LOGINS]
    return f"演示账号 demo logins（密码 password: {PASSWORD}）：\n" + "\n".join(lines)
