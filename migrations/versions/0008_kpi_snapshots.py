"""KPI board: one value per KPI per day (the trend)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import services.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kpi_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("recorded_at", services.types.UtcDateTimeType(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshots")),
        sa.UniqueConstraint("kpi_id", "day", name="uq_kpi_snapshots_kpi_day"),
    )
    op.create_index(op.f("ix_kpi_snapshots_day"), "kpi_snapshots", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_kpi_snapshots_day"), table_name="kpi_snapshots")
    op.drop_table("kpi_snapshots")
