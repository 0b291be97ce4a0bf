"""What the files of a file drop hold, in JSON and in CSV, both directions.

Every format rule lives here once, used by the connector (write documents, read events and the
stock snapshot) and by the ERP simulator (read documents, write events and the stock snapshot),
so the two sides cannot drift apart. ``docs/filedrop.md`` shows every format with examples.

Outgoing documents (``encode_document``) are the bridge's ``jht.*`` documents: JSON as they are
(UTF-8 or GB18030, indented, Chinese kept as characters), CSV as one row per order line with the
order's header fields repeated, or one row for a customer, command or merge.

Inbound files (``decode_events``) hold one event object or a list of them (JSON), or rows with
the columns of ``EVENT_CSV_COLUMNS`` (CSV). A file that breaks a rule raises ``FileProblem``
with the reason in English and Chinese; the connector quarantines the file with it. Times in
them (``read_time``) may be ISO 8601 with an offset or the local forms Chinese ERPs write
(``2026-12-03 15:40:00``, ``2026/12/3 9:05``), read in the bridge's time zone; they are handed
on as ISO 8601 with the offset.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from bridge.connector import COMMANDS, EVENT_KINDS, ConnectorContext
from bridge.text import MAX_JSON_DEPTH, json_too_deep, neutralise_cell, restore_cell

# --------------------------------------------------------------------------- errors


class DocumentError(ValueError):
    """An outgoing document that cannot be written as it is (a permanent error)."""


class FileProblem(ValueError):
    """An inbound file that cannot be read; ``zh`` says the same for the ERP's people."""

    def __init__(self, en: str, zh: str):
        super().__init__(en)
        self.en = en
        self.zh = zh


@dataclass(frozen=True)
class Where:
    """Where in an inbound file a problem is, said for both lines of its note: ``en`` for the
    integrator, ``zh`` for the ERP's people (whose line is Chinese throughout: field and column
    names stay as the file writes them)."""

    en: str
    zh: str

    def field(self, name: str) -> Where:
        return Where(f"{self.en}: {name}", f"{self.zh}的 {name}")


THE_EVENT = Where("the event", "事件")
"""The one event of a JSON file that holds a single object."""


def event_at(n: int) -> Where:
    """The ``n``-th event (from 1) of a JSON file that holds a list."""
    return Where(f"event {n}", f"第 {n} 个事件")


def row_at(n: int) -> Where:
    """Row ``n`` of a CSV file (the header is row 1)."""
    return Where(f"row {n}", f"第 {n} 行")


MAX_INBOUND_BYTES = 10 * 1024 * 1024
"""An inbound event file larger than this is quarantined unread (the connector checks the size
before it opens the file)."""
MAX_STOCK_BYTES = 64 * 1024 * 1024
"""The stock snapshot lists every item the ERP has, so it may be larger than an event file; a
larger one is not read (the snapshot counts as unavailable)."""


def _mb(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def too_large(size: int, limit: int) -> FileProblem:
    """The problem of a file of ``size`` bytes over ``limit``."""
    return FileProblem(
        f"the file is larger than {_mb(limit)} ({size} bytes): it was not read",
        f"文件过大（{size} 字节，超过 {_mb(limit)}），未读取",
    )


def _parse_json(text: str) -> Any:
    """json.loads with every way it can fail as a FileProblem: nesting deeper than
    ``MAX_JSON_DEPTH`` is refused before parsing, the parser's own RecursionError caught, and
    NaN / Infinity refused."""
    if json_too_deep(text):
        raise FileProblem(
            f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
            f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层，无法读取",
        )
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FileProblem(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列附近不符合 JSON 格式（如缺少逗号、引号或括号不成对）",
        ) from None
    except RecursionError:
        raise FileProblem("JSON nested too deeply to be read", "JSON 嵌套过深，无法读取") from None
    except ValueError as exc:
        # parse_constant's NaN / Infinity, or an integer longer than Python reads
        raise FileProblem(
            f"not valid JSON: {exc}", "JSON 格式错误：含有 JSON 不允许的数值（如 NaN、Infinity 或位数过多的数字）"
        ) from None


_CSV_ERRORS_ZH = {
    "NUL": "含有 NUL（空）字符，文件可能不是文本或已损坏",
    "field larger than field limit": "有单元格内容过长",
    "new-line character seen in unquoted field": "未加引号的单元格中有换行",
    "unexpected end of data": "文件在引号内结束（引号不成对）",
}
"""What the csv module's errors mean, for the ERP's people (matched by a part of its words)."""


def _csv_problem(exc: csv.Error) -> FileProblem:
    said = next((zh for words, zh in _CSV_ERRORS_ZH.items() if words in str(exc)), "无法按 CSV 格式读取")
    return FileProblem(f"not valid CSV: {exc}", f"CSV 格式错误：{said}")


# --------------------------------------------------------------------------- outgoing

OUT_KINDS = ("customer.upsert", "order.create", *(f"order.{c}" for c in COMMANDS), "customer.merge")

SHIP_TO_FIELDS = ("recipient", "phone", "province", "city", "district", "detail")
LINE_FIELDS = ("line_no", "sku", "erp_item_code", "name", "spec", "marking", "quantity", "unit", "unit_price", "amount")
ORDER_CSV_COLUMNS = (
    "order_no",
    "customer_id",
    "customer_erp_code",
    "customer_name",
    "customer_type",
    "released",
    "status",
    "stock_check",
    "placed_at",
    *(f"ship_to_{f}" for f in SHIP_TO_FIELDS),
    "remark",
    "total_amount",
    *LINE_FIELDS,
)
CUSTOMER_CSV_COLUMNS = (
    "id",
    "erp_code",
    "name",
    "type",
    "contact_name",
    "phone",
    "salesperson_username",
    "salesperson_name",
    "merged_ids",
    "updated_at",
)
COMMAND_CSV_COLUMNS = ("order_no", "command", "at")
MERGE_CSV_COLUMNS = (
    "survivor_id",
    "survivor_erp_code",
    "survivor_name",
    "absorbed_id",
    "absorbed_erp_code",
    "absorbed_name",
    "at",
)


def _plain(value: Any, path: str) -> Any:
    """The document as plain JSON values (Decimal → string, datetime → ISO text); anything
    else is a DocumentError naming where it is."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DocumentError(f"{path}: {value!r} is not a number a file can hold")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise DocumentError(f"{path}: {value!r} is not a number a file can hold")
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise DocumentError(f"{path}: a value of type {type(value).__name__} cannot be written to a file")


def _json_text(value: Any) -> str:
    """``value`` as JSON indented by two, as ``json.dumps(ensure_ascii=False, indent=2)`` writes
    it, by msgspec's encoder in C (the standard library's indenting encoder is pure Python: a
    fifth of an order's delivery). Text no encoding can hold (a lone surrogate), or anything
    else msgspec refuses, goes the standard library's way, for the error the write then reports."""
    try:
        return msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n"
    except (msgspec.EncodeError, OverflowError, UnicodeEncodeError):  # the slow path says what is wrong
        return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    value = _plain(value, "")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise DocumentError(f"a nested value {value!r} has no CSV column")
    return str(value)


def _text_cell(value: Any) -> str:
    """A cell of a CSV file written for people (out/): formula-like text neutralised
    (``bridge.text.neutralise_cell``); ``decode_document`` restores it."""
    return neutralise_cell(_cell(value))


def _require(doc: dict[str, Any], key: str, what: str) -> Any:
    value = doc.get(key)
    if value is None or value == "":
        raise DocumentError(f"{what} has no {key}")
    return value


def _sub(doc: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise DocumentError(f"{what}: {key} must be an object")
    return value


def check_document(kind: str, doc: Any) -> str:
    """Validate what the file's name and readers rely on; returns the document's reference
    (the order number, or ``customer-{id}``). Raises DocumentError."""
    if kind not in OUT_KINDS:
        raise DocumentError(f"unknown document kind {kind!r} (known: {', '.join(OUT_KINDS)})")
    if not isinstance(doc, dict):
        raise DocumentError(f"{kind}: the document must be an object, not {type(doc).__name__}")
    if kind == "order.create":
        order_no = _require(doc, "order_no", "the order document")
        _require(_sub(doc, "customer", f"order {order_no}"), "id", f"order {order_no}: customer")
        lines = doc.get("lines")
        if not isinstance(lines, list) or not lines:
            raise DocumentError(f"order {order_no} has no lines")
        for i, line in enumerate(lines):
            if not isinstance(line, dict):
                raise DocumentError(f"order {order_no}: lines[{i}] must be an object")
            for key in ("sku", "quantity"):
                _require(line, key, f"order {order_no}: lines[{i}]")
        return str(order_no)
    if kind == "customer.upsert":
        return f"customer-{_require(doc, 'id', 'the customer document')}"
    if kind == "customer.merge":
        survivor = _require(_sub(doc, "survivor", "the merge document"), "id", "the merge document: survivor")
        _require(_sub(doc, "absorbed", "the merge document"), "id", "the merge document: absorbed")
        return f"customer-{survivor}"
    order_no = _require(doc, "order_no", f"the {kind} command")
    command = doc.get("command")
    if f"order.{command}" != kind:
        raise DocumentError(f"order {order_no}: command {command!r} does not match {kind}")
    return str(order_no)


def _csv_bytes(columns: tuple[str, ...], rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return _encode_text(buffer.getvalue(), encoding, bom=True)


def _encode_text(text: str, encoding: str, *, bom: bool = False) -> bytes:
    try:
        data = text.encode("gb18030" if encoding == "gb18030" else "utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise DocumentError(f"the character {bad!r} cannot be written in {encoding}") from None
    # Excel opens a UTF-8 CSV file as Chinese text only when it starts with a byte-order mark.
    return codecs.BOM_UTF8 + data if bom and encoding == "utf-8" else data


def _order_rows(doc: dict[str, Any]) -> list[list[str]]:
    customer = doc.get("customer") or {}
    ship_to = doc.get("ship_to") or {}
    if not isinstance(ship_to, dict):
        raise DocumentError(f"order {doc.get('order_no')}: ship_to must be an object")
    unknown = sorted(set(ship_to) - set(SHIP_TO_FIELDS))
    if unknown:
        raise DocumentError(f"order {doc.get('order_no')}: ship_to fields {unknown} have no CSV column")
    header = [
        doc.get("order_no"),
        customer.get("id"),
        customer.get("erp_code"),
        customer.get("name"),
        doc.get("customer_type"),
        doc.get("released"),
        doc.get("status"),
        doc.get("stock_check"),
        doc.get("placed_at"),
        *(ship_to.get(f) for f in SHIP_TO_FIELDS),
        doc.get("remark"),
        doc.get("total_amount"),
    ]
    rows = []
    for i, line in enumerate(doc["lines"]):
        try:
            rows.append([_text_cell(v) for v in header] + [_text_cell(line.get(f)) for f in LINE_FIELDS])
        except DocumentError as exc:
            raise DocumentError(f"order {doc.get('order_no')}: lines[{i}]: {exc}") from None
    return rows


def encode_document(kind: str, doc: dict[str, Any], fmt: str, encoding: str) -> bytes:
    """The bytes of the file for one outgoing document; the whole file is built in memory so a
    document that cannot be written leaves nothing behind. Raises DocumentError."""
    check_document(kind, doc)
    body = {k: v for k, v in doc.items() if not str(k).startswith("_")}
    if fmt == "json":
        return _encode_text(_json_text(_plain(body, "")), encoding)
    if kind == "order.create":
        return _csv_bytes(ORDER_CSV_COLUMNS, _order_rows(body), encoding)
    if kind == "customer.upsert":
        sales = body.get("salesperson") or {}
        merged = " ".join(str(i) for i in body.get("merged_ids") or [])
        values = [body.get(c) for c in CUSTOMER_CSV_COLUMNS[:6]]
        values += [sales.get("username"), sales.get("name"), merged, body.get("updated_at")]
        return _csv_bytes(CUSTOMER_CSV_COLUMNS, [[_text_cell(v) for v in values]], encoding)
    if kind == "customer.merge":
        survivor, absorbed = body["survivor"], body["absorbed"]
        values = [survivor.get("id"), survivor.get("erp_code"), survivor.get("name")]
        values += [absorbed.get("id"), absorbed.get("erp_code"), absorbed.get("name"), body.get("at")]
        return _csv_bytes(MERGE_CSV_COLUMNS, [[_text_cell(v) for v in values]], encoding)
    return _csv_bytes(COMMAND_CSV_COLUMNS, [[_text_cell(body.get(c)) for c in COMMAND_CSV_COLUMNS]], encoding)


def out_name(seq: str, ref: str, kind: str, fmt: str) -> str:
    """``{seq}_{ref}_{kind}.{ext}``: names sort in delivery order and say what they hold."""
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in ref)
    return f"{seq}_{safe}_{kind}.{fmt}"


def parse_out_name(name: str) -> tuple[str, str, str] | None:
    """(seq, ref, kind) of an outgoing file name, or None when it is not one."""
    stem, _, ext = name.rpartition(".")
    parts = stem.split("_")
    if ext.lower() not in ("json", "csv") or len(parts) != 3 or parts[2] not in OUT_KINDS:
        return None
    return parts[0], parts[1], parts[2]


def _bool(text: str) -> bool | None:
    return None if text == "" else text.strip().lower() in ("true", "1", "yes", "是")


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip() else None


def decode_document(kind: str, raw: bytes, fmt: str, encoding: str) -> dict[str, Any]:
    """Read an outgoing file back into its document (what the ERP side does; the simulator
    uses it). CSV values come back with their types: ids and quantities as integers, flags as
    booleans, amounts as text, and every text exactly as the bridge had it (the apostrophe in
    front of a formula-like cell taken away again)."""
    text = decode_text(raw, encoding)
    if fmt == "json":
        return json.loads(text)
    rows = [{k: restore_cell(v or "") for k, v in row.items()} for row in csv.DictReader(io.StringIO(text, newline=""))]
    if not rows:
        raise DocumentError(f"the {kind} file has no rows")
    first = rows[0]
    if kind == "order.create":
        return {
            "schema": "jht.order/1",
            "order_no": first["order_no"],
            "customer": {
                "id": _int_or_none(first["customer_id"]),
                "erp_code": first["customer_erp_code"] or None,
                "name": first["customer_name"],
            },
            "customer_type": _int_or_none(first["customer_type"]),
            "released": _bool(first["released"]),
            "status": first["status"],
            "stock_check": first["stock_check"],
            "placed_at": first["placed_at"] or None,
            "ship_to": {f: first[f"ship_to_{f}"] for f in SHIP_TO_FIELDS},
            "remark": first["remark"] or None,
            "total_amount": first["total_amount"],
            "lines": [
                {
                    **{f: row[f] or None for f in LINE_FIELDS},
                    "line_no": _int_or_none(row["line_no"]),
                    "quantity": int(row["quantity"]),
                }
                for row in rows
            ],
        }
    if kind == "customer.upsert":
        return {
            "schema": "jht.customer/1",
            "id": _int_or_none(first["id"]),
            "erp_code": first["erp_code"] or None,
            "name": first["name"],
            "type": _int_or_none(first["type"]),
            "contact_name": first["contact_name"] or None,
            "phone": first["phone"] or None,
            "salesperson": (
                {"username": first["salesperson_username"], "name": first["salesperson_name"]}
                if first["salesperson_username"]
                else None
            ),
            "merged_ids": [int(i) for i in first["merged_ids"].split()],
            "updated_at": first["updated_at"] or None,
        }
    if kind == "customer.merge":
        return {
            "schema": "jht.customer_merge/1",
            **{
                side: {
                    "id": _int_or_none(first[f"{side}_id"]),
                    "erp_code": first[f"{side}_erp_code"] or None,
                    "name": first[f"{side}_name"],
                }
                for side in ("survivor", "absorbed")
            },
            "at": first["at"] or None,
        }
    return {"schema": "jht.order_command/1", **{c: first[c] for c in COMMAND_CSV_COLUMNS}}


# --------------------------------------------------------------------------- text


def decode_text(raw: bytes, encoding: str) -> str:
    """Bytes of an inbound file as text in the configured encoding; raises FileProblem.

    A UTF-8 byte-order mark is honoured whatever the setting (Windows tools write one). With
    gb18030 configured, a file that is valid UTF-8 and not plain ASCII is refused rather than
    read as GB18030: it would decode without error into the wrong characters (乱码)."""
    hint_en = "check connector.filedrop.encoding and what the ERP writes"
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _undecodable(raw, exc, "UTF-8 (it starts with a UTF-8 byte-order mark)", hint_en) from None
    if encoding == "utf-8":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _undecodable(
                raw, exc, "UTF-8", 'if the ERP writes GB18030, set connector.filedrop.encoding = "gb18030"'
            ) from None
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise FileProblem(
                "the file is UTF-8 text but connector.filedrop.encoding is gb18030: have the ERP write "
                'GB18030, or start the file with a UTF-8 byte-order mark, or set encoding = "utf-8"',
                "文件是 UTF-8 编码，但桥接程序配置为 GB18030：请让 ERP 以 GB18030 编码写文件，"
                "或在文件开头加 UTF-8 BOM，或将 encoding 设为 utf-8",
            )
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _undecodable(raw, exc, "GB18030", hint_en) from None


def _undecodable(raw: bytes, exc: UnicodeDecodeError, name: str, hint: str) -> FileProblem:
    return FileProblem(
        f"not valid {name} text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); {hint}",
        f"文件不是有效的 {name.split(' ')[0]} 文本（第 {exc.start} 字节 0x{raw[exc.start]:02x}）；请检查文件编码设置",
    )


# --------------------------------------------------------------------------- times

_ISO_EXAMPLE = "2026-12-03 15:40:00 (local time) or 2026-12-03T15:40:00+08:00"
_LOCAL_TIME = re.compile(
    r"(?:(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"|(?P<cy>\d{4})年(?P<cm>\d{1,2})月(?P<cd>\d{1,2})日)"
    r"(?:(?:T|\s+|(?<=日))(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?)?"
    r"\s*(?P<z>Z|[+-]\d{2}:?\d{2})?"
)
_YEAR_LAST = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b")
_SHORT_YEAR = re.compile(r"\d{2}[-/.]\d{1,2}[-/.]\d{1,2}\b")
_TIME_ONLY = re.compile(r"\d{1,2}[:：]\d{2}(?:[:：]\d{2}(?:[.,]\d+)?)?")
TIME_FIELDS = {"order.shipment": ("shipped_at",), "stock": ("as_of",)}
"""The fields of inbound events that hold a time (``read_time`` reads them)."""


def default_zone() -> tzinfo:
    """The zone of ``[bridge] timezone`` when nobody said otherwise (its default)."""
    return ZoneInfo(ConnectorContext.timezone)


def _time_problem(value: str, where: Where, en: str, zh: str) -> FileProblem:
    return FileProblem(f"{where.en}: {value!r} {en}", f"{where.zh}：时间 {value!r} {zh}")


def _localise(naive: datetime, zone: tzinfo, value: str, where: Where) -> datetime:
    """``naive`` as the wall time it is in ``zone``; refused where a clock change makes that
    wall time happen twice or not at all."""
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        if first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != naive:
            raise _time_problem(
                value,
                where,
                f"does not exist in {zone} (the clocks went forward)",
                f"在 {zone} 时区不存在（夏令时跳过）",
            )
        raise _time_problem(
            value,
            where,
            f"happens twice in {zone} (the clocks went back): write it with its offset, e.g. +01:00",
            f"在 {zone} 时区出现两次（夏令时回拨）：请写明时差，如 +01:00",
        )
    return first


def read_time(value: Any, zone: tzinfo, where: Where = Where("the time", "时间")) -> datetime:
    """An ERP's time as an aware datetime. ISO 8601 with an offset is taken as it is; a time
    without one — ISO (``2026-12-03T15:40``) or the forms Chinese software writes
    (``2026-12-03 15:40:00``, ``2026/12/03 19:00``, ``2026/12/3 9:05:00``, ``2026.12.03``,
    ``2026年12月3日 15:40``) — is wall time in ``zone``; a date alone is its midnight. What
    cannot be read one way only is refused (FileProblem, the reason in English and Chinese):
    the year last (``03/12/2026``: 3 December or 12 March?), a two-digit year, a time with no
    date, a wall time a clock change repeats or skips."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise _time_problem(
            str(value), where, f"is not a time as text: write e.g. {_ISO_EXAMPLE}", "不是文本形式的时间"
        )
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None and (found := _LOCAL_TIME.fullmatch(text)):
        y, m, d = (found["y"], found["m"], found["d"]) if found["y"] else (found["cy"], found["cm"], found["cd"])
        zone_text = found["z"] or ""
        try:
            parsed = datetime(
                int(y),
                int(m),
                int(d),
                int(found["H"] or 0),
                int(found["M"] or 0),
                int(found["S"] or 0),
                int((found["f"] or "0").ljust(6, "0")),
            )
            if zone_text:
                parsed = datetime.fromisoformat(parsed.isoformat() + ("+00:00" if zone_text == "Z" else zone_text))
        except ValueError as exc:
            raise _time_problem(value, where, f"is not a valid date and time ({exc})", "不是有效的日期时间") from None
    if parsed is None:
        if _YEAR_LAST.match(text):
            raise _time_problem(
                value,
                where,
                f"puts the year last, so day and month cannot be told apart: write the year first, e.g. {_ISO_EXAMPLE}",
                "年份在后，无法判断日和月的顺序：请按 年-月-日 书写，如 2026-12-03 15:40:00",
            )
        if _SHORT_YEAR.match(text):
            raise _time_problem(
                value,
                where,
                f"has a two-digit year: write all four digits, e.g. {_ISO_EXAMPLE}",
                "年份只有两位，请写四位年份，如 2026-12-03 15:40:00",
            )
        if _TIME_ONLY.fullmatch(text):
            raise _time_problem(
                value,
                where,
                f"has no date: write e.g. {_ISO_EXAMPLE}",
                "缺少日期，请写完整的日期时间，如 2026-12-03 15:40:00",
            )
        raise _time_problem(
            value,
            where,
            f"is not a time the bridge can read: write e.g. {_ISO_EXAMPLE}",
            "无法识别，请写成 2026-12-03 15:40:00",
        )
    return parsed if parsed.tzinfo is not None else _localise(parsed, zone, value, where)


def _local_times(kind: str, data: dict[str, Any], zone: tzinfo, where: Where) -> dict[str, Any]:
    """``data`` with its time fields (``TIME_FIELDS``) as ISO 8601 with their offset; an empty
    one is left for the bridge to treat as missing."""
    for field in TIME_FIELDS.get(kind, ()):
        value = data.get(field)
        if value is not None and value != "":
            data[field] = read_time(value, zone, where.field(field)).isoformat()
    return data


# --------------------------------------------------------------------------- inbound events

EVENT_FIELDS = ("event_id", "kind", "data")
EVENT_CSV_COLUMNS = (
    "event_id",
    "kind",
    "order_no",
    "status",
    "erp_ref",
    "note",
    "shipment_id",
    "courier",
    "tracking_no",
    "shipped_at",
    "sku",
    "quantity",
    "customer_id",
    "erp_code",
    "order_status",
    "as_of",
)
# Which CSV columns each kind of event may fill (event_id and kind aside).
CSV_EVENT_FIELDS = {
    "order.status": ("order_no", "status", "erp_ref", "note"),
    "order.accepted": ("order_no", "erp_ref"),
    "order.released": ("order_no",),
    "order.shipment": (
        "order_no",
        "shipment_id",
        "courier",
        "tracking_no",
        "shipped_at",
        "order_status",
        "sku",
        "quantity",
    ),
    "stock": ("sku", "quantity", "as_of"),
    "customer.code": ("customer_id", "erp_code"),
}
_SHIPMENT_HEADER = ("order_no", "shipment_id", "courier", "tracking_no", "shipped_at", "order_status")


def _kind_problem(kind: Any, where: Where) -> FileProblem | None:
    if not isinstance(kind, str) or not kind:
        return FileProblem(f"{where.en}: no kind", f"{where.zh}：缺少 kind（事件类型）")
    if kind not in EVENT_KINDS:
        return FileProblem(
            f"{where.en}: unknown kind {kind!r} (known: {', '.join(EVENT_KINDS)})",
            f"{where.zh}：未知的事件类型 {kind!r}（可用的类型：{'、'.join(EVENT_KINDS)}）",
        )
    return None


def _event_id(value: Any, where: Where) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise FileProblem(f"{where.en}: event_id must be a non-empty text", f"{where.zh}：event_id 必须是非空文本")
    value = str(value).strip()
    if len(value) > 120:
        raise FileProblem(f"{where.en}: event_id longer than 120 characters", f"{where.zh}：event_id 超过 120 个字符")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _json_events(text: str, zone: tzinfo) -> list[dict[str, Any]]:
    value = _parse_json(text)
    items = value if isinstance(value, list) else [value]
    if not isinstance(value, (list, dict)):
        raise FileProblem(
            f"the file holds a JSON {type(value).__name__}, not an event object or a list of event objects",
            "文件内容不是事件对象（JSON 对象）或事件对象列表",
        )
    events = []
    for i, item in enumerate(items):
        where = event_at(i + 1) if isinstance(value, list) else THE_EVENT
        if not isinstance(item, dict):
            raise FileProblem(f"{where.en} is a JSON {type(item).__name__}, not an object", f"{where.zh}不是 JSON 对象")
        unknown = sorted(set(item) - set(EVENT_FIELDS))
        if unknown:
            raise FileProblem(
                f"{where.en}: unknown fields {unknown} (an event has only {', '.join(EVENT_FIELDS)})",
                f"{where.zh}：未知字段 {unknown}（事件只有 event_id、kind、data 三个字段）",
            )
        if problem := _kind_problem(item.get("kind"), where):
            raise problem
        if not isinstance(item.get("data"), dict):
            raise FileProblem(f"{where.en}: data must be an object", f"{where.zh}：data 必须是 JSON 对象")
        data = _local_times(item["kind"], dict(item["data"]), zone, where)
        events.append({"event_id": _event_id(item.get("event_id"), where), "kind": item["kind"], "data": data})
    return events


def _number(text: str, where: Where) -> int | float:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise FileProblem(f"{where.en}: quantity {text!r} is not a number", f"{where.zh}：数量 {text!r} 不是数字")
    return int(value) if value == value.to_integral_value() else float(value)


def _csv_events(text: str, zone: tzinfo) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "kind" not in columns:
        raise FileProblem("the CSV file has no kind column", "CSV 文件缺少 kind 列")
    unknown = sorted(set(columns) - set(EVENT_CSV_COLUMNS))
    if unknown or len(set(columns)) != len(columns):
        what = f"unknown columns {unknown}" if unknown else "a column appears twice"
        raise FileProblem(
            f"the CSV file has {what} (columns: {', '.join(EVENT_CSV_COLUMNS)})",
            f"CSV 文件列名不正确：{unknown or '有重复的列'}",
        )
    raw_rows = list(reader)
    # A short row is fine where someone left out empty cells at its end, but a last row that is
    # short and has no line break after it is where a copy or a write stopped: csv would fill the
    # missing cells with None and the event would go in cut short.
    if raw_rows and None in raw_rows[-1].values() and not text.endswith(("\n", "\r")):
        row_no = len(raw_rows) + 1
        raise FileProblem(
            f"row {row_no} has fewer cells than the header: the file looks cut off",
            f"第 {row_no} 行的单元格比表头少，且文件未以换行结束：文件可能不完整（被截断）",
        )
    groups: dict[tuple, list[tuple[int, dict[str, str]]]] = {}
    for row_no, raw_row in enumerate(raw_rows, start=2):
        if None in raw_row:
            raise FileProblem(f"row {row_no} has more cells than the header", f"第 {row_no} 行的单元格比表头多")
        row = {k.strip(): (v or "").strip() for k, v in raw_row.items()}
        if not any(row.values()):
            continue
        where = row_at(row_no)
        if problem := _kind_problem(row.get("kind"), where):
            raise problem
        kind = row["kind"]
        stray = sorted(c for c, v in row.items() if v and c not in ("event_id", "kind", *CSV_EVENT_FIELDS[kind]))
        if stray:
            raise FileProblem(
                f"{where.en}: columns {stray} do not belong to a {kind} event",
                f"第 {row_no} 行：{stray} 列不属于 {kind} 事件",
            )
        event_id = _event_id(row.get("event_id") or None, where)
        if event_id:
            key: tuple = ("id", event_id)
        elif kind == "order.shipment":
            key = ("shipment", row.get("order_no"), row.get("shipment_id"))
        elif kind == "stock":
            key = ("stock",)
        else:
            key = ("row", row_no)
        groups.setdefault(key, []).append((row_no, row))
    return [_csv_event(rows, zone) for rows in groups.values()]


def _csv_event(rows: list[tuple[int, dict[str, str]]], zone: tzinfo) -> dict[str, Any]:
    first_no, first = rows[0]
    kind = first["kind"]
    for row_no, row in rows[1:]:
        if row["kind"] != kind:
            raise FileProblem(
                f"rows {first_no} and {row_no} have the same event_id but different kinds",
                f"第 {first_no} 行与第 {row_no} 行 event_id 相同但事件类型不同",
            )
    if kind not in ("order.shipment", "stock") and len(rows) > 1:
        raise FileProblem(
            f"rows {first_no} and {rows[1][0]} have the same event_id, but a {kind} event is one row",
            f"第 {first_no} 行与第 {rows[1][0]} 行 event_id 相同，但 {kind} 事件只占一行",
        )
    data: dict[str, Any] = {}
    if kind == "stock":
        as_of = {row.get("as_of", "") for _, row in rows} - {""}
        if len(as_of) > 1:
            raise FileProblem(
                f"rows {first_no}–{rows[-1][0]}: one stock event with different as_of values",
                f"第 {first_no}–{rows[-1][0]} 行：同一库存事件的 as_of 不一致",
            )
        if as_of:
            data["as_of"] = as_of.pop()
        items: dict[str, int | float] = {}
        for row_no, row in rows:
            if not row.get("sku") or not row.get("quantity"):
                raise FileProblem(
                    f"row {row_no}: a stock row needs sku and quantity", f"第 {row_no} 行：库存行需要 sku 和 quantity"
                )
            if row["sku"] in items:
                raise FileProblem(
                    f"row {row_no}: sku {row['sku']} appears twice", f"第 {row_no} 行：sku {row['sku']} 重复"
                )
            items[row["sku"]] = _number(row["quantity"], row_at(row_no))
        data["items"] = items
    elif kind == "order.shipment":
        for field in _SHIPMENT_HEADER:
            values = {row.get(field, "") for _, row in rows} - {""}
            if len(values) > 1:
                raise FileProblem(
                    f"rows {first_no}–{rows[-1][0]}: one shipment with different {field} values {sorted(values)}",
                    f"第 {first_no}–{rows[-1][0]} 行：同一发货单的 {field} 不一致",
                )
            if values:
                data[field] = values.pop()
        lines = []
        for row_no, row in rows:
            if row.get("sku") or row.get("quantity"):
                if not (row.get("sku") and row.get("quantity")):
                    raise FileProblem(
                        f"row {row_no}: a shipment line needs sku and quantity",
                        f"第 {row_no} 行：发货明细需要 sku 和 quantity",
                    )
                lines.append({"sku": row["sku"], "quantity": _number(row["quantity"], row_at(row_no))})
        data["lines"] = lines
    else:
        for field in CSV_EVENT_FIELDS[kind]:
            if first.get(field):
                data[field] = first[field]
        if "customer_id" in data:
            try:
                data["customer_id"] = int(data["customer_id"])
            except ValueError:
                raise FileProblem(
                    f"row {first_no}: customer_id {data['customer_id']!r} is not a whole number",
                    f"第 {first_no} 行：customer_id 必须是整数",
                ) from None
    data = _local_times(kind, data, zone, row_at(first_no))
    return {"event_id": _event_id(first.get("event_id") or None, row_at(first_no)), "kind": kind, "data": data}


def decode_events(raw: bytes, fmt: str, encoding: str, zone: tzinfo | None = None) -> list[dict[str, Any]]:
    """The events of one inbound file: dicts with event_id (None when the file gives none),
    kind and data, its times (``TIME_FIELDS``) as ISO 8601 with their offset, a time without
    one read in ``zone`` (the bridge's ``[bridge] timezone``; its default when None). Raises
    FileProblem when the file breaks any rule: it is then read as a whole or not at all."""
    if len(raw) > MAX_INBOUND_BYTES:
        raise too_large(len(raw), MAX_INBOUND_BYTES)
    if not raw.strip():
        raise FileProblem("the file is empty", "文件为空")
    text = decode_text(raw, encoding)
    try:
        zone = zone or default_zone()
        events = _json_events(text, zone) if fmt == "json" else _csv_events(text, zone)
    except csv.Error as exc:
        raise _csv_problem(exc) from None
    seen: set[str] = set()
    for event in events:
        if event["event_id"] is not None:
            if event["event_id"] in seen:
                raise FileProblem(
                    f"event_id {event['event_id']!r} appears twice in the file",
                    f"event_id {event['event_id']!r} 在文件中重复",
                )
            seen.add(event["event_id"])
    return events


def encode_events(events: list[dict[str, Any]], fmt: str, encoding: str) -> bytes:
    """The bytes of an inbound file holding ``events`` (dicts of event_id, kind, data): what
    the ERP writes (the simulator uses it)."""
    if fmt == "json":
        body: Any = events[0] if len(events) == 1 else events
        return _encode_text(json.dumps(_plain(body, ""), ensure_ascii=False, indent=2) + "\n", encoding)
    rows = []
    for event in events:
        base = {"event_id": event.get("event_id") or "", "kind": event["kind"]}
        data = event["data"]
        if event["kind"] == "stock":
            rows += [
                {**base, "sku": sku, "quantity": q, "as_of": data.get("as_of")} for sku, q in data["items"].items()
            ]
        elif event["kind"] == "order.shipment":
            header = {f: data.get(f) for f in _SHIPMENT_HEADER}
            rows += [{**base, **header, "sku": line["sku"], "quantity": line["quantity"]} for line in data["lines"]]
        else:
            rows.append({**base, **{f: data.get(f) for f in CSV_EVENT_FIELDS[event["kind"]]}})
    return _csv_bytes(EVENT_CSV_COLUMNS, [[_cell(r.get(c)) for c in EVENT_CSV_COLUMNS] for r in rows], encoding)


# --------------------------------------------------------------------------- stock snapshot


def decode_stock(raw: bytes, fmt: str, encoding: str) -> tuple[str | None, dict[str, Decimal]]:
    """(as_of, {sku: quantity}) of the ERP's stock snapshot. JSON:
    ``{"as_of": "...", "items": {"SKU": 12}}``; CSV: columns sku, quantity. Raises FileProblem."""
    if len(raw) > MAX_STOCK_BYTES:
        raise too_large(len(raw), MAX_STOCK_BYTES)
    text = decode_text(raw, encoding)
    items: dict[str, Decimal] = {}

    def put(sku: Any, qty: Any, where: Where) -> None:
        if isinstance(qty, bool) or not isinstance(qty, (int, float, str)):
            raise FileProblem(f"{where.en}: quantity {qty!r} is not a number", f"{where.zh}：数量不是数字")
        try:
            value = Decimal(str(qty).strip())
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise FileProblem(f"{where.en}: quantity {qty!r} is not a number", f"{where.zh}：数量不是数字")
        items[str(sku).strip()] = value

    if fmt == "json":
        value = _parse_json(text)
        if not isinstance(value, dict) or not isinstance(value.get("items"), dict):
            raise FileProblem('expected {"as_of": "...", "items": {"SKU": quantity, ...}}', "库存文件格式不正确")
        for sku, qty in value["items"].items():
            put(sku, qty, Where(f"item {sku}", f"商品 {sku}"))
        as_of = value.get("as_of")
        return (str(as_of) if as_of else None), items
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not {"sku", "quantity"} <= {c.strip() for c in reader.fieldnames or []}:
            raise FileProblem("the stock CSV needs the columns sku and quantity", "库存 CSV 需要 sku 和 quantity 两列")
        for row_no, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            if row.get("sku"):
                put(row["sku"], row.get("quantity", ""), row_at(row_no))
    except csv.Error as exc:
        raise _csv_problem(exc) from None
    return None, items


def encode_stock(items: dict[str, Any], as_of: str, fmt: str, encoding: str) -> bytes:
    """The bytes of a stock snapshot (what the ERP writes; the simulator uses it)."""
    plain = {sku: _plain(q, sku) for sku, q in items.items()}
    if fmt == "json":
        text = json.dumps({"as_of": as_of, "items": plain}, ensure_ascii=False, indent=2) + "\n"
        return _encode_text(text, encoding)
    return _csv_bytes(("sku", "quantity"), [[sku, _cell(q)] for sku, q in plain.items()], encoding)
