"""Reading the audit log (A12: every admin action is audited and viewable): ``bridge.audit``,
which the 审计日志 page calls. Who acted is named as a person reads it; the filters narrow by
actor, action, entity and local days; only admins read it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bridge.actors import CLI_ADMIN, Actor, audit
from bridge.audit import audit_log
from bridge.errors import Forbidden, InvalidInput
from bridge.models import Account, ActorKind, AuditLog, StaffRole, StaffUser

TZ = "Asia/Shanghai"


def _at(session, row: AuditLog, when: datetime) -> None:
    row.at = when
    session.add(row)
    session.flush()


@pytest.fixture
def log(session, make):
    """An admin, a salesperson and a customer's account, and what each did."""
    admin = StaffUser(username="boss", display_name="王总", role=StaffRole.ADMIN, password_hash="x")
    sales = StaffUser(username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash="x")
    session.add_all([admin, sales])
    session.flush()
    customer = make.customer(name="恒达五金", salesperson_id=sales.id)
    account = Account(customer_id=customer.id, openid="o-1")
    session.add(account)
    session.flush()
    rows = {
        "cli": audit(session, CLI_ADMIN, "user.add", "staff_user", sales.id, {"username": "zhangwei"}),
        "admin": audit(session, Actor.admin(admin.id), "customer.type", "customer", customer.id, {"old": 1, "new": 2}),
        "sales": audit(session, Actor.sales(sales.id), "note.add", "customer", customer.id, {"note_id": 7}),
        "customer": audit(session, Actor.customer(customer.id, account.id), "account.unbind", "account", account.id),
        "erp": audit(session, Actor.erp("filedrop"), "future.action", "order", "JHT-1"),
    }
    # 2024-05-01 23:30 in Shanghai is 15:30 UTC: the local day is what the filter means
    _at(session, rows["cli"], datetime(2024, 5, 1, 15, 30, tzinfo=timezone.utc))
    _at(session, rows["admin"], datetime(2024, 5, 1, 16, 30, tzinfo=timezone.utc))  # 05-02 00:30 local
    for name in ("sales", "customer", "erp"):
        _at(session, rows[name], datetime(2024, 5, 3, 2, 0, tzinfo=timezone.utc))
    return {"admin": admin, "sales": sales, "rows": rows}


def _actions(page) -> list[str]:
    return [e.row.action for e in page.entries.items]


def test_a12_the_log_names_who_did_what_newest_first(session, log):
    page = audit_log(session, CLI_ADMIN, tz=TZ)
    who = {e.row.action: (e.who, e.action_label, e.entity_label, e.detail_text) for e in page.entries.items}
    assert _actions(page) == ["future.action", "account.unbind", "note.add", "customer.type", "user.add"]
    assert who["user.add"] == ("命令行", "添加员工", "员工", '{"username": "zhangwei"}')
    assert who["customer.type"][:3] == ("管理员 王总", "更改客户类型", "客户")
    assert who["note.add"][0] == "业务员 张伟"
    assert who["account.unbind"][:2] == ("客户 恒达五金", "解绑账号") and who["account.unbind"][3] == ""
    assert who["future.action"][:3] == ("生产管理软件 filedrop", "future.action", "订单")  # no label: the code
    assert ("user.add", "添加员工") in page.actions and ("order", "订单") in page.entities
    assert page.actors[:2] == [("customer", "客户"), ("sales", "业务员")] and ("cli", "命令行") in page.actors
    assert (f"staff-{log['sales'].id}", "张伟（业务员）") in page.actors


def test_a12_filters_by_actor_action_entity_and_local_days(session, log):
    def actions(**filters):
        return _actions(audit_log(session, CLI_ADMIN, tz=TZ, **filters))

    assert actions(who="cli") == ["user.add"]
    assert actions(who="admin") == ["customer.type", "user.add"]  # the command line acts as an admin
    assert actions(who=f"staff-{log['admin'].id}") == ["customer.type"]
    assert actions(who=f"staff-{log['sales'].id}") == ["note.add"]
    assert actions(who="customer") == ["account.unbind"]
    assert actions(action="note.add") == ["note.add"]
    assert actions(entity="customer") == ["note.add", "customer.type"]
    assert actions(entity="customer", entity_id=str(log["rows"]["admin"].entity_id), who="sales") == ["note.add"]
    assert actions(since="2024-05-01", until="2024-05-01") == ["user.add"]
    assert actions(since="2024-05-02", until="2024-05-02") == ["customer.type"]
    assert actions(since="2024-05-03") == ["future.action", "account.unbind", "note.add"]
    assert actions(until="2024-04-30") == []


def test_a12_a_malformed_filter_is_refused_naming_its_field(session, log):
    for filters, field in (
        ({"since": "1.5.2024"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"who": "boss"}, "who"),
    ):
        with pytest.raises(InvalidInput) as refused:
            audit_log(session, CLI_ADMIN, tz=TZ, **filters)
        assert refused.value.data["field"] == field


def test_a12_only_admins_read_the_audit_log(session, log):
    for actor in (Actor.sales(log["sales"].id), Actor.customer(1), Actor.system()):
        with pytest.raises(Forbidden):
            audit_log(session, actor, tz=TZ)


def test_a12_the_log_pages(session, log):
    for n in range(55):
        audit(session, Actor(ActorKind.SYSTEM), "test.row", "demo", n)
    session.flush()
    first = audit_log(session, CLI_ADMIN, tz=TZ, action="test.row")
    second = audit_log(session, CLI_ADMIN, tz=TZ, action="test.row", page=2)
    assert first.entries.total == 55 and len(first.entries.items) == first.entries.page_size
    assert {e.row.id for e in first.entries.items}.isdisjoint(e.row.id for e in second.entries.items)
