"""A small, complete demo jurisdiction: used by the tests and by ``massline demo --small``.

One district with two streets, four communities, eight grids, departments, utilities, a discipline
inspection office, a command centre, categories, a responsibility list, and a staff member for every role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from massline.core.events import Actor
from massline.directory import services as directory
from massline.directory.models import Category, Org, Role

PASSWORD = "massline-demo"


@dataclass
class SmallCity:
    district: Org
    streets: list[Org]
    communities: list[Org]
    grids: list[Org]
    units: dict[str, Org]
    categories: dict[str, Category]
    users: dict[str, object] = field(default_factory=dict)


CATEGORIES = [
    ("城乡建设", "城市建设和市政管理", "市政设施"),
    ("城乡建设", "城市建设和市政管理", "园林绿化环卫"),
    ("城乡建设", "供水供电供气供暖", "停水停电"),
    ("城乡建设", "住房保障与房地产", "物业管理"),
    ("环境保护", "噪音污染", "施工噪音"),
    ("劳动和社会保障", "工资福利", "拖欠工资"),
    ("交通运输", "道路交通", "占道停车"),
    ("卫生计生", "医疗服务", "医疗纠纷"),
]


@transaction.atomic
def build(prefix: str = "") -> SmallCity:
    actor = Actor.system("演示数据")
    p = prefix
    district = directory.create_org(f"{p}D1", "示范区", Org.Kind.DISTRICT, None, actor)
    streets = [directory.create_org(f"{p}S{i}", name, Org.Kind.STREET, district, actor)
               for i, name in enumerate(["东城街道", "西城街道"], start=1)]
    communities, grids = [], []
    for si, street in enumerate(streets, start=1):
        for ci, name in enumerate(["花园社区", "和平社区"] if si == 1 else ["光明社区", "幸福社区"], start=1):
            c = directory.create_org(f"{p}S{si}C{ci}", name, Org.Kind.COMMUNITY, street, actor)
            communities.append(c)
            for gi in (1, 2):
                grids.append(directory.create_org(f"{p}S{si}C{ci}G{gi}", f"{name}第{gi}网格", Org.Kind.GRID, c, actor))
    units = {
        "city": directory.create_org(f"{p}U-CITY", "区城市管理委员会", Org.Kind.DEPARTMENT, district, actor),
        "housing": directory.create_org(f"{p}U-HOUSE", "区住房和城乡建设委员会", Org.Kind.DEPARTMENT, district, actor),
        "env": directory.create_org(f"{p}U-ENV", "区生态环境局", Org.Kind.DEPARTMENT, district, actor),
        "labour": directory.create_org(f"{p}U-HRSS", "区人力资源和社会保障局", Org.Kind.DEPARTMENT, district, actor),
        "traffic": directory.create_org(f"{p}U-TRAFFIC", "区交通支队", Org.Kind.DEPARTMENT, district, actor),
        "health": directory.create_org(f"{p}U-HEALTH", "区卫生健康委员会", Org.Kind.DEPARTMENT, district, actor),
        "water": directory.create_org(f"{p}U-WATER", "区自来水公司", Org.Kind.UTILITY, district, actor),
        "power": directory.create_org(f"{p}U-POWER", "区供电公司", Org.Kind.UTILITY, district, actor),
        "discipline": directory.create_org(f"{p}U-JW", "区纪委监委", Org.Kind.DISCIPLINE, district, actor),
        "centre": directory.create_org(f"{p}U-12345", "区接诉即办指挥中心", Org.Kind.CENTRE, district, actor),
    }
    cats = {c[-1]: directory.ensure_category(list(c), actor) for c in CATEGORIES}
    R = directory.set_responsibility
    R(cats["市政设施"].parent, None, units["city"], [], actor, item="市政设施维护")
    R(cats["市政设施"], streets[0], streets[0], [units["city"]], actor, item="街巷市政设施属地管理")
    R(cats["停水停电"], None, units["water"], [units["power"]], actor, item="供水供电抢修")
    R(cats["物业管理"], None, units["housing"], [], actor, item="物业服务监管")
    R(cats["施工噪音"], None, units["env"], [units["city"]], actor, item="建筑施工噪声")
    R(cats["拖欠工资"], None, units["labour"], [], actor, item="劳动保障监察")
    R(cats["占道停车"], None, units["traffic"], [], actor, item="违法停车")
    R(cats["医疗纠纷"], None, units["health"], [], actor, item="医疗纠纷调处")
    city = SmallCity(district, streets, communities, grids, units, cats)
    staff = [
        ("intake", "受理员小王", [(Role.INTAKE, district)]),
        ("dispatcher", "派单员小李", [(Role.DISPATCHER, district)]),
        ("handler_city", "城管委承办人", [(Role.HANDLER, units["city"])]),
        ("handler_water", "自来水承办人", [(Role.HANDLER, units["water"])]),
        ("handler_power", "供电承办人", [(Role.HANDLER, units["power"])]),
        ("handler_housing", "住建委承办人", [(Role.HANDLER, units["housing"])]),
        ("handler_street1", "东城街道承办人", [(Role.HANDLER, streets[0])]),
        ("handler_district", "区兜底承办人", [(Role.HANDLER, district)]),
        ("supervisor", "督办员老张", [(Role.SUPERVISOR, district)]),
        ("supervisor_street2", "西城街道督办员", [(Role.SUPERVISOR, streets[1])]),
        ("leader", "区委书记", [(Role.LEADER, district)]),
        ("discipline", "纪检干部", [(Role.DISCIPLINE, district)]),
        ("admin", "系统管理员", [(Role.ADMIN, None)]),
        ("nobody", "无角色用户", []),
    ]
    for username, name, roles in staff:
        uname = f"{p}{username}"
        city.users[username] = directory.create_staff(uname, PASSWORD, name, actor, roles=roles)
    User = get_user_model()
    citizen = User.objects.create_user(username=f"{p}citizen", password=PASSWORD, first_name="居民陈女士")
    directory.grant_role(citizen, Role.CITIZEN, None, actor)
    city.users["citizen"] = citizen
    return city
