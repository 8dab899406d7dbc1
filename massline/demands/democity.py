"""The living demo city: ``massline demo`` (the default) builds it.

One district with streets, communities and grids, about 25 handling units (departments and public
utilities), a discipline inspection office and a command centre, the category tree (the real one from the
shared data when it is there, else a built-in tree), a responsibility list, about 200 staff in every role,
and months of demands in every state and channel.

Everything is made through the services, at simulated moments (``clock.frozen``), so every step is a real
event on the hash-chained record and ``massline audit verify`` passes:

1. a *world* (names of streets, communities, compounds, roads) and a *plan* (every demand's text, person,
   place, channel, type and fate, and every group visit) are drawn from the seed — pure data, no database;
   among the demands, one or two *build-ups* are planted for the safety line (``_plan_buildups``: in one grid,
   a run of small complaints about one thing over the last weeks, from repeat callers, left unresolved);
2. the directory is built through ``massline.directory.services``;
3. the plan is *executed*: each demand is a script of steps (receive, accept, dispatch, sign, …, callback)
   whose times depend on what the services answered (the deadline of the dispatch, for instance); all
   steps of all demands run in time order on one queue, with the deadline sweep every two simulated hours,
   so warnings, overdue supervision, listing and closing of unrated replies happen when they would.
   Steps that fall after "now" are not run: the recent demands stay open in whatever state they reached.

Deterministic: the same seed and the same "now" give the same city, the same demand texts and the same
states (tracking codes and secrets are random, as in production). With another "now" the texts, channels
and types stay the same but the times move with it, and since deadlines follow the working calendar a few
outcomes (on time or late) may differ. ``--now`` pins it.

``bulk`` writes large numbers of demand rows directly (benchmarks): valid rows in consistent states, with
their units, replies and callbacks, but *without* events on the record.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import random
import time as _time
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.test.utils import override_settings

from massline.core import calendar as workcalendar
from massline.core import clock
from massline.core.errors import DomainError
from massline.core.events import Actor
from massline.core.workcal import CalendarNotCovered, WorkCalendar
from massline.directory import services as directory
from massline.directory.models import Category, Org, Person, Role

from . import deadlines, hooks, intake, services
from . import democity_texts as tx
from .intake import IntakeData
from .models import Callback, DeadlinePolicy, Demand, DemandUnit, Reply, State
from .sweep import sweep

log = logging.getLogger("massline.democity")
PASSWORD = "massline-demo"
ACTOR_NAME = "演示数据"
SWEEP_EVERY = timedelta(hours=2)

# ============================================================================================ the world

STREET_NAMES = ("东城街道", "西城街道", "南湖街道", "北苑街道", "和平街道", "新华街道", "长青街道", "金台街道", "丽泽街道",
                "春晓街道", "安华街道", "朝阳门街道")
COMMUNITY_NAMES = (
    "花园", "和平里", "光明", "幸福", "建设", "锦绣", "丽景", "翠湖", "阳光", "朝阳", "桃园", "枫林", "青年路", "新村",
    "春晓", "育才", "银杏", "康乐", "东湖", "兴隆", "长青", "安华", "金台", "团结", "民主", "清风", "柳荫", "百花",
    "明珠", "南门", "紫竹", "芳草地", "永安", "双井", "水碓", "延静", "广和", "龙潭", "天坛", "玉桥")
# (speed: reply time as a share of the deadline; quality: chance the person is satisfied; minutes to sign)
STREET_PROFILES = ((0.35, 0.9, 20), (0.55, 0.8, 45), (1.05, 0.5, 150), (0.65, 0.75, 60), (0.45, 0.85, 30),
                   (0.85, 0.6, 100))
DISTRICT_PROFILE = (0.7, 0.65, 90)
COMMUNITY_PROFILE = (0.5, 0.8, 40)

K = Org.Kind
# key, code, name, short name, kind, speed, quality, sign minutes
UNITS: tuple[tuple[str, str, str, str, str, float, float, int], ...] = (
    ("city", "CGW", "区城市管理委员会", "区城管委", K.DEPARTMENT, 0.5, 0.8, 40),
    ("enforce", "CGZF", "区城市管理综合行政执法局", "区城管执法局", K.DEPARTMENT, 0.8, 0.6, 90),
    ("housing", "ZJW", "区住房和城乡建设委员会", "区住建委", K.DEPARTMENT, 1.05, 0.45, 150),
    ("env", "STHJ", "区生态环境局", "区生态环境局", K.DEPARTMENT, 0.6, 0.72, 60),
    ("hrss", "RSJ", "区人力资源和社会保障局", "区人社局", K.DEPARTMENT, 0.55, 0.75, 50),
    ("transport", "JTW", "区交通委员会", "区交通委", K.DEPARTMENT, 0.75, 0.65, 80),
    ("health", "WJW", "区卫生健康委员会", "区卫健委", K.DEPARTMENT, 0.45, 0.85, 40),
    ("edu", "JW", "区教育委员会", "区教委", K.DEPARTMENT, 0.5, 0.8, 45),
    ("market", "SCJG", "区市场监督管理局", "区市场监管局", K.DEPARTMENT, 0.4, 0.85, 30),
    ("civil", "MZJ", "区民政局", "区民政局", K.DEPARTMENT, 0.35, 0.9, 25),
    ("police", "GAFJ", "区公安分局", "区公安分局", K.DEPARTMENT, 0.5, 0.8, 30),
    ("green", "YLLH", "区园林绿化局", "区园林绿化局", K.DEPARTMENT, 0.6, 0.78, 60),
    ("waterworks", "SWJ", "区水务局", "区水务局", K.DEPARTMENT, 0.7, 0.7, 70),
    ("emergency", "YJJ", "区应急管理局", "区应急管理局", K.DEPARTMENT, 0.5, 0.8, 40),
    ("culture", "WLJ", "区文化和旅游局", "区文旅局", K.DEPARTMENT, 0.5, 0.82, 50),
    ("veterans", "TYJR", "区退役军人事务局", "区退役军人事务局", K.DEPARTMENT, 0.6, 0.75, 60),
    ("fire", "XFZD", "区消防救援支队", "区消防救援支队", K.DEPARTMENT, 0.3, 0.9, 15),
    ("planning", "GHZR", "区规划和自然资源分局", "区规自分局", K.DEPARTMENT, 1.2, 0.4, 180),
    ("drc", "FGW", "区发展和改革委员会", "区发改委", K.DEPARTMENT, 0.8, 0.6, 90),
    ("tech", "KXJ", "区科技和信息化局", "区科信局", K.DEPARTMENT, 0.7, 0.7, 70),
    ("medins", "YBJ", "区医疗保障局", "区医保局", K.DEPARTMENT, 0.45, 0.82, 40),
    ("justice", "SFJ", "区司法局", "区司法局", K.DEPARTMENT, 0.5, 0.8, 50),
    ("water", "ZLS", "区自来水公司", "区自来水公司", K.UTILITY, 0.25, 0.92, 10),
    ("power", "GDGS", "区供电公司", "区供电公司", K.UTILITY, 0.3, 0.9, 10),
    ("gas", "RQGS", "区燃气公司", "区燃气公司", K.UTILITY, 0.35, 0.85, 10),
    ("heat", "RLGS", "区热力公司", "区热力公司", K.UTILITY, 0.8, 0.55, 60),
)
DISCIPLINE = ("discipline", "JWJW", "区纪委监委", "区纪委监委", K.DISCIPLINE, 0.6, 0.7, 60)
CENTRE = ("centre", "JSJB", "区接诉即办指挥中心", "区指挥中心", K.CENTRE, 0.5, 0.8, 30)
UNIT_BY_KEY = {u[0]: u for u in (*UNITS, DISCIPLINE, CENTRE)}
BIG_UNITS = {"city", "housing", "env", "hrss", "police", "market", "water", "power", "heat", "enforce"}

# the responsibility list: category (level 1, 2 or 3) → lead unit, co-handling units, the list's item.
# An entry is set only when its category exists (the built-in tree has fewer categories than the real one).
RESPONSIBILITIES: tuple[tuple[tuple[str, ...], str, tuple[str, ...], str], ...] = (
    (("城乡建设", "城市建设和市政管理"), "city", (), "市容环境卫生和市政设施管理"),
    (("城乡建设", "城市建设和市政管理", "城管执法"), "enforce", ("city",), "城市管理综合执法"),
    (("城乡建设", "城市建设和市政管理", "园林绿化"), "green", (), "园林绿化养护管理"),
    (("城乡建设", "城市建设和市政管理", "园林绿化环卫"), "green", ("city",), "园林绿化养护管理"),
    (("城乡建设", "城市建设和市政管理", "公园管理"), "green", (), "公园运营管理"),
    (("城乡建设", "城市建设和市政管理", "自来水供应"), "water", ("waterworks",), "供水抢修与供水服务"),
    (("城乡建设", "城市建设和市政管理", "电力供应"), "power", (), "供电抢修与供电服务"),
    (("城乡建设", "城市建设和市政管理", "燃气供应"), "gas", (), "燃气安全与供气服务"),
    (("城乡建设", "城市建设和市政管理", "冬季采暖"), "heat", (), "供热运行与供热服务"),
    (("城乡建设", "城市建设和市政管理", "小区管理"), "housing", (), "住宅小区综合管理"),
    (("城乡建设", "城市建设和市政管理", "公共汽车"), "transport", (), "公共交通运营服务"),
    (("城乡建设", "城市建设和市政管理", "地铁城铁"), "transport", (), "轨道交通运营服务"),
    (("城乡建设", "城乡规划"), "planning", (), "城乡规划管理"),
    (("城乡建设", "城乡规划", "违章建筑"), "enforce", ("planning",), "违法建设查处"),
    (("城乡建设", "住房保障与房地产"), "housing", (), "住房保障与房地产市场监管"),
    (("城乡建设", "住房保障与房地产", "物业服务"), "housing", (), "物业服务监管"),
    (("城乡建设", "住房保障与房地产", "房产证登记、办理"), "planning", (), "不动产登记"),
    (("城乡建设", "住房保障与房地产", "住房公积金"), "hrss", (), "住房公积金政策"),
    (("城乡建设", "安全生产"), "emergency", (), "安全生产监督管理"),
    (("城乡建设", "工程质量"), "housing", (), "建设工程质量安全监督"),
    (("城乡建设", "建筑市场"), "housing", (), "建筑市场监管"),
    (("城乡建设", "国有土地上房屋征收与补偿"), "housing", (), "国有土地上房屋征收"),
    (("城乡建设", "集体土地上房屋拆迁与补偿"), "planning", (), "集体土地征收与补偿"),
    (("城乡建设", "村镇建设"), "housing", (), "村镇建设管理"),
    (("环境保护",), "env", (), "生态环境保护"),
    (("环境保护", "环境污染", "噪音污染"), "env", ("city",), "噪声污染防治"),
    (("环境保护", "环境污染", "水污染"), "waterworks", ("env",), "河湖水环境治理"),
    (("劳动和社会保障",), "hrss", (), "劳动保障与社会保险"),
    (("劳动和社会保障", "城镇居民社会保险", "城镇居民医疗保险"), "medins", (), "城乡居民医疗保险"),
    (("劳动和社会保障", "城镇居民社会保险", "新农村合作医疗"), "medins", (), "城乡居民医疗保险"),
    (("劳动和社会保障", "城镇职工社会保险", "职工医疗保险"), "medins", (), "职工医疗保险"),
    (("交通运输",), "transport", (), "交通运输管理"),
    (("政法",), "police", (), "社会治安与公安管理"),
    (("政法", "社会治安", "消防安全"), "fire", ("police",), "消防安全监督检查"),
    (("政法", "法律服务"), "justice", (), "公共法律服务"),
    (("政法", "法制建设"), "justice", (), "法治宣传"),
    (("政法", "行政复议"), "justice", (), "行政复议"),
    (("政法", "刑罚执行"), "justice", (), "社区矫正"),
    (("政法", "仲裁与调解"), "justice", (), "人民调解"),
    (("政法", "仲裁与调解", "劳动仲裁"), "hrss", (), "劳动人事争议仲裁"),
    (("政法", "仲裁与调解", "人事仲裁"), "hrss", (), "劳动人事争议仲裁"),
    (("教育文体",), "edu", (), "教育管理"),
    (("教育文体", "体育"), "culture", ("edu",), "全民健身与体育设施"),
    (("教育文体", "文化"), "culture", (), "公共文化服务"),
    (("教育文体", "文物管理"), "culture", (), "文物保护"),
    (("卫生计生",), "health", (), "卫生健康管理"),
    (("卫生计生", "食品药品监管"), "market", ("health",), "食品药品安全监管"),
    (("商贸旅游",), "market", (), "市场监督管理"),
    (("商贸旅游", "旅游管理"), "culture", (), "旅游市场管理"),
    (("民政",), "civil", (), "民政服务"),
    (("民政", "优抚"), "veterans", (), "退役军人优抚"),
    (("民政", "复退安置"), "veterans", (), "退役军人安置"),
    (("科技与信息产业",), "tech", (), "信息化与通信保障"),
    (("经济管理",), "drc", (), "经济运行与价格管理"),
    (("经济管理", "安全生产"), "emergency", (), "安全生产监督管理"),
    (("经济管理", "能源管理", "新能源产品研发与推广"), "drc", ("power",), "新能源汽车充电设施建设"),
    (("国土资源",), "planning", (), "自然资源管理"),
    (("农村农业", "水利水电"), "waterworks", (), "水利工程与防汛"),
    (("农村农业", "林业管理"), "green", (), "林业管理"),
)
# entries held by every street for its own area (属地管理): they beat the district-wide entry
STREET_RESPONSIBILITIES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (("城乡建设", "城市建设和市政管理", "小区管理"), ("housing",), "住宅小区综合治理（属地）"),
    (("城乡建设", "城乡规划", "违章建筑"), ("enforce",), "违法建设属地巡查与拆除"),
    (("城乡建设", "城市建设和市政管理", "居民服务设施"), (), "社区便民服务设施"),
    (("民政", "基层选举和社区建设"), (), "社区建设"),
)
# the unit a dispatcher might send a demand to by mistake (an upheld return follows)
CONFUSABLE = {"city": ("enforce", "green"), "enforce": ("city",), "green": ("city",), "housing": ("planning", "city"),
              "planning": ("housing",), "env": ("city", "police"), "waterworks": ("water", "env"), "water": ("waterworks",),
              "power": ("drc",), "gas": ("emergency",), "heat": ("housing",), "hrss": ("justice",), "medins": ("hrss",),
              "transport": ("police", "city"), "police": ("transport", "city"), "fire": ("emergency",),
              "emergency": ("fire",), "health": ("market",), "market": ("health",), "edu": ("culture",),
              "culture": ("edu",), "civil": ("veterans",), "veterans": ("civil",), "tech": ("drc",), "drc": ("power",),
              "justice": ("police",), "street": ("housing", "enforce")}

PUBLIC_CHANNELS = ("web", "mobile", "board", "api")
STAFF_DESK_CHANNELS = ("letter", "visit", "reception", "door", "box", "agent")
CHANNEL_WEIGHTS = {"hotline": 46, "web": 10, "mobile": 12, "board": 6, "api": 2, "letter": 4, "visit": 6,
                   "reception": 2, "door": 5, "box": 2, "agent": 3}
HOTLINE_HOURS = (0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 1, 2, 5, 8, 8, 7, 4, 5, 7, 7, 6, 5, 4, 5, 5, 4, 2, 1)
ONLINE_HOURS = (2, 1.5, 1, 0.5, 0.5, 0.5, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 6, 7, 8, 7, 4)


@dataclass(frozen=True)
class Spec:
    """The size of the city and of its history."""

    seed: int = 7
    streets: int = 6
    communities: int = 5       # per street
    grids: int = 4             # per community
    demands: int = 5000
    days: int = 91
    shared_taxonomy: bool = True  # import the real tree from the shared data when it is there
    buildups: int = 2          # planted build-ups (琐事积累) for the safety line: one under 2,000 demands, none under
                               # BUILDUP_MIN_DAYS of history


@dataclass
class StreetW:
    code: str
    name: str
    roads: list[str]
    profile: tuple[float, float, int]


@dataclass
class CommunityW:
    code: str
    name: str
    street: int
    compounds: list[str]


@dataclass
class GridW:
    code: str
    name: str
    community: int


@dataclass
class World:
    district: tuple[str, str]
    streets: list[StreetW]
    communities: list[CommunityW]
    grids: list[GridW]


def make_world(spec: Spec) -> World:
    rng = random.Random(f"{spec.seed}:world")
    streets: list[StreetW] = []
    communities: list[CommunityW] = []
    grids: list[GridW] = []
    stems = list(tx.ROAD_STEMS)
    rng.shuffle(stems)
    names = list(COMMUNITY_NAMES)
    for si in range(spec.streets):
        name = STREET_NAMES[si] if si < len(STREET_NAMES) else f"第{si + 1}街道"
        roads = []
        for k in range(4):
            stem = stems[(si * 4 + k) % len(stems)]
            roads.append(stem + tx.ROAD_SUFFIX[(si + k * 3) % len(tx.ROAD_SUFFIX)])
        streets.append(StreetW(f"QY-S{si + 1:02d}", name, roads, STREET_PROFILES[si % len(STREET_PROFILES)]))
        for ci in range(spec.communities):
            n = si * spec.communities + ci
            stem = names[n] if n < len(names) else f"{name[:2]}{ci + 1}"
            suffixes = rng.sample(tx.COMPOUND_SUFFIX, 3)
            compounds = [stem + s for s in suffixes]
            code = f"QY-S{si + 1:02d}C{ci + 1:02d}"
            communities.append(CommunityW(code, f"{stem}社区", si, compounds))
            for gi in range(spec.grids):
                grids.append(GridW(f"{code}G{gi + 1:02d}", f"{stem}社区第{gi + 1}网格", len(communities) - 1))
    return World(("QY", "清源区"), streets, communities, grids)


# ============================================================================================ the plan

@dataclass
class Round:
    """One handling round: when the unit answers (as a share of its time limit; None: it never does),
    with what, and what the person says at the callback ("none": no rating, the sweep closes it)."""

    f: float | None
    reply: str
    callback: str
    by: str = "person"           # "person" (tracking code) or "operator" (回访员)
    delay: int = 240             # working minutes from the reply to the callback
    comment: str = ""


@dataclass
class Fate:
    intake: str = "dispatch"      # dispatch | answer | reject | withdraw
    text: str = ""                # the answer at intake, the rejection or withdrawal reason
    accept_minutes: int = 10
    dispatch_minutes: int = 60
    sign_minutes: int = 30
    start_minutes: int = 20
    dup_of: int | None = None     # a duplicate: merged into this plan's demand when it can be
    misroute: str = ""            # dispatched first to this unit, which returns it (upheld)
    return_reason: str = ""
    cited_item: str = ""
    push_back: bool = False       # the right unit asks to return it; the dispatcher overrules
    extension: str = ""           # "" | approved | refused
    ext_days: int = 0
    ext_reason: str = ""
    suspend: bool = False
    suspend_days: int = 2
    note: str = ""
    co_note: str = ""
    urge: bool = False
    withdraw_days: float = 1.0
    rounds: list[Round] = field(default_factory=list)
    certify: bool = False         # after the last dissatisfied round, the supervisor closes it after review
    certify_text: str = ""
    pick: int = 0                 # picks staff members deterministically


@dataclass
class DemandPlan:
    i: int
    at: datetime
    channel: str
    type: str
    urgency: str
    identity: str
    topic: str
    title: str
    content: str
    restatement: str
    grid: int
    address: str
    name: str = ""
    phone: str = ""
    agent_name: str = ""
    agent_phone: str = ""
    group: int | None = None
    reported_unit: str = ""
    reported_person: str = ""
    unit: str = ""                # the unit the responsibility list will route it to ("street:N", "district")
    fate: Fate = field(default_factory=Fate)


@dataclass
class GroupPlan:
    i: int
    at: datetime
    community: int
    topic: str
    headcount: int
    reps: list[dict[str, str]]
    minutes: str
    goals: str


@dataclass
class PlantedBuildup:
    """Where a build-up was planted: one grid, one topic (its category), the demands it brought (plan indexes)."""

    key: str
    grid: int
    topic: str
    start: datetime
    end: datetime
    demands: list[int] = field(default_factory=list)
    group: int | None = None


@dataclass
class Plan:
    world: World
    demands: list[DemandPlan]
    groups: list[GroupPlan]
    buildups: list[PlantedBuildup] = field(default_factory=list)

    def fingerprint(self) -> str:
        """A digest of everything planned (for determinism checks)."""
        h = hashlib.sha256()
        for p in self.demands:
            h.update(json.dumps([p.at.isoformat(), p.channel, p.type, p.urgency, p.identity, p.topic, p.title,
                                 p.content, p.grid, p.name, p.phone, p.unit, repr(p.fate)],
                                ensure_ascii=False).encode())
        for g in self.groups:
            h.update(json.dumps([g.at.isoformat(), g.topic, g.headcount, g.reps, g.minutes], ensure_ascii=False).encode())
        return h.hexdigest()


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _route(path: tuple[str, str, str], street: int) -> tuple[str, tuple[str, ...], str]:
    """Where the responsibility list sends a demand of ``path`` in ``street`` (mirrors resolve_route for
    the entries this module sets): the unit key ("street:N" for a street, "district" for the backstop)."""
    for cat, co, item in STREET_RESPONSIBILITIES:
        if cat == path:
            return f"street:{street}", co, item
    best: tuple[int, str, tuple[str, ...], str] | None = None
    for cat, lead, co, item in RESPONSIBILITIES:
        if path[:len(cat)] == cat and (best is None or len(cat) > best[0]):
            best = (len(cat), lead, co, item)
    if best is None:
        return "district", (), ""
    return best[1], best[2], best[3]


def _profile(world: World, unit: str) -> tuple[float, float, int]:
    if unit.startswith("street:"):
        return world.streets[int(unit.split(":")[1])].profile
    if unit == "district":
        return DISTRICT_PROFILE
    u = UNIT_BY_KEY[unit]
    return u[5], u[6], u[7]


def _short(world: World, unit: str) -> str:
    if unit.startswith("street:"):
        return world.streets[int(unit.split(":")[1])].name
    if unit == "district":
        return "区政府"
    return UNIT_BY_KEY[unit][3]


class _Writer:
    """Renders the templates of ``democity_texts`` for one demand."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.case: tuple[str, str, str] | None = None

    def slots(self, grid: int, topic: tx.Topic, unit: str, reported_unit: str = "") -> dict[str, str]:
        rng = self.rng
        w = self.world
        comm = w.communities[w.grids[grid].community]
        street = w.streets[comm.street]
        compound = rng.choice(comm.compounds)
        road, road2 = rng.sample(street.roads, 2)
        bld = f"{rng.randint(1, 28)}号楼"
        place = rng.choice([f"{compound}{bld}", compound, road, f"{road}与{road2}交叉口", f"{compound}东门",
                            f"{compound}西侧"])
        return {
            "place": place, "compound": compound, "road": road, "community": comm.name, "street": street.name,
            "bld": bld, "obj": rng.choice(topic.objs), "n": str(rng.randint(2, 9)), "nn": str(rng.randint(10, 60)),
            "dur": rng.choice(tx.DURATIONS), "time": rng.choice(tx.TIMES),
            "money": str(rng.choice((600, 800, 1200, 1500, 2600, 3800, 5000, 8600, 12000, 26000))),
            "company": rng.choice(tx.COMPANY), "school": street.name[:2] + rng.choice(tx.SCHOOLS),
            "shop": rng.choice(tx.SURNAMES) + "记" + rng.choice(tx.SHOP), "hospital": rng.choice(tx.HOSPITALS),
            "unit": _short(w, unit), "phone": f"6{rng.randint(1000000, 9999999)}",
            "reported_unit": reported_unit, "official": rng.choice(tx.OFFICIALS), "date": "{date}",
        }

    def fill(self, template: str, slots: dict[str, str]) -> str:
        return template.format_map(slots)

    def demand(self, topic: tx.Topic, typ: str, slots: dict[str, str], identity: str) -> tuple[str, str]:
        """The title and content; for complaints, requests for help and reports the chosen case is kept (in
        ``self.case``) so that the reply answers the same thing."""
        rng = self.rng
        self.case = None
        if typ == "enquiry":
            title, body = rng.choice(topic.asks)
        elif typ == "suggestion":
            title, body = rng.choice(topic.ideas)
        elif typ == "praise":
            title, body = rng.choice(tx.PRAISE_TITLES), rng.choice(tx.PRAISE_BODIES)
        else:
            self.case = rng.choice(topic.cases)
            title, body = self.case[0], self.case[1]
        opener = rng.choice(tx.OPENERS) if typ != "report" else ""
        closer = rng.choice(tx.CLOSERS) if typ in ("complaint", "help") else ""
        if typ == "report" or (identity == "confidential" and rng.random() < 0.3):
            closer += "请为我保密。"
        return self.fill(title, slots), self.fill(opener + body + closer, slots)

    def reply(self, topic: tx.Topic, typ: str, title: str, slots: dict[str, str], good: bool, round_no: int) -> str:
        """A unit's answer: what it did about the case (a weak, evasive one when it did not really solve it);
        for a dispatched enquiry or suggestion, the answer or the decision on it."""
        rng = self.rng
        s = {**slots, "title": title}
        if topic.report:
            opening = rng.choice(tx.REPORT_OPEN)
        elif round_no > 1:
            opening = rng.choice(tx.REOPEN_OPEN)
        else:
            opening = rng.choice(tx.REPLY_OPEN)
        if typ == "enquiry" and topic.answers:
            return self.fill(rng.choice(topic.answers), s)
        if typ in ("suggestion", "praise", "enquiry"):
            return self.fill(rng.choice(tx.SUGGESTION_ANSWERS if typ == "suggestion" else tx.PRAISE_ANSWERS), s)
        case = self.case or rng.choice(topic.cases)
        fix = case[2] if good or topic.report else rng.choice(tx.WEAK_FIXES)
        return self.fill(opening + fix + rng.choice(tx.REPORT_CLOSE if topic.report else tx.REPLY_CLOSE), s)


def _day_weights(anchor: datetime, days: int, cal: WorkCalendar) -> list[tuple[date, float]]:
    out = []
    first = (anchor - timedelta(days=days)).date()
    for k in range(days + 1):
        d = first + timedelta(days=k)
        try:
            works = cal.is_workday(d)
        except CalendarNotCovered:
            works = d.weekday() < 5
        out.append((d, 1.0 if works else 0.65))
    return out


def _at_hour(d: date, hour: int, minute: int, second: int, tz) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=tz)


def _working_moment(rng: random.Random, d: date, cal: WorkCalendar, anchor: datetime) -> datetime | None:
    """A moment within the working hours of ``d`` or of the nearest working day before it."""
    for back in range(0, 15):
        day = d - timedelta(days=back)
        try:
            if not cal.is_workday(day):
                continue
        except CalendarNotCovered:
            if day.weekday() >= 5:
                continue
        start, end = rng.choice(cal.hours.periods)
        lo = start.hour * 60 + start.minute
        hi = end.hour * 60 + end.minute - 15
        m = rng.randint(lo, hi)
        t = _at_hour(day, m // 60, m % 60, rng.randint(0, 59), cal.tz)
        if t <= anchor:
            return t
    return None


def _person(rng: random.Random, pool: list[tuple[str, str]]) -> tuple[str, str]:
    # a few people raise many demands (repeat callers); most raise one or two
    if rng.random() < 0.2:
        return pool[int(rng.paretovariate(1.2)) % min(len(pool), 40)]
    return rng.choice(pool)


def _new_person(rng: random.Random) -> tuple[str, str]:
    surname = rng.choice(tx.SURNAMES)
    if rng.random() < 0.5:
        name = surname + rng.choice(tx.TITLES)
    else:
        name = surname + rng.choice(tx.GIVEN)
    prefix = rng.choice(("139", "138", "137", "136", "135", "158", "159", "186", "187", "188", "133", "189", "177"))
    return name, f"{prefix}{rng.randint(10000000, 99999999)}"


def make_plan(spec: Spec, anchor: datetime, cal: WorkCalendar) -> Plan:
    """Everything that will happen, drawn from the seed (pure: no database)."""
    world = make_world(spec)
    rng = random.Random(f"{spec.seed}:plan")
    tz = cal.tz
    anchor = anchor.astimezone(tz)
    days = _day_weights(anchor, spec.days, cal)
    pool = [_new_person(rng) for _ in range(max(20, spec.demands // 2))]
    normal = [t for t in tx.TOPICS if not t.report]
    reports = [t for t in tx.TOPICS if t.report]
    # group visits first: a working moment, a community, a topic, one to three demands each
    n_groups = max(1, spec.demands // 250) if spec.demands >= 10 else 0
    groups: list[GroupPlan] = []
    group_demands: list[tuple[int, int, str]] = []  # (group, community, topic)
    for _ in range(n_groups):
        day = rng.choices([d for d, _ in days[:-1]], weights=[w for _, w in days[:-1]])[0]
        at = _working_moment(rng, day, cal, anchor - timedelta(hours=3))
        if at is None:
            continue
        community = rng.randrange(len(world.communities))
        key, topic_t, problem_t, goals_t = rng.choice(tx.GROUP_TOPICS)
        comm = world.communities[community]
        s = {"compound": rng.choice(comm.compounds), "company": rng.choice(tx.COMPANY),
             "nn": str(rng.randint(12, 60)), "money": str(rng.randint(20, 90) * 10000)}
        headcount = rng.randint(6, 40)
        reps = [dict(zip(("name", "phone"), _new_person(rng), strict=True)) for _ in range(rng.randint(3, 5))]
        problem = problem_t.format_map(s)
        groups.append(GroupPlan(len(groups), at, community, topic_t.format_map(s), headcount, reps,
                                rng.choice(tx.GROUP_TALK).format(problem=problem), goals_t.format_map(s)))
        for _ in range(rng.randint(1, min(3, len(reps)))):
            group_demands.append((len(groups) - 1, community, key))
    planted, buildups = _plan_buildups(spec, world, anchor, cal, groups)
    n_reports = max(1, round(spec.demands * 0.03)) if spec.demands >= 10 else 0
    n_normal = max(0, spec.demands - len(group_demands) - n_reports - len(planted))
    kinds = ["normal"] * n_normal + ["report"] * n_reports
    rng.shuffle(kinds)
    raw: list[tuple[datetime, int, str, Any]] = []
    day_list = [d for d, _ in days]
    day_w = [w for _, w in days]
    for k, kind in enumerate(kinds):
        day = rng.choices(day_list, weights=day_w)[0]
        raw.append((day, k, kind, None))
    for k, (g, community, key) in enumerate(group_demands):
        raw.append((groups[g].at.date(), len(kinds) + k, "group", (g, community, key)))
    drafts: list[tuple[datetime, int, dict[str, Any]]] = []
    for k, b in enumerate(planted):
        drafts.append((b["at"], len(kinds) + len(group_demands) + k, b))
    for day, k, kind, extra in raw:
        r = random.Random(f"{spec.seed}:demand:{k}")
        d: dict[str, Any] = {"kind": kind, "rng": r}
        if kind == "group":
            g, community, key = extra
            d["topic"] = tx.TOPIC_BY_KEY[key]
            d["channel"] = "group"
            d["group"] = g
            d["rep"] = r.choice(groups[g].reps)
            grids = [i for i, gw in enumerate(world.grids) if gw.community == community]
            d["grid"] = r.choice(grids)
            at = groups[g].at + timedelta(minutes=r.randint(20, 45))
        else:
            if kind == "report":
                d["topic"] = r.choices(reports, weights=[t.weight for t in reports])[0]
                d["channel"] = r.choice(("hotline", "hotline", "web", "letter", "board", "mobile"))
            else:
                month = day.month
                weights = [t.weight * ((3.0 if month in (11, 12, 1, 2, 3) else 0.1) if t.winter else 1.0)
                           for t in normal]
                d["topic"] = r.choices(normal, weights=weights)[0]
                d["channel"] = _weighted(r, CHANNEL_WEIGHTS)
            d["grid"] = r.randrange(len(world.grids))
            ch = d["channel"]
            if ch in STAFF_DESK_CHANNELS:
                at = _working_moment(r, day, cal, anchor)
            else:
                hours = HOTLINE_HOURS if ch == "hotline" else ONLINE_HOURS
                h = r.choices(range(24), weights=hours)[0]
                at = _at_hour(day, h, r.randint(0, 59), r.randint(0, 59), tz)
            if at is None or at > anchor:
                at = anchor - timedelta(minutes=r.randint(5, 600))
        drafts.append((at, k, d))
    drafts.sort(key=lambda x: (x[0], x[1]))
    plans: list[DemandPlan] = []
    recent: list[DemandPlan] = []
    for i, (at, _k, d) in enumerate(drafts):
        if d["kind"] == "buildup":
            plans.append(_plan_buildup_demand(i, at, d, world))
            buildups[d["buildup"]].demands.append(i)
            continue
        plans.append(_plan_demand(i, at, d, world, pool, recent))
        if plans[-1].type not in ("report", "praise") and plans[-1].group is None:
            recent.append(plans[-1])
            if len(recent) > 60:
                recent.pop(0)
    return Plan(world, plans, groups, buildups)


# --- planted build-ups ---------------------------------------------------------------------------------------

BUILDUP_MIN_DAYS = 35  # a build-up runs over three to five weeks: it needs that much history before "now"
BUILDUP_CHANNELS = {"hotline": 60, "mobile": 15, "web": 10, "door": 10, "board": 5}


def _plan_buildups(spec: Spec, world: World, anchor: datetime, cal: WorkCalendar,
                   groups: list[GroupPlan]) -> tuple[list[dict[str, Any]], list[PlantedBuildup]]:
    """Plant ``spec.buildups`` build-ups (琐事积累; one in a city of fewer than 2,000 demands), each in a grid of its
    own street: a run of 11–15 small
    complaints about one thing over the last 24–35 days, arriving more and more often, from three or four
    residents who call again and again (plus a neighbour or two), answered evasively, rated dissatisfied and
    reopened, mostly still open at "now"; escalation words in one or two of the last ones, and for the first
    build-up a group visit in its last week. The drafts (one dict per demand) and where each was planted; the
    fates are drawn in :func:`_plan_buildup_demand`. Drawn from the seed only (a stream of its own)."""
    if spec.buildups <= 0 or spec.days < BUILDUP_MIN_DAYS or not world.grids or not tx.BUILDUPS:
        return [], []
    rng = random.Random(f"{spec.seed}:buildups")
    streets = list(range(len(world.streets)))
    rng.shuffle(streets)
    month = anchor.astimezone(cal.tz).month
    fitting = [t for t in tx.BUILDUPS if not t.months or month in t.months]  # no waterlogging in winter
    wanted = min(spec.buildups, max(1, spec.demands // 1000))  # a reduced city gets one, not a tenth of its demands
    themes = rng.sample(fitting, min(wanted, len(fitting), len(streets)))
    drafts: list[dict[str, Any]] = []
    planted: list[PlantedBuildup] = []
    for b, theme in enumerate(themes):
        r = random.Random(f"{spec.seed}:buildup:{b}")
        street = streets[b]
        grids = [i for i, gw in enumerate(world.grids) if world.communities[gw.community].street == street]
        grid = r.choice(grids)
        comm = world.communities[world.grids[grid].community]
        site = {"compound": r.choice(comm.compounds), "bld": f"{r.randint(1, 28)}号楼",
                "road": r.choice(world.streets[street].roads), "company": r.choice(tx.COMPANY)}
        span = min(r.randint(24, 35), spec.days - 7)
        end = anchor - timedelta(hours=r.uniform(4, 40))
        start = end - timedelta(days=span)
        n = r.randint(11, 15)
        residents = [_new_person(r) for _ in range(r.randint(3, 4))]
        place = PlantedBuildup(theme.key, grid, theme.topic, start, end)
        planted.append(place)
        # more and more often (one in each n-th of the span, stretched toward the end); (moment, whether it is
        # one of the group visit's own demands)
        moments = [(start + (end - start) * (((j + r.random()) / n) ** 0.75), False) for j in range(n)]
        escalate = set(r.sample(range(n - n // 3, n), min(n // 3, r.choice((1, 2)))))
        if b == 0:
            # a group visit of the residents in the last week, with one or two demands of its own
            day = (anchor - timedelta(days=r.randint(2, 6))).date()
            at = _working_moment(r, day, cal, anchor - timedelta(hours=3))
            if at is not None and at > start:
                topic_t, problem_t, goals_t = theme.group
                reps = [dict(zip(("name", "phone"), who, strict=True)) for who in residents[:3]]
                problem = problem_t.format_map(site)
                place.group = len(groups)
                groups.append(GroupPlan(len(groups), at, world.grids[grid].community, topic_t.format_map(site),
                                        r.randint(8, 25), reps, r.choice(tx.GROUP_TALK).format(problem=problem),
                                        goals_t.format_map(site)))
                for rep in range(r.randint(1, 2)):
                    moments.append((at + timedelta(minutes=r.randint(20, 45) + 10 * rep), True))
                moments.sort()
        called: set[str] = set()
        for j, (when, of_group) in enumerate(moments):
            dr = random.Random(f"{spec.seed}:buildup:{b}:{j}")
            group = place.group if of_group else None
            channel = "group" if group is not None else _weighted(dr, BUILDUP_CHANNELS)
            if group is not None:
                rep = dr.choice(groups[group].reps)
                name, phone = rep["name"], rep["phone"]
            elif dr.random() < 0.2:
                name, phone = _new_person(dr)  # a neighbour calls once
            else:
                name, phone = dr.choices(residents, weights=(5, 3, 2, 1.5)[:len(residents)])[0]
            if channel == "door":
                at = _working_moment(dr, when.date(), cal, anchor)
            elif channel == "group":
                at = when
            else:
                hours = HOTLINE_HOURS if channel == "hotline" else ONLINE_HOURS
                h = dr.choices(range(24), weights=hours)[0]
                at = _at_hour(when.astimezone(cal.tz).date(), h, dr.randint(0, 59), dr.randint(0, 59), cal.tz)
            if at is None or at > anchor:
                at = anchor - timedelta(minutes=dr.randint(30, 600))
            again = phone in called
            called.add(phone)
            drafts.append({"kind": "buildup", "buildup": b, "theme": theme, "at": max(at, start), "grid": grid,
                           "site": site, "channel": channel, "group": group, "name": name, "phone": phone,
                           "again": again, "escalate": j in escalate, "rng": dr})
    return drafts, planted


def _plan_buildup_demand(i: int, at: datetime, d: dict[str, Any], world: World) -> DemandPlan:
    """One demand of a planted build-up: its text from the build-up's templates and a fate that leaves the
    grievance standing (evasive answers rated dissatisfied, reopened, slow; a few closed unresolved after review,
    a few accepted as basically satisfied)."""
    r: random.Random = d["rng"]
    theme: tx.Buildup = d["theme"]
    topic = tx.TOPIC_BY_KEY[theme.topic]
    grid: int = d["grid"]
    street = world.communities[world.grids[grid].community].street
    unit, _co, _item = _route(topic.path, street)
    writer = _Writer(world, r)
    slots = {**writer.slots(grid, topic, unit), **d["site"], "date": "{date}"}
    title_t, body_t = r.choice(theme.agains if d["again"] and r.random() < 0.8 else theme.firsts)
    title, body = writer.fill(title_t, slots), writer.fill(body_t, slots)
    opener = writer.fill(r.choice(tx.OPENERS), slots) if d["channel"] != "door" else ""
    content = opener + body
    if d["escalate"]:
        content += writer.fill(r.choice(theme.escalations), slots)
    if d["channel"] == "door":
        content = "（网格员入户走访记录）" + content
    typ = "help" if r.random() < 0.15 else "complaint"
    address = f"{slots['compound']}{slots['bld']}" if "{bld}" in body_t or "{bld}" in title_t else slots["compound"]
    restatement = f"诉求人反映：{title}。地点：{slots['community']}{address}。" + r.choice(
        ("诉求人称已多次反映，要求尽快彻底解决。", "诉求人希望相关部门核实处理并给予答复。", "诉求人情绪较为激动，要求给予答复。"))

    def weak(round_no: int) -> str:
        s = {**slots, "title": title}
        opening = r.choice(tx.REOPEN_OPEN if round_no > 1 else tx.REPLY_OPEN)
        return writer.fill(opening + r.choice(theme.weak) + r.choice(tx.REPLY_CLOSE), s)

    def bad(share: float, round_no: int) -> Round:
        return Round(share, weak(round_no), "dissatisfied", "person" if r.random() < 0.7 else "operator",
                     r.randint(60, 1500), r.choice(theme.comments))

    f = Fate(pick=r.randrange(1_000_000))
    f.accept_minutes = r.randint(3, 12) if d["channel"] == "hotline" else r.randint(10, 240)
    f.dispatch_minutes = r.randint(10, 300)
    f.sign_minutes = max(5, int(_profile(world, unit)[2] * r.lognormvariate(0, 0.6)))
    f.start_minutes = r.randint(5, 120)
    u = r.random()
    if u < 0.1:  # closed after review, the problem still there
        f.rounds = [bad(r.uniform(0.5, 0.9), 1)]
        f.certify, f.certify_text = True, r.choice(tx.CERTIFY_REASONS)
    elif u < 0.18:  # a stopgap fix the person accepted for now
        f.rounds = [Round(r.uniform(0.4, 0.8), weak(1), "basic", "operator", r.randint(60, 900),
                          r.choice(tx.SATISFIED_COMMENTS))]
    elif u < 0.68:  # answered evasively, reopened, answered evasively again, reopened, left
        f.rounds = [bad(r.uniform(0.4, 0.8), 1), bad(r.uniform(0.5, 1.1), 2), Round(None, "", "none")]
    else:  # slow: answered late (or not yet), rated dissatisfied, then left in progress
        f.rounds = [bad(r.uniform(1.05, 2.0), 1), Round(None, "", "none")]
        f.urge = r.random() < 0.5
    if r.random() < 0.1:
        f.push_back = True
        f.return_reason = r.choice(tx.OVERRULED_RETURN_REASONS)
        f.cited_item = "本单位权责清单以外事项"
    return DemandPlan(i, at, d["channel"], typ, "normal", "named", topic.key, title[:200], content,
                      restatement[:500], grid, address, d["name"], d["phone"], group=d["group"], unit=unit, fate=f)


def _plan_demand(i: int, at: datetime, d: dict[str, Any], world: World, pool: list[tuple[str, str]],
                 recent: list[DemandPlan]) -> DemandPlan:
    r: random.Random = d["rng"]
    topic: tx.Topic = d["topic"]
    channel: str = d["channel"]
    grid: int = d["grid"]
    dup_of = None
    if d["kind"] == "normal" and recent and r.random() < 0.04:
        # the same problem raised again by someone else within a few days: a duplicate to merge
        master = r.choice(recent[-20:])
        if timedelta(0) < at - master.at < timedelta(days=4):
            topic, grid, dup_of = tx.TOPIC_BY_KEY[master.topic], master.grid, master.i
    street = world.communities[world.grids[grid].community].street
    unit, _co, item = _route(topic.path, street) if not topic.report else ("discipline", (), "")
    speed, quality, sign = _profile(world, unit)
    if topic.report:
        typ = "report"
    else:
        types = dict(topic.types)
        types["praise"] = 0.12
        if not topic.asks:
            types.pop("enquiry", None)
        if not topic.ideas:
            types.pop("suggestion", None)
        if dup_of is not None or channel == "group":
            types = {k: v for k, v in types.items() if k in ("complaint", "help")} or {"complaint": 1}
        typ = _weighted(r, types)
    urgency = "normal"
    if typ in ("complaint", "help") and channel != "group":
        u = r.random()
        urgency = "emergency" if u < topic.emergency else "urgent" if u < topic.emergency + topic.urgent else "normal"
    elif channel == "group":
        urgency = "urgent" if r.random() < 0.5 else "normal"
    if typ == "report":
        identity = _weighted(r, {"named": 2, "confidential": 5, "anonymous": 3})
    elif channel in ("group", "agent", "visit", "reception", "door"):
        identity = _weighted(r, {"named": 9, "confidential": 1})
    else:
        identity = _weighted(r, {"named": 70, "confidential": 20, "anonymous": 10})
    writer = _Writer(world, r)
    reported_unit = ""
    reported_key = ""
    if typ == "report":
        # whistle-blowing more often concerns the slow, disliked units
        keys = [u[0] for u in UNITS if u[4] == K.DEPARTMENT]
        reported_key = r.choices(keys, weights=[1.5 - UNIT_BY_KEY[k][6] for k in keys])[0]
        reported_unit = UNIT_BY_KEY[reported_key][3]
        if r.random() < 0.3:
            reported_unit = world.streets[street].name
            reported_key = f"street:{street}"
    slots = writer.slots(grid, topic, unit, reported_unit)
    title, content = writer.demand(topic, typ, slots, identity)
    name, phone = ("", "") if identity == "anonymous" else _person(r, pool)
    if d.get("rep"):
        name, phone = d["rep"]["name"], d["rep"]["phone"]  # a group's demand is raised by a representative
    if identity == "anonymous" and r.random() < 0.3:
        phone = ""
    agent_name = agent_phone = ""
    if channel == "agent":
        agent_name, agent_phone = _new_person(r)
        agent_name = r.choice(("网格员", "志愿者", "社区工作者", "楼门长")) + agent_name
        content = f"（{agent_name}代为反映）" + content
    address = slots["place"] if slots["place"].startswith(slots["compound"]) else slots["compound"]
    restatement = f"诉求人反映：{title}。地点：{slots['community']}{address}。" + r.choice(
        ("诉求人要求尽快处理。", "诉求人希望相关部门核实处理并给予答复。", "诉求人要求给予答复。"))
    reported_person = ""
    if typ == "report":
        reported_person = reported_unit + slots["official"]
    fate = _plan_fate(r, world, topic, typ, urgency, channel, unit, speed, quality, sign, slots, title, writer, item,
                      street)
    fate.dup_of = dup_of
    return DemandPlan(i, at, channel, typ, urgency, identity, topic.key, title[:200], content, restatement[:500],
                      grid, address, name, phone, agent_name, agent_phone, d.get("group"), reported_key,
                      reported_person, unit, fate)


def _satisfaction(r: random.Random, quality: float, good: bool, late: bool, round_no: int) -> str:
    base = quality - (0.0 if good else 0.35) - (0.2 if late else 0.0) + (0.15 if round_no > 1 else 0.0)
    u = r.random()
    if u < base:
        return "satisfied"
    if u < base + (1 - base) * 0.55:
        return "basic"
    return "dissatisfied"


def _plan_fate(r: random.Random, world: World, topic: tx.Topic, typ: str, urgency: str, channel: str, unit: str,
               speed: float, quality: float, sign: int, slots: dict[str, str], title: str, writer: _Writer,
               item: str, street: int) -> Fate:
    f = Fate(pick=r.randrange(1_000_000))
    f.accept_minutes = r.randint(3, 12) if channel == "hotline" else r.randint(10, 240)
    f.dispatch_minutes = r.randint(5, 25) if urgency != "normal" else r.randint(10, 300)
    f.sign_minutes = max(2, int(sign * r.lognormvariate(0, 0.6)))
    if urgency != "normal":
        f.sign_minutes = max(2, f.sign_minutes // 4)
    f.start_minutes = r.randint(5, 120)
    if typ in ("enquiry", "praise", "suggestion") and channel != "group":
        answer_share = {"enquiry": 0.6, "praise": 1.0, "suggestion": 0.3}[typ]
        if r.random() < answer_share:
            f.intake = "answer"
            if typ == "enquiry" and topic.answers:
                f.text = writer.fill(r.choice(topic.answers), slots)
            elif typ == "praise":
                f.text = writer.fill(r.choice(tx.PRAISE_ANSWERS), slots)
            else:
                f.text = writer.fill(r.choice(tx.SUGGESTION_ANSWERS), slots)
            f.rounds = [Round(None, "", _weighted(r, {"satisfied": 8, "basic": 1.5, "none": 1}),
                              r.choice(("person", "operator")), r.randint(60, 1500))]
            return f
    u = r.random()
    if typ != "report" and channel != "group" and u < 0.02:
        f.intake = "reject"
        f.text = r.choice(tx.REJECT_REASONS)
        return f
    if typ != "report" and u < 0.045:
        f.intake = "withdraw"
        f.text = r.choice(tx.WITHDRAW_REASONS)
        f.withdraw_days = r.uniform(0.2, 3)
    if typ != "report":
        v = r.random()
        if v < 0.035:
            right = _short(world, unit)
            f.misroute = r.choice(CONFUSABLE.get("street" if unit.startswith("street:") else unit, ("city",)))
            if f.misroute == unit:
                f.misroute = ""
            f.return_reason = r.choice(tx.RETURN_REASONS).format(right=right)
            f.cited_item = item or "属地兜底事项"
        elif v < 0.07:
            f.push_back = True
            f.return_reason = r.choice(tx.OVERRULED_RETURN_REASONS)
            f.cited_item = "本单位权责清单以外事项"
    if r.random() < 0.07:
        f.extension = "approved" if r.random() < 0.8 else "refused"
        f.ext_days = r.choice((3, 5, 5, 10, 15))
        f.ext_reason = r.choice(tx.EXTENSION_REASONS)
    if r.random() < 0.035:
        f.suspend = True
        f.suspend_days = r.randint(1, 5)
    if r.random() < 0.2:
        f.note = r.choice(tx.NOTES)
    if r.random() < 0.5:
        f.co_note = r.choice(tx.CO_OPINIONS)
    rounds = []
    for round_no in (1, 2, 3):
        if r.random() < 0.015 * speed * (3 if round_no == 1 else 1):
            rounds.append(Round(None, "", "none"))  # never answered: overdue, supervised, listed
            break
        share = speed * r.lognormvariate(0, 0.45) * (0.6 if round_no > 1 else 1.0)
        if f.extension == "approved" and round_no == 1:
            share = max(share, 0.9)
        if f.extension and round_no == 1:
            f.urge = r.random() < 0.3
        elif share > 0.85 and r.random() < 0.3:
            f.urge = True
        good = r.random() < quality + 0.05 + (0.2 if round_no > 1 else 0)
        late = share > 1.0
        outcome = _satisfaction(r, quality, good, late, round_no)
        if r.random() < 0.07:
            outcome = "none"
        rounds.append(Round(share, writer.reply(topic, typ, title, slots, good, round_no), outcome,
                            "person" if r.random() < 0.55 or typ == "report" else "operator",
                            r.randint(30, 1800),
                            r.choice(tx.DISSATISFIED_COMMENTS if outcome == "dissatisfied" else tx.SATISFIED_COMMENTS)))
        if outcome != "dissatisfied":
            break
    f.rounds = rounds
    if rounds and rounds[-1].callback == "dissatisfied":
        f.certify = r.random() < 0.8
        f.certify_text = r.choice(tx.CERTIFY_REASONS)
    return f


# ============================================================================================ the directory

@dataclass
class City:
    """The directory as built, with handles the executor needs."""

    world: World
    district: Org
    streets: list[Org]
    communities: list[Org]
    grids: list[Org]
    units: dict[str, Org]
    categories: dict[str, Category]          # topic key → category
    users: dict[str, Any]
    intake_district: list[Any] = field(default_factory=list)
    intake_street: dict[int, list[Any]] = field(default_factory=dict)
    dispatchers: list[Any] = field(default_factory=list)
    supervisors: list[Any] = field(default_factory=list)
    discipline: list[Any] = field(default_factory=list)
    handlers: dict[int, list[Any]] = field(default_factory=dict)   # org pk → handlers held at it

    def unit_org(self, key: str) -> Org:
        if key.startswith("street:"):
            return self.streets[int(key.split(":")[1])]
        if key == "district":
            return self.district
        return self.units[key]


def taxonomy_path() -> Path | None:
    base = settings.MASSLINE.get("SHARED_DATA_DIR") or ""
    if not base:
        return None
    path = Path(base) / "messages" / "taxonomy.jsonl"
    return path if path.is_file() else None


def _staff_name(rng: random.Random) -> str:
    return rng.choice(tx.SURNAMES) + rng.choice(tx.GIVEN)


@transaction.atomic
def build_directory(spec: Spec, world: World | None = None) -> City:
    world = world or make_world(spec)
    actor = Actor.system(ACTOR_NAME)
    rng = random.Random(f"{spec.seed}:staff")
    code, name = world.district
    district = directory.create_org(code, name, K.DISTRICT, None, actor, phone="12345")
    streets = [directory.create_org(s.code, s.name, K.STREET, district, actor) for s in world.streets]
    communities = [directory.create_org(c.code, c.name, K.COMMUNITY, streets[c.street], actor) for c in world.communities]
    grids = [directory.create_org(g.code, g.name, K.GRID, communities[g.community], actor) for g in world.grids]
    units: dict[str, Org] = {}
    for key, ucode, uname, _short_name, kind, *_ in (*UNITS, DISCIPLINE, CENTRE):
        units[key] = directory.create_org(f"QY-U-{ucode}", uname, kind, district, actor,
                                          phone=f"6{rng.randint(1000000, 9999999)}")
    # categories: the real tree when we have it, else our own; the topics' leaves in any case
    source = taxonomy_path() if spec.shared_taxonomy else None
    if source is not None:
        report = directory.import_categories(source, actor)
        if report.errors:
            raise DomainError("bad_taxonomy", "；".join(report.errors[:3]))
    categories = {t.key: directory.ensure_category(list(t.path), actor) for t in tx.TOPICS}
    by_name = {c.full_name: c for c in Category.objects.all()}
    for cat, lead, co, item in RESPONSIBILITIES:
        node = by_name.get("/".join(cat))
        if node is not None:
            directory.set_responsibility(node, None, units[lead], [units[c] for c in co], actor, item=item,
                                         basis="《清源区接诉即办职责清单》")
    for cat, co, item in STREET_RESPONSIBILITIES:
        node = by_name.get("/".join(cat))
        if node is not None:
            for street in streets:
                directory.set_responsibility(node, street, street, [units[c] for c in co], actor, item=item,
                                             basis="《清源区街道属地管理事项清单》")
    city = City(world, district, streets, communities, grids, units, categories, {})
    _build_staff(city, rng, actor)
    return city


def _build_staff(city: City, rng: random.Random, actor: Actor) -> None:
    """About 200 staff in every role. Passwords: one hash of the demo password for all (hashing it 200 times
    would take minutes); the short demo logins of ``demo.logins_text`` are among them."""
    d = city.district
    R = Role
    rows: list[tuple[str, str, list[tuple[str, Org | None]]]] = [
        ("admin", "系统管理员", [(R.ADMIN, None)]),
        ("admin02", "系统管理员" + _staff_name(rng), [(R.ADMIN, None)]),
        ("leader", "区委书记" + _staff_name(rng), [(R.LEADER, d)]),
        ("leader02", "区长" + _staff_name(rng), [(R.LEADER, d)]),
        ("leader03", "副区长" + _staff_name(rng), [(R.LEADER, d)]),
        ("supervisor", "区督查室" + _staff_name(rng), [(R.SUPERVISOR, d)]),
        ("discipline", "纪检监察干部" + _staff_name(rng), [(R.DISCIPLINE, d)]),
        ("dispatcher", "派单员" + _staff_name(rng), [(R.DISPATCHER, d)]),
        ("intake", "受理员" + _staff_name(rng), [(R.INTAKE, d)]),
        ("handler_district", "区政府兜底承办人" + _staff_name(rng), [(R.HANDLER, d)]),
    ]
    rows += [(f"supervisor{k:02d}", "督办员" + _staff_name(rng), [(R.SUPERVISOR, d)]) for k in range(1, 4)]
    rows += [(f"discipline{k:02d}", "纪检监察干部" + _staff_name(rng), [(R.DISCIPLINE, d)]) for k in range(1, 4)]
    rows += [(f"dispatcher{k:02d}", "派单员" + _staff_name(rng), [(R.DISPATCHER, d)]) for k in range(1, 8)]
    rows += [(f"intake{k:02d}", "热线受理员" + _staff_name(rng), [(R.INTAKE, d)]) for k in range(1, 12)]
    for si, street in enumerate(city.streets, start=1):
        rows.append((f"leader_street{si}", f"{street.name}工委书记" + _staff_name(rng), [(R.LEADER, street)]))
        rows.append((f"supervisor_street{si}", f"{street.name}督办员" + _staff_name(rng), [(R.SUPERVISOR, street)]))
        rows.append((f"intake_street{si}", f"{street.name}接待大厅受理员" + _staff_name(rng), [(R.INTAKE, street)]))
        for k in ("", "_2", "_3"):
            rows.append((f"handler_street{si}{k}", f"{street.name}承办人" + _staff_name(rng), [(R.HANDLER, street)]))
    for c in city.communities:
        tag = c.code.split("-")[-1].lower()
        for k in ("", "_2"):
            rows.append((f"handler_{tag}{k}", f"{c.name}社工" + _staff_name(rng), [(R.HANDLER, c)]))
    for key, *_ in UNITS:
        unit = city.units[key]
        for k in ("", "2", "3") if key in BIG_UNITS else ("", "2"):
            rows.append((f"handler_{key}{k}", f"{UNIT_BY_KEY[key][3]}承办人" + _staff_name(rng), [(R.HANDLER, unit)]))
    users = {}
    for username, full_name, roles in rows:
        users[username] = directory.create_staff(username, None, full_name, actor, roles=roles)  # type: ignore[arg-type]
    get_user_model().objects.filter(pk__in=[u.pk for u in users.values()]).update(password=make_password(PASSWORD))
    city.users = users
    city.intake_district = [users["intake"]] + [users[f"intake{k:02d}"] for k in range(1, 12)]
    city.intake_street = {si: [users[f"intake_street{si + 1}"]] for si in range(len(city.streets))}
    city.dispatchers = [users["dispatcher"]] + [users[f"dispatcher{k:02d}"] for k in range(1, 8)]
    city.supervisors = [users["supervisor"]] + [users[f"supervisor{k:02d}"] for k in range(1, 4)]
    city.discipline = [users["discipline"]] + [users[f"discipline{k:02d}"] for k in range(1, 4)]
    for username, _full, roles in rows:
        for role, scope in roles:
            if role == R.HANDLER and scope is not None:
                city.handlers.setdefault(scope.pk, []).append(users[username])
    city.handlers[city.units["discipline"].pk] = list(city.discipline)


# ============================================================================================ execution

Step = tuple[datetime, Callable[[], Any]] | tuple[datetime, Callable[[], Any], bool]
Script = Generator[Step, Any, None]


@dataclass
class Report:
    demands: int = 0
    groups: int = 0
    steps: int = 0
    sweeps: int = 0
    failures: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)   # optional steps refused (e.g. a merge target moved on)
    states: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    types: Counter = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    events: int = 0
    staff: int = 0
    buildups: list[str] = field(default_factory=list)  # where build-ups were planted, for the summary

    def text(self) -> str:
        labels = dict(State.choices)
        from .models import Channel, DemandType
        ch = dict(Channel.choices)
        ty = dict(DemandType.choices)
        lines = [f"诉求 {self.demands} 件，集体访 {self.groups} 批，工作人员 {self.staff} 人，事件 {self.events} 条，"
                 f"步骤 {self.steps} 步，期限巡检 {self.sweeps} 次；用时 " + "，".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()),
                 "状态 states: " + "，".join(f"{labels.get(k, k)} {v}" for k, v in self.states.most_common()),
                 "渠道 channels: " + "，".join(f"{ch.get(k, k)} {v}" for k, v in self.channels.most_common()),
                 "类型 types: " + "，".join(f"{ty.get(k, k)} {v}" for k, v in self.types.most_common())]
        if self.buildups:
            lines.append("预设的琐事积累 planted build-ups: " + "；".join(self.buildups))
        if self.skipped:
            lines.append("跳过的可选步骤 optional steps skipped: " + "，".join(f"{k} {v}" for k, v in self.skipped.most_common()))
        if self.failures:
            lines.append("未执行的步骤 steps refused: " + "，".join(f"{k} {v}" for k, v in self.failures.most_common()))
        return "\n".join(lines)


class Runner:
    """Executes a plan on a built city, every step through the services at its simulated moment."""

    def __init__(self, city: City, plan: Plan, anchor: datetime) -> None:
        self.city = city
        self.plan = plan
        self.anchor = anchor
        self.cal = workcalendar.get_calendar()
        self.tz = self.cal.tz
        self.pk: dict[int, int] = {}
        self.group_pk: dict[int, int] = {}
        self.report = Report()

    # --- time ---------------------------------------------------------------------------------------
    def work(self, t: datetime, minutes: float, anytime: bool = False) -> datetime:
        """``minutes`` of working time after ``t`` (any time of day when ``anytime``)."""
        minutes = max(1, int(minutes))
        if anytime:
            return t + timedelta(minutes=minutes)
        try:
            return self.cal.add_working_minutes(t, minutes)
        except CalendarNotCovered:
            return t + timedelta(minutes=minutes)

    def share_of_limit(self, d: Demand, share: float, after: datetime) -> datetime:
        """The moment ``share`` of the demand's current time limit has run (not before ``after``)."""
        start = d.dispatched_at or after
        if d.due_at is None or not d.deadline_unit:
            return max(self.work(start, share * 7 * 450), self.work(after, 10))
        unit = d.deadline_unit
        try:
            if unit in ("calendar_hours", "calendar_days"):
                when = start + (d.due_at - start) * share
            else:
                total = self.cal.elapsed(start, d.due_at, unit)
                when = self.cal.add(start, total * share, unit)
        except CalendarNotCovered:
            when = start + (d.due_at - start) * share
        return max(when, self.work(after, 10, anytime=unit.startswith("calendar")))

    # --- people ---------------------------------------------------------------------------------------
    def handler(self, d: Demand, p: DemandPlan, salt: int = 0):
        people = self.city.handlers.get(d.lead_unit_id or 0) or self.city.handlers[self.city.district.pk]
        return people[(p.fate.pick + salt) % len(people)]

    def one(self, people: list, p: DemandPlan, salt: int = 0):
        return people[(p.fate.pick + salt) % len(people)]

    def street_of(self, p: DemandPlan) -> int:
        w = self.plan.world
        return w.communities[w.grids[p.grid].community].street

    # --- scripts --------------------------------------------------------------------------------------
    def demand_script(self, p: DemandPlan) -> Script:
        city, f = self.city, p.fate
        report = p.type == "report"
        desk_user = None
        if p.channel in PUBLIC_CHANNELS:
            desk_user = None
        elif p.channel in ("hotline",):
            desk_user = self.one(city.intake_district, p)
        else:
            desk_user = self.one(city.intake_street[self.street_of(p)], p)
        grid = city.grids[p.grid]

        def receive():
            return services.receive(IntakeData(
                channel=p.channel, type=p.type, title=p.title, content=p.content,
                category_id=city.categories[p.topic].pk, urgency=p.urgency, identity=p.identity, place_id=grid.pk,
                address=p.address, name=p.name, phone=p.phone, agent_name=p.agent_name, agent_phone=p.agent_phone,
                group_visit_id=self.group_pk.get(p.group) if p.group is not None else None,
                reported_unit_id=city.unit_org(p.reported_unit).pk if p.reported_unit else None,
                reported_person=p.reported_person,
                restatement=p.restatement if desk_user is not None else "",
            ), desk_user)

        d, secret = yield p.at, receive
        pk = self.pk[p.i] = d.pk
        urgent = p.urgency != "normal"
        # the operator (or, for a whistle-blowing report, discipline inspection) takes it in
        if report:
            clerk = self.one(city.discipline, p)
            t = self.work(p.at, f.accept_minutes + 30)
        elif desk_user is None:
            clerk = self.one(city.intake_district, p, 1)
            t = self.work(p.at, f.accept_minutes, anytime=urgent)
        else:
            clerk = desk_user
            t = p.at + timedelta(minutes=f.accept_minutes)
        if f.intake == "reject":
            yield t, lambda: services.reject(pk, clerk, reason=f.text)
            return
        if f.intake == "answer":
            yield t, lambda: services.answer_directly(pk, clerk, text=f.text, restatement=p.restatement)
            yield from self.callback(p, d, secret, f.rounds[0], t)
            return
        d = yield t, lambda: services.accept(pk, clerk, restatement=p.restatement)
        dispatcher = self.one(city.discipline, p, 1) if report else self.one(city.dispatchers, p)
        t = self.work(t, f.dispatch_minutes, anytime=urgent)
        if f.dup_of is not None and f.dup_of in self.pk:
            master = self.pk[f.dup_of]
            merged = yield t, (lambda: services.merge(pk, dispatcher, into_id=master,
                                                     note="与此前诉求反映同一问题，合并办理")), True
            if merged is not None:
                return  # the person gets the master's answer; the sweep closes it when unrated
        wrong = city.unit_org(f.misroute) if f.misroute else None
        if wrong is not None and wrong.pk == city.unit_org(p.unit).pk:
            wrong = None
        d = yield t, lambda: services.dispatch(pk, dispatcher, lead_unit_id=wrong.pk if wrong else None)
        if f.intake == "withdraw":
            t = t + timedelta(days=f.withdraw_days)
            if f.pick % 2:
                yield t, lambda: services.withdraw_by_person(d.code, secret, reason=f.text)
            else:
                clerk2 = self.one(city.intake_district, p, 2)
                yield self.work(t, 5), lambda: services.withdraw(pk, clerk2, reason=f.text)
            return
        if wrong is not None:
            # the wrong unit returns it, citing the list; the dispatcher agrees and sends it where it belongs
            h = self.handler(d, p)
            t = self.work(t, f.sign_minutes + 30)
            right = city.unit_org(p.unit)
            yield t, lambda: services.request_return(pk, h, reason=f.return_reason, cited_item=f.cited_item,
                                                     suggested_unit_id=right.pk)
            t = self.work(t, 20 + f.pick % 900)
            d = yield t, lambda: services.uphold_return(pk, dispatcher, note=tx.UPHOLD_NOTES[f.pick % 2])
        rounds = f.rounds
        for round_no, rnd in enumerate(rounds, start=1):
            h = self.handler(d, p, round_no)
            anytime = urgent and round_no == 1
            if rnd.f is None and round_no == 1 and f.pick % 3 == 0:
                return  # never even signed for: overdue, supervised, listed by the sweep
            t = self.work(t, f.sign_minutes if round_no == 1 else 30 + f.pick % 90, anytime=anytime)
            d = yield t, lambda h=h: services.sign(pk, h)
            if f.push_back and round_no == 1:
                t = self.work(t, 30 + f.pick % 120)
                yield t, lambda h=h: services.request_return(pk, h, reason=f.return_reason, cited_item=f.cited_item)
                t = self.work(t, 30 + f.pick % 900)
                d = yield t, lambda: services.overrule_return(pk, dispatcher, note=tx.OVERRULE_NOTES[f.pick % 2])
            if f.start_minutes % 5 < 3 or f.note or f.suspend:  # some units reply straight after signing
                t = self.work(t, f.start_minutes, anytime=anytime)
                d = yield t, lambda h=h: services.start(pk, h)
            if f.note and round_no == 1:
                t = self.work(t, 30 + f.pick % 300, anytime=anytime)
                yield t, (lambda h=h: services.add_note(pk, h, text=f.note)), True
            if f.co_note and round_no == 1:
                co = list(DemandUnit.objects.filter(demand_id=pk, active=True, role=DemandUnit.Role.CO)
                          .values_list("unit_id", flat=True))
                if co and city.handlers.get(co[0]):
                    co_h = city.handlers[co[0]][f.pick % len(city.handlers[co[0]])]
                    t = self.work(t, 60 + f.pick % 600, anytime=anytime)
                    yield t, (lambda co_h=co_h: services.co_opinion(pk, co_h, text=f.co_note)), True
            if rnd.f is None:
                return  # in progress for ever: the sweep warns, supervises and lists it
            if round_no == 1 and f.suspend:
                t = max(self.share_of_limit(d, 0.3, t), t)
                d = yield t, lambda h=h: services.suspend(pk, h, reason=tx.SUSPEND_REASONS[f.pick % 3])
                t = self.work(t, f.suspend_days * 450)
                d = yield t, lambda h=h: services.resume(pk, h, note=tx.RESUME_NOTES[f.pick % 2])
            if round_no == 1 and f.extension and d.due_at is not None:
                t = max(self.share_of_limit(d, 0.7, t), t)
                yield t, lambda h=h: services.request_extension(pk, h, working_days=f.ext_days, reason=f.ext_reason)
                sup = self.one(city.discipline, p, 2) if report else self.one(city.supervisors, p)
                t = self.work(t, 30 + f.pick % 240)
                approve = f.extension == "approved"
                d = yield t, lambda sup=sup, approve=approve: services.decide_extension(
                    pk, sup, approve=approve, note="" if approve else tx.REFUSE_NOTES[f.pick % 2])
            if round_no == 1 and f.urge:
                when = self.share_of_limit(d, 0.85, t)
                reply_at = self.share_of_limit(d, rnd.f, t)
                if when < reply_at:
                    sup = self.one(city.discipline, p, 3) if report else self.one(city.supervisors, p, 1)
                    t = self.work(when, 5)
                    yield t, (lambda sup=sup: services.urge(pk, sup, note=tx.URGE_NOTES[f.pick % 2])), True
            t = self.share_of_limit(d, rnd.f, t)
            if not anytime:
                t = self.work(t - timedelta(minutes=1), 1)
            text = rnd.reply.replace("{date}", f"{t.astimezone(self.tz).month}月{t.astimezone(self.tz).day}日")
            yield t, lambda h=h, text=text: services.reply(pk, h, text=text)
            result = yield from self.callback(p, d, secret, rnd, t)
            if result is None:
                return
            d, t = result
            if d.state != State.REOPENED:
                return
            if round_no == len(rounds) and f.certify:
                sup = self.one(city.discipline, p, 2) if report else self.one(city.supervisors, p, 2)
                t = self.work(t, 600 + f.pick % 900)
                yield t, lambda sup=sup: services.certify_close(pk, sup, reason=f.certify_text,
                                                                exclude=f.pick % 2 == 0)
                return

    def callback(self, p: DemandPlan, d: Demand, secret: str, rnd: Round, t: datetime):
        if rnd.callback == "none":
            return None  # nobody rates it: the sweep closes it when the callback window ends
        resolved = rnd.callback != "dissatisfied"
        t = self.work(t, rnd.delay)
        if rnd.by == "person" or p.type == "report":
            t += timedelta(minutes=(p.fate.pick + rnd.delay) % 360)  # people rate when they find the time
            d2 = yield t, lambda: services.callback_by_person(d.code, secret, resolved=resolved,
                                                              satisfaction=rnd.callback, comment=rnd.comment)
        else:
            op = self.one(self.city.intake_district, p, 3)
            d2 = yield t, lambda: services.callback(d.pk, op, resolved=resolved, satisfaction=rnd.callback,
                                                    comment=rnd.comment)
        return d2, t

    def group_script(self, g: GroupPlan) -> Script:
        street = self.plan.world.communities[g.community].street
        user = self.city.intake_street[street][0]
        place = self.city.communities[g.community]
        gv = yield g.at, lambda: services.open_group_visit(user, topic=g.topic, headcount=g.headcount,
                                                           place_id=place.pk)
        self.group_pk[g.i] = gv.pk
        yield g.at + timedelta(minutes=8), lambda: services.choose_representatives(gv.pk, user, g.reps)
        yield g.at + timedelta(minutes=60), lambda: services.record_group_talk(gv.pk, user, minutes=g.minutes)
        yield g.at + timedelta(minutes=90), lambda: services.settle_group_goals(gv.pk, user, goals=g.goals)

    def sweep_script(self, start: datetime) -> Script:
        """The deadline sweep every two simulated hours (a pass only when something is due: an empty pass
        changes nothing, and looking first is much cheaper)."""
        t = start
        while t <= self.anchor:
            yield t, lambda t=t: self.sweep_pass(t)
            t += SWEEP_EVERY

    def sweep_pass(self, t: datetime) -> Any:
        if not Demand.objects.filter(sweep_at__lte=t).exists():
            return None
        self.report.sweeps += 1
        return sweep(now=t)

    # --- the queue --------------------------------------------------------------------------------------
    def run(self) -> Report:
        heap: list[tuple[datetime, int, Script, Callable[[], Any], bool]] = []
        counter = 0

        def push(gen: Script, step: Step | None) -> None:
            nonlocal counter
            if step is None:
                return
            when, fn, *rest = step
            counter += 1
            heapq.heappush(heap, (when, counter, gen, fn, bool(rest and rest[0])))

        def first(gen: Script) -> None:
            try:
                push(gen, next(gen))
            except StopIteration:
                pass

        for g in self.plan.groups:
            first(self.group_script(g))
        for p in self.plan.demands:
            first(self.demand_script(p))
        start = min([p.at for p in self.plan.demands] + [self.anchor])
        first(self.sweep_script(start.replace(minute=0, second=0, microsecond=0) + SWEEP_EVERY))
        steps = 0
        while heap:
            when, _, gen, fn, optional = heapq.heappop(heap)
            if when > self.anchor:
                gen.close()
                continue
            try:
                with clock.frozen(when):
                    result = fn()
                steps += 1
            except DomainError as exc:
                if not optional:
                    self.report.failures[exc.code] += 1
                    log.debug("step refused at %s: %s", when, exc.message)
                    gen.close()
                    continue
                self.report.skipped[exc.code] += 1
                result = None
            try:
                push(gen, gen.send(result))
            except StopIteration:
                pass
        with clock.frozen(self.anchor):
            sweep(now=self.anchor)
        self.report.steps = steps
        return self.report


def summarise(report: Report) -> None:
    from massline.core.models import Event

    qs = Demand.objects.all()
    report.demands = qs.count()
    report.states = Counter(qs.values_list("state", flat=True))
    report.channels = Counter(qs.values_list("channel", flat=True))
    report.types = Counter(qs.values_list("type", flat=True))
    report.events = Event.objects.count()
    report.staff = get_user_model().objects.count()


def make(spec: Spec | None = None, *, now: datetime | None = None) -> tuple[City, Report]:
    """Build the demo city and its history up to ``now`` (default: the clock's now)."""
    spec = spec or Spec()
    anchor = (now or clock.now()).astimezone(workcalendar.get_calendar().tz)
    timings: dict[str, float] = {}
    t0 = _time.monotonic()
    workcalendar.invalidate()
    cal = workcalendar.get_calendar()
    plan = make_plan(spec, anchor, cal)
    timings["plan"] = _time.monotonic() - t0
    t0 = _time.monotonic()
    first = min([p.at for p in plan.demands] + [anchor]) - timedelta(days=1)
    with clock.frozen(first), _quiet():
        city = build_directory(spec, plan.world)
    timings["directory"] = _time.monotonic() - t0
    t0 = _time.monotonic()
    with _quiet():
        runner = Runner(city, plan, anchor)
        report = runner.run()
    timings["demands"] = _time.monotonic() - t0
    report.groups = len(plan.groups)
    for b in plan.buildups:
        category = city.categories[b.topic]
        report.buildups.append(f"{city.grids[b.grid].name} · {category.name}（{len(b.demands)} 件，"
                               f"{b.start:%m-%d}–{b.end:%m-%d}{'，含集体访' if b.group is not None else ''}）")
    summarise(report)
    report.seconds = timings
    return city, report


class _quiet:
    """No text messages to the demo's made-up people while the city is built."""

    def __enter__(self):
        self._ctx = override_settings(MASSLINE={**settings.MASSLINE, "SMS_BACKEND": "", "WECOM_BACKEND": ""})
        self._ctx.enable()
        return self

    def __exit__(self, *exc):
        self._ctx.disable()
        return False


# ============================================================================================ bulk

# the states of bulk rows: old demands are mostly closed, recent ones still open
BULK_STATES_OLD = {"closed": 88, "in_progress": 2.5, "reopened": 1, "rejected": 2, "withdrawn": 2, "signed": 0.5,
                   "suspended": 0.5, "dispatched": 0.5}
BULK_STATES_NEW = {"received": 6, "accepted": 5, "dispatched": 14, "signed": 10, "in_progress": 30, "suspended": 3,
                   "replied": 25, "reopened": 2, "closed": 5}
BULK_CHANNELS = {k: v for k, v in CHANNEL_WEIGHTS.items() if k != "agent"}
_CODE_ALPHABET = intake.CODE_ALPHABET
_CODE_SPACE = len(_CODE_ALPHABET) ** 6
_CODE_STEP = 387_420_489  # 3**18, coprime with 31**6: i → i·step mod 31**6 is a bijection


def _bulk_code(day: str, i: int) -> str:
    """A tracking code unique for every ``i`` below 31**6 (whatever the day)."""
    n = (i * _CODE_STEP + 12_345) % _CODE_SPACE
    chars = []
    for _ in range(6):
        n, r = divmod(n, len(_CODE_ALPHABET))
        chars.append(_CODE_ALPHABET[r])
    return day + "".join(chars)


def bulk(city: City, n: int, *, seed: int = 7, days: int = 91, now: datetime | None = None, batch: int = 5000,
         progress: Callable[[int], None] | None = None) -> int:
    """Write ``n`` demands straight into the tables, for benchmarks (a million in minutes on PostgreSQL,
    where the rows go in with ``COPY``).

    The rows are valid and their states consistent — lead unit and its unit row, deadlines from the policies
    and the working calendar, the sweep's flags and schedule as of now, replies and callbacks — but there
    are *no events* on the record for them, and no notifications: ``audit verify`` only covers what the
    services wrote. Texts come from the same templates; deterministic for a seed and a now."""
    cal = workcalendar.get_calendar()
    anchor = (now or clock.now()).astimezone(cal.tz)
    world = city.world
    rng = random.Random(f"{seed}:bulk")
    policies = list(DeadlinePolicy.objects.filter(active=True))
    first_person = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    people = [Person(name=nm, phone=ph) for nm, ph in (_new_person(rng) for _ in range(max(100, min(n // 4, 200_000))))]
    Person.objects.bulk_create(people, batch_size=5000)
    person_ids = list(Person.objects.filter(pk__gt=first_person).order_by("pk").values_list("pk", flat=True))
    normal = [t for t in tx.TOPICS if not t.report]
    normal_w = [t.weight for t in normal]
    reports = [t for t in tx.TOPICS if t.report]
    types_of = {t.key: {k: w for k, w in t.types.items()
                        if not (k == "enquiry" and not t.asks) and not (k == "suggestion" and not t.ideas)}
                for t in tx.TOPICS}
    routes: dict[tuple[str, int], str] = {}
    policy_cache: dict[tuple[str, str, int], DeadlinePolicy | None] = {}
    handler_ids = {pk: [u.pk for u in users] for pk, users in city.handlers.items()}
    start = anchor - timedelta(days=days)
    span = (anchor - start).total_seconds()
    new_days = timedelta(days=10)
    code_base = Demand.objects.count()
    r = random.Random()
    writer = _Writer(world, r)
    made = 0
    while made < n:
        size = min(batch, n - made)
        rows: list[Demand] = []
        for i in range(made, made + size):
            if i % 1000 == 0:
                r = writer.rng = random.Random(f"{seed}:bulk:{i // 1000}")
            report = r.random() < 0.03
            topic = r.choice(reports) if report else r.choices(normal, weights=normal_w)[0]
            grid_i = r.randrange(len(world.grids))
            street = world.communities[world.grids[grid_i].community].street
            if report:
                unit_key = "discipline"
            else:
                unit_key = routes.get((topic.key, street)) or routes.setdefault(
                    (topic.key, street), _route(topic.path, street)[0])
            speed, quality, _sign = _profile(world, unit_key)
            typ = "report" if report else _weighted(r, types_of[topic.key])
            reported = UNIT_BY_KEY[r.choice(UNITS)[0]][3] if report else ""
            slots = writer.slots(grid_i, topic, unit_key, reported)
            identity = _weighted(r, {"named": 70, "confidential": 20, "anonymous": 10})
            title, content = writer.demand(topic, typ, slots, identity)
            created = start + timedelta(seconds=r.random() * span)
            state = _weighted(r, BULK_STATES_NEW if (anchor - created) < new_days else BULK_STATES_OLD)
            grid = city.grids[grid_i]
            code = _bulk_code(created.astimezone(cal.tz).strftime("%y%m%d"), code_base + i)
            secret = "".join(r.choice(_CODE_ALPHABET) for _ in range(10))
            d = Demand(code=code, secret_hash=intake.hash_secret(code, secret), channel=_weighted(r, BULK_CHANNELS),
                       type=typ, category=city.categories[topic.key], urgency="normal", identity=identity,
                       title=title[:200], content=content, place_id=grid.pk, area_path=grid.path,
                       person_id=None if identity == "anonymous" else r.choice(person_ids),
                       reported_person=f"{reported}{slots['official']}" if report else "", state=state,
                       created_at=created, updated_at=created, version=1)
            _bulk_fill(d, r, city.unit_org(unit_key), anchor, cal, speed, quality, policies, policy_cache)
            d._bulk_reply = writer.reply(topic, typ, title, slots, r.random() < quality, 1)  # type: ignore[attr-defined]
            hs = handler_ids.get(d.lead_unit_id or 0) or [None]
            d._bulk_author = hs[i % len(hs)]  # type: ignore[attr-defined]
            rows.append(d)
        with transaction.atomic():
            _write(Demand, rows)
            units, replies, callbacks = [], [], []
            for d in rows:
                if d.lead_unit_id:
                    units.append((d.pk, d.lead_unit_id, d.lead_path, DemandUnit.Role.LEAD, True,
                                  d.dispatched_at or d.created_at, d.signed_at, ""))
                for round_no, at in d._bulk_replies:  # type: ignore[attr-defined]
                    text = d._bulk_reply.replace("{date}", f"{at.month}月{at.day}日")  # type: ignore[attr-defined]
                    replies.append((d.pk, round_no, d.lead_unit_id, d._bulk_author, text, True, None, at))  # type: ignore[attr-defined]
                for round_no, at, satisfaction in d._bulk_callbacks:  # type: ignore[attr-defined]
                    callbacks.append((d.pk, round_no, Callback.By.PERSON, None, satisfaction != "dissatisfied",
                                      satisfaction, "", at))
            _write_rows(DemandUnit, ("demand_id", "unit_id", "unit_path", "role", "active", "assigned_at",
                                     "signed_at", "opinion"), units)
            _write_rows(Reply, ("demand_id", "round", "unit_id", "author_id", "text", "public", "copied_from_id",
                                "created_at"), replies)
            _write_rows(Callback, ("demand_id", "round", "by", "operator_id", "resolved", "satisfaction", "comment",
                                   "created_at"), callbacks)
            # derived tables (insight's rollups) follow the rows written here, in the same transaction
            hooks.changed([hooks.Change(None, d, ("bulk",), d.updated_at) for d in rows])
        made += size
        if progress:
            progress(made)
    return made


def _write(model: type[Any], objs: list[Any]) -> None:
    """Insert model instances (their primary keys are set): see ``_write_rows``."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=2000)
        return
    names = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    ids = _write_rows(model, names, [tuple(getattr(o, n) for n in names) for o in objs])
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk


def _write_rows(model: type[Any], names: tuple[str, ...] | list[str], rows: list[tuple]) -> list[int]:
    """Insert rows of ``names`` (attribute names) and return their ids: ``COPY`` on PostgreSQL with ids drawn
    from the table's sequence (several times faster than INSERT), ``bulk_create`` elsewhere."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = model.objects.bulk_create([model(**dict(zip(names, row, strict=True))) for row in rows],
                                         batch_size=2000)
        return [o.pk for o in objs]
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in [meta.pk.column, *(meta.get_field(n).column for n in names)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(rows)])
        ids = [pk for (pk,) in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row((pk, *row))
    return ids


def _bulk_fill(d: Demand, r: random.Random, lead: Org, anchor: datetime, cal: WorkCalendar, speed: float,
               quality: float, policies: list[DeadlinePolicy], cache: dict[tuple[str, str, int], DeadlinePolicy | None]
               ) -> None:
    """Set the fields of a bulk row so that they agree with its state, as the services would have."""
    state = d.state
    created = d.created_at
    d._bulk_replies, d._bulk_callbacks = [], []  # type: ignore[attr-defined]
    steps = 1

    def work(t: datetime, minutes: float) -> datetime:
        try:
            return min(cal.add_working_minutes(t, max(1, int(minutes))), anchor)
        except CalendarNotCovered:
            return min(t + timedelta(minutes=minutes), anchor)

    def limits_at(t: datetime) -> deadlines.Limits | None:
        key = (d.type, d.urgency, d.category_id or 0)
        if key not in cache:
            cache[key] = deadlines.policy_for(d, policies)
        try:
            return deadlines.compute(d, t, cache[key])
        except CalendarNotCovered:
            return None

    def set_limits(t: datetime) -> None:
        d.dispatched_at = t
        limits = limits_at(t)
        if limits is None:
            d.deadline_pending = True
            d.due_at = d.warn_at = d.sign_due_at = None
            return
        d.policy = limits.policy
        d.deadline_unit, d.deadline_amount = limits.unit, Decimal(str(limits.amount))
        d.due_at, d.warn_at, d.sign_due_at = limits.due_at, limits.warn_at, limits.sign_due_at

    last = created
    if state != "received":
        last = accepted = work(created, r.randint(5, 120))
        d.restatement = d.title
        steps += 1
        if state == "rejected":
            d.closed_at = accepted
        if state not in ("accepted", "rejected"):
            last = dispatched = work(accepted, r.randint(10, 240))
            d.lead_unit_id, d.lead_path = lead.pk, lead.path
            set_limits(dispatched)
            steps += 1
            if state != "dispatched":
                last = d.signed_at = work(dispatched, r.randint(5, 240))
                d.signed_late = bool(d.sign_due_at and d.signed_at > d.sign_due_at)
                steps += 2
            if state == "withdrawn":
                last = d.closed_at = min(last + timedelta(days=r.uniform(0.2, 3)), anchor)
            if state == "suspended":
                d.resume_state = "in_progress"
                last = d.paused_at = work(last, 120)
                if d.due_at and d.deadline_unit:
                    try:
                        d.paused_remaining = cal.remaining(d.paused_at, d.due_at, d.deadline_unit)
                    except CalendarNotCovered:
                        d.paused_remaining = None
                steps += 1
            if state in ("replied", "closed", "reopened"):
                share = speed * r.lognormvariate(0, 0.45)
                replied = dispatched + ((d.due_at - dispatched) * share if d.due_at else timedelta(days=3 * share))
                if d.due_at is not None and d.deadline_unit and not d.deadline_unit.startswith("calendar"):
                    try:
                        replied = cal.add(dispatched, cal.elapsed(dispatched, d.due_at, d.deadline_unit) * share,
                                          d.deadline_unit)
                    except CalendarNotCovered:
                        pass
                last = d.replied_at = min(max(replied, last), anchor)
                d._bulk_replies.append((1, d.replied_at))  # type: ignore[attr-defined]
                steps += 1
                try:
                    window_ends: datetime | None = deadlines.callback_deadline(d.replied_at)
                except CalendarNotCovered:
                    window_ends = None
                if state == "replied" and window_ends is not None and window_ends <= anchor:
                    state = d.state = "closed"  # unrated past the window: the sweep would have closed it
                    last = d.closed_at = window_ends
                    steps += 1
                elif state == "closed":
                    u = r.random()
                    d.satisfaction = "satisfied" if u < quality else "basic"
                    d.resolved = True
                    last = d.closed_at = work(d.replied_at, r.randint(30, 1800))
                    d._bulk_callbacks.append((1, d.closed_at, d.satisfaction))  # type: ignore[attr-defined]
                    steps += 1
                elif state == "reopened":
                    last = again = work(d.replied_at, r.randint(30, 1800))
                    d._bulk_callbacks.append((1, again, "dissatisfied"))  # type: ignore[attr-defined]
                    d.round, d.satisfaction, d.resolved = 2, "dissatisfied", False
                    d.replied_at = d.signed_at = None
                    d.signed_late = False
                    set_limits(again)
                    steps += 1
    # the sweep's flags as of now, and when it must look again
    if d.state in deadlines.TIMED and d.due_at is not None:
        d.warned = bool(d.warn_at and d.warn_at <= anchor)
        if d.due_at <= anchor:
            d.overdue = d.warned = True
            d.supervision, d.supervised_at = 1, d.due_at
            try:
                listing = deadlines.listing_time(d)
            except CalendarNotCovered:
                listing = None
            if listing is not None and listing <= anchor:
                d.supervision, d.listed_at = 2, listing
    d.updated_at = last
    d.version = steps
    d.sweep_at = deadlines.safe_next_sweep(d, anchor)
