"""parking module: berth categories and sensor freshness, facility hours/tariff/barrier, snapshots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 06:10:42.950287
"""

from alembic import op
import sqlalchemy as sa

import services.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('parking_snapshots',
    sa.Column('facility_id', sa.String(length=40), nullable=False),
    sa.Column('taken_at', services.types.UtcDateTimeType(timezone=True), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('free', sa.Integer(), nullable=False),
    sa.Column('occupied', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('unknown', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['parking_facilities.id'], name=op.f('fk_parking_snapshots_facility_id_parking_facilities')),
    sa.PrimaryKeyConstraint('facility_id', 'taken_at', name=op.f('pk_parking_snapshots'))
    )
    with op.batch_alter_table('berth_events', schema=None) as batch_op:
        batch_op.create_index('ix_berth_events_berth_observed', ['berth_id', 'observed_at'], unique=False)

    with op.batch_alter_table('berths', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=16), server_default='normal', nullable=False))
        batch_op.add_column(sa.Column('sensor_occupied', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('seen_at', services.types.UtcDateTimeType(timezone=True), nullable=True))

    with op.batch_alter_table('parking_facilities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('barrier', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('opening_hours', sa.String(length=120), server_default='24/7', nullable=False))
        batch_op.add_column(sa.Column('tariff_zh', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('tariff_en', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('road_zh', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('road_en', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('parking_facilities', schema=None) as batch_op:
        batch_op.drop_column('road_en')
        batch_op.drop_column('road_zh')
        batch_op.drop_column('tariff_en')
        batch_op.drop_column('tariff_zh')
        batch_op.drop_column('opening_hours')
        batch_op.drop_column('barrier')

    with op.batch_alter_table('berths', schema=None) as batch_op:
        batch_op.drop_column('seen_at')
        batch_op.drop_column('sensor_occupied')
        batch_op.drop_column('category')

    with op.batch_alter_table('berth_events', schema=None) as batch_op:
        batch_op.drop_index('ix_berth_events_berth_observed')

    op.drop_table('parking_snapshots')
