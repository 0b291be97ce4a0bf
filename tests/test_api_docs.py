"""The API's documentation as a new user reaches it (issue #18 point 2; no requirement names it):
the OpenAPI document at /schema/openapi.json and its viewer at /schema, in Debian's Chromium
against a live bridge with no way out to the internet."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.admin_site import CJK_FONT, DESKTOP, page_errors, watch
from tests.api_helpers import LiveServer, make_client
from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "api"


def test_p18_02_the_schema_viewer_renders_every_operation_with_nothing_from_outside(engine, tmp_path, browser):
    """/schema (Redoc, vendored) renders the whole document — every tag and operation of both
    APIs — while every request that would leave the bridge is refused and recorded: there is
    none, and the page logs no error. Its screenshot is docs/api/schema.png, linked from the README."""
    require(CJK_FONT.exists(), f"{CJK_FONT} missing: scripts/test installs fonts-wqy-zenhei")
    client, rt = make_client(engine, tmp_path)
    with LiveServer(client.app) as server:
        origin = urlsplit(server.base_url).netloc
        document = client.get("/schema/openapi.json").json()
        outside: list[str] = []
        page = watch(browser.new_page(viewport=DESKTOP))

        def only_the_bridge(route):
            if urlsplit(route.request.url).scheme in ("data", "blob") or urlsplit(route.request.url).netloc == origin:
                return route.continue_()
            outside.append(route.request.url)
            return route.abort()

        page.route("**/*", only_the_bridge)
        page.goto(f"{server.base_url}/schema")
        page.wait_for_selector("text=jht-bridge API", timeout=20_000)
        page.wait_for_load_state("networkidle")
        text = page.inner_text("body")
        tags = {tag for path in document["paths"].values() for op in path.values() for tag in op.get("tags", [])}
        assert tags and all(tag in text for tag in tags), sorted(t for t in tags if t not in text)
        for path in ("/api/mp/v1/orders/{order_no}/receipt", "/api/sales/v1/orders/{order_no}/release"):
            assert path in document["paths"]
            page.get_by_text(path, exact=False).first.wait_for(state="attached")
        assert outside == [], outside
        assert not page_errors(page), page_errors(page)
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "schema.png"))
        page.close()
    rt.connector.close()
    assert "(docs/api/schema.png)" in (REPO / "README.md").read_text(encoding="utf-8")
