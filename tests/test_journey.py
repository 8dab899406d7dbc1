"""One demand across the desks in Debian's Chromium (Playwright), every step through the pages: a resident on a
phone raises it, the dispatcher routes it, the unit's handler signs and replies, the resident is not satisfied,
the demand comes back to the handler as 重办, is answered again, and the resident's second rating closes it.
A screenshot of each step is kept in test-artifacts/journey-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from conftest import at
from massline.core import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# the days of the journey (in 2026, which the working calendar the migrations seed covers)
SUBMITTED = at(2026, 11, 10, 10, 0)  # Tuesday morning: raised and dispatched
REPLIED = at(2026, 11, 10, 11, 0)    # within the hour: signed and answered
RATED = at(2026, 11, 12, 9, 30)      # Thursday: not satisfied, reopened
REDONE = at(2026, 11, 12, 10, 30)    # within the hour: signed and answered again
CLOSED = at(2026, 11, 16, 10, 0)     # Monday: satisfied, closed
CONTENT = "我要投诉：花园社区北门的路灯坏了一个星期，晚上漆黑一片，老人出门不方便，请尽快维修路灯。"
REPLY_1 = "已派维修人员到花园社区北门查看，更换了损坏的路灯灯泡，当晚已恢复照明，欢迎继续监督。"
REPLY_2 = "经复查，北门路灯线路老化导致再次熄灭，今日已更换整段线路和灯具，连续三晚观察照明正常。"


@pytest.fixture
def city(transactional_db):
    from massline.core import calendar
    from massline.directory.smallcity import build

    calendar.invalidate()
    return build()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"journey-{name}.png"), full_page=True)


def _context(browser, base: str, external: list, width: int, height: int):
    page = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN").new_page()
    page.set_default_timeout(10000)
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
    return page


def _login(page, base: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "massline-demo")
    page.click("button[type=submit]")
    expect(page).not_to_have_url(base + "/login/")


def _settled(page) -> None:
    """htmx has swapped and settled: a change made before the new pickers are wired would be lost."""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"


def _rate(page, *, resolved: bool, satisfied: bool, told: str, comment: str = "") -> None:
    from playwright.sync_api import expect

    form = page.locator("form[action$='/track/rate/']")
    form.get_by_label("已解决" if resolved else "没有解决").check()
    form.get_by_label("满意" if satisfied else "不满意", exact=True).check()
    if comment:
        form.get_by_label("想说的话").fill(comment)
    form.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("status").filter(has_text="感谢您的评价")).to_contain_text(told)


def test_one_demand_from_the_phone_across_the_desks_and_back(live_server, browser, city):
    from playwright.sync_api import expect

    from massline.demands.models import Demand, State
    from massline.directory.models import Role, RoleAssignment

    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.url
    external: list[str] = []
    with clock.frozen(SUBMITTED, all_threads=True):
        # 1. the resident, on a phone, without signing in
        phone = _context(browser, base, external, 375, 800)
        phone.goto(base + "/")
        phone.get_by_role("link", name="我要反映").first.click()
        phone.get_by_label("您要反映的事").fill(CONTENT)
        expect(phone.get_by_label("投诉", exact=True)).to_be_checked()  # the type follows the words (htmx, after typing)
        _settled(phone)
        phone.get_by_label("事项分类").select_option(label="城乡建设")
        phone.get_by_label("街道（乡镇）").select_option(label="东城街道")
        expect(phone.locator("#id_community option", has_text="花园社区")).to_be_attached()
        _settled(phone)
        phone.get_by_label("社区（村）").select_option(label="花园社区")
        expect(phone.locator("#id_grid option", has_text="花园社区第1网格")).to_be_attached()
        _settled(phone)
        phone.get_by_label("手机号码").fill("13800001234")
        _no_sideways_scroll(phone)
        _shot(phone, "1-submit-phone")
        phone.get_by_role("button", name="提交诉求").click()
        expect(phone.locator(".receipt")).to_be_visible()
        code, secret = phone.locator("#code").inner_text(), phone.locator("#secret").inner_text()
        d = Demand.objects.get(code=code)
        assert (d.state, d.channel, d.place.name, d.category.name) == (State.RECEIVED, "web", "花园社区", "城乡建设")
        assert d.type == "complaint"
        _no_sideways_scroll(phone)
        _shot(phone, "1-submitted-phone")

        # 2. the dispatcher: the demand waits in the queue with a suggestion; another unit is chosen in place
        desk = _context(browser, base, external, 1366, 768)
        _login(desk, base, "dispatcher")
        desk.get_by_role("link", name="待派单").click()
        row = desk.locator(f"#row-{d.pk}")
        expect(row).to_contain_text(code)
        expect(row.locator("td[data-label=建议承办]")).to_contain_text("权责清单")
        _shot(desk, "2-dispatch-queue")
        row.get_by_role("link", name=f"改派（{code}）").click()
        lead = row.get_by_label("主办单位")
        expect(lead).to_be_focused()
        lead.select_option(label="区城市管理委员会（职能部门）")
        row.get_by_label("协办单位").select_option([])
        row.get_by_label("派单说明").fill("路灯维修归城管委")
        _shot(desk, "2-dispatch-change")
        row.get_by_role("button", name="按所选单位派单").click()
        done = desk.locator(f"#row-{d.pk}[data-done]")
        expect(done).to_contain_text(f"{code} 已派给 区城市管理委员会")
        _shot(desk, "2-dispatched")
        d.refresh_from_db()
        assert (d.state, d.lead_unit) == (State.DISPATCHED, city.units["city"])
        desk.context.close()
        first_due = d.due_at

    with clock.frozen(REPLIED, all_threads=True):
        # 3. the handler of that unit signs and replies on the demand page
        handler = RoleAssignment.objects.get(role=Role.HANDLER, scope=d.lead_unit).user
        work = _context(browser, base, external, 1366, 768)
        _login(work, base, handler.username)
        work.get_by_role("link", name="承办工作台").click()
        expect(work.locator("nav.tabs a[aria-current=page]")).to_contain_text("待签收")
        work.locator(f"#demand-row-{d.pk}").get_by_role("link", name=d.title).click()
        steps = work.locator("#demand-timeline li")
        expect(steps).to_have_count(2)  # 登记, 派单
        work.locator("#demand-actions").get_by_role("button", name="签收").click()
        expect(work.locator("#demand-actions .result.ok")).to_contain_text("已签收")
        expect(steps).to_have_count(3)
        expect(steps.last).to_contain_text("签收")
        _shot(work, "3-signed")
        _reply(work, REPLY_1)
        _shot(work, "3-replied")
        d.refresh_from_db()
        assert (d.state, d.signed_late) == (State.REPLIED, False)

    with clock.frozen(RATED, all_threads=True):
        # 4. the resident follows it with the code and secret (a new session) and is not satisfied
        track = _context(browser, base, external, 375, 800)
        _track(track, base, code, secret)
        expect(track.locator(".reply")).to_contain_text(REPLY_1)
        _no_sideways_scroll(track)
        _shot(track, "4-track-replied-phone")
        _rate(track, resolved=False, satisfied=False, told="重新交给承办单位办理", comment="灯修好两天又不亮了")
        _no_sideways_scroll(track)
        _shot(track, "4-rated-dissatisfied-phone")

        # 5. reopened: so says the resident's page (with a new deadline), and it is in the handler's 重办 queue
        d.refresh_from_db()
        assert (d.state, d.round, d.satisfaction) == (State.REOPENED, 2, "dissatisfied")
        assert d.due_at > first_due
        expect(track.locator(".state-line .badge")).to_have_text(State.REOPENED.label)
        expect(track.locator("dl.facts")).to_contain_text(timezone.localtime(d.due_at).strftime("%Y年%-m月%-d日 %H:%M"))
        work.get_by_role("link", name="承办工作台").click()
        work.get_by_role("link", name="重办").click()
        expect(work.locator("nav.tabs a[aria-current=page]")).to_contain_text("重办")
        reopened = work.locator(f"#demand-row-{d.pk}")
        expect(reopened).to_contain_text(State.REOPENED.label)
        expect(reopened).to_contain_text("第2轮")
        _shot(work, "5-reopened-queue")

    with clock.frozen(REDONE, all_threads=True):
        # 6. handled again: signed from the queue row, answered on the demand page
        reopened.get_by_role("button", name=f"签收 {code}").click()
        expect(reopened.locator(".result.ok")).to_contain_text("已签收")
        reopened.get_by_role("link", name=d.title).click()
        expect(work.locator("#demand-timeline")).to_contain_text("灯修好两天又不亮了")
        _reply(work, REPLY_2)
        _shot(work, "6-replied-again")

    with clock.frozen(CLOSED, all_threads=True):
        # 7. satisfied this time: closed, on the resident's page and in the database
        track.reload()
        expect(track.locator(".reply").nth(1)).to_contain_text(REPLY_2)
        _rate(track, resolved=True, satisfied=True, told="诉求已办结")
        expect(track.locator(".state-line .badge")).to_have_text(State.CLOSED.label)
        expect(track.get_by_role("heading", name="评价办理结果")).to_have_count(0)
        _no_sideways_scroll(track)
        _shot(track, "7-closed-phone")
        d.refresh_from_db()
        assert (d.state, d.round, d.resolved, d.satisfaction) == (State.CLOSED, 2, True, "satisfied")
        assert d.callbacks.count() == 2 and d.replies.count() == 2 and not d.signed_late
    assert external == []


def _reply(page, text: str) -> None:
    """Open 答复 on the demand page, type, send; the answer lands in place (htmx) with the facts and timeline."""
    from playwright.sync_api import expect

    actions = page.locator("#demand-actions")
    actions.locator("summary", has_text="答复").click()
    actions.get_by_label("答复内容").fill(text)
    actions.locator("[data-action=reply]").get_by_role("button", name="提交答复").click()
    expect(actions.locator(".result.ok")).to_contain_text("答复已发送")
    expect(page.locator("#demand-facts")).to_contain_text(text)
    expect(page.locator("#demand-timeline li").last).to_contain_text("答复")


def _track(page, base: str, code: str, secret: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/track/")
    page.get_by_label("查询码").fill(code)
    page.get_by_label("查询密码").fill(secret)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("heading", name="办理进度", exact=True)).to_be_visible()
    expect(page.locator(".state-line")).to_contain_text(f"查询码 {code}")
