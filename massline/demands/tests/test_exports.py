"""Demands to Excel (``massline.demands.exports``): only what the user may see, the person as they may know
them (names and phones of confidential people hidden, phones masked unless the user calls people back),
whistle-blowing reports only for discipline inspection, Chinese headers and values."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from conftest import at
from massline.core import clock
from massline.demands import exports, services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def city(module_city):
    return module_city


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        yield


def raise_(city, **kw) -> Demand:
    data = dict(channel="hotline", type="complaint", title="小区门口路灯不亮", content="花园社区北门路灯已经坏了一周，晚上很黑。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    data.update(kw)
    d, _ = services.receive(IntakeData(**data), city.users["intake"])
    by = "discipline" if d.is_report else "dispatcher"  # a report goes through discipline inspection only
    return services.dispatch(d.pk, city.users[by])


@pytest.fixture
def demands(city):
    return {
        "named": raise_(city, title="实名的", name="陈女士", phone="13800001234"),
        "confidential": raise_(city, title="保密的", identity="confidential", name="李先生", phone="13900005678"),
        "anonymous": raise_(city, title="匿名的", identity="anonymous", name="", phone=""),
        "other_unit": raise_(city, title="别家单位的", category_id=city.categories["物业管理"].pk, phone="13700007777"),
        "report": raise_(city, type="report", title="举报的", content="举报东城街道某干部吃拿卡要，有录音为证。",
                         reported_unit_id=city.streets[0].pk, phone="13600006666"),
    }


def rows_by_title(user, qs=None) -> dict[str, list]:
    return {row[4]: row for row in exports.demand_rows(user, qs if qs is not None else Demand.objects.all())}


def test_a_handler_exports_only_their_units_demands_with_masked_phones(city, demands):
    rows = rows_by_title(city.users["handler_street1"])
    assert set(rows) == {"实名的", "保密的", "匿名的"}  # no other unit's demand, never a report
    i_name, i_phone = exports.HEADERS.index("诉求人"), exports.HEADERS.index("电话")
    assert rows["实名的"][i_name] == "陈女士" and rows["实名的"][i_phone] == "138****1234"
    assert rows["保密的"][i_name] == "（保密）" and rows["保密的"][i_phone] == ""
    assert rows["匿名的"][i_name] == "匿名" and rows["匿名的"][i_phone] == ""
    row = rows["实名的"]
    assert row[0] == demands["named"].code and row[1] == "热线电话" and row[2] == "投诉"
    assert row[exports.HEADERS.index("状态")] == "已派单" and row[exports.HEADERS.index("主办单位")] == "东城街道"
    assert row[exports.HEADERS.index("办结时限")] == demands["named"].due_at


def test_a_supervisor_sees_identities_and_full_phones_but_no_report(city, demands):
    rows = rows_by_title(city.users["supervisor"])
    assert "举报的" not in rows and {"实名的", "保密的", "别家单位的"} <= set(rows)
    i_name, i_phone = exports.HEADERS.index("诉求人"), exports.HEADERS.index("电话")
    assert rows["保密的"][i_name] == "李先生" and rows["保密的"][i_phone] == "13900005678"
    assert rows["实名的"][i_phone] == "13800001234"


def test_reports_only_for_discipline_inspection(city, demands):
    for name in ("intake", "dispatcher", "supervisor", "leader", "admin", "handler_street1", "nobody"):
        assert "举报的" not in rows_by_title(city.users[name]), name
    rows = rows_by_title(city.users["discipline"])
    assert set(rows) == {"举报的"}
    assert rows["举报的"][exports.HEADERS.index("电话")] == "13600006666"


def test_the_workbook_has_chinese_headers_and_respects_the_queryset(city, demands):
    qs = Demand.objects.filter(pk__in=[demands["named"].pk, demands["other_unit"].pk, demands["report"].pk])
    resp = exports.demand_xlsx(city.users["handler_street1"], qs, "承办台账")
    assert "%E6%89%BF%E5%8A%9E%E5%8F%B0%E8%B4%A6.xlsx" in resp["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(resp.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == exports.HEADERS
    assert [r[0] for r in rows[1:]] == [demands["named"].code]
    assert rows[1][exports.HEADERS.index("是否超期")] == "否"
    assert sheet.title == "诉求台账"
