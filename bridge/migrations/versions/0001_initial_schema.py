"""initial schema

Revision ID: 0001
Revises:
Create Date: (generated from bridge/models.py)
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import bridge.types


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "actor_kind",
            sa.Enum("customer", "sales", "admin", "erp", "system", name="actorkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "erp_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("internal_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erp_binding")),
        sa.UniqueConstraint(
            "connector", "entity", "external_id", name=op.f("uq_erp_binding_connector_entity_external_id")
        ),
        sa.UniqueConstraint(
            "connector", "entity", "internal_id", name=op.f("uq_erp_binding_connector_entity_internal_id")
        ),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "applied", "parked", "ignored", "dead", "quarantined", name="inboxstatus", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("received_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("connector", "event_id", name=op.f("uq_inbox_connector_event_id")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_status"), ["status"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ordering_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("aggregate_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("aggregate_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "delivered", "dead", "superseded", name="outboxstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_aggregate_id"), ["aggregate_id"], unique=False)
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_ordering_key"), ["ordering_key"], unique=False)
        batch_op.create_index(
            "ix_outbox_pending_line",
            ["target", "ordering_key", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("erp_item_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column(
            "kind", sa.Enum("standard", "custom", name="productkind", native_enum=False, length=24), nullable=False
        ),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("price", bridge.types.ExactDecimal(14, 2), nullable=False),
        sa.Column("shape", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("outer_diameter_mm", bridge.types.ExactDecimal(10, 2), nullable=True),
        sa.Column("thickness_mm", bridge.types.ExactDecimal(10, 2), nullable=True),
        sa.Column("bore_mm", bridge.types.ExactDecimal(10, 2), nullable=True),
        sa.Column("abrasive", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("grit", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("hardness", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("bond", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("max_speed_ms", bridge.types.ExactDecimal(8, 1), nullable=True),
        sa.Column("marking", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("sku", name=op.f("uq_product_sku")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_erp_item_code"), ["erp_item_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_kind"), ["kind"], unique=False)

    op.create_table(
        "sequence",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sequence")),
    )
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sa.Enum("admin", "sales", name="staffrole", native_enum=False, length=24), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("wechat_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("wechat_openid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("invite_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("invite_code", name=op.f("uq_staff_user_invite_code")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_user_username")),
        sa.UniqueConstraint("wechat_openid", name=op.f("uq_staff_user_wechat_openid")),
    )
    op.create_table(
        "stock_snapshot",
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("quantity", bridge.types.ExactDecimal(14, 3), nullable=False),
        sa.Column("as_of", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_stock_snapshot")),
    )
    op.create_table(
        "sync_cursor",
        sa.Column("connector", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("updated_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream", name=op.f("pk_sync_cursor")),
    )
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("salesperson_id", sa.Integer(), nullable=True),
        sa.Column("erp_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("merged_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN (1, 2)", name=op.f("ck_customer_type_1_or_2")),
        sa.ForeignKeyConstraint(["merged_into_id"], ["customer.id"], name=op.f("fk_customer_merged_into_id_customer")),
        sa.ForeignKeyConstraint(
            ["salesperson_id"], ["staff_user.id"], name=op.f("fk_customer_salesperson_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("erp_code", name=op.f("uq_customer_erp_code")),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_salesperson_id"), ["salesperson_id"], unique=False)

    op.create_table(
        "product_qr",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("payload", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("marking", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_qr_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_qr")),
        sa.UniqueConstraint("payload", name=op.f("uq_product_qr_payload")),
    )
    with op.batch_alter_table("product_qr", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_qr_product_id"), ["product_id"], unique=False)

    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("openid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("unionid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("nickname", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_account_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("openid", name=op.f("uq_account_openid")),
        sa.UniqueConstraint("phone", name=op.f("uq_account_phone")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_unionid"), ["unionid"], unique=False)

    op.create_table(
        "address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("province", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_address_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address")),
    )
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_address_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "customer_price",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("customer_type", sa.SmallInteger(), nullable=True),
        sa.Column("price", bridge.types.ExactDecimal(14, 2), nullable=False),
        sa.CheckConstraint(
            "(customer_id IS NULL) <> (customer_type IS NULL)", name=op.f("ck_customer_price_one_grantee")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_customer_price_customer_id_customer")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_customer_price_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_price")),
        sa.UniqueConstraint("product_id", "customer_id", name=op.f("uq_customer_price_product_id_customer_id")),
        sa.UniqueConstraint("product_id", "customer_type", name=op.f("uq_customer_price_product_id_customer_type")),
    )
    with op.batch_alter_table("customer_price", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_price_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_price_product_id"), ["product_id"], unique=False)

    op.create_table(
        "product_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("customer_type", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(customer_id IS NULL) <> (customer_type IS NULL)", name=op.f("ck_product_grant_one_grantee")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_product_grant_customer_id_customer")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_grant_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_grant")),
        sa.UniqueConstraint("product_id", "customer_id", name=op.f("uq_product_grant_product_id_customer_id")),
        sa.UniqueConstraint("product_id", "customer_type", name=op.f("uq_product_grant_product_id_customer_type")),
    )
    with op.batch_alter_table("product_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_grant_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_grant_product_id"), ["product_id"], unique=False)

    op.create_table(
        "product_hide",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_product_hide_customer_id_customer")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_hide_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_hide")),
        sa.UniqueConstraint("product_id", "customer_id", name=op.f("uq_product_hide_product_id_customer_id")),
    )
    with op.batch_alter_table("product_hide", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_hide_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_hide_product_id"), ["product_id"], unique=False)

    op.create_table(
        "inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column(
            "status", sa.Enum("open", "handled", name="inquirystatus", native_enum=False, length=24), nullable=False
        ),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_inquiry_account_id_account")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_inquiry_customer_id_customer")),
        sa.ForeignKeyConstraint(["handled_by_id"], ["staff_user.id"], name=op.f("fk_inquiry_handled_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry")),
    )
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inquiry_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("placed_by_staff_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_production",
                "awaiting_shipment",
                "shipped",
                "completed",
                "cancelled",
                name="orderstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("released_at", bridge.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "stock_check",
            sa.Enum("sufficient", "insufficient", "unknown", name="stockcheck", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("stock_source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ship_to", sa.JSON(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("remark", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("total_amount", bridge.types.ExactDecimal(14, 2), nullable=False),
        sa.Column("erp_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_orders_account_id_account")),
        sa.ForeignKeyConstraint(["address_id"], ["address.id"], name=op.f("fk_orders_address_id_address")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_orders_customer_id_customer")),
        sa.ForeignKeyConstraint(
            ["placed_by_staff_id"], ["staff_user.id"], name=op.f("fk_orders_placed_by_staff_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("customer_id", "idempotency_key", name=op.f("uq_orders_customer_id_idempotency_key")),
        sa.UniqueConstraint("order_no", name=op.f("uq_orders_order_no")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_status"), ["status"], unique=False)

    op.create_table(
        "note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["staff_user.id"], name=op.f("fk_note_author_id_staff_user")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_note_customer_id_customer")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_note_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note")),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_note_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "actor_kind",
            sa.Enum("customer", "sales", "admin", "erp", "system", name="actorkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "pending",
                "in_production",
                "awaiting_shipment",
                "shipped",
                "completed",
                "cancelled",
                name="orderstatus",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "pending",
                "in_production",
                "awaiting_shipment",
                "shipped",
                "completed",
                "cancelled",
                name="orderstatus",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_event_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_event")),
    )
    with op.batch_alter_table("order_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_event_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("erp_item_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("spec", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("marking", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", bridge.types.ExactDecimal(14, 2), nullable=False),
        sa.Column("amount", bridge.types.ExactDecimal(14, 2), nullable=False),
        sa.Column("qr_payload", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_line_order_id_orders")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_order_line_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line")),
        sa.UniqueConstraint("order_id", "line_no", name=op.f("uq_order_line_order_id_line_no")),
    )
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_line_order_id"), ["order_id"], unique=False)

    op.create_table(
        "shipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("erp_shipment_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("courier", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("tracking_no", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("shipped_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_shipment_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment")),
        sa.UniqueConstraint("order_id", "erp_shipment_id", name=op.f("uq_shipment_order_id_erp_shipment_id")),
    )
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_order_id"), ["order_id"], unique=False)

    op.create_table(
        "shipment_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=True),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_line.id"], name=op.f("fk_shipment_line_order_line_id_order_line")
        ),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipment.id"], name=op.f("fk_shipment_line_shipment_id_shipment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_line")),
    )
    with op.batch_alter_table("shipment_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_line_shipment_id"), ["shipment_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("shipment_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_line_shipment_id"))

    op.drop_table("shipment_line")
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_order_id"))

    op.drop_table("shipment")
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_order_id"))

    op.drop_table("order_line")
    with op.batch_alter_table("order_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_event_order_id"))

    op.drop_table("order_event")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_order_id"))
        batch_op.drop_index(batch_op.f("ix_note_customer_id"))

    op.drop_table("note")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_status"))
        batch_op.drop_index(batch_op.f("ix_orders_customer_id"))
        batch_op.drop_index(batch_op.f("ix_orders_created_at"))

    op.drop_table("orders")
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiry_customer_id"))

    op.drop_table("inquiry")
    with op.batch_alter_table("product_hide", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_hide_product_id"))
        batch_op.drop_index(batch_op.f("ix_product_hide_customer_id"))

    op.drop_table("product_hide")
    with op.batch_alter_table("product_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_grant_product_id"))
        batch_op.drop_index(batch_op.f("ix_product_grant_customer_id"))

    op.drop_table("product_grant")
    with op.batch_alter_table("customer_price", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_price_product_id"))
        batch_op.drop_index(batch_op.f("ix_customer_price_customer_id"))

    op.drop_table("customer_price")
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_address_customer_id"))

    op.drop_table("address")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_unionid"))
        batch_op.drop_index(batch_op.f("ix_account_customer_id"))

    op.drop_table("account")
    with op.batch_alter_table("product_qr", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_qr_product_id"))

    op.drop_table("product_qr")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_salesperson_id"))
        batch_op.drop_index(batch_op.f("ix_customer_phone"))
        batch_op.drop_index(batch_op.f("ix_customer_merged_into_id"))

    op.drop_table("customer")
    op.drop_table("sync_cursor")
    op.drop_table("stock_snapshot")
    op.drop_table("staff_user")
    op.drop_table("sequence")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_kind"))
        batch_op.drop_index(batch_op.f("ix_product_erp_item_code"))

    op.drop_table("product")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_pending_line",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(batch_op.f("ix_outbox_ordering_key"))
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index(batch_op.f("ix_outbox_aggregate_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_status"))

    op.drop_table("inbox")
    op.drop_table("erp_binding")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
