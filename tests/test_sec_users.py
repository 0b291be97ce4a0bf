"""Security issue #10 for staff users: sessions can be ended and users managed (point 10), the
password policy (point 16), and private files made by `init` and watched by `check` (point 9)."""

from __future__ import annotations

import os
import stat

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bridge import sessions
from bridge.actors import CLI_ADMIN, Actor
from bridge.cli import app
from bridge.demo import DEMO_LOGINS
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound, NotSignedIn
from bridge.models import AuditLog, StaffRole, StaffUser
from bridge.sessions import Subject
from bridge.users import (
    MIN_PASSWORD_LENGTH,
    add_user,
    check_password,
    deactivate_user,
    new_password,
    reset_password,
    revoke_sessions,
    verify_password,
)
from tests.conftest import count, watch_password_hashes

GOOD = "wheel-grinder-7-blue"
OTHER_GOOD = "Correct-Horse-Battery-9"


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """argon2's production cost would make these tests slow without testing anything more;
    hashes still verify, since argon2 stores its parameters in the hash."""
    import bridge.users
    from argon2 import PasswordHasher

    monkeypatch.setattr(bridge.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _user(session, username="zhangwei", role=StaffRole.SALES) -> StaffUser:
    return add_user(session, CLI_ADMIN, username=username, password=GOOD, role=role, display_name="张伟")


def _signed_in(session, user: StaffUser, n: int = 1) -> list:
    return [sessions.open_session(session, Subject(staff_id=user.id), ttl_s=3600) for _ in range(n)]


def _ended(session, row) -> None:
    """The session (and so every token of it) no longer works: neither checked nor refreshed."""
    subject = Subject(staff_id=row.staff_id)
    with pytest.raises(NotSignedIn):
        sessions.check_active(session, row.id, subject)
    with pytest.raises(NotSignedIn):
        sessions.rotate(session, row.id, row.refresh_jti, subject, ttl_s=3600)


# --------------------------------------------------------------------------- point 10: service calls


def test_sec10_deactivate_ends_sessions_and_counts_the_customers_to_reassign(session, make):
    _user(session, "admin2", StaffRole.ADMIN)
    sales = _user(session)
    rows = _signed_in(session, sales, 2)
    make.customer(salesperson_id=sales.id)
    survivor = make.customer(salesperson_id=sales.id)
    make.customer(salesperson_id=sales.id, merged_into_id=survivor.id)  # an alias: nothing to reassign
    session.commit()

    result = deactivate_user(session, CLI_ADMIN, "zhangwei")
    session.commit()

    assert result.changed and not session.get(StaffUser, sales.id).active
    assert result.sessions_ended == 2 and result.customers == 2
    for row in rows:
        _ended(session, row)
    assert count(session, AuditLog, AuditLog.action == "user.deactivate") == 1
    again = deactivate_user(session, CLI_ADMIN, "zhangwei")
    assert not again.changed and again.sessions_ended == 0
    assert count(session, AuditLog, AuditLog.action == "user.deactivate") == 1


def test_sec10_reset_password_ends_sessions_and_sets_a_policy_passing_password(session):
    sales = _user(session)
    (row,) = _signed_in(session, sales)
    session.commit()

    with pytest.raises(InvalidInput):
        reset_password(session, CLI_ADMIN, "zhangwei", "12345678")
    sessions.check_active(session, row.id, Subject(staff_id=sales.id))  # a refused reset changes nothing

    assert reset_password(session, CLI_ADMIN, "zhangwei", OTHER_GOOD) == 1
    session.commit()
    user = session.get(StaffUser, sales.id)
    assert verify_password(user.password_hash, OTHER_GOOD) and not verify_password(user.password_hash, GOOD)
    _ended(session, row)
    assert count(session, AuditLog, AuditLog.action == "user.reset_password") == 1


def test_sec10_revoke_ends_every_session_and_says_how_many(session):
    sales = _user(session)
    rows = _signed_in(session, sales, 3)
    sessions.end(session, rows[0].id, "logout")
    session.commit()

    assert revoke_sessions(session, CLI_ADMIN, "zhangwei") == 2
    session.commit()

    for row in rows:
        _ended(session, row)
    assert session.get(StaffUser, sales.id).active  # the account itself stays
    assert revoke_sessions(session, CLI_ADMIN, "zhangwei") == 0


def test_sec10_the_last_active_admin_cannot_be_deactivated(session):
    first = _user(session, "boss", StaffRole.ADMIN)
    with pytest.raises(Conflict) as refused:
        deactivate_user(session, CLI_ADMIN, "boss")
    assert "最后一个" in refused.value.message and "last active admin" in refused.value.detail

    _user(session, "deputy", StaffRole.ADMIN)
    assert deactivate_user(session, CLI_ADMIN, "boss").changed
    with pytest.raises(Conflict):
        deactivate_user(session, CLI_ADMIN, "deputy")
    assert not session.get(StaffUser, first.id).active


def test_sec10_only_admins_manage_staff_users_and_unknown_names_are_not_found(session):
    sales = _user(session)
    for call in (
        lambda actor: deactivate_user(session, actor, "zhangwei"),
        lambda actor: reset_password(session, actor, "zhangwei", OTHER_GOOD),
        lambda actor: revoke_sessions(session, actor, "zhangwei"),
    ):
        with pytest.raises(Forbidden):
            call(Actor.sales(sales.id))
        with pytest.raises(Forbidden):
            call(Actor.system())
    with pytest.raises(NotFound):
        revoke_sessions(session, CLI_ADMIN, "nobody")


# --------------------------------------------------------------------------- point 16: password policy


@pytest.mark.parametrize("password", ["12345678", "short", "abc12345a"])
def test_sec16_short_passwords_are_refused(password):
    with pytest.raises(InvalidInput) as refused:
        check_password(password, "admin")
    assert f"at least {MIN_PASSWORD_LENGTH} characters" in refused.value.detail
    assert f"至少 {MIN_PASSWORD_LENGTH} 位" in refused.value.message


@pytest.mark.parametrize(
    ("password", "username"),
    [("1234567890", "admin"), ("qwertyuiop", "admin"), ("password1234", "admin"), ("Jinhengtai2024", "jinhengtai")],
)
def test_sec16_common_and_guessable_passwords_are_refused(password, username):
    with pytest.raises(InvalidInput) as refused:
        check_password(password, username)
    assert "too easy to guess" in refused.value.detail and "容易被猜到" in refused.value.message


def test_sec16_a_password_built_from_the_username_is_refused_but_fine_for_someone_else():
    check_password("Jinhengtai2024", "li")
    with pytest.raises(InvalidInput):
        check_password("Jinhengtai2024", "jinhengtai")
    with pytest.raises(InvalidInput):
        check_password("xuemeiling88", "xml", "xuemeiling")  # from the display name


def test_sec16_demo_passwords_pass_the_policy():
    for username, password in DEMO_LOGINS:
        check_password(password, username)


def test_sec16_users_add_refuses_a_common_admin_password(session):
    with pytest.raises(InvalidInput):
        add_user(session, CLI_ADMIN, username="admin", password="12345678", role=StaffRole.ADMIN)
    with pytest.raises(InvalidInput):
        add_user(session, CLI_ADMIN, username="admin", password="1234567890", role=StaffRole.ADMIN)
    assert count(session, StaffUser) == 0


# --------------------------------------------------------------------------- the CLI


runner = CliRunner()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    for name in list(os.environ):
        if name.startswith("JHT_") and not name.startswith("JHT_TEST_"):
            monkeypatch.delenv(name)
    return tmp_path


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def _engine(folder):
    from bridge.config import load_config
    from bridge.db import make_engine

    return make_engine(load_config(folder / "var" / "bridge.toml", environ={}))


def test_sec10_cli_deactivate_activate_reset_password_and_revoke(folder):
    assert invoke("init").exit_code == 0
    assert invoke("users", "add", "boss", "--role", "admin", "--password-stdin", input=GOOD + "\n").exit_code == 0
    assert invoke("users", "add", "zhangwei", "--name", "张伟", "--password-stdin", input=GOOD + "\n").exit_code == 0
    engine = _engine(folder)
    with Session(engine, expire_on_commit=False) as s:
        sales = s.exec(select(StaffUser).where(StaffUser.username == "zhangwei")).one()
        rows = _signed_in(s, sales, 2)
        s.commit()

    revoked = invoke("users", "revoke", "zhangwei")
    assert revoked.exit_code == 0 and "zhangwei: 2 sign-in session(s) ended" in revoked.output

    with Session(engine) as s:
        _signed_in(s, sales)  # rolled back: nothing to end
    with Session(engine) as s:
        _signed_in(s, sales)
        s.commit()
    reset = invoke("users", "reset-password", "zhangwei", "--password-stdin", input=OTHER_GOOD + "\r\n")
    assert reset.exit_code == 0 and "new password set for zhangwei: 1 sign-in session(s) ended" in reset.output
    weak = invoke("users", "reset-password", "zhangwei", "--password-stdin", input="zhangwei2024\n")
    assert weak.exit_code == 1 and "too easy to guess" in weak.output

    deactivated = invoke("users", "deactivate", "zhangwei")
    assert deactivated.exit_code == 0, deactivated.output
    assert "deactivated sales zhangwei" in deactivated.output
    listed = invoke("users", "list")
    assert "zhangwei" in listed.output and "no" in listed.output.split("zhangwei", 1)[1].splitlines()[0]
    assert invoke("users", "deactivate", "zhangwei").output.startswith("zhangwei (id")
    last_admin = invoke("users", "deactivate", "boss")
    assert last_admin.exit_code == 1 and "last active admin" in last_admin.output

    activated = invoke("users", "activate", "zhangwei")
    assert activated.exit_code == 0 and "activated zhangwei" in activated.output
    assert "already active" in invoke("users", "activate", "zhangwei").output

    for command in ("deactivate", "activate", "revoke", "reset-password"):
        unknown = invoke("users", command, "nobody", "--password-stdin" if command == "reset-password" else "--help")
        if command != "reset-password":
            unknown = invoke("users", command, "nobody")
        assert unknown.exit_code == 1 and "'nobody' does not exist" in unknown.output, command
        assert "Traceback" not in unknown.output

    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == "zhangwei")).one()
        assert user.active and verify_password(user.password_hash, OTHER_GOOD)
        for row in rows:
            _ended(s, row)
    engine.dispose()


def test_a12_cli_hashes_passwords_with_no_write_lock_held(folder, monkeypatch):
    """A password hash (argon2id, a tenth of a second at production cost) is made before the
    write transaction that stores it: on SQLite, order placements would wait for it."""
    assert invoke("init").exit_code == 0
    engine = _engine(folder)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    hashed = watch_password_hashes(monkeypatch, url)

    assert invoke("users", "add", "zhangwei", "--name", "张伟", "--password-stdin", input=GOOD + "\n").exit_code == 0
    reset = invoke("users", "reset-password", "zhangwei", "--password-stdin", input=OTHER_GOOD + "\n")
    assert reset.exit_code == 0, reset.output
    assert hashed == ["free", "free"]
    weak = invoke("users", "reset-password", "zhangwei", "--password-stdin", input="zhangwei2024\n")
    assert weak.exit_code == 1 and "too easy to guess" in weak.output and "Traceback" not in weak.output


def test_a12_a_password_checked_for_another_user_is_refused(session):
    _user(session)
    _user(session, "lisi")
    session.commit()
    checked = new_password(OTHER_GOOD, "lisi", "张伟")
    with pytest.raises(Conflict) as refused:
        reset_password(session, CLI_ADMIN, "zhangwei", checked)
    assert refused.value.data["field"] == "password"
    assert reset_password(session, CLI_ADMIN, "lisi", checked) == 0
    session.commit()
    assert verify_password(
        session.exec(select(StaffUser).where(StaffUser.username == "lisi")).one().password_hash, OTHER_GOOD
    )


def test_sec16_cli_users_add_refuses_12345678_for_an_admin(folder):
    assert invoke("init").exit_code == 0
    weak = invoke("users", "add", "admin", "--role", "admin", "--password-stdin", input="12345678\n")
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output
    common = invoke("users", "add", "admin", "--role", "admin", "--password-stdin", input="1234567890\n")
    assert common.exit_code == 1 and "too easy to guess" in common.output and "common password" in common.output


def test_sec16_check_warns_while_a_demo_password_opens_its_account(folder):
    assert invoke("init").exit_code == 0
    assert invoke("demo-data").exit_code == 0

    check = invoke("check")
    assert check.exit_code == 0, check.output
    assert "[WARN] demo logins: admin, sales still sign(s) in with the published demo password" in check.output

    assert invoke("users", "reset-password", "admin", "--password-stdin", input=GOOD + "\n").exit_code == 0
    assert invoke("users", "deactivate", "sales").exit_code == 0
    check = invoke("check")
    assert check.exit_code == 0
    assert "[ok  ] demo logins: no demo login opens with its published password" in check.output


# --------------------------------------------------------------------------- point 9: file modes


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def usual_umask():
    """The usual default umask, which would make new files 644; restored afterwards."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_sec09_init_creates_private_files_and_check_warns_on_loose_modes(folder, usual_umask):
    result = invoke("init")
    assert result.exit_code == 0, result.output
    var = folder / "var"
    assert _mode(var / "bridge.toml") == 0o600
    assert _mode(var / "bridge.db") == 0o600
    assert _mode(var / "secrets") == 0o700
    assert _mode(var / "secrets" / "token.key") == 0o600
    for extra in ("bridge.db-wal", "bridge.db-shm"):
        if (var / extra).exists():
            assert _mode(var / extra) == 0o600, extra
    check = invoke("check")
    assert check.exit_code == 0, check.output
    assert "[ok  ] file permissions:" in check.output and "WARN" not in check.output

    os.chmod(var / "bridge.db", 0o644)
    os.chmod(var / "bridge.toml", 0o644)
    os.chmod(var / "secrets", 0o755)
    os.chmod(var / "secrets" / "token.key", 0o640)
    check = invoke("check")
    assert check.exit_code == 0, check.output  # a warning, not a failure
    (line,) = [line for line in check.output.splitlines() if line.startswith("[WARN] file permissions:")]
    for path, want in (("bridge.db", 600), ("bridge.toml", 600), ("secrets", 700), ("secrets/token.key", 600)):
        assert f"run chmod {want} {var / path}" in line, path
    assert "mode 644" in line and "mode 640" in line and "mode 755" in line


def test_sec09_a_new_sqlite_file_is_private_and_an_existing_one_is_left_alone(tmp_path, usual_umask):
    from bridge.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    with engine.begin() as conn:  # a write, so the -wal and -shm files exist
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert _mode(tmp_path / "new.db") == 0o600
        assert _mode(tmp_path / "new.db-wal") == 0o600 and _mode(tmp_path / "new.db-shm") == 0o600
    engine.dispose()

    (tmp_path / "old.db").touch(mode=0o640)
    make_engine(f"sqlite:///{tmp_path / 'old.db'}").dispose()
    assert _mode(tmp_path / "old.db") == 0o640
