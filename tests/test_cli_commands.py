"""What the operator's commands do (E1, E3, E6, E8, A12, O1, O3), each through ``jht-bridge`` as an operator
runs it, in a folder made by ``init``: outbox list / preview / retry / purge, inbox list / replay,
sync once, demo, users list, db current. The ERP is the file-drop simulator in the same folder.

Tables are read cell by cell (``rows``), so a test does not depend on column widths."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select
from typer.testing import CliRunner

from bridge import db as bridge_db
from bridge.cli import app
from bridge.models import InboxEvent, InboxStatus, Order, OrderStatus, OutboxMessage, OutboxStatus, StaffUser
from bridge.types import utcnow
from connectors.filedrop.simulator import ErpSimulator
from tests.sync_helpers import make_shop, place


class Site:
    """A folder made by ``jht-bridge init``: its config, its database and its ERP folder."""

    def __init__(self, folder):
        self.runner = CliRunner()
        self.folder = folder
        made = self.runner.invoke(app, ["init", str(folder)])
        assert made.exit_code == 0, made.output
        self.config = folder / "bridge.toml"
        self.erp = folder / "erp"
        self.engine = bridge_db.make_engine(f"sqlite:///{folder / 'bridge.db'}")

    def __call__(self, *args, input: str | None = None):
        return self.runner.invoke(app, ["--config", str(self.config), *map(str, args)], input=input)

    def outbox(self) -> list[OutboxMessage]:
        with Session(self.engine) as s:
            return s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()

    def set_outbox(self, message_id: int, **values) -> None:
        with Session(self.engine) as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
            s.commit()

    def inbox(self) -> list[InboxEvent]:
        with Session(self.engine) as s:
            return s.exec(select(InboxEvent).order_by(InboxEvent.id)).all()


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    # The simulator renames its files into place: read them at once (`sync once` right after).
    monkeypatch.setenv("JHT_CONNECTOR__FILEDROP__SETTLE_S", "0")
    site = Site(tmp_path / "var")
    yield site
    site.engine.dispose()


@pytest.fixture
def shop(site):
    return make_shop(site.engine, customers=1)


@pytest.fixture
def order(site, shop):
    """One order placed the real way: its order.create and notify.new_order rows wait."""
    return place(site.engine, shop, shop["customers"][0])


def rows(output: str) -> list[list[str]]:
    """The body rows of the rich table in ``output``, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def sent_files(site) -> list[str]:
    return sorted(p.name for p in (site.erp / "out").iterdir())


# --------------------------------------------------------------------------- sync once


def test_c15_sync_once_and_sync_auto_complete_complete_an_order_shipped_16_days_ago(site, order, shop):
    """C9 (issue #13): `sync once` completes the shipped orders orders.auto_complete_days old
    before delivering, so the ERP's complete command goes out in the same run; `sync
    auto-complete` finds nothing left."""
    from bridge.actors import Actor
    from bridge.statemachine import transition

    with Session(site.engine) as s:
        row = s.get(Order, order.id)
        transition(s, row, OrderStatus.SHIPPED, Actor.erp("filedrop"), at=utcnow() - timedelta(days=16))
        s.commit()
    result = site("sync", "once")
    assert result.exit_code == 0, result.output
    assert "auto-complete: 1 order(s) completed" in result.stdout
    with Session(site.engine) as s:
        assert s.get(Order, order.id).status == OrderStatus.COMPLETED
    complete = [m for m in site.outbox() if m.kind == "order.complete"]
    assert [(m.aggregate_id, m.status) for m in complete] == [(order.order_no, OutboxStatus.DELIVERED)]
    again = site("sync", "auto-complete")
    assert again.exit_code == 0, again.output
    assert "0 order(s) completed automatically (15 days after shipment)" in again.stdout


def test_e1_sync_once_delivers_what_waits_applies_what_came_and_exits(site, order):
    result = site("sync", "once")
    assert result.exit_code == 0, result.output
    assert "outbox: 2 message(s) handled; inbox: 0 event(s) handled" in result.stdout
    assert [f for f in sent_files(site) if order.order_no in f]  # the order file for the ERP
    assert {m.status for m in site.outbox()} == {OutboxStatus.DELIVERED}

    sim = ErpSimulator(site.erp)
    sim.step()  # the ERP imports the order and says so
    assert sim.orders[order.order_no]
    sim.ship(order.order_no)
    again = site("sync", "once")
    assert again.exit_code == 0, again.output
    received = re.search(r"inbox: (\d+) event\(s\) handled", again.stdout)
    assert received and int(received.group(1)) >= 1, again.stdout
    with Session(site.engine) as s:
        assert s.get(Order, order.id).status == OrderStatus.SHIPPED


def test_o1_sync_once_refuses_an_old_schema(site):
    (site.folder / "bridge.db").unlink()
    result = site("sync", "once")
    assert result.exit_code == 1 and "jht-bridge db upgrade" in result.output


# --------------------------------------------------------------------------- outbox


def test_e6_outbox_list_shows_each_message_newest_first_and_filters(site, order):
    create, notice = site.outbox()
    listed = site("outbox", "list")
    assert listed.exit_code == 0, listed.output
    assert [r[:5] for r in rows(listed.stdout)] == [
        [str(notice.id), "notify.new_order", order.order_no, "pending", "0"],
        [str(create.id), "order.create", order.order_no, "pending", "0"],
    ]
    site.set_outbox(
        create.id, status=OutboxStatus.DEAD, attempts=5, last_error="ERP refused the order: unknown item WA-400"
    )
    dead = site("outbox", "list", "--status", "dead")
    assert [(r[0], r[3], r[4], r[6]) for r in rows(dead.stdout)] == [
        (str(create.id), "dead", "5", "ERP refused the order: unknown item WA-400")
    ]
    assert rows(site("outbox", "list", "--ref", "nobody").stdout) == []
    assert [r[0] for r in rows(site("outbox", "list", "--limit", "1").stdout)] == [str(notice.id)]
    bad = site("outbox", "list", "--status", "lost")
    assert bad.exit_code == 2 and "--status" in bad.output


def test_e6_outbox_list_shows_the_erps_words_as_they_are(site, order):
    create, _ = site.outbox()
    words = "ERP: item [wa-400] unknown, see [erp.items]"
    site.set_outbox(create.id, status=OutboxStatus.DEAD, last_error=words)
    listed = site("outbox", "list", "--status", "dead")
    assert listed.exit_code == 0, listed.output
    assert [r[6] for r in rows(listed.stdout)] == [words]


def test_p19_8_e6_a_dead_letters_whole_text_is_in_outbox_show_and_preview_and_cut_visibly_in_the_list(site, order):
    """#19 point 8, E6: a dead letter's reason longer than the list's column is cut there with a
    mark, and ``outbox show ID`` and ``outbox preview ID`` show it whole, as the ERP wrote it."""
    create, _ = site.outbox()
    words = "SOAP fault Client: Another user has modified the record for this Sales Order after you retrieved it " + (
        "from the database. Refresh the record and try again [订单 " + "X" * 200 + " 结束]"
    )
    site.set_outbox(create.id, status=OutboxStatus.DEAD, attempts=1, last_error=words, result={"erp_ref": "SO-1"})
    listed = rows(site("outbox", "list", "--status", "dead").stdout)[0][6]
    assert listed.endswith("…") and words.startswith(listed[:-1]) and len(listed) == 80
    shown = site("outbox", "show", create.id)
    assert shown.exit_code == 0, shown.output
    assert words in shown.stdout
    assert "status: dead" in shown.stdout and '"erp_ref": "SO-1"' in shown.stdout
    assert f'"order_no": "{order.order_no}"' in shown.stdout
    preview = site("outbox", "preview", create.id)
    assert preview.exit_code == 0 and f"# last error: {words}" in preview.stdout
    missing = site("outbox", "show", 9999)
    assert missing.exit_code == 1 and "outbox message 9999 does not exist" in missing.output


def test_p12_14_e8_outbox_preview_shows_the_file_that_is_sent_and_sends_nothing(site, order):
    """#12 point 14, E8: ``outbox preview`` shows what the connector sends — for the file drop,
    the file's name in out/ and its text — not the document; a notice shows its document."""
    create, notice = site.outbox()
    result = site("outbox", "preview", create.id)
    assert result.exit_code == 0, result.output
    assert "# order.create → filedrop.push_order  (status pending, 0 attempt(s))" in result.stdout
    name = f"{create.id:012d}_{order.order_no}_order.create.json"
    assert f"## 1. out/{name} (" in result.stdout and "bytes, utf-8)" in result.stdout
    assert sent_files(site) == []
    assert [m.status for m in site.outbox()] == [OutboxStatus.PENDING, OutboxStatus.PENDING]

    told = site("outbox", "preview", notice.id)
    assert "# notify.new_order → filedrop.notify" in told.stdout and '"needs_payment_confirmation": true' in told.stdout
    missing = site("outbox", "preview", 9999)
    assert missing.exit_code == 1 and "outbox message 9999 does not exist" in missing.output

    assert site("sync", "once").exit_code == 0
    shown = result.stdout.split(f"## 1. out/{name}", 1)[1].split("\n", 1)[1]
    assert shown == (site.erp / "out" / name).read_text(encoding="utf-8")


def test_p12_17_o3_check_fails_on_dead_letters_and_dead_parked_or_quarantined_events_and_says_where_to_look(
    site, order
):
    """#12 points 17 and 2, O3: ``check`` reports dead outbox messages and dead, parked or
    quarantined inbox events as failing lines, with their counts and the command that lists them,
    and exits 1."""
    assert "[ok  ] outbox dead letters: none" in site("check").stdout
    create, notice = site.outbox()
    site.set_outbox(create.id, status=OutboxStatus.DEAD, last_error="ERP refused the order")
    site.set_outbox(notice.id, status=OutboxStatus.DEAD, last_error="no notifier")
    with Session(site.engine) as s:
        for n, status in enumerate(
            [InboxStatus.DEAD, InboxStatus.PARKED, InboxStatus.PARKED, InboxStatus.APPLIED, InboxStatus.QUARANTINED]
        ):
            s.add(InboxEvent(connector="filedrop", event_id=f"e{n}", kind="order.status", payload={}, status=status))
        s.commit()
    result = site("check")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("[FAIL]")] == [
        "[FAIL] outbox dead letters: 2 message(s) will not be delivered (1 to the ERP, 1 notice(s)): see "
        "`jht-bridge outbox list --status dead`, fix the cause, then `jht-bridge outbox retry ID…`",
        "[FAIL] inbox dead events: 1 ERP event(s) could not be applied: see `jht-bridge inbox list --status dead`, "
        "fix the cause (e.g. [sync.status_map]), then `jht-bridge inbox replay ID…`",
        "[FAIL] inbox parked events: 2 ERP event(s) name an order the bridge does not know (yet): see "
        "`jht-bridge inbox list --status parked` (they are retried, then dead)",
        "[FAIL] inbox quarantined events: 1 ERP event(s) were refused as malformed: see "
        "`jht-bridge inbox list --status quarantined` for the reasons; the ERP sends a corrected copy (the same "
        "event id is taken up again)",
    ]
    assert "4 check(s) failed" in result.output


def test_e8_outbox_retry_requeues_the_dead_letters_named_and_sync_delivers_them(site, order):
    create, notice = site.outbox()
    site.set_outbox(create.id, status=OutboxStatus.DEAD, attempts=5, last_error="ERP was misconfigured")
    site.set_outbox(notice.id, status=OutboxStatus.DEAD, attempts=5, last_error="no notifier")

    nothing = site("outbox", "retry")
    assert nothing.exit_code == 1 and "--all-dead" in nothing.output
    one = site("outbox", "retry", create.id)
    assert one.exit_code == 0 and "re-queued 1 dead letter(s)" in one.stdout
    assert [(m.status, m.attempts) for m in site.outbox()] == [(OutboxStatus.PENDING, 0), (OutboxStatus.DEAD, 5)]
    assert "re-queued 0 dead letter(s)" in site("outbox", "retry", create.id).stdout  # not dead any more

    assert site("sync", "once").exit_code == 0
    assert [f for f in sent_files(site) if order.order_no in f]
    assert "re-queued 1 dead letter(s)" in site("outbox", "retry", "--all-dead").stdout
    assert site.outbox()[1].status == OutboxStatus.PENDING


def test_outbox_purge_deletes_old_delivered_messages_only(site, shop, order):
    create, notice = site.outbox()
    assert site("sync", "once").exit_code == 0  # both delivered
    place(site.engine, shop, shop["customers"][0])  # one more order: two pending rows
    old = utcnow() - timedelta(days=40)
    site.set_outbox(create.id, created_at=old)
    site.set_outbox(notice.id, created_at=old, status=OutboxStatus.DEAD)

    kept = site("outbox", "purge", "--older-than-days", "60")
    assert kept.exit_code == 0 and "purged 0 message(s)" in kept.stdout
    purged = site("outbox", "purge")  # 30 days by default
    assert purged.exit_code == 0 and "purged 1 message(s)" in purged.stdout
    left = site.outbox()
    assert create.id not in [m.id for m in left]
    assert notice.id in [m.id for m in left]  # a dead letter is never purged
    assert [m.status for m in left if m.id > notice.id] == [OutboxStatus.PENDING, OutboxStatus.PENDING]
    bad = site("outbox", "purge", "--older-than-days", "0")
    assert bad.exit_code == 2 and "--older-than-days" in bad.output


# --------------------------------------------------------------------------- inbox


def test_e3_inbox_list_shows_each_event_with_what_became_of_it(site, order):
    assert site("sync", "once").exit_code == 0
    sim = ErpSimulator(site.erp)
    sim.step()
    sim.produce(order.order_no)
    sim.emit("order.status", {"order_no": "JHT-19990101-0001", "status": "shipped"}, event_id="early-1")
    assert site("sync", "once").exit_code == 0

    listed = site("inbox", "list")
    assert listed.exit_code == 0, listed.output
    by_event = {r[1]: r for r in rows(listed.stdout)}
    assert by_event["early-1"][2:5] == ["order.status", "parked", "1"]
    assert "JHT-19990101-0001" in by_event["early-1"][6] and "not known" in by_event["early-1"][6]
    assert ["order.status", "applied"] in [r[2:4] for r in by_event.values()]  # the production news
    parked = site("inbox", "list", "--status", "parked")
    assert [r[1] for r in rows(parked.stdout)] == ["early-1"]
    bad = site("inbox", "list", "--status", "lost")
    assert bad.exit_code == 2 and "--status" in bad.output


def test_e3_inbox_list_shows_the_reason_as_it_is(site, order):
    assert site("sync", "once").exit_code == 0
    ErpSimulator(site.erp).emit("order.status", {"order_no": order.order_no, "status": "完工待检"}, event_id="odd-1")
    assert site("sync", "once").exit_code == 0
    (reason,) = [r.error for r in site.inbox() if r.event_id == "odd-1"]
    assert "[sync.status_map]" in reason  # what the bridge stored
    listed = site("inbox", "list", "--status", "dead")
    assert [r[6] for r in rows(listed.stdout)] == [reason[:80]]


def test_e8_inbox_replay_applies_a_dead_event_once_its_cause_is_fixed(site, order):
    assert site("sync", "once").exit_code == 0
    sim = ErpSimulator(site.erp)
    sim.step()
    sim.emit("order.status", {"order_no": order.order_no, "status": "完工待检"}, event_id="word-1")
    assert site("sync", "once").exit_code == 0
    (event,) = [r for r in site.inbox() if r.event_id == "word-1"]
    assert event.status == InboxStatus.DEAD and "[sync.status_map]" in event.error

    still = site("inbox", "replay", event.id)
    assert still.exit_code == 0 and f"inbox {event.id}: dead" in still.stdout
    with site.config.open("a", encoding="utf-8") as config:  # the operator maps the ERP's word
        config.write('\n[sync.status_map]\n"完工待检" = "in_production"\n')
    fixed = site("inbox", "replay", event.id)
    assert fixed.exit_code == 0, fixed.output
    assert f"inbox {event.id}: applied" in fixed.stdout
    with Session(site.engine) as s:
        assert s.get(Order, order.id).status == OrderStatus.IN_PRODUCTION
    assert f"inbox {event.id}: applied" in site("inbox", "replay", event.id).stdout  # left alone
    missing = site("inbox", "replay", 9999)
    assert missing.exit_code == 1 and "inbox event 9999 does not exist" in missing.output


# --------------------------------------------------------------------------- users, db


def test_a12_users_list_shows_every_staff_user_with_role_invite_code_and_state(site):
    assert (
        site(
            "users",
            "add",
            "zhangwei",
            "--role",
            "sales",
            "--name",
            "张伟 [south]",
            "--password-stdin",
            input="a-good-password-1\n",
        ).exit_code
        == 0
    )
    assert (
        site("users", "add", "boss", "--role", "admin", "--password-stdin", input="another-good-pass-2\n").exit_code
        == 0
    )
    assert (
        site(
            "users",
            "add",
            "lisi",
            "--role",
            "sales",
            "--name",
            "李四",
            "--password-stdin",
            input="a-third-good-pass-3\n",
        ).exit_code
        == 0
    )
    assert site("users", "deactivate", "lisi").exit_code == 0
    with Session(site.engine) as s:
        codes = {u.username: u.invite_code for u in s.exec(select(StaffUser))}
    assert codes["zhangwei"] and codes["lisi"]
    listed = site("users", "list")
    assert listed.exit_code == 0, listed.output
    assert [[r[1], r[2], r[3], r[5], r[6]] for r in rows(listed.stdout)] == [
        ["zhangwei", "张伟 [south]", "sales", codes["zhangwei"], "yes"],
        ["boss", "boss", "admin", "", "yes"],
        ["lisi", "李四", "sales", codes["lisi"], "no"],
    ]


def test_o3_db_current_names_the_schema_revision_and_the_newest(site):
    from bridge.db import head_revision

    head = head_revision()
    current = site("db", "current")
    assert current.exit_code == 0, current.output
    assert current.stdout.split() == ["database:", head, "newest:", head]
    (site.folder / "bridge.db").unlink()
    assert site("db", "current").stdout.split() == ["database:", "empty", "newest:", head]


def test_o3_db_current_names_a_database_it_cannot_open(site, tmp_path):
    result = site.runner.invoke(
        app,
        ["--config", str(site.config), "db", "current"],
        env={"JHT_DATABASE__URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}"},
    )
    assert result.exit_code == 1 and "cannot open the database" in result.output


# --------------------------------------------------------------------------- demo


def test_demo_sets_up_an_empty_folder_and_walks_through_both_scenarios(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["demo", "--folder", "demo-site"])
    assert result.exit_code == 0, result.output
    said = result.stdout
    assert "场景一" in said and "场景二" in said and "done:" in said
    assert "confirms payment" in said and "customer confirms receipt → 「已完成」" in said
    assert "shipped in 2 parts" in said
    engine = bridge_db.make_engine(f"sqlite:///{tmp_path / 'demo-site' / 'bridge.db'}")
    try:
        with Session(engine) as s:
            statuses = sorted(o.status for o in s.exec(select(Order)).all())
            left = s.exec(select(OutboxMessage).where(OutboxMessage.status != OutboxStatus.DELIVERED)).all()
    finally:
        engine.dispose()
    assert statuses == sorted([OrderStatus.COMPLETED, OrderStatus.SHIPPED])
    assert [(m.kind, m.status) for m in left if m.status != OutboxStatus.SUPERSEDED] == []
