"""A small synthetic corpus written for the tests (not the real messages): four labels, 24 each."""

from __future__ import annotations

PLACES = ["A市A1区", "B市B3县", "C市城南", "D4县新镇", "E市东湖", "F2区老街"]

TOPICS: dict[str, list[tuple[str, str]]] = {
    "交通运输": [
        ("公交车班次太少", "早晚高峰等公交要四十分钟，希望增加公交线路和班次。"),
        ("出租车拒载绕路", "出租车司机经常拒载，还故意绕路多收车费，请交通部门管理。"),
        ("道路红绿灯设置不合理", "路口红绿灯时间太短，车辆拥堵，行人过马路很危险。"),
        ("客运班车超载", "客运班车经常超载，乘客站满过道，存在交通安全隐患。"),
    ],
    "教育文体": [
        ("学校违规补课收费", "学校周末组织学生补课，每人收取补课费，老师强制参加。"),
        ("幼儿园入学难", "小区附近没有公办幼儿园，孩子入园报名排不上号，学位太少。"),
        ("中学教师体罚学生", "班主任老师体罚学生，家长多次反映，学校没有处理。"),
        ("图书馆体育馆开放时间太短", "市民想去图书馆看书和体育馆锻炼，可开放时间太短。"),
    ],
    "环境保护": [
        ("工厂排放废气污染", "化工厂夜间偷排废气，气味刺鼻，居民头晕，请环保部门查处。"),
        ("河道被污水污染", "养殖场污水直接排进河道，河水发黑发臭，鱼虾死亡。"),
        ("搅拌站粉尘污染严重", "搅拌站粉尘很大，周围树木和房屋都是灰，空气质量很差。"),
        ("夜间施工噪音扰民", "工地深夜施工，机器噪音很大，附近居民无法睡觉。"),
    ],
    "劳动和社会保障": [
        ("公司拖欠农民工工资", "老板拖欠我们半年工资，多次讨薪无果，请劳动监察帮忙。"),
        ("单位不给缴纳社保", "单位一直不给员工缴纳养老保险和医疗保险，也不签劳动合同。"),
        ("退休人员养老金调整", "请问今年退休人员基本养老金什么时候调整，标准是多少。"),
        ("失业保险金申领", "我被公司辞退了，想申领失业保险金，需要什么手续。"),
    ],
}


def records() -> list[dict]:
    out = []
    n = 0
    for label, topics in TOPICS.items():
        for i, place in enumerate(PLACES):
            for j, (title, detail) in enumerate(topics):
                n += 1
                # every third message has no detail, like the real data
                d = "" if (i + j) % 3 == 0 else f"我是{place}居民，{detail}"
                out.append({"id": f"fx-{n}", "title": f"{place}{title}", "detail": d, "label": label})
    return out


# messages not in records(), for a sanity check that the model generalises a little
UNSEEN = [
    ("G市公交线路班次少，等车太久", "", "交通运输"),
    ("H县学校暑假违规补课", "老师要求交补课费", "教育文体"),
    ("I区化工厂废气污染空气", "", "环境保护"),
    ("J市建筑公司拖欠工资", "讨薪无果", "劳动和社会保障"),
]
