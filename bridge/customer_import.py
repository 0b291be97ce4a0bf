"""The ERP's customer list brought into the shop (A11): one row per customer the ERP already has,
so shop customers are linked to their ERP records instead of being created there a second time.

The sheet (CSV or XLSX, read like the catalog: ``bridge.catalog``'s sheet reader, encodings,
header matching and cell rules) has the columns ERP客户编码 (required), 客户名称 (required) and 电话.
Each row is one of:

- **unchanged**: a shop customer already holds the code; nothing changes (the shop keeps its own
  name and phone);
- **linked**: a shop customer has the row's phone (registered, or bound by one of its accounts)
  and no ERP code yet: it gets the code (``customers.set_erp_code``);
- **created**: otherwise a new shop customer with the row's name, phone and code, of type
  ``customers.default_type`` and with ``customers.default_salesperson`` (without one it waits in
  the admins' queue of unassigned customers). A WeChat user who later binds that phone joins it.

All rows or none: every row is read and decided first; a bad cell, a code or phone that comes twice
in the file, or a phone whose customer already has another ERP code makes the row bad, and when any
row is bad nothing is written and every bad row is reported. Admins only; one audit row per
import, and each link or new customer its own, as when done one by one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from bridge.actors import Actor, audit
from bridge.bindings import code_holder
from bridge.catalog import Column, RowError, RowErrors, cell_rule, check_row, format_of, open_sheet, read_header
from bridge.config import CustomersSection
from bridge.customers import (
    PHONE_MAX,
    check_erp_code,
    check_name,
    create_customer,
    normalize_phone,
    phone_holder,
    resolve_customer,
    set_erp_code,
)
from bridge.errors import DomainError, Forbidden, InvalidInput
from bridge.models import ActorKind, Customer
from bridge.users import salesperson_for_invite

CREATED, LINKED, UNCHANGED = "created", "linked", "unchanged"


def _phone(text: str) -> str:
    if len(text) > PHONE_MAX:
        raise InvalidInput(f"电话不能超过 {PHONE_MAX} 个字符", f"phone longer than {PHONE_MAX} characters")
    return normalize_phone(text)


COLUMNS: tuple[Column, ...] = (
    Column(
        "erp_code", "ERP客户编码", cell_rule(check_erp_code), str, required=True, model=Customer, also=("客户编码",)
    ),
    Column("name", "客户名称", cell_rule(check_name), str, required=True, model=Customer, also=("名称",)),
    Column("phone", "电话", cell_rule(_phone), str, model=Customer, also=("手机", "手机号", "联系电话")),
)
"""The sheet's columns; a header may also be the English field name (erp_code, name, phone)."""


@dataclass(frozen=True)
class RowOutcome:
    """What one row did (or, on a dry run, would do)."""

    row: int
    """Row number as the spreadsheet shows it."""
    erp_code: str
    name: str
    action: str
    """``created``, ``linked`` or ``unchanged``."""
    customer_id: int | None
    """The shop customer; None for a customer a dry run would create."""


@dataclass
class CustomerImportReport(RowErrors):
    """What an import found and did. When ``errors`` is not empty nothing was written."""

    file: str
    format: str
    encoding: str | None = None
    outcomes: list[RowOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_empty: int = 0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        found = Counter(o.action for o in self.outcomes)
        return {action: found[action] for action in (CREATED, LINKED, UNCHANGED)}

    def summary(self) -> str:
        """One English line for the CLI and the logs."""
        if not self.ok:
            return f"{self.file}: {len(self.bad_rows)} row(s) with errors; nothing imported"
        counts = ", ".join(f"{n} {action}" for action, n in self.counts().items())
        if self.dry_run:
            return f"{self.file}: {len(self.outcomes)} row(s) checked; dry run, would be {counts}; nothing written"
        return f"{self.file}: {len(self.outcomes)} row(s): {counts}"


@dataclass
class _Row:
    number: int
    code: str
    name: str
    phone: str | None


def check_importer(actor: Actor) -> None:
    """Only admins import the ERP's customer list (Forbidden for anyone else)."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以导入 ERP 客户", f"{actor} may not import ERP customers (admin only)")


def import_erp_customers(
    session: Session,
    actor: Actor,
    path: str | Path,
    *,
    connector: str,
    settings: CustomersSection,
    fmt: str | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
) -> CustomerImportReport:
    """Import the ERP's customer list from ``path`` (see the module docstring), in the caller's
    transaction; ``connector`` is the ERP the codes are bound for. Returns the report; when it has
    errors nothing was written. A file that cannot be read at all raises ``InvalidInput``."""
    check_importer(actor)
    path = Path(path)
    fmt = format_of(path, fmt)
    with open_sheet(path, fmt, encoding) as sheet:
        report = CustomerImportReport(file=path.name, format=fmt, encoding=sheet.encoding, dry_run=dry_run)
        columns = read_header(sheet, report.errors, COLUMNS)
        if report.errors:
            return report
        headers = {column.key: header for header, column in columns.values()}
        rows = _read_rows(sheet, columns, headers, report)
    if report.errors:
        return report
    plans = _decide(session, connector, rows, headers, report)
    if report.errors or dry_run:
        return report
    for row, action, customer_id in plans:
        try:
            customer_id = _apply(session, actor, row, action, customer_id, connector, settings)
        except DomainError as exc:  # a change since the rows were decided (another admin, the ERP)
            raise type(exc)(
                f"第 {row.number} 行：{exc.message}", f"{path.name} row {row.number}: {exc.detail}"
            ) from exc
        report.outcomes.append(RowOutcome(row.number, row.code, row.name, action, customer_id))
    audit(
        session,
        actor,
        "customers.import",
        "customer",
        path.name[:64],
        {"file": path.name, "format": fmt, "encoding": report.encoding, "connector": connector} | report.counts(),
    )
    return report


def _read_rows(sheet, columns, headers: dict[str, str], report: CustomerImportReport) -> list[_Row]:
    rows: list[_Row] = []
    first: dict[tuple[str, str], int] = {}
    for number, cells in sheet.rows:
        if not any(cells):
            report.skipped_empty += 1
            continue
        values = check_row(number, cells, columns, report.errors)
        for key in ("erp_code", "phone"):
            value = values.get(key)
            if value is None:
                continue
            if (key, value) in first:
                report.errors.append(
                    RowError(
                        number,
                        headers[key],
                        value,
                        f"与第 {first[key, value]} 行重复",
                        f"same {key} as row {first[key, value]}",
                    )
                )
            else:
                first[key, value] = number
        if "erp_code" in values and "name" in values:
            rows.append(_Row(number, values["erp_code"], values["name"], values.get("phone")))
    return rows


def _decide(
    session: Session, connector: str, rows: list[_Row], headers: dict[str, str], report: CustomerImportReport
) -> list[tuple[_Row, str, int | None]]:
    """What each row will do, checked against the shop's customers; conflicts go to the report."""
    plans: list[tuple[_Row, str, int | None]] = []
    linked_by: dict[int, int] = {}
    for row in rows:
        holder = code_holder(session, connector, row.code)
        if holder is not None:
            plans.append((row, UNCHANGED, resolve_customer(session, holder.id).id))
            continue
        owner = phone_holder(session, row.phone) if row.phone else None
        if owner is None:
            plans.append((row, CREATED, None))
            continue
        if owner.erp_code:
            report.errors.append(
                RowError(
                    row.number,
                    headers["phone"],
                    row.phone,
                    f"电话属于客户 {owner.id}（{owner.name}），该客户已关联 ERP 客户编码 {owner.erp_code}",
                    f"the phone belongs to customer {owner.id} ({owner.name}), already linked to ERP code "
                    f"{owner.erp_code}: correct the row, or merge the customers",
                )
            )
            continue
        if owner.id in linked_by:
            report.errors.append(
                RowError(
                    row.number,
                    headers["phone"],
                    row.phone,
                    f"电话属于客户 {owner.id}（{owner.name}），第 {linked_by[owner.id]} 行已为它关联编码",
                    f"the phone belongs to customer {owner.id} ({owner.name}), linked by row {linked_by[owner.id]}",
                )
            )
            continue
        linked_by[owner.id] = row.number
        plans.append((row, LINKED, owner.id))
    if report.dry_run and not report.errors:
        report.outcomes = [RowOutcome(r.number, r.code, r.name, action, cid) for r, action, cid in plans]
    return plans


def _apply(
    session: Session,
    actor: Actor,
    row: _Row,
    action: str,
    customer_id: int | None,
    connector: str,
    settings: CustomersSection,
) -> int:
    if action == LINKED:
        return set_erp_code(session, actor, customer_id, row.code, connector=connector).customer_id
    if action == CREATED:
        customer = create_customer(
            session,
            actor,
            name=row.name,
            type=settings.default_type,
            salesperson_id=salesperson_for_invite(session, None, settings.default_salesperson),
            phone=row.phone,
            erp_code=row.code,
            connector=connector,
        )
        return customer.id
    return customer_id
