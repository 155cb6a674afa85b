"""notify kbservice processes of changes to what their caches read (PostgreSQL)

With KB_FRESHNESS=notify (kbservice/changes.py) each process asks the database whether
its caches are current only after a change signal. These statement-level triggers send
that signal for every write to the tables the caches are built from, whoever makes it
(kbservice on another host, a script, psql). NOTIFY is delivered at commit, and a
transaction's identical notifications are sent once. SQLite has no NOTIFY: nothing to do.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kbservice.changes.CHANNEL; kept literal, as a migration must not change with the code.
CHANNEL = "kbservice_changes"
TABLES = ("products", "articles", "revisions", "revision_texts", "search_documents")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION kbservice_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER kbservice_notify_change AFTER INSERT OR UPDATE OR DELETE OR "
            f"TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION kbservice_notify_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER kbservice_notify_change ON {table}")
    op.execute("DROP FUNCTION kbservice_notify_change()")
