"""Packaging QR codes in bulk and on paper (A4): a sheet of codes imported all rows or none, and
a printable label sheet (PDF) for chosen product specs.

**Import.** The sheet (CSV or XLSX, read with ``bridge.catalog``'s sheet reader: encodings,
header matching, cell rules) has the columns 编码 (the product's sku, required), 二维码内容 (the
code's text; empty: the shop's own code for that sku, ``products.shop_qr_payload``) and 标记
(what to prefill when the code is scanned, if not the product's own marking). Every row goes
through ``products.add_qr`` — the same rules as a code typed in by hand: who may change which
product, the length, a code already tied to another product — inside one savepoint; when any
row is bad the savepoint is rolled back, nothing is imported and every bad row is reported (row
number, column, value, the reason in Chinese). A code already tied to the same product is
counted unchanged. One ``products.qr_import`` audit row per import, and each new code its own.

**Labels.** ``label_sheet`` lays out one label per QR code and copy on A4 pages, ``columns`` ×
``rows`` labels a page (3 × 8 by default), each with the code drawn as vector squares (sharp at
any printer resolution), the product's name, spec (``orders.spec_text``), marking and code, in
an embedded subset of a Chinese font (WenQuanYi Zen Hei, Debian's fonts-wqy-zenhei; see
``FONTS``). A chosen product without any code gets the shop's own code first (``add_qr``), so
the printed label scans to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlmodel import Session, func, select

from bridge.actors import Actor, audit
from bridge.catalog import COLUMNS as CATALOG_COLUMNS
from bridge.catalog import Column, RowError, RowErrors, cell_rule, check_row, format_of, open_sheet, read_header
from bridge.errors import DomainError, InvalidInput, NotFound
from bridge.db import Page
from bridge.models import Product, ProductKind, ProductQR
from bridge.orders import spec_text
from bridge.products import MAX_QR_PAYLOAD, add_qr, qr_codes, shop_qr_payload, staff_catalog
from bridge.scope import product_for, products_of
from bridge.text import required_text

_CATALOG = {c.key: c for c in CATALOG_COLUMNS}


def _payload(text: str) -> str:
    return required_text(text, "payload", "二维码内容", MAX_QR_PAYLOAD, multiline=False)


COLUMNS: tuple[Column, ...] = (
    replace(_CATALOG["sku"], also=("商品编码",)),
    Column("payload", "二维码内容", cell_rule(_payload), str, model=ProductQR, also=("二维码", "qr")),
    replace(_CATALOG["marking"], also=("规格标记",)),
)
"""The import sheet's columns; a header may also be the English field name (sku, payload, marking)."""


# --------------------------------------------------------------------------- import


@dataclass
class QRImportReport(RowErrors):
    """What an import found and did. When ``errors`` is not empty nothing was written."""

    file: str
    format: str
    encoding: str | None = None
    rows: int = 0
    """Non-empty data rows in the file."""
    skipped_empty: int = 0
    added: int = 0
    unchanged: int = 0
    """Codes already tied to the same product."""
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        """One English line for the CLI and the logs."""
        if not self.ok:
            return f"{self.file}: {len(self.bad_rows)} row(s) with errors; nothing imported"
        counts = f"{self.added} added, {self.unchanged} unchanged"
        if self.dry_run:
            return f"{self.file}: {self.rows} row(s) checked; dry run, would be {counts}; nothing written"
        return f"{self.file}: {self.rows} row(s): {counts}"


@dataclass
class _Row:
    number: int
    sku: str
    payload: str
    marking: str | None


def import_qr_codes(
    session: Session,
    actor: Actor,
    path: str | Path,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
) -> QRImportReport:
    """Import the QR codes of ``path`` (see the module docstring), in the caller's transaction.
    Returns the report; when it has errors nothing was written. A file that cannot be read at all
    raises ``InvalidInput``; who may change which product is ``products.add_qr``'s rule."""
    path = Path(path)
    fmt = format_of(path, fmt)
    with open_sheet(path, fmt, encoding) as sheet:
        report = QRImportReport(file=path.name, format=fmt, encoding=sheet.encoding, dry_run=dry_run)
        columns = read_header(sheet, report.errors, COLUMNS)
        if report.errors:
            return report
        headers = {c.key: c.header for c in COLUMNS} | {column.key: header for header, column in columns.values()}
        rows = _read_rows(sheet, columns, headers, report)
    ids = _product_ids(session, [row.sku for row in rows])
    savepoint = session.begin_nested()
    try:
        for row in rows:
            _add(session, actor, row, ids, headers, report)
    except BaseException:
        savepoint.rollback()
        raise
    if report.errors or dry_run:
        savepoint.rollback()
        if report.errors:
            report.added = report.unchanged = 0
        return report
    savepoint.commit()
    audit(
        session,
        actor,
        "products.qr_import",
        "product_qr",
        path.name[:64],
        {"file": path.name, "format": fmt, "encoding": report.encoding, "added": report.added},
    )
    return report


def _read_rows(sheet, columns, headers: dict[str, str], report: QRImportReport) -> list[_Row]:
    rows: list[_Row] = []
    first: dict[str, int] = {}
    for number, cells in sheet.rows:
        if not any(cells):
            report.skipped_empty += 1
            continue
        report.rows += 1
        bad = len(report.errors)
        values = check_row(number, cells, columns, report.errors)
        sku = values.get("sku")
        if sku is None or len(report.errors) > bad:
            continue
        payload = values.get("payload") or shop_qr_payload(sku)
        if payload in first:
            report.errors.append(
                RowError(
                    number,
                    headers["payload"],
                    payload,
                    f"二维码内容与第 {first[payload]} 行重复",
                    f"same QR payload as row {first[payload]}",
                )
            )
            continue
        first[payload] = number
        rows.append(_Row(number, sku, payload, values.get("marking")))
    return rows


def _product_ids(session: Session, skus: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    unique = sorted(set(skus))
    for start in range(0, len(unique), 500):  # keeps IN (...) well under every driver's limit
        chunk = unique[start : start + 500]
        found.update(session.exec(select(Product.sku, Product.id).where(Product.sku.in_(chunk))).all())
    return found


def _add(session: Session, actor: Actor, row: _Row, ids: dict[str, int], headers, report: QRImportReport) -> None:
    """One row through ``add_qr``; what it refuses goes to the report under the column it names."""
    unknown = RowError(row.number, headers["sku"], row.sku, "商品编码不存在", f"no product with code {row.sku!r}")
    product_id = ids.get(row.sku)
    if product_id is None:
        report.errors.append(unknown)
        return
    existed = session.exec(select(ProductQR.id).where(ProductQR.payload == row.payload)).first() is not None
    try:
        add_qr(session, actor, product_id, row.payload, row.marking)
    except DomainError as exc:
        if exc.status == 404:  # out of the actor's scope reads as missing: nothing of it leaks
            report.errors.append(unknown)
            return
        key = exc.data.get("field") or "sku"
        value = {"sku": row.sku, "payload": row.payload, "marking": row.marking or ""}.get(key, "")
        report.errors.append(RowError(row.number, headers.get(key, key), value, exc.message, exc.detail))
        return
    if existed:
        report.unchanged += 1
    else:
        report.added += 1


# --------------------------------------------------------------------------- labels

FONTS = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),  # index 2: Simplified Chinese
)
"""Fonts a label may be set in, the first present is used: (file, index in a font collection)."""

A4_MM = (210.0, 297.0)
MARGIN_MM = (6.0, 8.0)
"""Left/right and top/bottom page margins (most printers cannot print the last few mm)."""
MAX_COLUMNS, MAX_ROWS = 5, 12
"""The densest grid whose labels still hold a scannable code and two lines of text."""
MAX_LABELS = 2000


@dataclass(frozen=True)
class LabelChoice:
    """``copies`` labels of each QR code of product ``product_id``."""

    product_id: int
    copies: int = 1


@dataclass(frozen=True)
class Label:
    payload: str
    name: str
    spec: str
    marking: str
    sku: str


@dataclass(frozen=True)
class LabelSheet:
    pdf: bytes
    labels: int
    pages: int
    filename: str


def qr_counts(session: Session, actor: Actor, product_ids: list[int]) -> dict[int, int]:
    """How many QR codes each of ``product_ids`` has (products outside ``actor``'s scope: none)."""
    if not product_ids:
        return {}
    rows = session.exec(
        select(ProductQR.product_id, func.count(ProductQR.id))
        .join(Product, Product.id == ProductQR.product_id)
        .where(ProductQR.product_id.in_(product_ids), products_of(actor))
        .group_by(ProductQR.product_id)
    ).all()
    return dict(rows)


@dataclass(frozen=True)
class ProductCodes:
    """A product and its QR codes, as its QR page shows them."""

    product: Product
    codes: list[ProductQR]
    shop_payload: str
    """The shop's own code for this product (``products.shop_qr_payload``)."""
    spec: str


def product_codes(session: Session, actor: Actor, product_id: int) -> ProductCodes:
    """Product ``product_id`` (one ``actor`` may see) with its QR codes."""
    product = product_for(session, actor, product_id)
    codes = qr_codes(session, actor, product.id)
    return ProductCodes(product, codes, shop_qr_payload(product.sku), spec_text(product))


@dataclass(frozen=True)
class Candidate:
    """A product one may print labels for, with how many QR codes it has."""

    product: Product
    codes: int
    spec: str


def label_candidates(
    session: Session, actor: Actor, *, q: str | None = None, kind: ProductKind | None = None, page: int = 1
) -> Page[Candidate]:
    """The products ``actor`` may see (``products.staff_catalog``: searched by name, code,
    marking), each with its number of QR codes."""
    found = staff_catalog(session, actor, kind=kind, q=q, page=page)
    counts = qr_counts(session, actor, [p.id for p in found.items])
    items = [Candidate(p, counts.get(p.id, 0), spec_text(p)) for p in found.items]
    return Page(items, found.total, found.page, found.page_size)


def choices_for_skus(session: Session, actor: Actor, skus: list[str], copies: int = 1) -> list[LabelChoice]:
    """The products of ``skus`` (codes) as label choices; an unknown code is NotFound."""
    ids = _product_ids(session, skus)
    missing = [sku for sku in skus if sku not in ids]
    if missing:
        raise NotFound(f"商品编码不存在：{'、'.join(missing)}", f"no product with code {', '.join(missing)}")
    return [LabelChoice(ids[sku], copies) for sku in dict.fromkeys(skus)]


def check_layout(columns: int, rows: int) -> None:
    if not 1 <= columns <= MAX_COLUMNS:
        raise InvalidInput(
            f"每行标签数应在 1 到 {MAX_COLUMNS} 之间", f"columns must be 1..{MAX_COLUMNS}", field="columns"
        )
    if not 1 <= rows <= MAX_ROWS:
        raise InvalidInput(f"每页行数应在 1 到 {MAX_ROWS} 之间", f"rows must be 1..{MAX_ROWS}", field="rows")


def labels_for(session: Session, actor: Actor, choices: list[LabelChoice]) -> list[Label]:
    """The labels of ``choices``, in their order: ``copies`` of each of the product's codes; a
    product without a code gets the shop's own one first (``add_qr``: who may change the product)."""
    if not choices:
        raise InvalidInput("请至少选择一个商品", "no product chosen", field="products")
    for choice in choices:
        if not 1 <= choice.copies <= MAX_LABELS:
            raise InvalidInput(f"份数应在 1 到 {MAX_LABELS} 之间", f"copies must be 1..{MAX_LABELS}", field="copies")
    labels: list[Label] = []
    for choice in choices:
        product = product_for(session, actor, choice.product_id)
        codes = qr_codes(session, actor, product.id) or [
            add_qr(session, actor, product.id, shop_qr_payload(product.sku))
        ]
        for qr in codes:
            label = Label(
                qr.payload, product.name, spec_text(product), qr.marking or product.marking or "", product.sku
            )
            labels += [label] * choice.copies
        if len(labels) > MAX_LABELS:
            raise InvalidInput(
                f"一次最多打印 {MAX_LABELS} 张标签", f"at most {MAX_LABELS} labels at a time", field="copies"
            )
    return labels


def label_sheet(
    session: Session, actor: Actor, choices: list[LabelChoice], *, columns: int = 3, rows: int = 8
) -> LabelSheet:
    """The label sheet PDF of ``choices`` (see the module docstring)."""
    check_layout(columns, rows)
    labels = labels_for(session, actor, choices)
    pdf = render_labels(labels, columns=columns, rows=rows)
    per_page = columns * rows
    return LabelSheet(pdf, len(labels), -(-len(labels) // per_page), "qr-labels.pdf")


def _font() -> tuple[Path, int]:
    for path, index in FONTS:
        if path.exists():
            return path, index
    raise InvalidInput(
        "服务器缺少中文字体，无法生成标签（请安装 fonts-wqy-zenhei）",
        "no Chinese font for the labels: install fonts-wqy-zenhei (" + ", ".join(str(p) for p, _ in FONTS) + ")",
    )


def render_labels(labels: list[Label], *, columns: int = 3, rows: int = 8) -> bytes:
    """``labels`` on A4 pages, ``columns`` × ``rows`` a page, as PDF bytes."""
    from fpdf import FPDF

    check_layout(columns, rows)
    # fontTools reports every table it drops while subsetting the font (at WARNING): noise here
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    font, index = _font()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator("jht-bridge")
    pdf.set_title("二维码标签")
    pdf.add_font("label", fname=str(font), collection_font_number=index)
    width = (A4_MM[0] - 2 * MARGIN_MM[0]) / columns
    height = (A4_MM[1] - 2 * MARGIN_MM[1]) / rows
    per_page = columns * rows
    for n, label in enumerate(labels):
        if n % per_page == 0:
            pdf.add_page()
        cell = n % per_page
        x = MARGIN_MM[0] + (cell % columns) * width
        y = MARGIN_MM[1] + (cell // columns) * height
        _draw_label(pdf, label, x, y, width, height)
    return bytes(pdf.output())


def _draw_label(pdf, label: Label, x: float, y: float, w: float, h: float) -> None:
    import segno

    pdf.set_draw_color(200, 200, 200)  # a light cutting line around each label
    pdf.set_line_width(0.1)
    pdf.rect(x, y, w, h)
    pad = min(2.5, h * 0.08)
    side = min(h - 2 * pad, w * 0.45)
    _draw_qr(pdf, segno.make(label.payload, error="m", micro=False), x + pad, y + (h - side) / 2, side)
    text_x = x + pad + side + 1.5
    text_w = x + w - pad - text_x
    lines = [
        (label.name, 9.0, 2, (0, 0, 0)),
        (label.spec, 7.0, 3, (40, 40, 40)),
        (f"标记 {label.marking}" if label.marking else "", 7.0, 2, (40, 40, 40)),
        (f"编码 {label.sku}", 6.5, 1, (90, 90, 90)),
    ]
    scale = 1.0
    while True:  # the largest text that fits the label's height
        block = _layout(pdf, lines, text_w, scale)
        total = sum(line_h for _, _, line_h, _ in block)
        if total <= h - 2 * pad or scale < 0.5:
            break
        scale *= 0.9
    cursor = y + max(pad, (h - total) / 2)
    for text, size, line_h, colour in block:
        if cursor + line_h > y + h - pad / 2:
            break
        pdf.set_font("label", size=size)
        pdf.set_text_color(*colour)
        pdf.text(text_x, cursor + line_h * 0.78, text)
        cursor += line_h


def _layout(pdf, lines, width: float, scale: float) -> list[tuple[str, float, float, tuple]]:
    """Each text wrapped to ``width`` (at most its line count; the last line cut with …), as
    (line, font size, line height mm, colour)."""
    out = []
    for text, size, max_lines, colour in lines:
        if not text:
            continue
        size *= scale
        pdf.set_font("label", size=size)
        line_h = size * 0.3528 * 1.25  # pt → mm, with leading
        for line in _wrap(pdf, text, width, max_lines):
            out.append((line, size, line_h, colour))
    return out


def _wrap(pdf, text: str, width: float, max_lines: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for ch in text:
        if pdf.get_string_width(current + ch) <= width:
            current += ch
            continue
        cut = current.rfind(" ")
        if ch != " " and cut > len(current) * 0.4:  # a Latin word or a size moves down whole
            current, rest = current[:cut], current[cut + 1 :]
        else:
            rest = ""
        lines.append(current)
        current = (rest + ch).lstrip()
        if len(lines) == max_lines:
            break
    else:
        if current:
            lines.append(current)
        return lines
    last = lines[-1]
    while last and pdf.get_string_width(last + "…") > width:
        last = last[:-1]
    lines[-1] = last + "…"
    return lines


def _draw_qr(pdf, qr, x: float, y: float, side: float) -> None:
    """The code's dark modules as filled rectangles (one per run of a row), with the quiet zone
    of 4 modules the standard asks for inside ``side``."""
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix)
    module = side / (n + 8)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < n and row[c]:
                c += 1
            pdf.rect(x + (start + 4) * module, y + (r + 4) * module, (c - start) * module, module, style="F")
