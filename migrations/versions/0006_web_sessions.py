"""web sessions: editors signed in from a browser, ended server-side

The web UI's cookie holds only a random id; this table holds its hash, the token it
signed in with, and when the session ends (absolute lifetime, idleness, sign-out or the
token's revocation).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:35:54.550381
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kbservice.storage.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", kbservice.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", kbservice.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", kbservice.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", kbservice.storage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_web_sessions_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_web_sessions_secret_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_web_sessions_token_id"), ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_token_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_expires_at"))

    op.drop_table("web_sessions")
