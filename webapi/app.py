"""The Litestar application: wiring only. Routes live in ``webapi/mp.py`` (the mini-program) and
``webapi/ops.py`` (health, readiness, metrics); rules live in ``bridge``.

Handlers are synchronous (SQLAlchemy sessions, the ERP connector and WeChat all block) and run
in Litestar's thread pool (``sync_to_thread=True``), never on the event loop.

Every error is a JSON body ``{"code": …, "message": …}`` with a stable English code and a Chinese
message the mini-program can show as it is; bad input is a 4xx, never a 500.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from bridge.errors import DomainError
from bridge.logs import get_logger
from bridge.runtime import Runtime
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


ERROR_RESPONSES = {
    status: ResponseSpec(data_container=ErrorBody, description=text)
    for status, text in (
        (400, "Bad input (invalid_input) or a WeChat code that cannot be used"),
        (401, "Not logged in, or the token expired / is invalid"),
        (403, "Not allowed"),
        (404, "Does not exist — or is not visible to the caller, which answers the same"),
        (409, "Conflicts with the current state (order cannot be cancelled, key reused…)"),
        (413, "Request body too large"),
        (422, "Refused by a business rule"),
        (429, "Too many attempts"),
        (503, "WeChat or the ERP is not available right now"),
    )
}


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    headers = {"Retry-After": str(extra["retry_after_s"])} if "retry_after_s" in extra else None
    return Response({"code": code, "message": message, **extra}, status_code=status, headers=headers)


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
    messages = {401: "请先登录", 403: "没有权限", 405: "不支持的请求方式", 413: "请求内容过大", 429: "请求过于频繁，请稍后再试"}
    return _error(exc.status_code, f"http_{exc.status_code}", messages.get(exc.status_code, "请求无法处理"), detail=exc.detail)


def wechat_error(request: Request, exc: Exception) -> Response:
    from webapi.wechat import InvalidCode

    if isinstance(exc, InvalidCode):
        return _error(400, "wechat_code_invalid", "微信授权已失效，请重新进入小程序", detail=str(exc))
    return _error(503, "wechat_unavailable", "微信服务暂时不可用，请稍后再试", detail=str(exc))


def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    return _error(500, "internal_error", "服务器开小差了，请稍后再试")


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


def create_app(runtime: Runtime, *, wechat=None) -> Litestar:
    """The API for ``runtime`` (its config, database and connector). ``wechat`` is the WeChat
    client (webapi.wechat.WeChatClient); tests pass one pointed at a fake server."""
    from webapi import mp, ops, sales
    from webapi.wechat import WeChatError

    if wechat is None:
        from webapi.wechat import WeChatClient

        wechat = WeChatClient(runtime.config.wechat)
    app = Litestar(
        route_handlers=[*mp.ROUTES, *ops.ROUTES, *sales.ROUTES],
        exception_handlers={
            DomainError: domain_error,
            ValidationException: validation_error,
            HTTPException: http_error,
            WeChatError: wechat_error,
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
        ),
        debug=False,
        logging_config=None,  # bridge.logs configured logging once; keep it
        middleware=[_count_requests],
    )
    app.state.runtime = runtime
    app.state.tokens = Tokens(runtime.config)
    app.state.wechat = wechat
    app.state.login_limiter = LoginLimiter(runtime.config.security.login_attempts_per_minute)
    app.state.metrics = ops.Metrics()
    app.state.stock = runtime.stock_checker()
    return app
