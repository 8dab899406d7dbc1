"""Sample legacy ledgers (台账) for the tests, the docs and the benchmark: realistic rows for the small test
jurisdiction (``massline.directory.smallcity``), plus a few deliberately bad ones whose Excel row numbers and
error codes are known.

    from massline.demands.tests.ledger_samples import write_sample
    info = write_sample("台账.xlsx", end=datetime(2026, 11, 20, tzinfo=TZ))   # info.bad: {row: code}
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

HEADERS = ["编号", "来电时间", "渠道", "诉求人", "联系电话", "标题", "诉求内容", "类型", "分类", "地址", "所属社区", "网格",
           "承办单位", "状态", "答复内容", "答复时间", "办结时间", "是否解决", "满意度"]

# (category path, lead unit, title, content, reply) — routes of the small city
TOPICS = [
    ("城乡建设/城市建设和市政管理/市政设施", "区城市管理委员会", "路灯不亮",
     "{c}{g}北侧路段的路灯已经坏了一个多星期，晚上出行很不安全，请尽快维修。",
     "经现场核查，该路段两盏路灯线路老化，已于当日更换线缆和灯具，现已恢复照明，并已电话告知诉求人。"),
    ("城乡建设/供水供电供气供暖/停水停电", "区自来水公司", "小区停水",
     "{c}{g}从昨天晚上开始停水，没有任何通知，家里有老人，生活很不方便。",
     "经查为小区主管道爆裂导致停水，抢修人员已连夜完成维修，今日上午恢复供水，后续将提前张贴停水通知。"),
    ("城乡建设/住房保障与房地产/物业管理", "区住房和城乡建设委员会", "物业不作为",
     "{c}{g}的电梯经常坏，物业公司一直拖着不修，业主多次反映没有结果。",
     "已约谈物业公司负责人，责令其三日内完成电梯维修并建立定期维保台账，街道将跟踪督促落实。"),
    ("环境保护/噪音污染/施工噪音", "区生态环境局", "夜间施工噪音扰民",
     "{c}{g}附近工地每天晚上十一点以后还在施工，噪音很大，严重影响休息。",
     "执法人员夜间现场检查，该工地未办理夜间施工许可，已依法责令停止夜间施工并立案调查。"),
    ("劳动和社会保障/工资福利/拖欠工资", "区人力资源和社会保障局", "拖欠工资",
     "我在{c}附近一家餐馆打工，老板已经拖欠我三个月工资共一万二千元，多次讨要未果。",
     "劳动保障监察大队已介入调查，经调解，用人单位同意于本月底前一次性支付拖欠工资，我们将跟踪兑现情况。"),
    ("交通运输/道路交通/占道停车", "区交通支队", "占道停车堵路",
     "{c}{g}门口长期有车辆占道停车，消防通道被堵，存在安全隐患。",
     "交警已对占道车辆进行清理和处罚，并在该路段增设禁停标志，今后将加强巡查。"),
]
COMMUNITIES = [("花园社区", 2), ("和平社区", 2), ("光明社区", 2), ("幸福社区", 2)]
CHANNELS = ["12345热线", "热线电话", "网站", "来信", "来访", "微信"]
TYPES = ["投诉", "求助", "求助", "投诉", "咨询", "建议"]
NAMES = ["张先生", "李女士", "王大爷", "赵女士", "刘先生", "陈阿姨", "杨先生", "周女士"]
# state, weight
STATES = [("已办结", 60), ("已答复", 8), ("办理中", 10), ("已派单", 8), ("已受理", 4), ("已登记", 3), ("不予受理", 2),
          ("已撤回", 3), ("已签收", 2)]
SATISFACTION = ["满意", "满意", "基本满意", "不满意"]


@dataclass
class Sample:
    path: Path
    good: int
    bad: dict[int, str] = field(default_factory=dict)  # Excel row → the error code expected
    numbers: list[str] = field(default_factory=list)  # the good rows' 编号


def good_rows(n: int, *, end: datetime, seed: int = 1, days: int = 120, prefix: str = "TZ") -> list[list[Any]]:
    """``n`` valid rows received in the ``days`` before ``end`` (naive Beijing times, as Excel keeps them),
    in every importable state, with times in order and never after ``end``."""
    r = random.Random(seed)
    end = end.replace(tzinfo=None)
    rows = []
    for i in range(n):
        cat, unit, title, content, reply = TOPICS[i % len(TOPICS)]
        community, grids = COMMUNITIES[r.randrange(len(COMMUNITIES))]
        grid = f"{community}第{r.randint(1, grids)}网格"
        received = end - timedelta(days=r.uniform(2, days), minutes=r.randint(0, 600))
        received = received.replace(second=0, microsecond=0)
        state = r.choices([s for s, _ in STATES], weights=[w for _, w in STATES])[0]
        replied = closed = None
        answer = resolved = satisfaction = ""
        lead = unit
        if state in ("已登记", "已受理", "不予受理"):
            lead = ""
        if state in ("已答复", "已办结"):
            replied = min(received + timedelta(days=r.uniform(0.2, 9)), end - timedelta(hours=1))
            answer = reply
        if state == "已办结":
            closed = min(replied + timedelta(hours=r.uniform(1, 60)), end - timedelta(minutes=1))
            satisfaction = r.choice([*SATISFACTION, ""])
            resolved = ("否" if satisfaction == "不满意" else "是") if satisfaction else ""
        if state == "不予受理":
            closed = received + timedelta(minutes=30)
            answer = "该事项属于民事纠纷，已告知诉求人通过法律途径解决。"
        if state == "已撤回":
            closed = received + timedelta(hours=r.uniform(1, 48))
        rows.append([
            f"{prefix}{received:%Y%m%d}{i:05d}", received, r.choice(CHANNELS), r.choice(NAMES),
            f"139{r.randint(0, 99_999_999):08d}", title, content.format(c=community, g=grid), TYPES[i % len(TYPES)],
            cat, f"{community}{r.randint(1, 30)}号楼", community, grid, lead, state, answer, replied, closed,
            resolved, satisfaction,
        ])
    return rows


def bad_rows(*, end: datetime, duplicate_of: str) -> list[tuple[list[Any], str]]:
    """Rows each wrong in one way, with the error code the import must give."""
    end = end.replace(tzinfo=None)
    base = end - timedelta(days=10)

    def row(no: str, **kw: Any) -> list[Any]:
        values = dict(zip(HEADERS, [
            no, base, "12345热线", "孙先生", "13900001111", "井盖缺失", "花园社区第1网格路口井盖丢失，夜里有人踩空。", "投诉",
            "城乡建设/城市建设和市政管理/市政设施", "花园社区路口", "花园社区", "花园社区第1网格", "区城市管理委员会", "办理中",
            "", None, None, "", ""], strict=True))
        values.update(kw)
        return [values[h] for h in HEADERS]

    return [
        (row("BAD-UNIT", 承办单位="区不存在管理局"), "unknown_unit"),
        (row("BAD-DATE", 来电时间="2025-13-45 25:00"), "bad_date"),
        (row("BAD-ORDER", 状态="已办结", 答复内容="已维修完毕，井盖已补齐并加装防坠网，请放心通行。",
             答复时间=base - timedelta(days=2), 办结时间=base - timedelta(days=1)), "time_order"),
        (row("BAD-TEXT", 诉求内容=""), "missing_text"),
        (row(duplicate_of), "duplicate_in_file"),
        (row("BAD-STATE", 状态="处理完毕啦"), "unknown_state"),
        (row("BAD-CAT", 分类="城乡建设/不存在的分类"), "unknown_category"),
        (row("BAD-GRID", 网格="月亮社区第9网格"), "unknown_place"),
    ]


def write(path: Path | str, rows: list[list[Any]], headers: list[str] | None = None, *, title: str | None = None,
          sheet: str = "台账") -> Path:
    """A workbook with an optional title row above the header row (as many ledgers have)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(headers or HEADERS)
    for values in rows:
        ws.append(values)
    for col in ("B", "P", "Q"):
        for cell in ws[col]:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    path = Path(path)
    wb.save(path)
    return path


def write_sample(path: Path | str, *, end: datetime, good: int = 12, bad: bool = True, seed: int = 1,
                 prefix: str = "TZ") -> Sample:
    """A small realistic ledger with a title row; with ``bad``, the bad rows are spread among the good ones."""
    rows = good_rows(good, end=end, seed=seed, prefix=prefix)
    numbers = [r[0] for r in rows]
    out: list[list[Any]] = list(rows)
    sample = Sample(Path(path), good, numbers=numbers)
    if bad:
        for k, (values, _code) in enumerate(bad_rows(end=end, duplicate_of=numbers[1])):
            at = min(len(out), 2 + k * 2)
            out.insert(at, values)
        # rows 1–2 are the title and the header: data row i is Excel row i + 3
        codes = {tuple(v): c for v, c in bad_rows(end=end, duplicate_of=numbers[1])}
        sample.bad = {i + 3: codes[tuple(v)] for i, v in enumerate(out) if tuple(v) in codes}
    write(path, out, title="某街道12345热线诉求台账（2026年）")
    return sample
