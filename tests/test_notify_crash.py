"""Issue #15, the crash test: a real ``jht-bridge worker`` is killed with SIGKILL at random
moments while new orders' notices go out to the WeCom robot and the WeCom app (a local fake
WeCom server), and started again each time. Afterwards every notice was routed once (one send
row per cause and channel) and sent; the app's messages are never shown twice (WeCom's
duplicate check catches a resend), the robot's are sent at least once (it has no such check:
the documented at-least-once), and every order is in them."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter

from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN
from bridge.models import OutboxMessage, OutboxStatus, StaffUser
from bridge.notify import TARGET_SEND, set_contacts
from bridge.worker import wait_until
from tests.sync_helpers import make_shop
from tests.test_crash import FAST, FiledropErp, Placer, SimulatorThread, start_worker_process

ORDERS, KILLS = 60, 4


def _pending_notices(engine) -> int:
    with Session(engine) as s:
        return len(
            s.exec(
                select(OutboxMessage.id).where(
                    OutboxMessage.target.in_(["notify", TARGET_SEND]), OutboxMessage.status != OutboxStatus.DELIVERED
                )
            ).all()
        )


def test_a5_sigkill_while_notices_go_out_loses_none_and_shows_none_twice(engine, tmp_path, fake_wecom):
    erp = FiledropErp(tmp_path)
    config = tmp_path / "bridge.toml"
    config.write_text(erp.connector_toml, encoding="utf-8")
    fake_wecom.per_minute = 10_000
    env = {
        **os.environ,
        **FAST,
        "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
        "JHT_LOG__FORMAT": "json",
        "JHT_LOG__LEVEL": "warning",
        "JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL": fake_wecom.webhook_url(),
        "JHT_NOTIFY__WECOM_ROBOT__PER_MINUTE": "600",
        "JHT_NOTIFY__WECOM_APP__CORP_ID": fake_wecom.corp_id,
        "JHT_NOTIFY__WECOM_APP__AGENT_ID": str(fake_wecom.agent_id),
        "JHT_NOTIFY__WECOM_APP__SECRET": fake_wecom.secret,
        "JHT_NOTIFY__WECOM_APP__BASE_URL": fake_wecom.base_url,
        "JHT_NOTIFY__WECOM_APP__PER_MINUTE": "600",
    }
    shop = make_shop(engine, customers=5)
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == "sales")).one()
        set_contacts(s, CLI_ADMIN, user, wecom_userid="zhangwei")
        s.commit()
    rng = random.Random(20261204)
    log = tmp_path / "worker.log"

    def start_worker(n: int) -> subprocess.Popen:
        return start_worker_process(tmp_path, config, env, log, n)

    kills = 0
    with SimulatorThread(erp), Placer(engine, shop, count=ORDERS, pause=0.03, seed=11) as placer:
        while placer.is_alive() or kills < KILLS:
            worker = start_worker(kills)
            time.sleep(rng.uniform(0, 0.6))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
        worker = start_worker(kills)
        try:
            assert wait_until(lambda: len(placer.placed) == ORDERS and _pending_notices(engine) == 0, timeout=120)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
    assert placer.errors == [] and len(placer.placed) == ORDERS
    with Session(engine) as s:
        causes = s.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "notify.new_order", OutboxMessage.target == "notify")
        ).all()
        sends = s.exec(select(OutboxMessage).where(OutboxMessage.target == TARGET_SEND)).all()
    assert len(causes) == ORDERS
    routed = Counter((r.payload["cause_id"], r.payload["channel"]) for r in sends)
    assert set(routed.values()) == {1} and len(routed) == 2 * ORDERS  # routed once, to both channels
    robot = "\n".join(m["content"] for m in fake_wecom.received)
    shown = Counter()
    for m in fake_wecom.app_messages:
        if not m["duplicate"]:
            shown.update(o for o in placer.placed if o in m["content"])
    for order_no in placer.placed:
        assert order_no in robot, f"{order_no}: no robot message"
        assert shown[order_no] == 1, f"{order_no}: shown {shown[order_no]} times in the WeCom app"
