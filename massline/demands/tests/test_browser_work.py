"""The handler's desk and the demand page in Chromium (Playwright): one-key sign and an action through htmx,
and screenshots at 1366×768 and 375×800 kept in test-artifacts/work-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import at
from massline.core import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
REPLY = "已安排维修人员于今日下午更换北门路灯灯泡并检修线路，现已恢复照明，欢迎继续监督。"




def _data():
    from massline.demands import services
    from massline.demands.intake import IntakeData
    from massline.directory.smallcity import build

    city = build()
    u = city.users

    def raise_(title, content, **kw):
        data = dict(channel="hotline", type="complaint", title=title, content=content,
                    category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                    phone="13800001234", address="花园社区北门")
        data.update(kw)
        d, _ = services.receive(IntakeData(**data), u["intake"])
        return services.dispatch(d.pk, u["dispatcher"])

    with clock.frozen(at(2026, 11, 2, 9, 30)):
        main = raise_("小区门口路灯不亮", "花园社区北门路灯已经坏了一周，晚上很黑，老人出门不方便，希望尽快修好。")
        services.sign(main.pk, u["handler_street1"])
        services.start(main.pk, u["handler_street1"], note="已联系社区网格员")
        services.add_note(main.pk, u["handler_street1"], text="现场查看：灯泡损坏，线路老化，需要更换")
        services.urge(main.pk, u["supervisor"], note="群众反映强烈，请加快办理")
        for i in range(3):
            raise_(f"人行道井盖松动 {i + 1}", "和平路人行道井盖松动，踩上去会响，存在安全隐患。",
                   urgency="urgent" if i == 0 else "normal")
    with clock.frozen(at(2026, 11, 6, 9, 30)):
        raise_("路边垃圾桶破损", "花园社区东门垃圾桶破损，垃圾散落。")
    return city, main


def _login(page, base, username):
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "massline-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_the_desk_and_the_demand_page_in_a_browser(live_server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    _city, main = _data()
    base = live_server.url
    external: list[str] = []
    with clock.frozen(at(2026, 11, 10, 10, 0), all_threads=True):
        for width, height, name in ((1366, 768, "desktop"), (375, 800, "phone")):
            context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
            page = context.new_page()
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
            _login(page, base, "handler_street1")
            page.goto(base + "/work/handle/?tab=sign")
            assert page.locator("nav.tabs a[aria-current=page]").inner_text().startswith("待签收")
            page.screenshot(path=str(ARTIFACTS / f"work-desk-{name}.png"), full_page=True)
            # one-key sign through htmx: the row answers in place
            row = page.locator("tbody tr").first
            row.get_by_role("button", name="签收").click()
            page.wait_for_selector("tbody tr .result.ok")
            assert "已签收" in page.locator("tbody tr").first.inner_text()
            page.goto(base + "/work/handle/?tab=doing")
            page.screenshot(path=str(ARTIFACTS / f"work-desk-doing-{name}.png"), full_page=True)
            # the demand page: an action through htmx, result next to the control, timeline refreshed
            page.goto(base + f"/work/d/{main.pk}/")
            assert "办理全程记录" in page.content()
            steps = page.locator("#demand-timeline li").count()
            page.locator("#demand-actions summary", has_text="办理记录").click()
            page.fill("#id_note-text", f"{name}：已采购灯具，明日安装")
            page.locator("[data-action=note] button[type=submit]").click()
            page.wait_for_selector("#r-note .result.ok")
            assert page.locator("#demand-timeline li").count() == steps + 1
            # a refusal shows in Chinese next to its control, and what was typed stays
            page.locator("#demand-actions summary", has_text="答复").click()
            page.fill("#id_reply-text", "已转相关部门处理")
            page.locator("[data-action=reply] button[type=submit]").click()
            page.wait_for_selector("#r-reply .result.err")
            assert "不能只写" in page.locator("#r-reply").inner_text()
            assert page.input_value("#id_reply-text") == "已转相关部门处理"
            # the reply checks (htmx, after typing) advise before sending
            page.wait_for_selector(f"#reply-checks-{main.pk} .result.err")
            assert "发送前请注意" in page.locator(f"#reply-checks-{main.pk}").inner_text()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ARTIFACTS / f"work-demand-{name}.png"), full_page=True)
            # keyboard: the sign-in skip link and every control reachable by Tab
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip"
            context.close()
    assert external == []
