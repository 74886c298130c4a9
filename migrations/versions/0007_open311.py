"""Open311: API keys, and what Open311 submissions carry (media, client ids, token)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

import services.types


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("community_id", sa.String(length=40), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", services.types.UtcDateTimeType(timezone=True), nullable=False),
        sa.Column("revoked_at", services.types.UtcDateTimeType(timezone=True), nullable=True),
        sa.Column("last_used_at", services.types.UtcDateTimeType(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_api_keys_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
    )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("api_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("client_account_id", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("client_device_id", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("media", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("token", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_service_requests_api_key_id_api_keys"), "api_keys", ["api_key_id"], ["id"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_service_requests_token"), ["token"])
        batch_op.create_index(batch_op.f("ix_service_requests_requested_at"), ["requested_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_requests_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_requests_updated_at"))
        batch_op.drop_index(batch_op.f("ix_service_requests_requested_at"))
        batch_op.drop_constraint(batch_op.f("uq_service_requests_token"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_service_requests_api_key_id_api_keys"), type_="foreignkey")
        for column in ("token", "media", "client_device_id", "client_account_id", "api_key_id"):
            batch_op.drop_column(column)
    op.drop_table("api_keys")
