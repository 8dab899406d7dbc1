"""The dispatcher's, supervisor's and search desks in Chromium (Playwright): the one-key confirmation works
from the keyboard, nothing is fetched from outside, and screenshots at 1366×768 and 375×800 are kept in
test-artifacts/desk-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import at
from massline.core import clock
from massline.demands import services as demand_services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, State
from massline.demands.sweep import sweep
from massline.routing import adapter

from .test_views_desk import FakeModel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
MON = at(2026, 11, 2, 9, 30)
SIZES = {"1366": {"width": 1366, "height": 768}, "375": {"width": 375, "height": 800}}




def _receive(city, title, content, category, grid=0, **kw) -> Demand:
    data = dict(channel="hotline", type="complaint", title=title, content=content,
                category_id=city.categories[category].pk if category else None, place_id=city.grids[grid].pk,
                name="陈女士", phone="13800001234")
    data.update(kw)
    with clock.frozen(MON):
        d, _ = demand_services.receive(IntakeData(**data), city.users["intake"])
    return d


def _data(city) -> list[Demand]:
    waiting = [
        _receive(city, "工地拖欠工资三个月", "我在工地干了三个月，老板一直拖欠工资不给。", "拖欠工资"),
        _receive(city, "楼下水管爆裂", "楼下水管爆裂，水流到马路上，请尽快处理。", "停水停电", urgency="emergency"),
        _receive(city, "夜间施工噪音扰民", "工地夜里十二点还在施工，噪音很大，影响休息。", "施工噪音", grid=4),
        _receive(city, "小区物业不作为", "物业费照收，电梯坏了一个月没人修。", "物业管理", grid=2),
    ]
    for title, unit, grid in [("北门路灯不亮", "city", 0), ("广场路面坑洼", "city", 4), ("小区楼道漏水", "housing", 2)]:
        d = _receive(city, title, f"{title}已经一周了，晚上很危险，请尽快处理。", "市政设施", grid=grid)
        with clock.frozen(MON):
            demand_services.dispatch(d.pk, city.users["dispatcher"], lead_unit_id=city.units[unit].pk)
    back = _receive(city, "楼道灯坏了", "三号楼楼道灯坏了很久，老人上下楼不方便。", "市政设施", grid=2)
    with clock.frozen(MON):
        demand_services.dispatch(back.pk, city.users["dispatcher"], lead_unit_id=city.units["housing"].pk)
        demand_services.request_return(back.pk, city.users["handler_housing"], reason="楼道照明属于市政设施，不归住建委",
                                       cited_item="物业服务监管", suggested_unit_id=city.units["city"].pk)
    later = at(2026, 11, 13, 10)
    with clock.frozen(later):
        sweep(later)
    return waiting


def _login(page, base, username):
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "massline-demo")
    page.click("button[type=submit]")


def test_desks_in_a_browser(live_server, browser, city, monkeypatch):
    monkeypatch.setattr(adapter, "active", lambda: FakeModel("劳动和社会保障", 0.7))
    waiting = _data(city)
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.url
    external: list[str] = []
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
        _login(page, base, "dispatcher")
        page.goto(base + "/work/dispatch/")
        assert page.locator("tr[data-row]").count() >= 1
        page.screenshot(path=str(ARTIFACTS / f"desk-dispatch-{size}.png"), full_page=True)
        if size == "1366":
            # one key: focus the first row (the emergency) and press Enter
            first = page.locator("tr[data-row]").first
            first.focus()
            page.keyboard.press("Enter")
            page.wait_for_selector("tr[data-done] .result.ok", timeout=10000)
            assert "已派给" in page.locator("tr[data-done]").first.inner_text()
            # the next row has the focus: E opens the change form in place
            page.keyboard.press("e")
            page.wait_for_selector("select[name=lead_unit]", timeout=10000)
            page.wait_for_function("document.activeElement && document.activeElement.name === 'lead_unit'",
                                   timeout=5000)
            page.screenshot(path=str(ARTIFACTS / f"desk-dispatch-confirmed-{size}.png"), full_page=True)
        page.goto(base + "/work/returns/")
        assert "楼道照明属于市政设施" in page.content()
        page.screenshot(path=str(ARTIFACTS / f"desk-returns-{size}.png"), full_page=True)
        context.close()

        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        _login(page, base, "leader")
        page.goto(base + "/work/leader/?tab=overdue")
        assert "辖区概况" in page.content()
        page.screenshot(path=str(ARTIFACTS / f"desk-leader-{size}.png"), full_page=True)
        context.close()

        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
        _login(page, base, "supervisor")
        page.goto(base + "/work/supervise/")
        assert "已超期" in page.content()
        page.screenshot(path=str(ARTIFACTS / f"desk-supervisor-{size}.png"), full_page=True)
        # urge from the row: the result appears in the row, without a reload
        row = page.locator("tbody tr").first
        row.locator("summary", has_text="催办").click()
        row.locator("input[name=note]").fill("请明日下班前答复群众")
        row.locator("button", has_text="发送催办").click()
        page.wait_for_selector("tbody tr .result.ok", timeout=10000)
        assert "已催办" in page.locator("tbody tr .result.ok").first.inner_text()
        if size == "1366":
            page.screenshot(path=str(ARTIFACTS / f"desk-supervisor-urged-{size}.png"), full_page=True)
        page.goto(base + "/work/search/")
        page.fill("#id_q", "路灯")
        page.click("button[type=submit].primary")
        page.wait_for_selector("#search-results >> text=符合条件的诉求共 1 件", timeout=10000)
        page.fill("#id_q", "")
        page.click("button[type=submit].primary")
        page.wait_for_selector("#search-results >> text=最近登记的诉求", timeout=10000)
        page.screenshot(path=str(ARTIFACTS / f"desk-search-{size}.png"), full_page=True)
        context.close()
    emergency = Demand.objects.get(pk=waiting[1].pk)
    assert emergency.state == State.DISPATCHED and emergency.lead_unit == city.units["water"]
    assert external == []
