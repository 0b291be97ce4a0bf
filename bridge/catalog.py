"""The product catalog as a spreadsheet: export to, and import from, CSV or XLSX (C1, A3, A4).

``COLUMNS`` is the one description of the sheet: for every column the ``Product`` field it
holds, its Chinese header, how a cell is read (parser) and how a value is written (formatter).
Export, import, header matching and error messages all go through it.

Import is all-or-nothing. Every row is read and checked first; if any row is bad nothing is
written and the report lists every bad row as (row number as the user sees it in the sheet,
column header, value, reason in Chinese and English). Only a clean file is applied, as an
upsert by 编码 (sku) in the caller's transaction, with one ``products.import`` audit row.

What a cell means on import:

- a column missing from the file leaves that field alone (a new product gets the default), so a
  sheet with just 编码, 名称 and 单价 updates prices;
- an empty cell clears an optional field (形状, 标记, 说明 …); in a field that can't be empty (类型,
  单位, 单价, 上架) it means "not given", like a missing column — clearing it is not possible;
- a row whose cells are all empty is skipped.

Decimals never pass through binary floats in CSV: they are written and read as text. XLSX
stores numbers as doubles, which hold any decimal of up to 15 significant digits exactly; every
decimal column here has at most 14 (``ExactDecimal(14, 2)``), and cells are read back through
a 15-digit conversion, so numeric cells round-trip exactly and stay usable in Excel formulas.

Formula-like text stays text (OWASP "CSV injection", the rule is ``bridge.text``'s): a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula by
Excel or WPS. In CSV such a cell gets an apostrophe in front (``'=1+1``; plain numbers such as
``-5`` are left alone) and every cell is quoted, so a ";" inside one can't start a new cell in a
locale that separates with ";". Import takes exactly that apostrophe away again
(``restore_cell``), so an exported CSV imported back gives the original text; in a CSV made by
hand, write ``''=1+1`` for a text that really starts with ``'=``. In XLSX the cell is a text
cell marked with Excel's quote prefix (what typing ``'=1+1`` in Excel gives): it shows the exact
text, no apostrophe is added, and it is read back as it is.

Control characters (``bridge.text.CONTROL``) are refused in every imported cell. On export they
are removed from the cell (XLSX can't hold them, and import would refuse them) and a warning
names the products concerned, so their stored text can be corrected.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, insert, select

from bridge.actors import Actor, audit
from bridge.errors import Conflict, Forbidden, InvalidInput
from bridge.labels import PRODUCT_KIND_LABELS
from bridge.logs import get_logger
from bridge.models import ActorKind, Product, ProductKind
from bridge.text import (
    CONTROL,
    describe,
    has_control,
    is_formula_like,
    neutralise_cell,
    restore_cell,
    strip_control,
)
from bridge.types import utcnow

FORMATS = ("csv", "xlsx")
ENCODINGS = ("auto", "utf-8", "gb18030")

Progress = Callable[[int, int], None]

log = get_logger("bridge.catalog")


class CellError(Exception):
    """A cell that can't be used; the reason in Chinese (for the sheet's author) and English."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh = zh
        self.en = en


def cell_rule(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """A cell parser from a service's input rule (one raising ``InvalidInput``): the same
    refusals in a sheet as anywhere else, as a ``CellError``."""

    def parse(text: str) -> Any:
        try:
            return check(text)
        except InvalidInput as exc:
            raise CellError(exc.message, exc.detail) from None

    return parse


# --------------------------------------------------------------------------- the column table


def _model_column(key: str):
    return Product.__table__.c[key]


def _text(key: str, *, multiline: bool = False) -> Callable[[str], str]:
    """A text cell, at most the model column's length (one source for the limit)."""
    limit = _model_column(key).type.length

    def parse(text: str) -> str:
        if len(text) > limit:
            raise CellError(
                f"长度 {len(text)} 超过上限 {limit} 个字符", f"{len(text)} characters, at most {limit} allowed"
            )
        # Codes, names and markings are single-line: a stray line break would break search,
        # labels and the ERP's fixed-width fields.
        if not multiline and any(ch in text for ch in "\r\n\t"):
            raise CellError("不能包含换行或制表符", "must not contain line breaks or tabs")
        return text

    return parse


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # 1,234.50 as Excel writes it


def _decimal(key: str, *, positive: bool) -> Callable[[str], Decimal]:
    """A decimal cell within the model column's precision and scale (exponents refused)."""
    column_type = _model_column(key).type
    scale = column_type.scale
    int_digits = column_type.precision - scale
    step = Decimal(1).scaleb(-scale)

    def parse(text: str) -> Decimal:
        if _GROUPED.fullmatch(text):
            text = text.replace(",", "")
        if not _NUMBER.fullmatch(text):
            raise CellError("不是数字", "not a number")
        value = Decimal(text) + 0  # + 0 turns "-0" into 0, which would otherwise export as -0.00
        if positive and value <= 0:
            raise CellError("必须大于 0", "must be greater than 0")
        if value < 0:
            raise CellError("不能为负数", "must not be negative")
        if value >= Decimal(10) ** int_digits:
            raise CellError(
                f"数值过大（整数部分最多 {int_digits} 位）", f"too large (at most {int_digits} digits before the point)"
            )
        if value != value.quantize(step):
            raise CellError(f"最多 {scale} 位小数", f"at most {scale} decimal places")
        return value.quantize(step)

    return parse


def _format_plain(value: Decimal | None) -> str:
    """400.00 → "400", 22.23 → "22.23", 35.0 → "35": how people write sizes and speeds."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _format_money(value: Decimal | None) -> str:
    """Money keeps its two places: 12.50."""
    return "" if value is None else format(value.quantize(Decimal("0.01")), "f")


# A kind is written by its label (标准品) or its code (standard).
_KINDS = {label: kind for kind, label in PRODUCT_KIND_LABELS.items()} | {kind.value: kind for kind in ProductKind}


def _parse_kind(text: str) -> ProductKind:
    try:
        return _KINDS[text.lower()]
    except KeyError:
        raise CellError("应为 标准品 或 定制品", "must be 标准品 or 定制品 (standard or custom)") from None


_BOOLS = {"是": True, "否": False, "yes": True, "no": False, "1": True, "0": False, "true": True, "false": False}


def _parse_bool(text: str) -> bool:
    try:
        return _BOOLS[text.lower()]
    except KeyError:
        raise CellError("应为 是 或 否", "must be 是 or 否 (yes/no, 1/0, true/false)") from None


@dataclass(frozen=True)
class Column:
    """One column of the catalog sheet."""

    key: str
    """The ``Product`` field, also accepted as the header on import."""
    header: str
    """The Chinese header written on export."""
    parse: Callable[[str], Any]
    """Cell text (stripped, non-empty) → field value; raises ``CellError``."""
    format: Callable[[Any], str]
    """Field value → cell text; ``parse(format(v)) == v``."""
    required: bool = False
    numeric: bool = False
    """Written as a number in XLSX (see the module docstring on exactness)."""
    number_format: str = "@"
    """Excel display format; "@" (text) keeps codes like 0012 from losing their zeros."""
    width: int = 12
    model: Any = None
    """The table the field is a column of (default ``Product``): other sheets read with this
    module's reader (``bridge.customer_import``) name theirs."""
    also: tuple[str, ...] = ()
    """More header spellings that mean this column."""

    @property
    def nullable(self) -> bool:
        return bool((self.model or Product).__table__.c[self.key].nullable)

    def aliases(self) -> set[str]:
        """Header spellings that mean this column: the header with or without its hint in
        brackets ("类型 (标准品/定制品)" or "类型"), the English key, or one of ``also``."""
        bare = re.sub(r"[(（].*?[)）]", "", self.header)
        return {_normalise_header(h) for h in (self.header, bare, self.key, *self.also)}


def _normalise_header(text: str) -> str:
    # NFKC folds full-width brackets and letters typed with a Chinese IME (（）ＭＭ → ()mm).
    return re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", text)).lower()


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _dec(key: str, header: str, *, positive: bool, money: bool = False, width: int = 10) -> Column:
    return Column(
        key,
        header,
        _decimal(key, positive=positive),
        _format_money if money else _format_plain,
        numeric=True,
        number_format="0.00" if money else "General",
        width=width,
    )


COLUMNS: tuple[Column, ...] = (
    Column("sku", "编码", _text("sku"), _str, required=True, width=22),
    Column("name", "名称", _text("name"), _str, required=True, width=28),
    Column("kind", "类型 (标准品/定制品)", _parse_kind, lambda v: PRODUCT_KIND_LABELS[ProductKind(v)], width=10),
    Column("erp_item_code", "ERP物料编码", _text("erp_item_code"), _str, width=16),
    Column("unit", "单位", _text("unit"), _str, width=6),
    _dec("price", "单价", positive=False, money=True),
    Column("shape", "形状", _text("shape"), _str, width=14),
    _dec("outer_diameter_mm", "外径mm", positive=True),
    _dec("thickness_mm", "厚度mm", positive=True),
    _dec("bore_mm", "孔径mm", positive=True),
    Column("abrasive", "磨料", _text("abrasive"), _str, width=8),
    Column("grit", "粒度", _text("grit"), _str, width=8),
    Column("hardness", "硬度", _text("hardness"), _str, width=6),
    Column("bond", "结合剂", _text("bond"), _str, width=8),
    _dec("max_speed_ms", "最高线速度m/s", positive=True, width=14),
    Column("marking", "标记", _text("marking"), _str, width=34),
    Column("description", "说明", _text("description", multiline=True), _str, width=40),
    Column("active", "上架 (是/否)", _parse_bool, lambda v: "是" if v else "否", width=10),
)


def header_index(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Every header spelling of ``columns`` → its column; a spelling meaning two is a bug."""
    index: dict[str, Column] = {}
    for column in columns:
        for alias in column.aliases():
            if index.setdefault(alias, column) is not column:
                raise RuntimeError(f"sheet header {alias!r} would mean two columns")
    return index


header_index(COLUMNS)  # at import: a clash among the catalog's headers fails at once


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class RowError:
    """One bad cell (or bad header) of an import file."""

    row: int
    """Row number as the spreadsheet shows it (the header is usually row 1)."""
    column: str
    """The column's header as written in the file, or its letter when it has none."""
    value: str
    reason_zh: str
    reason_en: str

    @property
    def reason(self) -> str:
        return f"{self.reason_zh} / {self.reason_en}"


class RowErrors:
    """What every sheet import's report says of its ``errors``: none (``ok``), and which rows."""

    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


@dataclass
class ImportReport(RowErrors):
    """What an import found and did. When ``errors`` is not empty nothing was written."""

    file: str
    format: str
    encoding: str | None = None
    """The text encoding a CSV file was read with (None for XLSX)."""
    rows: int = 0
    """Non-empty data rows in the file."""
    skipped_empty: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: dict[str, list[str]] = field(default_factory=dict)
    """For each updated sku, the fields that changed (also filled on a dry run)."""
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        """One English line for the CLI and the logs."""
        if not self.ok:
            return f"{self.file}: {len(self.bad_rows)} row(s) with errors; nothing imported"
        counts = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.dry_run:
            return f"{self.file}: {self.rows} row(s) checked; dry run, would be {counts}; nothing written"
        return f"{self.file}: {self.rows} row(s): {counts}"


# --------------------------------------------------------------------------- export


def export_products(session: Session, path: str | Path, fmt: str | None = None) -> int:
    """Write every product (active or not, both kinds) to ``path``; return how many.

    ``fmt`` is "csv" or "xlsx", by default taken from the file suffix. CSV is UTF-8 with a BOM,
    which Excel on Chinese Windows needs to show the text right. The file appears complete or
    not at all (written beside it, then renamed). Formula-like text is neutralised and control
    characters are removed, with a logged warning naming the products (see the module
    docstring)."""
    path = Path(path)
    fmt = format_of(path, fmt)
    # Sorted here, not in SQL: PostgreSQL's locale collation and SQLite's byte order disagree
    # on codes with punctuation, and the same catalog should give the same file everywhere.
    products = sorted(session.exec(select(Product)).all(), key=lambda p: p.sku)
    rows = [[getattr(p, c.key) for c in COLUMNS] for p in products]
    unclean = {
        p.sku: [c.header for c, v in zip(COLUMNS, row) if isinstance(v, str) and has_control(v)]
        for p, row in zip(products, rows)
    }
    unclean = {sku: headers for sku, headers in unclean.items() if headers}
    temp = path.with_name(f".{path.name}.part")
    try:
        if fmt == "csv":
            _write_csv(temp, rows)
        else:
            _write_xlsx(temp, rows)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InvalidInput(
            f"无法写入文件 {path}：{exc.strerror}（文件是否在 Excel 中打开？）",
            f"cannot write {path}: {exc.strerror or exc} (is it open in Excel?)",
        ) from exc
    if unclean:
        log.warning(
            f"{path.name}: control characters removed from {len(unclean)} product(s); "
            "correct them in the catalog (importing this file back does it)",
            file=str(path),
            products={_visible(sku): headers for sku, headers in unclean.items()},
        )
    return len(products)


def _export_text(column: Column, value: Any) -> str:
    """A value as the text of its cell, without the control characters no sheet may hold."""
    return strip_control(column.format(value))


def _visible(text: str) -> str:
    """Text for a message or a log line, each control character shown as <U+001B>: a raw
    escape character would act on the terminal that shows it."""
    return CONTROL.sub(lambda m: f"<{describe(m.group())}>", text)


def _write_csv(path: Path, rows: list[list[Any]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow([c.header for c in COLUMNS])
        for row in rows:
            writer.writerow(
                [neutralise_cell(_export_text(c, v)) if v is not None else "" for c, v in zip(COLUMNS, row)]
            )


def _write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "产品目录"
    ws.append([c.header for c in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for i, (column, value) in enumerate(zip(COLUMNS, row), start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=i)
            if column.numeric:
                cell.value = float(value)  # exact: ≤ 14 significant digits, see module docstring
            else:
                cell.value = text = _export_text(column, value)
                # openpyxl turns any text starting with "=" into a formula; a name or marking
                # must stay the text it is. The quote prefix keeps it text when someone edits
                # the cell in Excel or WPS, and is not part of the value read back.
                cell.data_type = "s"
                cell.quotePrefix = is_formula_like(text)
            cell.number_format = column.number_format
    for i, column in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = column.width
    ws.freeze_panes = "A2"
    wb.save(path)


# --------------------------------------------------------------------------- who, and files over HTTP


def may_exchange_catalog(actor: Actor) -> None:
    """Only admins import or export the whole catalog: a sheet holds every customer's custom
    products (a salesperson sees their own, S3) and an import changes standard products, which
    are the admins' (``products.may_change``). Forbidden for anyone else."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以导入或导出商品目录", f"{actor} may not import or export the catalog")


def export_catalog(session: Session, actor: Actor, fmt: str) -> bytes:
    """The whole catalog as the bytes of a ``fmt`` ("csv" or "xlsx") file, for a download:
    exactly what ``export_products`` writes. Admins only."""
    may_exchange_catalog(actor)
    fmt = format_of(Path(f"catalog.{fmt}"), fmt)
    with tempfile.TemporaryDirectory(prefix="jht-export-") as folder:
        path = Path(folder) / f"catalog.{fmt}"
        export_products(session, path, fmt)
        return path.read_bytes()


MAX_UPLOAD_NAME = 100


def upload_name(filename: str | None) -> str:
    """An uploaded file's name as the report and the audit log show it: the last part of the path
    the browser sent, without control characters, at most ``MAX_UPLOAD_NAME`` characters (the
    suffix kept: it tells the format)."""
    name = strip_control(re.split(r"[\\/]", filename or "")[-1]).strip().lstrip(".")
    if len(name) > MAX_UPLOAD_NAME:
        stem, dot, suffix = name.rpartition(".")
        keep = MAX_UPLOAD_NAME - len(suffix) - 1
        name = f"{stem[:keep]}.{suffix}" if dot and 0 < len(suffix) <= 8 else name[:MAX_UPLOAD_NAME]
    return name or "upload"


def import_upload(
    session: Session,
    actor: Actor,
    filename: str | None,
    content: bytes,
    fmt: str | None = None,
    dry_run: bool = False,
    *,
    encoding: str | None = None,
) -> ImportReport:
    """``import_products`` for a file uploaded through the admin pages: the same checks, the same
    all-or-nothing, the report under the uploaded file's name (``upload_name``)."""
    may_exchange_catalog(actor)
    with tempfile.TemporaryDirectory(prefix="jht-import-") as folder:
        path = Path(folder) / upload_name(filename)
        path.write_bytes(content)
        return import_products(session, actor, path, fmt, dry_run, encoding=encoding)


# --------------------------------------------------------------------------- import


@dataclass
class _Row:
    number: int
    values: dict[str, Any]


def import_products(
    session: Session,
    actor: Actor,
    path: str | Path,
    fmt: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    *,
    encoding: str | None = None,
) -> ImportReport:
    """Import a catalog sheet: all rows or none (see the module docstring for cell rules).

    ``fmt`` is "csv" or "xlsx" (default: from the suffix); ``encoding`` applies to CSV: None or
    "auto" tries UTF-8 (with or without BOM) then GB18030, the default of Chinese Excel.
    ``progress(rows_done, rows_total)`` is called while rows are read and checked, which is
    most of the time (saving is a few bulk statements); ``rows_total`` is 0 while unknown.

    Returns the report; when it has errors nothing was written. A dry run checks everything and
    counts what would change, writing nothing. A file that can't be read at all (wrong format,
    corrupt, unknown encoding) raises ``InvalidInput``; an actor who is not an admin
    ``Forbidden`` (``may_exchange_catalog``)."""
    may_exchange_catalog(actor)
    path = Path(path)
    fmt = format_of(path, fmt)
    with open_sheet(path, fmt, encoding) as sheet:
        report = ImportReport(file=path.name, format=fmt, encoding=sheet.encoding, dry_run=dry_run)
        columns = read_header(sheet, report.errors)
        if report.errors:
            return report
        parsed = _check_rows(sheet, columns, report, progress)
    if report.errors:
        return report

    existing = _existing_products(session, [r.values["sku"] for r in parsed])
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    for row in parsed:
        product = existing.get(row.values["sku"])
        if product is None:
            report.created += 1
            new_rows.append(_new_product_row(row.values, now))
            continue
        changed = [k for k, v in row.values.items() if getattr(product, k) != v]
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        report.changes[product.sku] = changed
        if not dry_run:
            for key in changed:
                setattr(product, key, row.values[key])
            product.updated_at = now
    if dry_run:
        return report
    try:
        # Bulk INSERT statements: building thousands of ORM objects would take most of the time.
        for start in range(0, len(new_rows), 1000):
            session.exec(insert(Product), params=new_rows[start : start + 1000])
        session.flush()
    except IntegrityError as exc:
        # Someone else added one of these codes since we looked (a concurrent import).
        raise Conflict(
            "导入时产品编码冲突（可能有人同时在导入），请重试",
            f"import of {path.name}: a product code was added concurrently; run the import again",
        ) from exc
    audit(
        session,
        actor,
        "products.import",
        "catalog",
        path.name[:64],
        {
            "file": path.name,
            "format": fmt,
            "encoding": report.encoding,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        },
    )
    return report


def _new_product_row(values: dict[str, Any], now) -> dict[str, Any]:
    """Every column of a new product: the sheet's values, the model's defaults for the rest."""
    row = {}
    for name, info in Product.model_fields.items():
        if name != "id":
            row[name] = values[name] if name in values else info.get_default(call_default_factory=True)
    row["created_at"] = row["updated_at"] = now
    return row


def _existing_products(session: Session, skus: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for start in range(0, len(skus), 500):  # keeps IN (...) well under every driver's limit
        chunk = skus[start : start + 500]
        for product in session.exec(select(Product).where(Product.sku.in_(chunk))):
            found[product.sku] = product
    return found


def format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise InvalidInput(f"不支持的格式 {fmt}，请用 csv 或 xlsx", f"unknown format {fmt!r}: use csv or xlsx")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx"):
        return suffix[1:]
    if suffix == ".xls":
        raise InvalidInput(
            f"{path.name} 是旧版 Excel 格式 (.xls)，请在 Excel 中另存为 .xlsx 或 CSV",
            f"{path.name}: the old Excel format (.xls) is not supported; save it as .xlsx or CSV",
        )
    raise InvalidInput(
        f"无法从文件名 {path.name} 判断格式，请指定 csv 或 xlsx",
        f"cannot tell the format of {path.name} from its name: name the format (csv or xlsx, e.g. --format xlsx)",
    )


# --------------------------------------------------------------------------- reading sheets


@dataclass
class _Sheet:
    """The rows of a file being read: (row number as the sheet shows it, cell texts)."""

    rows: Iterator[tuple[int, list[str]]]
    total: int | None
    """How many rows the file says it has (header included), when it says."""
    encoding: str | None
    header_row: int = 0


def _unreadable(path: Path, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"无法读取 {path.name}：{zh}", f"cannot read {path}: {en}")


_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls, and what Excel saves when told "xls"


@contextmanager
def open_sheet(path: Path, fmt: str, encoding: str | None) -> Iterator[_Sheet]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc), exc.strerror or str(exc)) from exc
    if raw.startswith(_OLE2_MAGIC):
        raise _unreadable(
            path, "这是旧版 Excel 格式 (.xls)，请另存为 .xlsx", "old Excel format (.xls): save it as .xlsx"
        )
    if fmt == "xlsx":
        with _open_xlsx(path, raw) as sheet:
            yield sheet
        return
    if raw.startswith(_ZIP_MAGIC):
        raise _unreadable(
            path, "这是 XLSX 文件而不是 CSV，请用 xlsx 格式", "this is an XLSX file, not CSV: use the xlsx format"
        )
    text, used = _decode(path, raw, encoding)
    if "\x00" in text:
        raise _unreadable(path, "不是文本文件", "not a text file (contains NUL bytes)")
    rows = _read_csv(path, text)
    yield _Sheet(iter(rows), len(rows), used)


def _decode(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated.
        candidates = ["utf-16"]
    elif encoding in (None, "", "auto"):
        # Chinese text in GB18030 is almost never valid UTF-8, so UTF-8 goes first; an
        # ASCII-only file is the same in both.
        candidates = ["utf-8", "gb18030"]
    else:
        candidates = [encoding]
    failures = []
    for name in candidates:
        codec = "utf-8-sig" if name.replace("-", "").replace("_", "").lower() == "utf8" else name
        try:
            return raw.decode(codec), name
        except LookupError:
            raise InvalidInput(f"未知的编码 {name}", f"unknown encoding {name!r}") from None
        except UnicodeDecodeError as exc:
            failures.append(f"not {name} (byte {exc.start})")
    raise _unreadable(
        path,
        "无法识别文本编码（试过 " + "、".join(candidates) + "）",
        "unknown text encoding: " + ", ".join(failures),
    )


def _read_csv(path: Path, text: str) -> list[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    # Excel writes ";" in some locales and tabs for "Unicode text"; headers never contain them.
    delimiter = max([",", "\t", ";"], key=first_line.count)
    rows = []
    try:
        # Numbered by record, not by line: a cell with a line break is still one sheet row.
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            # restore_cell after strip: the apostrophe export put in front protects a leading tab.
            rows.append((number, [restore_cell(c.strip()) for c in cells]))
    except csv.Error as exc:
        row = len(rows) + 1
        raise _unreadable(path, f"第 {row} 行 CSV 格式错误：{exc}", f"bad CSV at row {row}: {exc}") from exc
    return rows


@contextmanager
def _open_xlsx(path: Path, raw: bytes) -> Iterator[_Sheet]:
    from openpyxl import load_workbook

    try:
        # data_only: a formula cell gives the value Excel last computed, not the formula.
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike for a bad file
        raise _unreadable(
            path, "不是有效的 XLSX 文件或文件已损坏", f"not a valid XLSX file ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        if not wb.worksheets:
            raise _unreadable(path, "工作簿中没有工作表", "the workbook has no worksheet")
        ws = wb.worksheets[0]  # the first sheet, whichever one was open when it was saved
        total = ws.max_row  # from the file's declared dimension: a progress estimate only
        # Files from WPS and other tools often carry a wrong or no dimension; reading without
        # it costs nothing and never drops columns.
        ws.reset_dimensions()
        rows = ((n, [_cell_text(v) for v in row]) for n, row in enumerate(ws.iter_rows(values_only=True), start=1))
        yield _Sheet(_corrupt_as_unreadable(path, rows), total, None)
    finally:
        wb.close()


def _corrupt_as_unreadable(path: Path, rows: Iterator) -> Iterator:
    # Rows are parsed lazily, so damage inside the sheet shows up while iterating.
    try:
        yield from rows
    except Exception as exc:
        raise _unreadable(path, "文件已损坏", f"corrupt XLSX file ({type(exc).__name__}: {exc})") from exc


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # 15 significant digits, as Excel shows them: 12.35 stays 12.35, and 0.1+0.2 is 0.3.
        return format(Decimal(format(value, ".15g")), "f")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value).strip()


# --------------------------------------------------------------------------- checking rows


def read_header(
    sheet: _Sheet, errors: list[RowError], table: tuple[Column, ...] = COLUMNS
) -> dict[int, tuple[str, Column]]:
    """Take the header row (the first non-empty one) and map cell positions to the columns of
    ``table``; what is wrong with it goes to ``errors``."""
    by_header = header_index(table)
    for number, cells in sheet.rows:
        if any(cells):
            break
    else:
        errors.append(RowError(1, "", "", "文件是空的", "the file is empty"))
        return {}
    sheet.header_row = number
    columns: dict[int, tuple[str, Column]] = {}
    seen: dict[str, str] = {}
    for index, header in enumerate(cells):
        if not header:
            continue
        column = by_header.get(_normalise_header(header))
        if column is None:
            known = "、".join(c.header for c in table)
            errors.append(RowError(number, header, header, f"未知的列名（可用：{known}）", "unknown column header"))
        elif column.key in seen:
            errors.append(
                RowError(
                    number, header, header, f"与列 {seen[column.key]} 重复", f"same column as {seen[column.key]!r}"
                )
            )
        else:
            seen[column.key] = header
            columns[index] = (header, column)
    for column in table:
        if column.required and column.key not in seen:
            errors.append(
                RowError(
                    number,
                    column.header,
                    "",
                    f"缺少必需的列 {column.header}",
                    f"required column {column.key} is missing",
                )
            )
    return columns


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _check_rows(
    sheet: _Sheet,
    columns: dict[int, tuple[str, Column]],
    report: ImportReport,
    progress: Progress | None,
) -> list[_Row]:
    """Parse every data row, collecting every error; return the parsed rows."""
    parsed: list[_Row] = []
    first_seen: dict[str, int] = {}
    sku_header = next(h for h, c in columns.values() if c.key == "sku")
    total = max((sheet.total or 0) - sheet.header_row, 0)
    step = max(1, total // 200) if total else 100  # ~200 progress updates whatever the size
    done = 0
    for number, cells in sheet.rows:
        done = number - sheet.header_row
        if progress and done % step == 0:
            progress(done, max(total, done) if total else 0)
        if not any(cells):
            report.skipped_empty += 1
            continue
        report.rows += 1
        parsed.append(_Row(number, check_row(number, cells, columns, report.errors)))
        sku = parsed[-1].values.get("sku")
        if sku is None:
            continue
        if sku in first_seen:
            report.errors.append(
                RowError(
                    number, sku_header, sku, f"编码与第 {first_seen[sku]} 行重复", f"same code as row {first_seen[sku]}"
                )
            )
        else:
            first_seen[sku] = number
    if progress:
        progress(done, done)
    return parsed


def check_row(
    number: int, cells: list[str], columns: dict[int, tuple[str, Column]], errors: list[RowError]
) -> dict[str, Any]:
    """One row's values by field (``columns`` from ``read_header``); its bad cells go to ``errors``."""
    values: dict[str, Any] = {}
    for index, text in enumerate(cells):
        if text and index not in columns:
            errors.append(
                RowError(
                    number,
                    f"({_column_letter(index)})",
                    _visible(text),
                    "该列没有表头",
                    "value in a column without a header",
                )
            )
    for index, (header, column) in columns.items():
        text = cells[index] if index < len(cells) else ""
        if not text:
            if column.required:
                errors.append(RowError(number, header, "", "不能为空", "must not be empty"))
            elif column.nullable:
                values[column.key] = None
            continue  # a field that can't be empty, left empty: "not given"
        try:
            values[column.key] = column.parse(_no_control(text))
        except CellError as exc:
            errors.append(RowError(number, header, _visible(text), exc.zh, exc.en))
    return values


def _no_control(text: str) -> str:
    found = CONTROL.search(text)
    if found is None:
        return text
    char = describe(found.group())
    raise CellError(
        f"含有不允许的控制字符 {char}（第 {found.start() + 1} 个字符），请删除后重试",
        f"contains the control character {char} at position {found.start() + 1}; remove it",
    )
