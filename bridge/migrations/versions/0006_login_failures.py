"""login failures

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

- ``login_failure``: wrong passwords at staff logins, kept 15 minutes, so that the login limits
  (``webapi.auth.LoginLimiter``) count the guesses at a username across every API replica;
  before, each replica counted its own in memory, and N replicas let N times as many through.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bridge.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", bridge.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_login_failure_username_at", "login_failure", ["username", "at"], unique=False)
    op.create_index(op.f("ix_login_failure_at"), "login_failure", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failure_at"), table_name="login_failure")
    op.drop_index("ix_login_failure_username_at", table_name="login_failure")
    op.drop_table("login_failure")
