"""A resident on a phone (375×800) in Debian's Chromium: submits a demand, sees code and secret, follows it from
another session with them; the same pages on an office screen (1366 wide). Screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"




@pytest.fixture
def city(transactional_db):
    from massline.core import calendar
    from massline.directory.smallcity import build

    calendar.invalidate()
    return build()


@pytest.fixture
def model(city, settings, tmp_path):
    """A small classifier trained on the routing tests' synthetic corpus, registered and active."""
    from massline.core.events import Actor
    from massline.routing import adapter
    from massline.routing import services as routing
    from massline.routing.tests import corpus

    settings.DATA_DIR = tmp_path / "var"
    adapter.invalidate()
    data = corpus.write(tmp_path / "train.jsonl")
    adapter.save(adapter.train(adapter.records_from(data), seed=0), tmp_path / "model")
    yield routing.register(tmp_path / "model", Actor.system("测试"), activate_it=True, data_path=str(data))
    adapter.invalidate()


def _page(browser, live_server, width: int, height: int, external: list):
    page = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN").new_page()
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None)
    return page


def _settled(page) -> None:
    """htmx has swapped and settled (a change fired before the new pickers are wired would be lost)."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')", timeout=5000)


def test_a_resident_on_a_phone_submits_and_tracks(live_server, browser, city, model):
    ARTIFACTS.mkdir(exist_ok=True)
    external: list[str] = []
    page = _page(browser, live_server, 375, 800, external)
    page.goto(live_server.url + "/")
    assert "事事有着落、件件有回音" in page.content()
    page.screenshot(path=str(ARTIFACTS / "portal-home-phone.png"), full_page=True)
    page.get_by_role("link", name="我要反映").first.click()

    # a bad submission first: the errors are next to the fields, what was typed stays
    page.get_by_label("您要反映的事").fill("路灯坏")
    page.get_by_role("button", name="提交诉求").click()
    assert page.locator("#id_content_error").inner_text().startswith("✗")
    assert page.get_by_label("您要反映的事").input_value() == "路灯坏"
    page.screenshot(path=str(ARTIFACTS / "portal-submit-errors-phone.png"), full_page=True)
    page.locator("#field-content").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "portal-submit-errors-phone-view.png"))

    # typing, then five taps: street (2), community (2), submit (1); the type follows the words, the category
    # the classifier
    page.get_by_label("您要反映的事").fill("我要投诉：花园社区北门的路灯坏了一个星期，晚上漆黑一片，请尽快维修路灯。")
    page.wait_for_function("document.querySelector('#id_type_auto').value === 'complaint'", timeout=5000)
    _settled(page)
    assert page.locator("#id_type_1").is_checked()  # 投诉, chosen from the words
    chosen = page.locator("#id_category option:checked").inner_text()
    assert chosen == "城乡建设" and "已为您选好" in page.locator("#category_hint").inner_text()
    page.get_by_label("街道（乡镇）").select_option(label="东城街道")
    page.wait_for_selector("#id_community option:has-text('花园社区')", state="attached", timeout=5000)
    _settled(page)
    page.get_by_label("社区（村）").select_option(label="花园社区")
    page.wait_for_selector("#id_grid option:has-text('花园社区第1网格')", state="attached", timeout=5000)
    page.get_by_label("手机号码").fill("13800001234")
    page.locator("#field-street").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "portal-submit-phone-view.png"))
    page.screenshot(path=str(ARTIFACTS / "portal-submit-phone.png"), full_page=True)
    page.get_by_role("button", name="提交诉求").click()

    page.wait_for_selector(".receipt", timeout=5000)
    code, secret = page.locator("#code").inner_text(), page.locator("#secret").inner_text()
    assert len(code) == 12 and len(secret) == 10
    from massline.demands.models import Demand

    d = Demand.objects.get(code=code)
    assert (d.type, d.category.name, d.place.name, d.channel) == ("complaint", "城乡建设", "花园社区", "web")
    assert "请马上记下或截图保存查询密码" in page.content() and "138****1234" in page.content()
    assert secret not in page.url
    page.screenshot(path=str(ARTIFACTS / "portal-submitted-phone.png"), full_page=True)

    # another device: follow it with the code and secret
    other = _page(browser, live_server, 375, 800, external)
    other.goto(live_server.url + "/track/")
    other.get_by_label("查询码").fill(code)
    other.get_by_label("查询密码").fill("WRONG12345")
    other.get_by_role("button", name="查询").click()
    assert "查询码或查询密码不正确" in other.content()
    other.get_by_label("查询密码").fill(secret)
    other.get_by_role("button", name="查询").click()
    other.wait_for_selector("text=办理记录", timeout=5000)
    assert "诉求已登记" in other.content() and "已登记" in other.content()
    assert secret not in other.url and secret not in other.content()
    other.screenshot(path=str(ARTIFACTS / "portal-track-phone.png"), full_page=True)

    # the street answers; the resident rates the answer with three taps and a button
    from massline.demands import services

    u = city.users
    services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.streets[0].pk)
    services.sign(d.pk, u["handler_street1"])
    services.reply(d.pk, u["handler_street1"], text="已安排维修人员更换北门路灯灯泡并检修线路，现已恢复照明。")
    other.reload()
    other.wait_for_selector("text=评价办理结果", timeout=5000)
    other.screenshot(path=str(ARTIFACTS / "portal-rate-phone.png"), full_page=True)
    other.get_by_label("已解决").check()
    other.get_by_label("满意", exact=True).check()
    other.get_by_role("button", name="提交评价").click()
    other.wait_for_selector("text=感谢您的评价", timeout=5000)
    assert "已办结" in other.content() and "已评价：已解决，满意" in other.content()
    d.refresh_from_db()
    assert (d.state, d.satisfaction, d.resolved) == ("closed", "satisfied", True)

    # the office screen
    wide = _page(browser, live_server, 1366, 900, external)
    for path, name in (("/", "home"), ("/submit/", "submit"), ("/report/", "report")):
        wide.goto(live_server.url + path)
        wide.screenshot(path=str(ARTIFACTS / f"portal-{name}-desktop.png"), full_page=True)
    page.goto(live_server.url + "/report/")
    page.screenshot(path=str(ARTIFACTS / "portal-report-phone.png"), full_page=True)
    assert external == []
