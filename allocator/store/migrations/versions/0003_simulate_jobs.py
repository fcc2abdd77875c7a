"""Simulations as web jobs: the jobs table's kind may be ``simulate``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KINDS_0002 = "kind IN ('nightly', 'compare', 'minicomp')"
KINDS_0003 = "kind IN ('nightly', 'compare', 'minicomp', 'simulate')"


def _kinds(condition: str) -> None:
    # SQLite cannot alter a CHECK constraint: batch mode copies the table under the new one
    with op.batch_alter_table("jobs", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_jobs_kind"), condition)


def upgrade() -> None:
    _kinds(KINDS_0003)


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE kind = 'simulate'")  # the older schema cannot hold them
    _kinds(KINDS_0002)
