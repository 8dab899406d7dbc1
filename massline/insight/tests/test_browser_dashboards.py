"""The two dashboards on a (reduced) demo city in Chromium (Playwright): every chart draws, nothing is fetched
from elsewhere, and screenshots at 1366×768 and 375×800 are kept in test-artifacts/dash-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import at
from massline.core import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
NOW = at(2026, 11, 20, 18)
# the demo city's generator with fewer streets and demands: seconds instead of minutes
SPEC = {"seed": 7, "streets": 3, "communities": 2, "grids": 3, "demands": 160, "days": 62, "shared_taxonomy": False}
SIZES = ((1366, 768, "desktop"), (375, 800, "phone"))


@pytest.fixture
def demo_city():
    from massline.demands import democity
    from massline.insight import safety

    city, report = democity.make(democity.Spec(**SPEC), now=NOW)
    with clock.frozen(NOW):
        safety.raise_warnings(NOW)
    return city, report


def _login(page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "massline-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _open(browser, live_server, username: str, path: str, charts: list[str], name: str, tiles: int = 0) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.url
    external: list[str] = []
    errors: list[str] = []
    with clock.frozen(NOW, all_threads=True):
        for width, height, size in SIZES:
            context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
            page = context.new_page()
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            _login(page, base, username)
            response = page.goto(base + path)
            assert response is not None and response.status == 200
            for chart in charts:  # ECharts drew into every chart container
                page.wait_for_selector(f"#{chart} canvas", timeout=10000)
                box = page.locator(f"#{chart}").bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] >= 150, (chart, box)
            if tiles:  # the tile map: a cell for every grid of the demo city, each a link to its drill-down
                cells = page.locator(".tile-grid > a.tile-head")
                assert cells.count() == tiles
                assert "/insight/rankings/grid/" in (cells.first.get_attribute("href") or "")
            # nothing wider than the screen
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, size
            page.screenshot(path=str(ARTIFACTS / f"dash-{name}-{size}.png"), full_page=True)
            context.close()
    assert external == [] and errors == []


def test_the_leader_dashboard_on_the_demo_city(live_server, browser, demo_city):
    _city, report = demo_city
    assert report.demands >= 150
    _open(browser, live_server, "leader", "/insight/leader/?month=2026-11",
          ["chart-volume", "chart-rates", "chart-rank-area", "chart-rank-unit", "chart-hot"], "leader",
          tiles=SPEC["streets"] * SPEC["communities"] * SPEC["grids"])


def test_the_supervisor_dashboard_on_the_demo_city(live_server, browser, demo_city):
    _open(browser, live_server, "supervisor", "/insight/supervise/?month=2026-11", ["chart-trend", "chart-units"],
          "supervisor")
