"""inquiry answers

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-10

- ``inquiry.answer``, ``answered_by_id``, ``answered_at``: the salesperson's answer to a
  customer's inquiry, which the customer reads in the mini-program (C11, issue #13).
  On SQLite the columns are added with ``ALTER TABLE ADD COLUMN`` (the foreign key as a named
  column constraint), not by a batch rebuild: a rebuild from the reflected table would lose the
  table's AUTOINCREMENT (migration 0002).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bridge.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FK = "fk_inquiry_answered_by_id_staff_user"


def upgrade() -> None:
    op.add_column("inquiry", sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
    op.add_column("inquiry", sa.Column("answered_at", bridge.types.UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE inquiry ADD COLUMN answered_by_id INTEGER CONSTRAINT {FK} REFERENCES staff_user (id)")
    else:
        op.add_column("inquiry", sa.Column("answered_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(FK), "inquiry", "staff_user", ["answered_by_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(FK), "inquiry", type_="foreignkey")
    # SQLite (3.35+) drops a column that only a column constraint names with the column itself.
    for column in ("answered_by_id", "answered_at", "answer"):
        op.drop_column("inquiry", column)
