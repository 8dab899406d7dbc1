"""Reply quality in massline: the check shown before a reply goes out (through demands.hooks), the report
over the database's replies, and ``massline insight replies``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from conftest import at
from massline.core import clock
from massline.core.errors import PermissionDenied
from massline.demands import hooks, services
from massline.demands.intake import IntakeData
from massline.insight import replyq

pytestmark = pytest.mark.django_db

TITLE, CONTENT = "丽景花园搅拌站夜间施工噪音扰民", "丽景花园小区旁边的搅拌站每天夜里施工，运输车来回，噪音很大无法休息。"
GOOD = ("经区生态环境局执法人员现场调查核实，丽景花园小区附近的搅拌站确有夜间作业的情况，已责令其停止22时至次日6时的施工，"
        "并对噪音超标行为立案处罚。下一步将加强夜间巡查。")


def _replied(city, text, *, day=2):
    """A demand in street 1 (the street handles 市政设施 there), replied ``day`` days and 6 hours after intake."""
    u = city.users
    with clock.frozen(at(2026, 11, 2, 9)):
        d, _ = services.receive(IntakeData(channel="hotline", type="complaint", title=TITLE, content=CONTENT,
                                           category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk,
                                           name="居民", phone="13800000000"), u["intake"])
        services.accept(d.pk, u["intake"], restatement="搅拌站夜间施工噪音")
        d = services.dispatch(d.pk, u["dispatcher"])
        assert d.lead_unit == city.streets[0]
        services.sign(d.pk, u["handler_street1"])
    with clock.frozen(at(2026, 11, 2 + day, 15)):
        services.reply(d.pk, u["handler_street1"], text=text)
    return d


def test_checks_reach_the_demand_page_through_the_hooks(city):
    assert replyq.check_draft in hooks._reply_checkers
    with clock.frozen(at(2026, 11, 2, 9)):
        d, _ = services.receive(IntakeData(channel="hotline", type="complaint", title=TITLE, content=CONTENT,
                                           place_id=city.grids[0].pk, name="居民", phone="13800000000"),
                                city.users["intake"])
    found = hooks.reply_checks(d, "网友：您好！留言已收悉")
    assert found == [{"code": "template_only", "message": replyq.rq.MESSAGES["template_only"]}]
    assert hooks.reply_checks(d, GOOD) == []
    assert hooks.reply_checks(d, "   ") == []
    codes = [f["code"] for f in hooks.reply_checks(d, "您好，此事不属于我单位职责，请向市城管执法局反映。")]
    assert "passing_buck" in codes


def test_a_failing_checker_is_skipped(city):
    def broken(demand, text):
        raise RuntimeError("boom")

    hooks.provide_reply_check(broken)
    try:
        with clock.frozen(at(2026, 11, 2, 9)):
            d, _ = services.receive(IntakeData(channel="hotline", type="complaint", title=TITLE, content=CONTENT,
                                               place_id=city.grids[0].pk, name="居民", phone="13800000000"),
                                    city.users["intake"])
        assert [f["code"] for f in hooks.reply_checks(d, "已收悉")] == ["template_only"]
    finally:
        hooks._reply_checkers.remove(broken)


def test_the_reply_form_shows_the_findings(client, city):
    with clock.frozen(at(2026, 11, 2, 9)):
        d, _ = services.receive(IntakeData(channel="hotline", type="complaint", title=TITLE, content=CONTENT,
                                           place_id=city.grids[0].pk, name="居民", phone="13800000000"),
                                city.users["intake"])
    client.force_login(city.users["supervisor"])
    try:
        url = reverse("demands:reply_check", args=[d.pk])
    except Exception:  # the demand page's reply check is another part's; without it there is nothing to show
        pytest.skip("the demand page has no reply check view (demands:reply_check) yet")
    r = client.post(url, {"reply-text": "网友：您好！留言已收悉"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "客套话" in r.content.decode()


def test_report_over_the_database(city):
    good = _replied(city, GOOD, day=2)
    bad = _replied(city, "您好，您反映的问题不属于我单位职责范围，请向市城管执法局反映。", day=6)
    rep = replyq.report(city.users["leader"], at(2026, 11, 1), at(2026, 12, 1))
    assert rep["replies"] == 2 and rep["demands_replied"] == 2
    assert rep["findings"].get("passing_buck") == 1
    assert [row["demand"] for row in rep["flagged"]] == [bad.code]
    assert good.code not in json.dumps(rep["flagged"], ensure_ascii=False)
    assert rep["delay"]["count"] == 2
    assert rep["delay"]["median_days"] == pytest.approx((2.25 + 6.25) / 2)
    assert replyq.report(city.users["supervisor_street2"], at(2026, 11, 1), at(2026, 12, 1))["replies"] == 0
    with pytest.raises(PermissionDenied):
        replyq.report(city.users["handler_city"], at(2026, 11, 1), at(2026, 12, 1))


def test_command_from_the_database(city):
    _replied(city, "您好，您反映的问题不属于我单位职责范围，请向市城管执法局反映。", day=1)
    out = StringIO()
    call_command("insight", "replies", "--since", "2026-11-01", "--until", "2026-11-30", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["replies"] == 1 and data["findings"]["passing_buck"] == 1
    out = StringIO()
    call_command("insight", "replies", "--since", "2026-11-01", "--until", "2026-11-30", stdout=out)
    assert "推诿（passing_buck）：1 条" in out.getvalue()


def test_command_on_a_messages_file(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = [{"id": "a", "title": TITLE, "detail": CONTENT, "time": "2019/5/1 9:00:00", "reply": GOOD,
             "reply_time": "2019/5/11 9:00:00"},
            {"id": "b", "title": TITLE, "detail": CONTENT, "time": "2019/5/1 9:00:00", "reply": "网友：您好！留言已收悉",
             "reply_time": "2019/5/2 9:00:00"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = StringIO()
    call_command("insight", "replies", "--data", str(path), stdout=out)
    text = out.getvalue()
    assert "答复 2 条" in text and "中位数 5.5" in text and "只有客套话（template_only）：1 条（50.0%）" in text
    out = StringIO()
    call_command("insight", "replies", "--data", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["flagged"] == [{"id": "b", "title": TITLE, "codes": ["template_only"]}]
