"""``products``: the catalog's import and export (CSV or XLSX), packaging QR codes imported from a
sheet, and QR label sheets (PDF)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from bridge.cli._common import cells, err, fail, out, unit_of_work

products_app = typer.Typer(
    help="The product catalog: import and export (CSV or XLSX), packaging QR codes, QR label sheets (PDF).",
    no_args_is_help=True,
)


def choice(value: Optional[str], allowed: tuple[str, ...], option: str) -> Optional[str]:
    if value is not None and value.lower() not in allowed:
        raise typer.BadParameter(f"use {' or '.join(allowed)}", param_hint=option)
    return value.lower() if value else None


@contextmanager
def _progress(label: str) -> Iterator:
    """A ``progress(done, total)`` callback: a bar on stderr in a terminal; in a pipe or a log,
    one plain line at the end (and every quarter for big files) instead of control codes."""
    if err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=None)
            # total 0 means "not known yet": rich shows a pulsing bar for None.
            yield lambda done, total: bar.update(task, completed=done, total=total or None)
        return
    printed: set[int] = set()

    def plain(done: int, total: int) -> None:
        quarter = 4 * done // total if total else -1
        if quarter not in printed and (quarter == 4 or (total >= 1000 and quarter > 0)):
            printed.add(quarter)
            err.print(f"{label}: {done}/{total} rows", markup=False)

    yield plain


FORMAT_HELP = "File format. Default: from the file name's suffix (.csv or .xlsx)."

FormatOption = Annotated[
    Optional[str], typer.Option("--format", "-f", metavar="csv|xlsx", help=FORMAT_HELP, show_default=False)
]
"""``--format`` of the commands that read or write a sheet."""
EncodingOption = Annotated[
    str,
    typer.Option(
        metavar="auto|utf-8|gb18030",
        help="CSV text encoding: auto (UTF-8, else GB18030 as Chinese Excel saves CSV), utf-8 or gb18030.",
    ),
]
"""``--encoding`` of the commands that read a sheet (default "auto")."""
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Check the file and count what would change; write nothing.")
]
"""``--dry-run`` of the product sheet imports."""


def sheet_argument(help: str):
    """The FILE argument of a command that reads a sheet: an existing, readable file."""
    return typer.Argument(metavar="FILE", help=help, exists=True, dir_okay=False, readable=True, show_default=False)


@products_app.command("export")
def products_export(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="File to write, e.g. catalog.xlsx or catalog.csv.", show_default=False),
    ],
    fmt: FormatOption = None,
) -> None:
    """Export the whole catalog (both kinds, active or not) to FILE, one product per row,
    ordered by code, with Chinese headers: 编码, 名称, 类型, ERP物料编码, 单位, 单价, the wheel
    spec (形状, 外径/厚度/孔径 mm, 磨料, 粒度, 硬度, 结合剂, 最高线速度), 标记, 说明, 上架.

    Edit the file and bring it back with `products import`; an export imported unchanged
    changes nothing. To edit in Excel, prefer .xlsx: Excel reads a CSV's codes and numbers as it
    likes (0012 becomes 12). CSV is UTF-8 with a BOM, so Excel on Chinese Windows shows it right.

    Text that Excel or WPS would run as a formula (starting with = + - @, a tab or a carriage
    return) stays text: in CSV it gets one apostrophe in front ('=1+1), which `products import`
    takes away again; in XLSX it is written as a text cell. Control characters are removed, with
    a warning naming the products."""
    from bridge.catalog import FORMATS, export_products

    fmt = choice(fmt, FORMATS, "--format")
    with unit_of_work(ctx) as session:
        count = export_products(session, file, fmt)
    out.print(f"exported {count} product(s) to {file}", markup=False)


@products_app.command("import")
def products_import(
    ctx: typer.Context,
    file: Annotated[Path, sheet_argument("Catalog sheet (.xlsx or .csv), e.g. one made by `products export`.")],
    fmt: FormatOption = None,
    encoding: EncodingOption = "auto",
    dry_run: DryRunOption = False,
) -> None:
    """Import products from FILE, all rows or none: new codes (编码) are created, existing ones
    updated where a cell differs, the rest counted unchanged.

    Headers may be the Chinese ones of `products export` or the English field names, in any
    order; 编码 and 名称 are required, a column left out keeps its current values. An XLSX file
    is read from its first sheet; empty rows are skipped. When any row is bad, nothing is
    imported: every bad cell is listed with its row number, column, value and reason, and the
    command exits 1. The import is recorded in the audit log.

    In a CSV, one apostrophe before a leading = + - @, tab or carriage return is taken away (as
    `products export` puts it there; write ''=1+1 for text starting with '=); a cell holding a
    control character is refused."""
    from bridge.actors import CLI_ADMIN
    from bridge.catalog import COLUMNS, ENCODINGS, FORMATS, import_products

    fmt = choice(fmt, FORMATS, "--format")
    encoding = choice(encoding, ENCODINGS, "--encoding")
    with _progress(f"checking {file.name}") as progress, unit_of_work(ctx) as session:
        report = import_products(session, CLI_ADMIN, file, fmt, dry_run, progress, encoding=encoding)
    if not report.ok:
        print_row_errors(report.errors)
        fail(f"{len(report.bad_rows)} row(s) of {file.name} have errors: nothing imported")
    out.print(report.summary(), markup=False)
    headers = {c.key: c.header for c in COLUMNS}
    shown = list(report.changes.items())
    for sku, keys in shown[:50]:
        out.print(
            f"  {'would update' if dry_run else 'updated'} {sku}: {', '.join(headers[k] for k in keys)}", markup=False
        )
    if len(shown) > 50:
        out.print(f"  … and {len(shown) - 50} more updated product(s)")


@products_app.command("qr-import")
def products_qr_import(
    ctx: typer.Context,
    file: Annotated[Path, sheet_argument("Sheet of QR codes (.xlsx or .csv) with the columns 编码, 二维码内容, 标记.")],
    fmt: FormatOption = None,
    encoding: EncodingOption = "auto",
    dry_run: DryRunOption = False,
) -> None:
    """Tie packaging QR codes to products from FILE, all rows or none: one row per code, 编码 (the
    product's code, required), 二维码内容 (the text the code carries; empty: the shop's own code
    JHT:QR:1:<编码>) and 标记 (what to prefill when it is scanned, if not the product's marking).

    Headers may also be the English names sku, payload, marking. A code already tied to the same
    product is left as it is; one tied to another product, an unknown 编码 or a bad cell makes
    the row bad, and when any row is bad nothing is imported: every bad cell is listed with its
    row number, column, value and reason, and the command exits 1. Recorded in the audit log."""
    from bridge.actors import CLI_ADMIN
    from bridge.catalog import ENCODINGS, FORMATS
    from bridge.qrlabels import import_qr_codes

    fmt = choice(fmt, FORMATS, "--format")
    encoding = choice(encoding, ENCODINGS, "--encoding")
    with unit_of_work(ctx) as session:
        report = import_qr_codes(session, CLI_ADMIN, file, fmt=fmt, encoding=encoding, dry_run=dry_run)
    if not report.ok:
        print_row_errors(report.errors)
        fail(f"{len(report.bad_rows)} row(s) of {file.name} have errors: nothing imported")
    out.print(report.summary(), markup=False)


@products_app.command("labels")
def products_labels(
    ctx: typer.Context,
    skus: Annotated[
        list[str], typer.Argument(metavar="SKU", help="Codes (编码) of the products to print.", show_default=False)
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="The PDF to write.", dir_okay=False)
    ] = Path("labels.pdf"),
    copies: Annotated[int, typer.Option(min=1, help="Labels of each QR code.")] = 1,
    columns: Annotated[int, typer.Option(min=1, help="Labels across an A4 page.")] = 3,
    rows: Annotated[int, typer.Option(min=1, help="Rows of labels on an A4 page.")] = 8,
) -> None:
    """Write a printable sheet of QR labels (PDF, A4, COLUMNS × ROWS labels a page) for the
    products SKU...: COPIES labels of each of a product's QR codes, each with the code, the
    product's name, spec, marking and code in Chinese (the font embedded). A product without a
    QR code gets the shop's own (JHT:QR:1:<编码>) first, so its label scans to it. Needs a Chinese
    font on this machine (Debian: fonts-wqy-zenhei)."""
    from bridge.actors import CLI_ADMIN
    from bridge.qrlabels import choices_for_skus, label_sheet

    with unit_of_work(ctx) as session:
        choices = choices_for_skus(session, CLI_ADMIN, skus, copies)
        sheet = label_sheet(session, CLI_ADMIN, choices, columns=columns, rows=rows)
    try:
        output.write_bytes(sheet.pdf)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    out.print(f"wrote {sheet.labels} label(s) on {sheet.pages} page(s) to {output}", markup=False)


def print_row_errors(errors) -> None:
    def short(value: str) -> str:
        return value if len(value) <= 40 else value[:39] + "…"

    if out.is_terminal:
        table = Table("行 row", "列 column", "值 value", "原因 reason")
        for e in errors:
            table.add_row(*cells(e.row, e.column, short(e.value), e.reason))
        out.print(table)
    else:
        # One line per error keeps a log or a pipe greppable (a table would wrap at 80 columns).
        for e in errors:
            out.print(f"row {e.row}, {e.column or '-'}: {short(e.value)!r}: {e.reason}", markup=False)
