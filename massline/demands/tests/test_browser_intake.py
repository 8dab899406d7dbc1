"""The intake desk in Debian's Chromium: an operator records a phone call with the keyboard only (Tab, typing,
arrow keys, Ctrl+Enter — no clicks) and the demand exists afterwards; the keystrokes are counted and printed.
Screenshots at 1366×768 and 375×800 are kept in test-artifacts/intake-*.png."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

# serialized_rollback: the data the migrations seed (calendar, policies) is back for the tests that follow
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PHONE = "13912345678"




class Keyboard:
    """Every key the operator presses, counted: a typed character is one key (a Chinese character typed through
    an input method costs more — see ``chinese``), a chord such as Ctrl+Enter is one."""

    def __init__(self, page) -> None:
        self.page = page
        self.keys = 0
        self.chars = 0
        self.chinese = 0

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.chars += len(text)
        self.chinese += sum("\u4e00" <= ch <= "\u9fff" for ch in text)

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.keys += 1

    def focused(self) -> str:
        return self.page.evaluate("document.activeElement && (document.activeElement.name || document.activeElement.id)")


def _login(page, base: str) -> None:
    page.goto(base + "/login/")
    page.keyboard.type("intake")
    page.keyboard.press("Tab")
    page.keyboard.type("massline-demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/work/intake/")


def test_a_phone_call_recorded_with_the_keyboard_only(live_server, browser):
    from massline.core import calendar
    from massline.demands import services
    from massline.demands.intake import IntakeData
    from massline.demands.models import Demand
    from massline.directory.smallcity import build

    calendar.invalidate()
    city = build()
    earlier, _ = services.receive(IntakeData(channel="hotline", type="help", title="家里停水",
                                             content="家里从早上开始停水，请帮忙问问。", name="李大爷", phone=PHONE),
                                  city.users["intake"])
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None)
    clicks: list[str] = []
    page.expose_function("noteClick", lambda what: clicks.append(what))
    page.add_init_script("document.addEventListener('mousedown', e => window.noteClick(e.target.tagName), true)")

    _login(page, live_server.url)  # lands on the first desk of an intake operator: this one
    page.wait_for_selector("#intake-form")
    kb = Keyboard(page)
    assert kb.focused() == "phone"  # the cursor waits on the phone field

    started = time.monotonic()
    kb.type(PHONE)
    page.wait_for_selector("#earlier >> text=重复来电")  # a repeat caller, recognised as the number is typed
    assert earlier.code in page.inner_text("#earlier")
    kb.press("Tab")
    kb.type("李大爷")
    kb.press("Tab")                   # identity: 实名 is already chosen
    kb.press("Tab")                   # type: the group of six
    kb.press("ArrowRight", 2)         # 咨询 → 求助 → 投诉
    kb.press("Tab")
    assert kb.focused() == "content"
    kb.type("花园社区3号楼前的路灯坏了一个多月，晚上出门看不见路，希望尽快修好。")
    kb.press("Tab")
    assert kb.focused() == "restatement"
    kb.type("您反映3号楼前路灯坏了一个多月，希望尽快修复。")
    page.screenshot(path=str(ARTIFACTS / "intake-desk-1366.png"), full_page=False)
    kb.press("Control+Enter")
    page.wait_for_selector("#intake-result >> text=已受理")
    elapsed = time.monotonic() - started

    d = Demand.objects.exclude(pk=earlier.pk).get()
    assert (d.state, d.type, d.channel, d.person.phone, d.person.name) == ("accepted", "complaint", "hotline", PHONE,
                                                                         "李大爷")
    assert d.restatement.startswith("您反映3号楼前") and d.code in page.inner_text("#intake-result")
    # ready for the next call: the desk's script puts the cursor back on the phone field after the swap settles
    page.wait_for_function("document.activeElement && document.activeElement.name === 'phone'", timeout=5000)
    assert page.input_value("[name=phone]") == ""
    assert clicks == [] and external == []
    page.screenshot(path=str(ARTIFACTS / "intake-saved-1366.png"), full_page=False)
    print(f"\n[intake keyboard-only] {kb.keys} navigation keys + {kb.chars} typed characters "
          f"({kb.chinese} of them Chinese) = {kb.keys + kb.chars} keystrokes; "
          f"about {kb.keys + kb.chars - kb.chinese + kb.chinese * 3} with a pinyin input method "
          f"(~3 keys a character); browser time {elapsed:.1f} s")

    # a refusal by keyboard too: nothing typed, Ctrl+Enter → the errors next to the fields, cursor on the first
    kb.press("Control+Enter")
    page.wait_for_selector("#err_type")
    assert "请选择诉求类型" in page.inner_text("#err_type")
    # the cursor lands on the first field with an error once the swap settles
    page.wait_for_function("document.activeElement && document.activeElement.name === 'type'", timeout=5000)
    page.screenshot(path=str(ARTIFACTS / "intake-errors-1366.png"), full_page=False)

    # the phone screen
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(live_server.url + "/work/intake/")
    page.keyboard.type(PHONE)
    page.wait_for_selector("#earlier-summary >> text=重复来电")
    page.screenshot(path=str(ARTIFACTS / "intake-desk-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    context.close()


def test_group_visit_pages_on_phone_and_desktop(live_server, browser):
    from massline.core import calendar
    from massline.directory.smallcity import build

    calendar.invalidate()
    build()
    for width, height in ((1366, 768), (375, 800)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        page = context.new_page()
        _login(page, live_server.url)
        page.goto(live_server.url + "/work/group-visits/")
        page.fill("#id_topic", f"和平社区停车难（{width}）")
        page.fill("#id_headcount", "23")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#group-open >> text=进入第 2 步 选代表")
        page.click("#group-open >> text=进入第 2 步 选代表")
        page.wait_for_selector("#id_people")
        assert page.evaluate("document.activeElement.id") == "id_people"
        page.fill("#id_people", "\n".join(f"代表{i} 1380000100{i}" for i in range(1, 7)))
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#visit >> text=本次推选了 6 人")
        page.screenshot(path=str(ARTIFACTS / f"intake-group-visit-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        context.close()
