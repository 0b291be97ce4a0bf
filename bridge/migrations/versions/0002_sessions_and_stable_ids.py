"""sign-in sessions, ids never reused, one customer per phone, unbound accounts kept

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

- ``auth_session``: every token names its session; ending the session ends the token (S1).
- SQLite: every table with an integer id is rebuilt with ``AUTOINCREMENT``, so an id is never
  handed out twice (without it SQLite reuses the highest deleted rowid, and a token or link that
  named the deleted row would name the new one). Each table is rebuilt the way SQLite's own
  documentation describes (new table from the old one's SQL with the primary key changed, rows
  copied, old table dropped, new one renamed, indexes recreated), so nothing else about it
  changes. PostgreSQL's sequences never reuse an id: nothing to do there.
- ``account.unbound_at``: unbinding keeps the account row (orders name it) and releases its
  openid and phone.
- ``product.created_by_id``: who made a product in the bridge (a salesperson sees the custom
  products they made).
- Customer phones are normalised (``bridge.customers.normalize_phone``) and unique among
  customers that are not aliases. Where two customers held the same phone, the oldest keeps it;
  the others' phone is cleared and an audit row ``customer.phone_cleared`` says who holds it, so
  an admin can merge them or correct the number.
"""

import re

import sqlalchemy as sa
from alembic import op

import bridge.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Tables of 0001 with an integer id.
ID_TABLES = (
    "audit_log",
    "erp_binding",
    "inbox",
    "outbox",
    "product",
    "staff_user",
    "customer",
    "product_qr",
    "account",
    "address",
    "customer_price",
    "product_grant",
    "product_hide",
    "inquiry",
    "note",
    "orders",
    "order_event",
    "order_line",
    "shipment",
    "shipment_line",
)


def upgrade() -> None:
    op.create_table(
        "auth_session",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("refresh_jti", sa.String(length=32), nullable=False),
        sa.Column("previous_jti", sa.String(length=32), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=64), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.CheckConstraint("(account_id IS NULL) <> (staff_id IS NULL)", name=op.f("ck_auth_session_one_subject")),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_auth_session_account_id_account")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"], name=op.f("fk_auth_session_staff_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
    )
    with op.batch_alter_table("auth_session") as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_session_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_session_expires_at"), ["expires_at"], unique=False)

    with op.batch_alter_table("account") as batch_op:
        batch_op.add_column(sa.Column("unbound_at", bridge.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("product") as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_product_created_by_id_staff_user"), "staff_user", ["created_by_id"], ["id"]
        )

    with op.batch_alter_table("customer") as batch_op:
        batch_op.drop_index("ix_customer_phone")
    _one_customer_per_phone()
    with op.batch_alter_table("customer") as batch_op:
        batch_op.create_index(
            "uq_customer_phone_active",
            ["phone"],
            unique=True,
            postgresql_where=sa.text("merged_into_id IS NULL"),
            sqlite_where=sa.text("merged_into_id IS NULL"),
        )

    if op.get_bind().dialect.name == "sqlite":
        for table in ID_TABLES:
            _sqlite_autoincrement(table)


def _one_customer_per_phone() -> None:
    from bridge.customers import normalize_phone
    from bridge.errors import InvalidInput

    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, phone FROM customer WHERE phone IS NOT NULL AND merged_into_id IS NULL ORDER BY id")
    ).all()
    holder: dict[str, int] = {}
    audit = sa.table(
        "audit_log",
        sa.column("at", bridge.types.UTCDateTime()),
        sa.column("actor_kind"),
        sa.column("actor_id"),
        sa.column("action"),
        sa.column("entity"),
        sa.column("entity_id"),
        sa.column("detail", sa.JSON()),
    )
    for customer_id, phone in rows:
        try:
            clean = normalize_phone(phone)
        except InvalidInput:
            clean = phone.strip()  # kept as it was: people see it and can correct it
        if clean in holder:
            conn.execute(sa.text("UPDATE customer SET phone = NULL WHERE id = :id"), {"id": customer_id})
            conn.execute(
                audit.insert().values(
                    at=bridge.types.utcnow(),
                    actor_kind="system",
                    actor_id="migration 0002",
                    action="customer.phone_cleared",
                    entity="customer",
                    entity_id=str(customer_id),
                    detail={
                        "phone": phone,
                        "held_by_customer_id": holder[clean],
                        "reason": "a phone number belongs to one customer: merge the two customers or correct it",
                    },
                )
            )
            continue
        holder[clean] = customer_id
        if clean != phone:
            conn.execute(sa.text("UPDATE customer SET phone = :p WHERE id = :id"), {"p": clean, "id": customer_id})


_PK_COLUMN = re.compile(r'(\n\s*"?id"? INTEGER NOT NULL)(,)', re.I)
_PK_CONSTRAINT = re.compile(r',\s*CONSTRAINT "?\w+"? PRIMARY KEY \("?id"?\)', re.I)


def _sqlite_autoincrement(table: str) -> None:
    """Rebuild ``table`` with ``id INTEGER PRIMARY KEY AUTOINCREMENT`` and nothing else changed
    (https://sqlite.org/lang_altertable.html#otheralter). env.py runs SQLite migrations with
    foreign keys off and checks them all afterwards."""
    conn = op.get_bind()
    sql = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar()
    if sql is None or "AUTOINCREMENT" in sql.upper():
        return
    new_sql, n_col = _PK_COLUMN.subn(r"\1 PRIMARY KEY AUTOINCREMENT\2", sql, count=1)
    new_sql, n_pk = _PK_CONSTRAINT.subn("", new_sql, count=1)
    if n_col != 1 or n_pk != 1:
        raise RuntimeError(f"migration 0002: table {table} does not look as 0001 made it:\n{sql}")
    temp = f"_jht_new_{table}"
    new_sql = re.sub(r'^CREATE TABLE "?' + re.escape(table) + r'"?', f'CREATE TABLE "{temp}"', new_sql, count=1)
    indexes = (
        conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"),
            {"t": table},
        )
        .scalars()
        .all()
    )
    conn.exec_driver_sql(new_sql)
    conn.exec_driver_sql(f'INSERT INTO "{temp}" SELECT * FROM "{table}"')
    conn.exec_driver_sql(f'DROP TABLE "{table}"')
    conn.exec_driver_sql(f'ALTER TABLE "{temp}" RENAME TO "{table}"')
    for index_sql in indexes:
        conn.exec_driver_sql(index_sql)


def downgrade() -> None:
    # The AUTOINCREMENT rebuild is kept on a downgrade: it changes nothing 0001 relies on.
    with op.batch_alter_table("customer") as batch_op:
        batch_op.drop_index("uq_customer_phone_active")
        batch_op.create_index("ix_customer_phone", ["phone"], unique=False)
    with op.batch_alter_table("product") as batch_op:
        batch_op.drop_constraint("fk_product_created_by_id_staff_user", type_="foreignkey")
        batch_op.drop_column("created_by_id")
    with op.batch_alter_table("account") as batch_op:
        batch_op.drop_column("unbound_at")
    op.drop_table("auth_session")
