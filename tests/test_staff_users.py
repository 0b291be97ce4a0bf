"""Staff users managed from the admin pages (A12, S1): the list with last sign-ins, a change of
role and unbinding a WeChat account (both audited, admins only, the last active admin kept), and
refusals that name the form field they are about. The browser side is tests/test_admin_staff.py."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bridge import sessions
from bridge.actors import CLI_ADMIN, Actor
from bridge.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, NotSignedIn
from bridge.models import AuditLog, StaffRole, StaffUser
from bridge.sessions import Subject
from bridge.users import (
    add_user,
    check_password,
    list_users,
    set_role,
    unbind_wechat,
    user_listing,
    wechat_sign_in,
)
from tests.conftest import count

GOOD = "wheel-grinder-7-blue"


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    import bridge.users
    from argon2 import PasswordHasher

    monkeypatch.setattr(bridge.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _user(session, username="zhangwei", role=StaffRole.SALES, **kw) -> StaffUser:
    return add_user(session, CLI_ADMIN, username=username, password=GOOD, role=role, display_name="张伟", **kw)


def test_a12_refusals_name_the_field_of_the_form(session):
    cases = [
        ({"username": "bad name!"}, "username"),
        ({"password": "short"}, "password"),
        ({"password": "1234567890"}, "password"),
        ({"role": "boss"}, "role"),
        ({"phone": "1" * 33}, "phone"),
        ({"display_name": "张\x00伟"}, "display_name"),
    ]
    for change, field in cases:
        form = {"username": "wangwu", "password": GOOD, "role": "sales", "display_name": "王五"} | change
        with pytest.raises(DomainError) as refused:  # InvalidInput, or BadText for a control character
            add_user(session, CLI_ADMIN, **form)
        assert refused.value.data["field"] == field, change
    _user(session, "wangwu")
    with pytest.raises(Conflict) as taken:
        _user(session, "wangwu")
    assert taken.value.data["field"] == "username"
    with pytest.raises(InvalidInput) as weak:
        check_password("short", "x")
    assert weak.value.as_dict()["field"] == "password"  # the API's error body says so too


def test_a12_add_user_keeps_blank_optional_fields_empty(session):
    user = add_user(
        session, CLI_ADMIN, username="lisi", password=GOOD, role="sales", display_name="  ", phone=" ", wechat_id=""
    )
    assert (user.display_name, user.phone, user.wechat_id) == ("lisi", None, None)
    assert user.role == StaffRole.SALES and user.invite_code


def test_a12_list_users_shows_last_sign_in_and_customers(session, make):
    sales = _user(session)
    admin = _user(session, "boss", StaffRole.ADMIN)
    make.customer(salesperson_id=sales.id)
    first = sessions.open_session(session, Subject(staff_id=sales.id), ttl_s=60)
    sessions.end(session, first.id, "logout")
    second = sessions.open_session(session, Subject(staff_id=sales.id), ttl_s=60)
    session.commit()

    rows = {row.user.username: row for row in list_users(session, CLI_ADMIN)}
    assert rows["zhangwei"].last_sign_in == second.created_at and rows["zhangwei"].customers == 1
    assert rows["boss"].last_sign_in is None and rows["boss"].customers == 0
    assert user_listing(session, Actor.admin(admin.id), "zhangwei").customers == 1
    with pytest.raises(NotFound):
        user_listing(session, CLI_ADMIN, "nobody")


def test_a12_only_admins_list_change_roles_and_unbind(session):
    sales = _user(session)
    for call in (
        lambda actor: list_users(session, actor),
        lambda actor: user_listing(session, actor, "zhangwei"),
        lambda actor: set_role(session, actor, "zhangwei", "admin"),
        lambda actor: unbind_wechat(session, actor, "zhangwei"),
    ):
        with pytest.raises(Forbidden):
            call(Actor.sales(sales.id))
    assert session.get(StaffUser, sales.id).role == StaffRole.SALES


def test_a12_set_role_is_audited_and_keeps_the_last_active_admin(session):
    boss = _user(session, "boss", StaffRole.ADMIN)
    sales = _user(session)
    with pytest.raises(Conflict) as refused:
        set_role(session, CLI_ADMIN, "boss", StaffRole.SALES)
    assert "最后一个" in refused.value.message and "last active admin" in refused.value.detail

    assert set_role(session, CLI_ADMIN, "zhangwei", "admin")
    assert not set_role(session, CLI_ADMIN, "zhangwei", "admin")  # already: nothing written
    assert set_role(session, Actor.admin(sales.id), "boss", "sales")  # now another admin is left
    user = session.get(StaffUser, boss.id)
    assert user.role == StaffRole.SALES and user.invite_code  # a new salesperson can share a link
    rows = session.exec(select(AuditLog).where(AuditLog.action == "user.role").order_by(AuditLog.id)).all()
    assert [(r.entity_id, r.detail["old"], r.detail["new"]) for r in rows] == [
        (str(sales.id), "sales", "admin"),
        (str(boss.id), "admin", "sales"),
    ]
    with pytest.raises(InvalidInput):
        set_role(session, CLI_ADMIN, "zhangwei", "owner")


def test_a12_a_deactivated_admin_may_be_demoted_while_another_is_active(session):
    _user(session, "boss", StaffRole.ADMIN)
    old = _user(session, "old", StaffRole.ADMIN)
    old.active = False
    session.add(old)
    assert set_role(session, CLI_ADMIN, "old", "sales")
    with pytest.raises(Conflict):
        set_role(session, CLI_ADMIN, "boss", "sales")


def test_s1_unbinding_a_staff_wechat_ends_their_sessions_and_that_wechat_signs_in_no_more(session):
    sales = _user(session)
    sales.wechat_openid = "o-phone"
    session.add(sales)
    row = sessions.open_session(session, Subject(staff_id=sales.id), ttl_s=60)
    session.commit()
    assert wechat_sign_in(session, "o-phone").id == sales.id

    assert unbind_wechat(session, CLI_ADMIN, "zhangwei") == 1
    session.commit()
    assert session.get(StaffUser, sales.id).wechat_openid is None
    with pytest.raises(NotSignedIn):
        sessions.check_active(session, row.id, Subject(staff_id=sales.id))
    with pytest.raises(NotSignedIn):
        wechat_sign_in(session, "o-phone")
    assert count(session, AuditLog, AuditLog.action == "user.wechat_unbind") == 1
    assert unbind_wechat(session, CLI_ADMIN, "zhangwei") is None  # nothing bound: nothing written
    assert count(session, AuditLog, AuditLog.action == "user.wechat_unbind") == 1
