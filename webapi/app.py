"""The Litestar application: wiring only. Routes live in the feature modules gathered by
``webapi/routes.py`` (both APIs) and ``webapi/ops.py`` (health, readiness, metrics); rules live
in ``bridge``. It is built by the composition root, ``bridge.app``.

Handlers are synchronous (SQLAlchemy sessions, the ERP connector and WeChat all block) and run
in Litestar's thread pool (``sync_to_thread=True``), never on the event loop.

Every error is a JSON body ``{"code": …, "message": …}`` with a stable English code and a Chinese
message the mini-program can show as it is; bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from bridge.config import Config
from bridge.errors import DomainError
from bridge.text import CONTROL, MAX_JSON_DEPTH, BadText, describe, json_too_deep
from bridge.logs import get_logger
from bridge.runtime import Runtime
from bridge.wechat import InvalidCode, WeChatClient, WeChatError
from webapi.auth import LoginLimiter, Tokens

log = get_logger("webapi")


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every error the API answers: a stable English ``code`` and a Chinese ``message`` the
    mini-program shows as it is; ``detail`` says more (in English) for developers."""

    code: str
    message: str
    detail: Any = None
    errors: list[Any] | None = None
    line: int | None = None
    order_no: str | None = None
    retry_after_s: int | None = None
    field: str | None = None


ERROR_RESPONSES = {
    status: ResponseSpec(data_container=ErrorBody, description=text)
    for status, text in (
        (400, "Bad input (invalid_input): the request does not match this document (the field is named)"),
        (401, "Not logged in, or the token expired / is invalid"),
        (403, "Not allowed"),
        (404, "Does not exist — or is not visible to the caller, which answers the same"),
        (409, "Conflicts with the current state (order cannot be cancelled, key reused…)"),
        (413, "Request body too large"),
        (422, "Refused by a business rule, or a WeChat code that cannot be used (wechat_code_invalid)"),
        (429, "Too many attempts"),
        (503, "WeChat or the ERP is not available right now"),
    )
}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    headers = dict(headers or {})
    if "retry_after_s" in extra:
        headers["Retry-After"] = str(extra["retry_after_s"])
    return Response({"code": code, "message": message, **extra}, status_code=status, headers=headers or None)


def domain_error(request: Request, exc: DomainError) -> Response:
    return _error(exc.status, exc.code, exc.message, detail=exc.detail, **exc.data)


def validation_error(request: Request, exc: ValidationException) -> Response:
    problems = exc.extra if isinstance(exc.extra, list) else []
    fields = [p.get("key") for p in problems if isinstance(p, dict) and p.get("key")]
    message = "请求数据有误" + (f"：{', '.join(fields)}" if fields else "")
    return _error(400, "invalid_input", message, detail=exc.detail, errors=problems)


def http_error(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, NotFoundException):
        return _error(404, "not_found", "请求的内容不存在", detail=exc.detail)
    messages = {
        401: "请先登录",
        403: "没有权限",
        405: "不支持的请求方式",
        413: "请求内容过大",
        429: "请求过于频繁，请稍后再试",
    }
    # exc.headers carries e.g. the Allow header of a 405 (RFC 9110 §15.5.6)
    return _error(
        exc.status_code,
        f"http_{exc.status_code}",
        messages.get(exc.status_code, "请求无法处理"),
        headers=exc.headers,
        detail=exc.detail,
    )


def too_deep_error(request: Request, exc: RecursionError) -> Response:
    """A body nested so deep that decoding it ran out of stack (the edge guard normally stops it
    first): bad input, one log line, no traceback."""
    log.warning("request refused: nested too deeply", path=request.url.path)
    return _error(400, "invalid_input", "请求数据嵌套过深", detail=f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def wechat_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, InvalidCode):
        # 422, not 400: the request is well formed; WeChat refused the code it carries
        return _error(422, "wechat_code_invalid", "微信授权已失效，请重新进入小程序", detail=str(exc))
    return _error(503, "wechat_unavailable", "微信服务暂时不可用，请稍后再试", detail=str(exc))


def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    return _error(500, "internal_error", "服务器开小差了，请稍后再试")


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def edge_guard(request: Request) -> None:
    """Before any handler (and so before any token check or rate limit): refuse a JSON body nested
    deeper than ``MAX_JSON_DEPTH`` (one log line, no traceback), and control characters in the
    path or the query (``bridge.text``) — 400 naming the field. Text fields of bodies carry the
    same rule as their schema pattern (``webapi.fields``); fields a body has beyond its schema are
    ignored, never stored."""
    where = _control_in_url(request)
    if where is not None:
        raise _bad_text(*where)
    if request.method not in _BODY_METHODS or "json" not in request.headers.get("content-type", "json"):
        return
    body = await request.body()
    if json_too_deep(body):
        log.warning("request refused: nested too deeply", path=request.url.path, bytes=len(body))
        raise TooDeep("请求数据嵌套过深", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


class TooDeep(DomainError):
    status = 400
    code = "invalid_input"


def _control_in_url(request: Request) -> tuple[str, str] | None:
    if found := CONTROL.search(request.scope["path"]):
        return "path", found.group()
    for name, value in request.query_params.multi_items():
        for text in (name, value):
            if isinstance(text, str) and (found := CONTROL.search(text)):
                return name, found.group()
    return None


def _bad_text(field: str, char: str) -> BadText:
    return BadText(
        f"{field} 含有不允许的控制字符（{describe(char)}），请删除后重试",
        f"{field}: contains the control character {describe(char)}",
        field=field,
    )


def content_security_policy(path: str) -> str:
    """The CSP of a response: nothing at all may load or run for the JSON API; the schema viewer
    (Redoc, served from the bridge itself, no CDN) needs its own script, inline styles and a
    blob worker; the admin pages load their own stylesheet and scripts (htmx, which may only
    call back to the bridge) and post forms to themselves only."""
    if path == "/admin" or path.startswith("/admin/"):
        return (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    if path == "/schema" or path.startswith("/schema/") and not path.endswith((".json", ".yaml", ".yml")):
        return (
            "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
    return "default-src 'none'; frame-ancestors 'none'"


def _allow_header(app, methods: dict[str, str]):
    """ASGI middleware: the ``Allow`` header of Litestar's own OPTIONS answer lists every method of
    the path, not only those of the first handler registered for it (litestar#4169, fixed in
    Litestar 3). ``methods``: path template → the header value."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "OPTIONS":
            return await app(scope, receive, send)
        allow = methods.get(scope.get("path_template", ""))

        async def send_fixed(message):
            if allow and message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*kept, (b"allow", allow.encode())]
            await send(message)

        await app(scope, receive, send_fixed)

    return middleware


def _worker_threads(count: int):
    """A lifespan hook: the event loop's executor, which runs every sync handler, gets
    ``api.threads`` threads. (asyncio's own default is the CPU count + 4: six threads on a
    2-core server, so six requests at once, each waiting on its database round trips.)"""

    async def start() -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(count, thread_name_prefix="api"))

    return start


def _security_headers(app):
    """ASGI middleware: the standard security headers on every answer (OWASP secure headers):
    no MIME sniffing, no referrer, no framing, a CSP; API answers are never cached (they are
    one caller's data, and so are the admin pages)."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        path = scope["path"]
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", content_security_policy(path).encode()),
        ]
        if path.startswith(("/api/", "/admin")):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                have = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in have)]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _count_requests(app):
    """ASGI middleware: count answered requests by method and status for /metrics."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        status = {"code": 500}

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        finally:
            scope["litestar_app"].state.metrics.requests.labels(scope["method"], str(status["code"])).inc()

    return middleware


STATIC = Path(__file__).parent / "static"


def document_limits(schema: dict[str, Any], config: Config) -> dict[str, Any]:
    """The limits the server enforces from its configuration, written into the OpenAPI schema so
    the document says what the server does (one source: ``[orders]`` in the config)."""
    parts = schema.get("components", {}).get("schemas", {})
    orders = config.orders
    if order := parts.get("OrderBody", {}).get("properties"):
        order["remark"]["maxLength"] = orders.remark_max_length
        order["lines"]["maxItems"] = orders.max_lines
    if line := parts.get("OrderLineBody", {}).get("properties"):
        line["quantity"]["maximum"] = orders.max_quantity
    return schema


class _JsonSchema(JsonRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document_limits(openapi_schema, request.app.state.runtime.config))


class _Redoc(RedocRenderPlugin):
    """Redoc from the bridge itself (webapi/static/redoc, without the logo the bundle would load
    from its CDN: ``tools/vendor-admin-assets``), no Google fonts, an empty inline icon (else the
    browser asks for /favicon.ico): the viewer works with no internet."""

    def __init__(self):
        super().__init__(
            path=["/", "/redoc"],
            js_url="/static/redoc/redoc.standalone.js",
            google_fonts=False,
            favicon='<link rel="icon" href="data:,">',
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document_limits(openapi_schema, request.app.state.runtime.config))


ADMIN_TEMPLATES = Path(__file__).parent / "admin" / "templates"


def admin_csrf_secret(config: Config) -> str:
    """The key of the admin pages' CSRF tokens, derived from the token key (one secret to keep)."""
    return hashlib.sha256(b"jht-bridge admin csrf:" + (config.security.token_key() or "").encode()).hexdigest()


def create_app(runtime: Runtime, *, wechat: WeChatClient) -> Litestar:
    """The API for ``runtime`` (its config, database and connector) and the WeChat client
    ``wechat``. Built by the composition root (``bridge.app.build_api``), which gives it both."""
    from webapi import ops, routes
    from webapi.admin import common as admin_templates
    from webapi.admin import routes as admin

    allowed: dict[str, str] = {}  # filled below, once the routes exist
    app = Litestar(
        route_handlers=[
            *routes.routers(ERROR_RESPONSES),
            *ops.ROUTES,
            admin.router(admin_csrf_secret(runtime.config)),
            create_static_files_router("/static", directories=[STATIC], include_in_schema=False),
        ],
        exception_handlers={
            DomainError: domain_error,
            ValidationException: validation_error,
            HTTPException: http_error,
            WeChatError: wechat_error,
            RecursionError: too_deep_error,
            Exception: internal_error,
        },
        request_max_body_size=runtime.config.api.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="jht-bridge API",
            version="1",
            description="锦亨泰商城 mini-program and salesperson API. Errors: {code, message (Chinese), detail}.",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            path="/schema",
            render_plugins=[_Redoc(), _JsonSchema()],
        ),
        template_config=TemplateConfig(
            directory=ADMIN_TEMPLATES, engine=JinjaTemplateEngine, engine_callback=admin_templates.setup_templates
        ),
        debug=False,
        logging_config=None,  # bridge.logs configured logging once; keep it
        middleware=[_security_headers, _count_requests, lambda app: _allow_header(app, allowed)],
        before_request=edge_guard,
        on_startup=[_worker_threads(runtime.config.api.threads)],
    )
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            allowed[route.path_format] = ", ".join(sorted(route.methods))
    app.state.runtime = runtime
    app.state.tokens = Tokens(runtime.config)
    app.state.wechat = wechat
    app.state.login_limiter = LoginLimiter(runtime.config.security.login_attempts_per_minute, runtime.engine)
    app.state.wechat_limiter = LoginLimiter(runtime.config.security.wechat_logins_per_minute)
    app.state.metrics = ops.Metrics()
    app.state.ready_cache = ops.ReadyCache()
    app.state.stock = runtime.stock_checker()
    return app
