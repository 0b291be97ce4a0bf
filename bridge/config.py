"""Configuration: one TOML file plus ``JHT_<SECTION>__<KEY>`` environment overrides.

Where the file is found, in order: ``--config``, ``$JHT_CONFIG``, ``./etc/bridge.toml``,
``./var/bridge.toml`` (the folder ``jht-bridge init`` makes by default).

Everything is validated at start-up; a problem is reported as ``section.key: what is wrong``
(``ConfigError``), never as a traceback. Relative paths in the file are relative to the folder
the file is in, so a configured folder can be moved as a whole.

Secrets (WeChat app secret, token signing key) are never read from the TOML file itself: they
come from an environment variable or from a file named in the config (``*_file`` keys), and are
held as ``SecretStr`` so they are not printed by accident.
"""

from __future__ import annotations

import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

ENV_PREFIX = "JHT_"
ENV_CONFIG = "JHT_CONFIG"
DEFAULT_LOCATIONS = (Path("etc/bridge.toml"), Path("var/bridge.toml"))


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists ``key: reason`` lines."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}:\n  " + "\n  ".join(problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _base_dir(info: ValidationInfo) -> Path:
    ctx = info.context or {}
    return Path(ctx.get("base_dir") or ".")


def _resolve(path: Path, info: ValidationInfo) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (_base_dir(info) / path).resolve()


def relative_to_config(path: Path | str | None, info: ValidationInfo) -> Path | None:
    """A path from the config (or a connector's settings table): relative ones are relative to
    the config file's folder. For pydantic validators; None stays None."""
    return None if path is None else _resolve(Path(path), info)


class BridgeSection(_Section):
    name: str = Field("jht-bridge", min_length=1, max_length=64)
    """Instance name, shown in logs and in ``check``."""
    timezone: str = "Asia/Shanghai"
    """Time zone of order numbers (the date part), of times shown to people, and of the ERP's
    times written without an offset (connectors get it as ``ConnectorContext.timezone``)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)")
        return value


class DatabaseSection(_Section):
    url: str = "sqlite:///bridge.db"
    """SQLAlchemy URL. A relative SQLite path is relative to the config file's folder.
    PostgreSQL: ``postgresql+psycopg://user@host:5432/dbname`` (password via JHT_DATABASE__PASSWORD)."""
    password: SecretStr | None = None
    """Only from the environment (JHT_DATABASE__PASSWORD) or password_file; fills the URL's password."""
    password_file: Path | None = None
    busy_timeout_ms: int = Field(5000, ge=0, le=600_000)
    """SQLite: how long a writer waits for the lock before giving up."""
    pool_size: int = Field(20, ge=1, le=256)
    """PostgreSQL: connections kept open per process (best as many as api.threads, plus the sync
    loops'); up to as many again (at least api.threads + 8) are opened for a burst and closed
    after it."""
    echo: bool = False
    """Log every SQL statement (debugging only)."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL (sqlite:///path or postgresql+psycopg://…)")
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
        if backend == "sqlite" and url.database and url.database != ":memory:":
            path = Path(url.database)
            if not path.is_absolute():
                url = url.set(database=str(_resolve(path, info)))
            return url.render_as_string(hide_password=False)
        return value

    @field_validator("password_file")
    @classmethod
    def _pw_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        value = _resolve(value, info)
        if not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @property
    def backend(self) -> str:
        return self.url.split(":", 1)[0].split("+", 1)[0]

    def secret_url(self) -> str:
        """The URL with the password filled in from the environment or password file."""
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        password = _secret(self.password, self.password_file)
        if password is not None:
            url = url.set(password=password)
        return url.render_as_string(hide_password=False)

    def display_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


class LogSection(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "console", "json"] = "auto"
    """auto: readable when stderr is a terminal, JSON lines otherwise (services, containers)."""
    file: Path | None = None
    """JSON lines also written to this file by the long-running commands (``run``, ``serve``,
    ``worker``; not by one-off commands), rotated by size. The service units set it
    (``JHT_LOG__FILE``); relative to the config file's folder."""
    file_max_mb: int = Field(10, ge=1, le=1024)
    """Size at which the log file is rotated (bridge.log → bridge.log.1 …)."""
    file_backups: int = Field(5, ge=1, le=100)
    """Rotated log files kept besides the current one."""

    @field_validator("file")
    @classmethod
    def _file_path(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return relative_to_config(value, info)


class OrdersSection(_Section):
    number_prefix: str = Field("JHT", pattern=r"^[A-Z]{1,6}$")
    """Order numbers look like JHT-20261125-0001: prefix, local date, a per-day sequence."""
    max_lines: int = Field(50, ge=1, le=500)
    """Most lines one order may have."""
    max_quantity: int = Field(100_000, ge=1, le=10_000_000)
    """Largest quantity of one line."""
    remark_max_length: int = Field(500, ge=0, le=5000)
    stock_check_deadline_s: float = Field(1.5, gt=0, le=30)
    """How long order placement waits for the ERP's stock answer before using the snapshot."""
    stock_snapshot_max_age_s: int = Field(900, ge=0)
    """A stock snapshot older than this is not trusted: the order starts as 等待处理."""
    per_customer_per_minute: int = Field(10, ge=1, le=10_000)
    """Most new orders one customer may place in a minute (retries of the same order aside);
    more are answered 429 with the time to wait."""
    per_customer_per_day: int = Field(200, ge=1, le=1_000_000)
    """Most new orders one customer may place in 24 hours."""
    review_above_amount: Decimal | None = Field(Decimal("1000000.00"), ge=0, max_digits=14, decimal_places=2)
    """An order worth more than this (yuan) is not released to production by itself, whatever
    the customer's type: it waits for the salesperson to confirm it, like a type-2 order. Empty
    (or remove the key) for no limit."""
    auto_complete_days: int = Field(15, ge=0, le=365)
    """A shipped order the customer has not confirmed is completed automatically this many days
    after its latest shipment (by the system, and the ERP is told as for a confirmation); 0 = never."""

    @field_validator("review_above_amount", mode="before")
    @classmethod
    def _no_limit(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class CustomersSection(_Section):
    default_type: Literal[1, 2] = 2
    """Type of a customer created by a first mini-program login: 1 = the ERP makes the
    production order at once, 2 = the salesperson confirms payment first."""
    default_salesperson: str | None = None
    """Username of the salesperson new customers are assigned to when no invite code names one."""


class ConnectorSection(_Section):
    # Each connector's table ([connector.filedrop], [connector.odbc], a plugin's
    # [connector.my_erp]) is kept as it is here and validated by that connector's own settings
    # model when it is loaded (bridge.plugins.load_connector): the config knows no connector.
    model_config = ConfigDict(extra="allow", validate_default=True)

    name: str = "filedrop"
    """Which connector talks to the ERP (a built-in one or a plugin's)."""

    @model_validator(mode="before")
    @classmethod
    def _plugin_tables_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if key not in cls.model_fields and not isinstance(value, dict):
                    raise ValueError(f"{key}: unknown key (connector settings go in a [connector.NAME] table)")
        return data

    def settings_for(self, name: str) -> dict[str, Any]:
        """The settings table of connector ``name`` as the file and the environment give it
        (empty when there is none), for the connector's settings model to validate."""
        return dict((self.model_extra or {}).get(name, {}))


class OutboxSection(_Section):
    batch_size: int = Field(50, ge=1, le=1000)
    """Messages one dispatcher claims at a time."""
    lease_s: float = Field(60, gt=0, le=3600)
    """How long a claimed message is held; a crashed worker's messages are taken over after it."""
    max_attempts: int = Field(20, ge=1, le=1000)
    """Failed deliveries before a message becomes a dead letter (a permanent error: at once)."""
    backoff_base_s: float = Field(2, gt=0)
    """Wait after the first failure; doubled each time (with jitter) up to backoff_max_s."""
    backoff_max_s: float = Field(900, gt=0)
    quick_retries: int = Field(2, ge=0, le=10)
    """Immediate retries inside one attempt, for blips (0.2 s, 0.4 s … apart)."""
    poll_interval_s: float = Field(1.0, gt=0, le=300)
    """How often the dispatcher looks for due messages when nothing wakes it."""
    gather_s: float = Field(0.05, ge=0, le=5)
    """After a round that delivered something, wait this long before the next, so the messages
    placed meanwhile go out in one batch (one claim, one finish) rather than a round each; a
    message placed while the dispatcher is idle goes out at once. 0: no wait."""


class InboxSection(_Section):
    poll_interval_s: float = Field(2.0, gt=0, le=300)
    """How often the ERP's events are polled when the connector cannot signal new ones."""
    batch_size: int = Field(100, ge=1, le=10000)
    park_retry_s: float = Field(30, gt=0)
    """An event for an order the bridge does not know yet is retried after this long…"""
    park_max_attempts: int = Field(20, ge=1)
    """…this many times, then it becomes a dead letter."""


DEFAULT_STATUS_MAP = {
    "pending": "pending",
    "in_production": "in_production",
    "awaiting_shipment": "awaiting_shipment",
    "shipped": "shipped",
    "completed": "completed",
    "cancelled": "cancelled",
    "等待处理": "pending",
    "生产中": "in_production",
    "等待发货": "awaiting_shipment",
    "已发货": "shipped",
    "已完成": "completed",
    "已取消": "cancelled",
}
ORDER_STATUSES = ("pending", "in_production", "awaiting_shipment", "shipped", "completed", "cancelled")


class SyncSection(_Section):
    status_map: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_STATUS_MAP))
    """The ERP's status words → the bridge's statuses. A word not listed is a dead letter with
    its reason, never a guess. Replaces the default table when set."""

    @field_validator("status_map")
    @classmethod
    def _known_statuses(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in ORDER_STATUSES})
        if bad:
            raise ValueError(f"unknown bridge status {bad[0]!r}; use one of {', '.join(ORDER_STATUSES)}")
        return value


class ApiSection(_Section):
    host: str = "127.0.0.1"
    """Address the HTTP API listens on (`run` / `serve` --host overrides)."""
    port: int = Field(8600, ge=1, le=65535)
    """Port the HTTP API listens on (`run` / `serve` --port overrides)."""
    max_body_bytes: int = Field(65536, ge=1024, le=10_000_000)
    """Largest request body accepted; larger ones get 413."""
    threads: int = Field(16, ge=1, le=256)
    """Threads that run the API's database work: requests answered at once per process. On
    PostgreSQL each thread holds a connection: database.pool_size is best as high (the pool opens
    more for a burst, always enough for these threads)."""
    public_base_url: str | None = None
    """The address customers reach the API at (https://…), for links in notices; optional."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Reverse proxies (addresses or networks, e.g. ["127.0.0.1", "10.0.0.0/8"]) whose
    X-Forwarded-For header is believed for the caller's address (login limits, logs). Empty: the
    caller is whoever connected, and forwarded headers are ignored (they are easy to forge)."""
    ops_details: bool = False
    """/readyz shows what failed (paths, connector checks) to every caller; off: only to callers
    on this machine, others get the bare status."""
    metrics: Literal["local", "token", "public"] = "local"
    """Who may read /metrics: callers on this machine (not through a proxy), or anyone with the
    bearer token from JHT_API__METRICS_TOKEN / metrics_token_file, or everyone."""
    metrics_token: SecretStr | None = None
    """Only from the environment (JHT_API__METRICS_TOKEN) or metrics_token_file."""
    metrics_token_file: Path | None = None

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8)") from None
        return [item.strip() for item in value]

    @field_validator("metrics_token_file")
    @classmethod
    def _token_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @model_validator(mode="after")
    def _metrics_token_given(self) -> ApiSection:
        if self.metrics == "token" and not self.metrics_secret():
            raise ValueError("metrics: 'token' needs JHT_API__METRICS_TOKEN or metrics_token_file")
        return self

    def metrics_secret(self) -> str | None:
        return _secret(self.metrics_token, self.metrics_token_file)


class WechatSection(_Section):
    mode: Literal["live", "dev"] = "live"
    """live: real WeChat login. dev: any login code is taken as the openid and any phone code as
    the phone number — for demos and local use only; refused on a non-loopback address."""
    appid: str = ""
    """The mini-program's AppID (mp.weixin.qq.com → 开发管理 → 开发设置)."""
    app_secret: SecretStr | None = None
    """Only from JHT_WECHAT__APP_SECRET or app_secret_file."""
    app_secret_file: Path | None = None
    base_url: str = "https://api.weixin.qq.com"
    """WeChat's API address; tests point it at a local fake server."""
    timeout_s: float = Field(5.0, gt=0, le=60)
    shipment_template_id: str = ""
    """Subscribe-message template for shipment notices (C12), if [notify.wechat.shipment] has
    none; empty: no WeChat shipment notice is sent."""
    shipment_page: str = "packageOrder/detail/index"
    """Older name of [notify.wechat.shipment] page: the page a shipment notice opens (the order
    number is added as ?order_no=); kept working when set."""

    @field_validator("app_secret_file")
    @classmethod
    def _file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    def secret(self) -> str | None:
        return _secret(self.app_secret, self.app_secret_file)


class WecomRobotSection(_Section):
    """A WeCom group robot (企业微信群机器人): every staff notice goes to its group, @-mentioning
    the salesperson by phone. Off until ``webhook_url`` (or ``webhook_url_file``) is set."""

    webhook_url: SecretStr | None = None
    """https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=… — the key is a secret: only from
    JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL or webhook_url_file."""
    webhook_url_file: Path | None = None
    msgtype: Literal["markdown", "text"] = "text"
    """text @-mentions the salesperson by phone (mentioned_mobile_list); markdown looks better
    but WeCom does not ring anyone for it."""
    per_minute: int = Field(20, ge=1, le=600)
    """Messages per minute the robot accepts (WeCom: 20); the dispatcher paces the robot and
    merges what waits into one digest rather than be refused."""
    timeout_s: float = Field(5.0, gt=0, le=60)

    @field_validator("webhook_url_file")
    @classmethod
    def _file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    def url(self) -> str | None:
        return _secret(self.webhook_url, self.webhook_url_file)


class WecomAppSection(_Section):
    """A WeCom self-built app (企业微信自建应用): a message to each staff user's own WeCom account
    (``jht-bridge notify set USER --wecom-user …``). Off until ``corp_id`` is set."""

    corp_id: str = ""
    """The company's CorpID (管理后台 → 我的企业); empty: no app message is sent."""
    agent_id: int = Field(0, ge=0)
    """The app's AgentId (应用管理 → the app)."""
    secret: SecretStr | None = None
    """The app's Secret: only from JHT_NOTIFY__WECOM_APP__SECRET or secret_file."""
    secret_file: Path | None = None
    base_url: str = "https://qyapi.weixin.qq.com"
    """WeCom's API address; tests point it at a local fake server."""
    per_minute: int = Field(30, ge=1, le=600)
    """Messages a minute to one user (WeCom limits what one app sends a user)."""
    timeout_s: float = Field(5.0, gt=0, le=60)

    @field_validator("secret_file")
    @classmethod
    def _file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @model_validator(mode="after")
    def _complete(self) -> WecomAppSection:
        if self.corp_id and not self.agent_id:
            raise ValueError("agent_id: the app's AgentId is needed when corp_id is set")
        return self

    def app_secret(self) -> str | None:
        return _secret(self.secret, self.secret_file)


class EmailSection(_Section):
    """E-mail over SMTP to staff users' addresses (``jht-bridge notify set USER --email …``).
    Off until ``host`` is set."""

    host: str = ""
    """The SMTP server, e.g. smtp.exmail.qq.com; empty: no e-mail is sent."""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    """starttls (port 587), ssl (port 465: TLS from the first byte) or none (a relay on this
    machine or the LAN only: the password and the mail cross the network in clear)."""
    ca_file: Path | None = None
    """A CA certificate file to trust for the server's certificate (a company's own CA);
    unset: the system's trusted CAs."""
    username: str = ""
    """The SMTP login; empty: no login."""
    password: SecretStr | None = None
    """Only from JHT_NOTIFY__EMAIL__PASSWORD or password_file."""
    password_file: Path | None = None
    from_address: str = ""
    """The sender, e.g. shop@example.com (needed when host is set)."""
    from_name: str = "锦亨泰商城"
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("password_file", "ca_file")
    @classmethod
    def _file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @model_validator(mode="after")
    def _sender(self) -> EmailSection:
        if self.host and "@" not in self.from_address:
            raise ValueError("from_address: the sender's address is needed when host is set")
        return self

    def secret(self) -> str | None:
        return _secret(self.password, self.password_file)


class SubscribeTemplate(_Section):
    """One WeChat subscribe-message template (订阅消息, mp.weixin.qq.com → 订阅消息 → 我的模板)."""

    template_id: str = ""
    """The template's id; empty: this notice is not sent by WeChat."""
    page: str = ""
    """The mini-program page the message opens (an order's notices add ?order_no=)."""
    fields: dict[str, str] = Field(default_factory=dict)
    """Template key → what goes in it. The key's prefix is the field's WeChat type, which decides
    how the value is cut: thing 20 characters, phrase 5, character_string 32, time / date a
    local time such as 2026年11月25日 14:30."""


def _template(page: str, **fields: str) -> Any:
    return Field(default_factory=lambda: SubscribeTemplate(page=page, fields=fields))


class WechatNoticeSection(_Section):
    """The customer's notices as WeChat subscribe messages, sent to every WeChat account of the
    customer that accepted the template in the mini-program (a refusal, 43101, is recorded as
    not consented and not retried). The mini-program's AppID and secret are those of [wechat]."""

    shipment: SubscribeTemplate = _template(
        "packageOrder/detail/index",
        character_string1="order_no",
        thing2="courier",
        character_string3="tracking_no",
        time4="shipped_at",
    )
    """A shipment with its courier and tracking number (C12). Its template_id falls back to
    wechat.shipment_template_id. Sources: order_no, courier, tracking_no, shipped_at."""
    status: SubscribeTemplate = _template(
        "packageOrder/detail/index", character_string1="order_no", phrase2="status", time3="changed_at", thing4="note"
    )
    """The order was accepted / went into production / is ready to ship. Sources: order_no,
    status (等待处理 / 生产中 / 等待发货 …), changed_at, note."""
    cancelled: SubscribeTemplate = _template(
        "packageOrder/detail/index", character_string1="order_no", phrase2="status", thing3="reason"
    )
    """The order was cancelled by the shop or the ERP. Sources: order_no, status, reason."""
    ready: SubscribeTemplate = _template(
        "pages/custom/index", thing1="product", thing2="spec", time3="ready_at", thing4="note"
    )
    """A custom product is ready to order (scenario 2). Sources: product, spec, ready_at, note."""

    @model_validator(mode="after")
    def _defaults_kept(self) -> WechatNoticeSection:
        # A table that sets only template_id keeps the default page and fields of its notice.
        for name, field in type(self).model_fields.items():
            given, default = getattr(self, name), field.default_factory()  # type: ignore[misc]
            for key in ("page", "fields"):
                if key not in given.model_fields_set:
                    setattr(given, key, getattr(default, key))
        return self


STAFF_NOTICE_TEMPLATES: dict[str, str] = {
    "new_order": "【新订单】{customer} 下单 {order_no}，{amount}：{lines}。{payment}",
    "customer_cancelled": "【订单取消】{customer} 取消了订单 {order_no}（{amount}）。",
    "inquiry": "【询价】{customer}：{body}",
    "ops_digest": "【同步告警】需要处理：{problems}。请到管理后台“同步”页查看原因并重试。",
}
"""The text of each staff notice, a format string ([notify.templates] replaces any of them)."""

STAFF_NOTICE_FIELDS: dict[str, tuple[str, ...]] = {
    "new_order": ("customer", "order_no", "amount", "lines", "payment", "salesperson", "customer_type"),
    "customer_cancelled": ("customer", "order_no", "amount", "salesperson"),
    "inquiry": ("customer", "body", "salesperson"),
    "ops_digest": ("problems",),
}
"""What each staff notice's template may name."""


def _template_problems(event: str, template: str) -> str | None:
    import string

    if event not in STAFF_NOTICE_TEMPLATES:
        return f"unknown notice (there are {', '.join(STAFF_NOTICE_TEMPLATES)})"
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"not a format string ({exc}; write {{{{ and }}}} for braces)"
    unknown = [n for n in names if n not in STAFF_NOTICE_FIELDS[event]]
    if unknown:
        return (
            f"unknown field {{{unknown[0]}}}; it may use {', '.join('{' + f + '}' for f in STAFF_NOTICE_FIELDS[event])}"
        )
    return None


class NotifySection(_Section):
    """The channels that bring notices to people, each off until configured (issue #15)."""

    wecom_robot: WecomRobotSection = Field(default_factory=dict)  # type: ignore[arg-type]
    wecom_app: WecomAppSection = Field(default_factory=dict)  # type: ignore[arg-type]
    email: EmailSection = Field(default_factory=dict)  # type: ignore[arg-type]
    wechat: WechatNoticeSection = Field(default_factory=dict)  # type: ignore[arg-type]
    templates: dict[str, str] = Field(default_factory=lambda: dict(STAFF_NOTICE_TEMPLATES))
    """The text of each staff notice (new_order, customer_cancelled, inquiry, ops_digest) as a
    format string of its fields; a notice not named keeps its default."""
    ops_digest_interval_s: float = Field(3600, ge=0)
    """At most one digest this often to the admins when something needs a person: dead letters,
    dead or quarantined ERP events, events parked longer than ops_parked_after_s; 0: none."""
    ops_parked_after_s: float = Field(3600, gt=0)
    """An ERP event parked (waiting for its order) this long goes into the admins' digest."""

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for event, template in value.items():
            if (problem := _template_problems(event, template)) is not None:
                raise ValueError(f"{event}: {problem}")
        return {**STAFF_NOTICE_TEMPLATES, **value}

    admin_base_url: str | None = None
    """The admin pages' address as staff reach it (e.g. https://bridge.example.com), for the link
    in a notice to the order's page; empty: notices carry no link."""


class SecuritySection(_Section):
    token_secret: SecretStr | None = None
    """Only from the environment (JHT_SECURITY__TOKEN_SECRET) or token_secret_file."""
    token_secret_file: Path | None = None
    """File holding the key that signs API tokens; ``init`` makes one readable only by its owner."""

    @field_validator("token_secret_file")
    @classmethod
    def _file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    access_ttl_s: int = Field(1800, ge=60, le=86400)
    """Lifetime of an API access token; the mini-program refreshes it with its refresh token."""
    refresh_ttl_s: int = Field(30 * 86400, ge=3600, le=365 * 86400)
    """Lifetime of a refresh token: how long a customer stays logged in without using the app."""
    admin_session_ttl_s: int = Field(8 * 3600, ge=300, le=7 * 86400)
    """Lifetime of a sign-in to the admin pages (/admin): after it the staff user logs in again."""
    login_attempts_per_minute: int = Field(10, ge=1, le=1000)
    """Staff logins allowed per minute from one address, and wrong passwords per minute for one
    username from one address; past three times as many wrong passwords for one username from
    all addresses together, its logins are spaced out (seconds, doubling, at most 5 minutes)."""
    wechat_logins_per_minute: int = Field(60, ge=1, le=10_000)
    """Mini-program (WeChat) logins allowed per minute from one address: many customers may
    share one mobile-network address."""

    def token_key(self) -> str | None:
        return _secret(self.token_secret, self.token_secret_file)


class Config(_Section):
    bridge: BridgeSection = Field(default_factory=dict)  # type: ignore[arg-type]
    database: DatabaseSection = Field(default_factory=dict)  # type: ignore[arg-type]
    log: LogSection = Field(default_factory=dict)  # type: ignore[arg-type]
    orders: OrdersSection = Field(default_factory=dict)  # type: ignore[arg-type]
    customers: CustomersSection = Field(default_factory=dict)  # type: ignore[arg-type]
    connector: ConnectorSection = Field(default_factory=dict)  # type: ignore[arg-type]
    outbox: OutboxSection = Field(default_factory=dict)  # type: ignore[arg-type]
    inbox: InboxSection = Field(default_factory=dict)  # type: ignore[arg-type]
    sync: SyncSection = Field(default_factory=dict)  # type: ignore[arg-type]
    security: SecuritySection = Field(default_factory=dict)  # type: ignore[arg-type]
    api: ApiSection = Field(default_factory=dict)  # type: ignore[arg-type]
    wechat: WechatSection = Field(default_factory=dict)  # type: ignore[arg-type]
    notify: NotifySection = Field(default_factory=dict)  # type: ignore[arg-type]

    source: str | None = Field(None, exclude=True)
    """Where the file was read from (not a key of the file)."""
    base_dir: Path = Field(Path("."), exclude=True)


# Keys that hold secrets: accepted from the environment only, never from the TOML file.
SECRET_KEYS = {
    ("database", "password"),
    ("security", "token_secret"),
    ("wechat", "app_secret"),
    ("api", "metrics_token"),
    ("connector", "odbc", "connection_string"),  # it holds the ERP database's password
    ("connector", "soap", "http_password"),
    ("connector", "soap", "wsse_password"),
    ("notify", "wecom_robot", "webhook_url"),  # its key lets anyone post to the group
    ("notify", "email", "password"),
    ("notify", "wecom_app", "secret"),
}
"""Keys refused in the config file: from the environment or a ``*_file`` key only."""


def _secrets_in(data: dict) -> list[str]:
    found = []
    for path in sorted(SECRET_KEYS):
        node: object = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            key = path[-1]
            found.append(
                f"{'.'.join(path)}: a secret is not kept in the config file; set "
                f"JHT_{'__'.join(p.upper() for p in path)} or {key}_file"
            )
    return found


def _secret(value: SecretStr | None, path: Path | None) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return None


def find_config_file(explicit: str | Path | None = None, environ: dict[str, str] | None = None) -> Path | None:
    """The config file to use, or None when there is none (defaults then apply)."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG])
    for candidate in DEFAULT_LOCATIONS:
        if candidate.is_file():
            return candidate
    return None


def nothing_configured(explicit: str | Path | None = None, environ: dict[str, str] | None = None) -> str | None:
    """Why there is no configuration at all — no config file found (``find_config_file``) and no
    ``JHT_<SECTION>__<KEY>`` variable — with where it looked and what to do; None when there is
    one. The built-in defaults alone describe no real setup (``jht-bridge check`` says so)."""
    environ = os.environ if environ is None else environ
    if find_config_file(explicit, environ) is not None or env_overrides(environ):
        return None
    looked = " and ".join(str(Path.cwd() / p) for p in DEFAULT_LOCATIONS)
    return (
        f"no configuration found (looked in {looked}; no --config, no ${ENV_CONFIG}, no {ENV_PREFIX}<SECTION>__<KEY> "
        "variables); run `jht-bridge init` to make one in ./var, or pass --config FILE"
    )


def env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``JHT_SECTION__KEY[__SUBKEY]=value`` → nested dict. Values stay strings; pydantic coerces."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG or name.startswith("JHT_TEST_"):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if len(parts) < 2 or not all(parts):
            raise ConfigError([f"{name}: environment overrides are named JHT_<SECTION>__<KEY>"])
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError([f"{name}: conflicts with another override"])
        node[parts[-1]] = value
    return tree


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _format_errors(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (see etc/bridge.example.toml for the keys there are)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "value_error" and (m := re.match(r"^([a-z_][a-z0-9_.]*): (.*)$", msg, re.S)):
            # A section's own validator names the key inside it ("metrics: …").
            key, msg = f"{key}.{m.group(1)}" if key else m.group(1), m.group(2)
        got = err.get("input")
        if err["type"] not in ("extra_forbidden", "value_error", "missing") and not isinstance(got, dict):
            if ("database", "password") != tuple(err["loc"][:2]) and "secret" not in key:
                msg = f"{msg} (got {got!r})"
        problems.append(f"{key}: {msg}" if key else msg)
    return problems


def load_config(path: str | Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Read, merge and validate the configuration. Raises ConfigError with every problem found."""
    environ = dict(os.environ if environ is None else environ)
    file = find_config_file(path, environ)
    data: dict[str, Any] = {}
    base_dir = Path.cwd()
    source = None
    if file is not None:
        source = str(file)
        if not file.is_file():
            raise ConfigError([f"config file {file} does not exist (run `jht-bridge init` to make one)"])
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{file}: not valid TOML: {exc}"], source) from None
        except UnicodeDecodeError:
            raise ConfigError([f"{file}: must be UTF-8 text"], source) from None
        base_dir = file.resolve().parent
        secrets_in_file = _secrets_in(data)
        if secrets_in_file:
            raise ConfigError(secrets_in_file, source)
    data = _merge(data, env_overrides(environ))
    for reserved in ("source", "base_dir"):
        if reserved in data:
            raise ConfigError([f"{reserved}: unknown key (see etc/bridge.example.toml)"], source)
    try:
        config = Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc), source) from None
    config.source = source
    config.base_dir = base_dir
    return config
