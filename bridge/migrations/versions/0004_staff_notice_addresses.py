"""staff notice addresses and channels

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

- ``staff_user.email``, ``staff_user.wecom_userid``: where the e-mail and WeCom app channels
  reach a staff user (issue #15).
- ``staff_user.notify_channels``: the channels the user chose (a JSON list of channel names);
  NULL: every configured channel that reaches them.
Plain ``ADD COLUMN`` on both databases (nullable columns, no constraint): no table rebuild.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff_user", sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
    op.add_column("staff_user", sa.Column("wecom_userid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("staff_user", sa.Column("notify_channels", sa.JSON(), nullable=True))


def downgrade() -> None:
    for column in ("notify_channels", "wecom_userid", "email"):
        op.drop_column("staff_user", column)
