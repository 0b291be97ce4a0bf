"""Shared pieces of the admin pages' browser tests (a pytest plugin, see ``conftest.py``).

- ``browser``: Debian's Chromium through Playwright (``executable_path=/usr/bin/chromium``; never
  ``playwright install``), one per test session.
- ``demo_site``: a live bridge (uvicorn on a free port) on the test's database with the demo data:
  ``.base_url``, ``.rt`` (the runtime: ``.rt.engine``, ``.rt.config``).
- ``signed_in(browser, site, login, phone=False)``: a new page, logged in through the login form,
  that records console errors and failed scripts (a CSP violation breaks htmx silently);
  ``page_errors(page)`` lists them.
- ``shoot(page, name)``: the screenshots of the page as it is now, at desktop width
  (``docs/admin/<name>.png``) and at phone width (``docs/admin/<name>-phone.png``); checks that
  the page has no console error, is not blank, and does not scroll sideways on the phone.
  ``SHOTS`` names every screenshot the README must link (``test_admin_pages``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import Session

from bridge.actors import CLI_ADMIN
from bridge.demo import load_demo_data
from tests.api_helpers import LiveServer, make_client
from tests.conftest import require, require_module

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--lang=zh-CN",  # the pages as the shop's people see them (date fields 年/月/日; chromium-l10n)
]
CHROMIUM_ZH = Path("/usr/lib/chromium/locales/zh-CN.pak")
CHROMIUM_ENV = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}
"""Chromium on Linux takes its interface language from ``LANGUAGE`` as well as from ``--lang``.
``LANG`` stays a UTF-8 locale the system has: with one it lacks (zh_CN.UTF-8 is not installed
here) the C library falls back to ASCII, and Chromium could not open a file with a Chinese name
for an upload."""
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "admin"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    require(CHROMIUM.exists(), f"{CHROMIUM} missing: scripts/test installs Debian's chromium")
    require(CHROMIUM_ZH.exists(), f"{CHROMIUM_ZH} missing: scripts/test installs chromium-l10n")
    sync_api = require_module("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, env=CHROMIUM_ENV)
        yield browser
        browser.close()


class Site:
    def __init__(self, server: LiveServer, rt):
        self.server = server
        self.base_url = server.base_url
        self.rt = rt


@pytest.fixture
def demo_site(engine, tmp_path):
    """A live bridge with the demo data (customers, products, the logins of bridge.demo)."""
    client, rt = make_client(engine, tmp_path)
    with Session(rt.engine) as session:
        load_demo_data(session, CLI_ADMIN)
        session.commit()
    with LiveServer(client.app) as server:
        yield Site(server, rt)


def log_in(page, base_url: str, login: tuple[str, str]) -> None:
    page.goto(f"{base_url}/admin/")
    assert page.url == f"{base_url}/admin/login"
    page.fill("input[name=username]", login[0])
    page.fill("input[name=password]", login[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


REFUSED_FORM = "the server responded with a status of 422"
"""Chromium's console line for a 422 answer: a form re-rendered with its errors, as designed
(``common.field_errors``), not an error of the page."""


def watch(page):
    """Record the page's console errors and uncaught script errors on ``page`` (a 422 answer is
    a refused form, not an error: see ``REFUSED_FORM``)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and REFUSED_FORM not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page._jht_errors = errors  # noqa: SLF001
    return page


def page_errors(page) -> list[str]:
    return list(getattr(page, "_jht_errors", []))


def signed_in(browser, site, login: tuple[str, str], *, phone: bool = False):
    page = watch(browser.new_page(viewport=PHONE if phone else DESKTOP))
    log_in(page, site.base_url, login)
    return page


WIDE = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
       + ' (right ' + Math.round(e.getBoundingClientRect().right) + ')')"""
"""The elements that stick out on the right (those inside a sideways-scrolling table aside)."""

SHOTS: set[str] = set()
"""The names ``shoot`` saved in this test run."""


def shoot(page, name: str) -> None:
    """Screenshots of the current page at desktop and at phone width under docs/admin/."""
    require(CJK_FONT.exists(), f"{CJK_FONT} missing: scripts/test installs fonts-wqy-zenhei")
    DOCS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    try:
        for suffix, size in (("", DESKTOP), ("-phone", PHONE)):
            page.set_viewport_size(size)
            page.wait_for_timeout(50)
            if suffix:
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, (
                    f"{name}: the page scrolls {overflow}px sideways on a phone: {page.evaluate(WIDE)}"
                )
            assert len(page.inner_text("body").strip()) > 10, f"{name}: (almost) no text on the page"
            page.screenshot(path=str(DOCS / f"{name}{suffix}.png"), full_page=True)
    finally:
        page.set_viewport_size(before)
    assert not page_errors(page), f"{name}: errors in the browser: {page_errors(page)}"
    SHOTS.add(name)
