"""A person's look at the pages, in Debian's Chromium driven by Playwright (screenshots are kept in
test-artifacts/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# serialized_rollback: the data the migrations seed (calendar, policies) is back for the tests that follow
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def test_home_and_api_docs_render_in_chinese(live_server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live_server.url + "/")
    assert "事事有着落、件件有回音" in page.content()
    page.screenshot(path=str(ARTIFACTS / "home-phone.png"), full_page=True)
    response = page.goto(live_server.url + "/api/v1/openapi.json")
    assert response is not None and response.status == 200
    assert "submit_demand" in page.content()


def test_api_docs_use_no_cdn(live_server, page):
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector("text=massline API", timeout=15000)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert external == []
