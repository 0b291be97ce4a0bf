"""Screenshots of the mini-program's main pages (issue #13, "Tests"): ``miniprogram/tests/screens/render.js``
loads each page in miniprogram-simulate with the fake ``wx`` and realistic API answers and writes it
as standalone HTML; Debian's Chromium (driven by Playwright) shoots each one at 375 px width into
``docs/miniprogram/<page>.png``, so a reviewer sees the pages without WeChat DevTools. Each page must
have rendered its data (a text of its answers in the DOM) and the picture must not be blank."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
MINIPROGRAM = REPO / "miniprogram"
RENDER = MINIPROGRAM / "tests" / "screens" / "render.js"
SHOTS = REPO / "docs" / "miniprogram"
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # else Chinese shows as empty boxes
README = REPO / "README.md"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> list[dict]:
    """The pages render.js wrote (one dict per page; skipped pages carry ``skipped``)."""
    node = shutil.which("node")
    require(node is not None, "node not on PATH: scripts/test installs it")
    require(
        (MINIPROGRAM / "node_modules" / "miniprogram-simulate").is_dir(),
        "miniprogram/node_modules missing: run scripts/test (npm ci)",
    )
    out = tmp_path_factory.mktemp("screens")
    done = subprocess.run([node, str(RENDER), str(out)], cwd=MINIPROGRAM, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"render.js failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


# Distinct colours in a sample of the picture's pixels, counted by the browser itself.
COLOURS = """async (b64) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + b64;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, img.width, img.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return seen.size;
}"""


def test_screenshots_of_the_main_pages(rendered, browser):
    """Every page of the list rendered its data, and its screenshot in docs/miniprogram/ shows it.
    ``browser``: the test session's one Chromium (tests/admin_site.py; a second sync Playwright in
    the same process would fail)."""
    require(CJK_FONT.exists(), f"{CJK_FONT} missing: scripts/test installs fonts-wqy-zenhei")
    shot = [p for p in rendered if "skipped" not in p]
    for p in rendered:
        if "skipped" in p:
            print(f"skipped {p['name']}: {p['skipped']}")
    assert {"home", "custom", "product", "cart", "order-confirm", "orders", "order-detail"} <= {p["name"] for p in shot}
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    shots: dict[str, bytes] = {}
    context = browser.new_context(viewport={"width": 375, "height": 667}, device_scale_factor=2)
    try:
        page = context.new_page()
        for p in shot:
            page.goto(Path(p["file"]).as_uri())
            page.wait_for_load_state("load")
            text = page.inner_text(".wx-page")
            if p["expect"] not in text:
                problems.append(f"{p['name']}: {p['expect']!r} not on the page; it shows {text[:300]!r}")
            if len(text.strip()) < 4:
                problems.append(f"{p['name']}: (almost) no text on the page")
            if p["title"] not in page.inner_text(".wx-navbar"):
                problems.append(f"{p['name']}: the title {p['title']!r} is not in the navigation bar")
            png = page.screenshot(full_page=True)
            (SHOTS / f"{p['name']}.png").write_bytes(png)
            shots[p["name"]] = png
        blank = context.new_page()
        for name, png in shots.items():
            colours = blank.evaluate(COLOURS, base64.b64encode(png).decode())
            if colours < 8:
                problems.append(f"{name}: the screenshot is blank ({colours} colours)")
    finally:
        context.close()
    readme = README.read_text(encoding="utf-8")
    problems += [
        f"{p['name']}: README does not link docs/miniprogram/{p['name']}.png"
        for p in shot
        if f"(docs/miniprogram/{p['name']}.png)" not in readme
    ]
    assert not problems, "\n".join(problems)
