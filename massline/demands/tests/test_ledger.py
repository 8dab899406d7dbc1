"""Importing a legacy ledger (台账): every bad row named, all or nothing (or skip the bad rows into an error
file), history kept on the demands and their events, open demands handed to the sweep, duplicates refused."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from conftest import TZ, at
from massline.core import clock, events
from massline.core.errors import DomainError
from massline.core.events import Actor
from massline.core.models import Event
from massline.demands import deadlines, services
from massline.demands.ledger import Mapping, import_ledger, parse_time
from massline.demands.management.commands.import_ledger import ProgressBar
from massline.demands.models import Callback, Demand, Reply, State
from massline.demands.sweep import sweep
from massline.demands.tests import ledger_samples as samples
from massline.directory.models import Person

pytestmark = pytest.mark.django_db

NOW = at(2026, 11, 20, 10)  # a Friday
ACTOR = Actor.system("测试导入")


@pytest.fixture
def frozen():
    with clock.frozen(NOW):
        yield


def _run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_ledger", *[str(a) for a in args], stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


def _row(**kw):
    """One ledger row (header → value) for the small city; the defaults are a valid open complaint."""
    values = {"编号": "L-1", "来电时间": (NOW - timedelta(days=30)).replace(tzinfo=None), "渠道": "12345热线",
              "诉求人": "周女士", "联系电话": "13911112222", "标题": "路灯不亮",
              "诉求内容": "花园社区第1网格北门路灯坏了一周，晚上很黑。", "类型": "投诉",
              "分类": "城乡建设/城市建设和市政管理/市政设施", "地址": "北门", "所属社区": "花园社区", "网格": "花园社区第1网格",
              "承办单位": "区城市管理委员会", "状态": "办理中", "答复内容": "", "答复时间": None, "办结时间": None,
              "是否解决": "", "满意度": ""}
    values.update(kw)
    return [values[h] for h in samples.HEADERS]


def test_a_dry_run_names_every_bad_row_with_its_reason_and_imports_nothing(city, tmp_path, frozen):
    sample = samples.write_sample(tmp_path / "台账.xlsx", end=NOW)
    events_before = Event.objects.count()
    report = import_ledger(sample.path, ACTOR, dry_run=True)
    assert (report.rows, report.good) == (sample.good + len(sample.bad), sample.good)
    found = {r.number: {e.code for e in r.errors} for r in report.bad}
    assert set(found) == set(sample.bad)
    for number, code in sample.bad.items():
        assert code in found[number], (number, found[number])
    assert not Demand.objects.exists() and Event.objects.count() == events_before

    code, out, err = _run(sample.path, "--dry-run")
    assert code == 1
    for number in sample.bad:
        assert f"第 {number} 行" in err
    assert "区不存在管理局" in err and "处理完毕啦" in err and "与第 4 行重复" in err
    assert "试运行" in out and not Demand.objects.exists()


def test_one_bad_row_and_nothing_is_imported(city, tmp_path, frozen):
    rows = [*samples.good_rows(5, end=NOW), _row(编号="L-BAD", 承办单位="区不存在管理局")]
    path = samples.write(tmp_path / "t.xlsx", rows)
    people = Person.objects.count()
    code, _, err = _run(path)
    assert code == 1
    assert "第 7 行" in err and "未导入任何数据" in err
    assert not Demand.objects.exists() and Person.objects.count() == people
    assert not Event.objects.filter(chain__startswith="demand:").exists()


def test_skip_bad_imports_the_good_rows_and_writes_the_bad_ones_with_reasons(city, tmp_path, frozen):
    sample = samples.write_sample(tmp_path / "台账.xlsx", end=NOW)
    errors = tmp_path / "错误行.xlsx"
    code, out, err = _run(sample.path, "--skip-bad", "--errors", errors)
    assert code == 2, err
    assert Demand.objects.count() == sample.good
    assert set(Demand.objects.values_list("ledger_no", flat=True)) == set(sample.numbers)
    assert f"导入 {sample.good} 条" in out
    ws = load_workbook(errors).active
    table = list(ws.iter_rows(values_only=True))
    assert list(table[0]) == [*samples.HEADERS, "错误原因", "原行号"]
    body = table[1:]
    assert [r[-1] for r in body] == sorted(sample.bad)
    by_no = {r[0]: r for r in body}
    assert by_no["BAD-UNIT"][samples.HEADERS.index("承办单位")] == "区不存在管理局"  # as it was
    assert "区不存在管理局" in by_no["BAD-UNIT"][-2] and "不存在" in by_no["BAD-UNIT"][-2]
    assert by_no["BAD-DATE"][1] == "2025-13-45 25:00"
    assert all(r[-2] for r in body)


def test_history_is_kept_on_the_demands_and_their_events(city, tmp_path, frozen):
    received = at(2026, 10, 12, 9, 30)
    replied, closed = at(2026, 10, 14, 16, 0), at(2026, 10, 15, 11, 20)
    path = samples.write(tmp_path / "t.xlsx", [
        _row(编号="C-1", 来电时间=received.replace(tzinfo=None), 状态="已办结", 答复内容="经核查已更换路灯线缆，现已恢复照明。",
             答复时间=replied.strftime("%Y/%m/%d %H:%M"), 办结时间="2026年10月15日 11:20", 满意度="基本满意"),
        _row(编号="C-2", 来电时间=received.replace(tzinfo=None), 状态="已办结", 答复内容="经核查已更换路灯线缆，现已恢复照明。",
             答复时间=replied.replace(tzinfo=None), 是否解决="否"),
        _row(编号="R-1", 状态="已登记", 承办单位=""),
    ])
    report = import_ledger(path, ACTOR)
    assert report.created == 3 and not report.bad
    d = Demand.objects.select_related("lead_unit").get(ledger_no="C-1")
    assert d.state == State.CLOSED and d.lead_unit == city.units["city"]
    assert (d.created_at, d.dispatched_at, d.replied_at, d.closed_at) == (received, received, replied, closed)
    assert (d.satisfaction, d.resolved) == ("basic", True)
    assert d.code.startswith("261012") and d.place == city.grids[0] and d.person.phone == "13911112222"
    assert d.due_at == deadlines.compute(d, received).due_at and d.sweep_at is None
    cb = Callback.objects.get(demand=d)
    assert (cb.satisfaction, cb.created_at) == ("basic", closed)
    assert Reply.objects.get(demand=d).created_at == replied
    chain = list(Event.objects.filter(chain=d.chain).order_by("seq").values_list("action", "at", "to_state"))
    assert chain == [("receive", received, "received"), ("accept", received, "accepted"),
                     ("dispatch", received, "dispatched"), ("reply", replied, "replied"),
                     ("callback", closed, "closed"), ("ledger_import", NOW, "closed")]
    last = Event.objects.filter(chain=d.chain).order_by("-seq").first()
    assert last.actor_name == "测试导入" and last.data["ledger"]["row"] == 2 and last.data["ledger"]["ledger_no"] == "C-1"
    # closed without a callback result: closed when the ledger says (the reply's time when it says no more)
    d2 = Demand.objects.get(ledger_no="C-2")
    assert (d2.state, d2.closed_at, d2.resolved, d2.satisfaction) == (State.CLOSED, replied, False, "")
    assert Event.objects.filter(chain=d2.chain, action="close", at=replied).exists()
    assert not Callback.objects.filter(demand=d2).exists()
    # still at intake: open and untimed
    d3 = Demand.objects.get(ledger_no="R-1")
    assert (d3.state, d3.lead_unit_id, d3.due_at, d3.sweep_at) == (State.RECEIVED, None, None, None)
    assert list(events.verify()) == []


def test_open_imported_demands_get_deadlines_the_sweep_acts_on_and_stay_workable(city, tmp_path, frozen):
    old = NOW - timedelta(days=30)
    path = samples.write(tmp_path / "t.xlsx", [
        _row(编号="OPEN-LATE", 来电时间=old.replace(tzinfo=None)),
        _row(编号="OPEN-NEW", 来电时间=(NOW - timedelta(hours=1)).replace(tzinfo=None), 状态="已派单"),
        _row(编号="REPLIED", 来电时间=old.replace(tzinfo=None), 状态="已答复",
             答复内容="经核查已更换路灯线缆，现已恢复照明，请诉求人留意。", 答复时间=(old + timedelta(days=2)).replace(tzinfo=None)),
    ])
    report = import_ledger(path, ACTOR)
    assert report.open_timed == 2
    late, new, replied = (Demand.objects.get(ledger_no=n) for n in ("OPEN-LATE", "OPEN-NEW", "REPLIED"))
    limits = deadlines.compute(late, old)
    assert (late.dispatched_at, late.due_at, late.warn_at) == (old, limits.due_at, limits.warn_at)
    assert late.sweep_at == late.warn_at <= NOW and not late.overdue
    assert new.due_at > NOW and new.sweep_at == new.warn_at > NOW
    assert replied.sweep_at == deadlines.callback_deadline(replied.replied_at) <= NOW

    result = sweep(now=NOW)
    assert result.overdue == 1 and result.auto_closed == 1
    late.refresh_from_db()
    new.refresh_from_db()
    replied.refresh_from_db()
    assert late.overdue and late.supervision >= 1
    assert not new.warned and not new.overdue and new.state == State.DISPATCHED
    assert replied.state == State.CLOSED
    # and a handler can carry on with the open one
    with clock.frozen(NOW + timedelta(hours=1)):
        services.sign(new.pk, city.users["handler_city"])
        services.reply(new.pk, city.users["handler_city"], text="已安排维修人员更换路灯线缆，今晚即可恢复照明。")
    assert Demand.objects.get(pk=new.pk).state == State.REPLIED
    assert list(events.verify()) == []


def test_reimporting_the_same_ledger_is_refused_row_by_row(city, tmp_path, frozen):
    sample = samples.write_sample(tmp_path / "台账.xlsx", end=NOW, bad=False)
    assert _run(sample.path)[0] == 0
    assert Demand.objects.count() == sample.good
    code, _, err = _run(sample.path)
    assert code == 1 and "已导入过" in err
    report = import_ledger(sample.path, ACTOR, dry_run=True)
    assert len(report.bad) == sample.good and report.error_codes == {"duplicate_in_db": sample.good}
    assert Demand.objects.count() == sample.good


def test_a_mapping_file_for_another_layout(city, tmp_path, frozen):
    headers = ["工单流水号", "反映日期", "问题描述", "诉求类别", "业务类型", "责任部门", "当前环节", "处理结果", "回复日期",
               "备注"]
    rows = [
        ["GD-001", "2026-10-08 08:45", "光明社区第2网格自来水发黄，烧开后有沉淀。", "求助", "停水停电", "自来水", "已办结",
         "已冲洗管网并检测水质合格，恢复正常供水。", "2026-10-09 15:00", "老台账"],
        ["GD-002", "2026-11-18 14:10", "幸福社区晚上工地施工噪音很大。", "投诉", "环境保护/噪音污染/施工噪音", "生态环境局",
         "处理中", "", "", ""],
    ]
    path = samples.write(tmp_path / "other.xlsx", rows, headers, title="2026年诉求登记簿")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({
        "columns": {"工单流水号": "ledger_no", "反映日期": "来电时间", "问题描述": "content", "诉求类别": "type",
                    "业务类型": "category", "责任部门": "unit", "当前环节": "state", "处理结果": "reply",
                    "回复日期": "replied_at", "备注": "-"},
        "aliases": {"unit": {"自来水": "区自来水公司", "生态环境局": "U-ENV"}},
    }, ensure_ascii=False), encoding="utf-8")
    code, _, err = _run(path, "--map", mapping, "--dry-run")
    assert code == 0, err
    code, _out, err = _run(path, "--map", mapping)
    assert code == 0, err
    water = Demand.objects.get(ledger_no="GD-001")
    assert (water.lead_unit, water.state, water.replied_at) == (city.units["water"], State.CLOSED, at(2026, 10, 9, 15))
    assert water.category == city.categories["停水停电"] and water.title.startswith("光明社区第2网格自来水发黄")
    assert Demand.objects.get(ledger_no="GD-002").lead_unit == city.units["env"]
    # without the mapping the required columns are missing, and the message says which and how
    code, _, err = _run(path)
    assert code == 1 and "缺少必需的列" in err and "missing_columns" in err
    # --map 列名=字段 pairs work too, and a field that does not exist is refused by name
    code, _, err = _run(path, "--map", "工单流水号=nosuchfield")
    assert code == 1 and "nosuchfield" in err and "unknown_field" in err


def test_row_checks(city, tmp_path, frozen):
    rows = [
        _row(编号="A", 类型="举报", 承办单位="区城市管理委员会"),
        _row(编号="B", 状态="重办"),
        _row(编号="C", 状态="已办结", 答复内容="", 办结时间=(NOW - timedelta(days=1)).replace(tzinfo=None)),
        _row(编号="D", 状态="已受理"),
        _row(编号="E", 网格="光明社区第1网格"),
        _row(编号="F", 来电时间=(NOW + timedelta(days=1)).replace(tzinfo=None)),
        _row(编号="G", 联系电话="请回电"),
        _row(编号="H", 分类="市政设施", 状态="已答复", 答复内容="已修复路灯并恢复照明，感谢您的反映。", 满意度="满意",
             答复时间=(NOW - timedelta(days=2)).replace(tzinfo=None)),
    ]
    report = import_ledger(samples.write(tmp_path / "t.xlsx", rows), ACTOR)
    codes = {r.ledger_no: {e.code for e in r.errors} for r in report.bad}
    assert codes == {"A": {"report_to_discipline_only"}, "B": {"state_not_importable"}, "C": {"missing_text"},
                     "D": {"state_conflict"}, "E": {"place_conflict"}, "F": {"future_date"}, "G": {"bad_phone"},
                     "H": {"state_conflict"}}
    assert not Demand.objects.exists()


def test_times_are_read_in_the_usual_spellings():
    want = at(2024, 5, 12, 9, 30)
    for text in ("2024-05-12 09:30", "2024/5/12 9:30", "2024年5月12日 9:30", "2024.05.12 09:30:00", "20240512 09:30",
                 "2024年5月12日9时30分"):
        assert parse_time(text, TZ) == want, text
    assert parse_time(want.replace(tzinfo=None), TZ) == want
    assert parse_time("", TZ) is None
    with pytest.raises(ValueError):
        parse_time("五月十二日", TZ)


def test_the_mapping_refuses_what_it_cannot_mean():
    with pytest.raises(DomainError) as e:
        Mapping.parse(["时间=不存在的字段"])
    assert e.value.code == "unknown_field"
    with pytest.raises(DomainError) as e:
        Mapping.parse(["甲=编号", "乙=工单号"]).resolve(["甲", "乙", "来电时间", "类型", "诉求内容"])
    assert e.value.code == "duplicate_column"
    fields, unused = Mapping().resolve(["序号", "工单号", "来电时间", "受理时间", "类型", "诉求内容"])
    assert fields["received_at"] == 2 and unused == ["序号", "受理时间"]


def test_the_progress_bar():
    tty = io.StringIO()
    bar = ProgressBar(tty, width=10, tty=True)
    bar("检查", 5, 10)
    bar("检查", 10, 10)
    assert "\r检查 [#####.....] 5/10" in tty.getvalue() and "[##########] 10/10" in tty.getvalue()
    log = io.StringIO()
    bar = ProgressBar(log, width=10, tty=False)
    for i in range(0, 2401, 200):
        bar("写入", i, 2400)
    assert log.getvalue() == ""
    bar.finish()
    assert log.getvalue().count("\n") == 1 and "写入 [##########] 2400/2400" in log.getvalue()


def test_the_audit_chain_verifies_after_an_import(city, tmp_path, frozen):
    sample = samples.write_sample(tmp_path / "台账.xlsx", end=NOW, good=20, bad=False)
    assert _run(sample.path)[0] == 0
    assert Event.objects.filter(action="ledger_import").count() == 20
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "OK" in out.getvalue()


def test_in_transaction_hooks_see_each_historical_step_at_its_own_time(city, tmp_path, frozen):
    from massline.demands import hooks

    seen: list[hooks.Change] = []
    received, signed = at(2026, 10, 12, 9, 30), at(2026, 10, 12, 10, 5)
    replied, closed = at(2026, 10, 14, 16, 0), at(2026, 10, 15, 11, 20)
    row = _row(编号="H-1", 来电时间=received.replace(tzinfo=None), 状态="已办结", 答复内容="经核查已更换路灯线缆，现已恢复照明。",
               答复时间=replied.replace(tzinfo=None), 办结时间=closed.replace(tzinfo=None), 满意度="满意")
    path = samples.write(tmp_path / "t.xlsx", [[*row, signed.replace(tzinfo=None)]], [*samples.HEADERS, "签收时间"])
    hooks.register_in_txn("changed", seen.extend)
    try:
        import_ledger(path, ACTOR)
    finally:
        hooks.unregister_in_txn("changed", seen.extend)
    d = Demand.objects.get(ledger_no="H-1")
    assert (d.signed_at, d.signed_late) == (signed, False)
    steps = [(c.actions, c.at, c.before is None) for c in seen if c.after.pk == d.pk]
    assert steps[0] == (("receive",), received, True)
    assert (("sign",), signed, False) in steps and (("callback",), closed, False) in steps
    assert steps[-1] == (("ledger_import",), NOW, False)


def test_a_file_that_cannot_be_used_is_refused_with_a_code(city, tmp_path, frozen):
    not_excel = tmp_path / "台账.xlsx"
    not_excel.write_text("编号,来电时间\n1,2026-01-01\n", encoding="utf-8")
    code, _, err = _run(not_excel)
    assert code == 1 and "bad_file" in err and "无法读取" in err
    sample = samples.write_sample(tmp_path / "ok.xlsx", end=NOW, good=2, bad=False)
    code, _, err = _run(sample.path, "--sheet", "没有这张表")
    assert code == 1 and "unknown_sheet" in err and "台账" in err
    code, _, err = _run(tmp_path / "missing.xlsx")
    assert code == 1 and "文件不存在" in err
    assert not Demand.objects.exists()
