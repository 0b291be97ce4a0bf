"""orders by customer and time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

- ``ix_orders_customer_created`` on ``orders (customer_id, created_at)``: the order-rate limit
  counts a customer's orders of the last minute and day at every placement (issue #16); with
  the index on ``customer_id`` alone it read all of the customer's orders to do so.
- ``ix_orders_customer_id`` dropped: the new index (and the unique key on ``customer_id,
  idempotency_key``) start with that column, so it only cost a write per order.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_customer_created", "orders", ["customer_id", "created_at"], unique=False)
    op.drop_index("ix_orders_customer_id", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"], unique=False)
    op.drop_index("ix_orders_customer_created", table_name="orders")
