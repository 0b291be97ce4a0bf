"""The mini-program (``miniprogram/``, issue #13): its jest suite runs as part of the test command,
the project opens in WeChat DevTools (every page of ``app.json`` has its four files), and
``utils/request.js`` is the one wrapper over ``wx.request``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import require

MINIPROGRAM = Path(__file__).resolve().parent.parent / "miniprogram"
WX_REQUEST = re.compile(r"\bwx\.request\s*\(")


def _sources():
    for path in sorted(MINIPROGRAM.rglob("*.js")):
        rel = path.relative_to(MINIPROGRAM)
        if rel.parts[0] in ("node_modules", "tests", "miniprogram_npm"):
            continue
        yield rel, path


def test_jest_suite_passes():
    """Every page and component test of the mini-program (jest + miniprogram-simulate)."""
    npm = shutil.which("npm")
    require(npm is not None and shutil.which("node") is not None, "node/npm not on PATH: scripts/test installs them")
    require(
        (MINIPROGRAM / "node_modules" / ".bin" / "jest").exists(),
        "miniprogram/node_modules missing: run scripts/test (npm ci)",
    )
    done = subprocess.run(
        [npm, "test", "--silent", "--", "--ci"],
        cwd=MINIPROGRAM,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # jest writes its summary to stderr; both are shown when it failed
    assert done.returncode == 0, (
        f"jest failed (exit {done.returncode}):\n{done.stdout[-20000:]}\n{done.stderr[-20000:]}"
    )


def test_wx_request_only_in_utils_request():
    """Pages and services call ``services/``; only ``utils/request.js`` calls ``wx.request``."""
    callers = [str(rel) for rel, path in _sources() if WX_REQUEST.search(path.read_text(encoding="utf-8"))]
    assert callers == ["utils/request.js"]


def test_every_page_in_app_json_has_its_four_files():
    """WeChat DevTools opens the project: each page listed (main package and sub-packages) exists."""
    app = json.loads((MINIPROGRAM / "app.json").read_text(encoding="utf-8"))
    pages = list(app["pages"]) + [f"{sp['root']}/{p}" for sp in app.get("subpackages", []) for p in sp["pages"]]
    missing = [
        f"{p}.{ext}"
        for p in pages
        for ext in ("js", "json", "wxml", "wxss")
        if not (MINIPROGRAM / f"{p}.{ext}").is_file()
    ]
    assert pages and not missing
    for tab in app["tabBar"]["list"]:
        assert tab["pagePath"] in app["pages"], f"tab {tab['text']} is not a page of the main package"


def _pages() -> list[str]:
    app = json.loads((MINIPROGRAM / "app.json").read_text(encoding="utf-8"))
    return list(app["pages"]) + [f"{sp['root']}/{p}" for sp in app.get("subpackages", []) for p in sp["pages"]]


def test_c12_the_shipment_notice_opens_the_order_detail_page_of_the_mini_program():
    """The page a WeChat shipment notice opens (``wechat.shipment_page``, C12) is a page of the
    mini-program that reads ``order_no`` — not a path it does not have."""
    from bridge.config import WechatSection

    page = WechatSection().shipment_page
    assert page in _pages()
    assert "options.order_no" in (MINIPROGRAM / f"{page}.js").read_text(encoding="utf-8")
