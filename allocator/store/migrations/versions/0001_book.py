"""The book: market, needs and assignments, intake, runs, suggestions, decisions, locks.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "book_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_book_state")),
    )
    op.create_table(
        "intake_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_added", sa.Integer(), nullable=False),
        sa.Column("n_skipped", sa.Integer(), nullable=False),
        sa.Column("n_rejected", sa.Integer(), nullable=False),
        sa.Column("rejects_file", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_batches")),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )
    op.create_table(
        "lots",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("complexities", sa.JSON(), nullable=False),
        sa.Column("framework", sa.Boolean(), nullable=False),
        sa.Column("block", sa.JSON(), nullable=True),
        sa.Column("reservation", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("quality", sa.Double(), nullable=False),
        sa.Column("capacity", sa.Double(), nullable=True),
        sa.Column("cqc_rating", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("instance_hash", sa.String(length=64), nullable=False),
        sa.Column("book_version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("solver", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("objective", sa.Double(), nullable=True),
        sa.Column("bound", sa.Double(), nullable=True),
        sa.Column("gap", sa.Double(), nullable=True),
        sa.Column("runtime_s", sa.Double(), nullable=False),
        sa.Column("time_limit", sa.Double(), nullable=False),
        sa.Column("max_moves", sa.Integer(), nullable=True),
        sa.Column("baseline_objective", sa.Double(), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("usage", sa.JSON(), nullable=False),
        sa.Column("n_needs", sa.Integer(), nullable=False),
        sa.Column("n_new", sa.Integer(), nullable=False),
        sa.Column("n_suggested", sa.Integer(), nullable=False),
        sa.Column("n_unmet", sa.Integer(), nullable=False),
        sa.Column("n_moves", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_runs_fingerprint")),
    )
    op.create_table(
        "zones",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
    )
    op.create_table(
        "block_bids",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("lot_id", sa.String(length=200), nullable=False),
        sa.Column("rate", sa.Double(), nullable=False),
        sa.Column("min_volume", sa.Double(), nullable=False),
        sa.Column("max_volume", sa.Double(), nullable=False),
        sa.Column("award_cost", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_block_bids_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_block_bids_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_block_bids")),
    )
    op.create_table(
        "block_contracts",
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("lot_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Double(), nullable=False),
        sa.Column("volume", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_block_contracts_lot_id_lots")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_block_contracts_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("provider_id", "lot_id", name=op.f("pk_block_contracts")),
    )
    op.create_table(
        "intake_rejects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.String(length=200), nullable=True),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["intake_batches.id"],
            name=op.f("fk_intake_rejects_batch_id_intake_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_rejects")),
    )
    with op.batch_alter_table("intake_rejects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_rejects_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "needs",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("zone_id", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("complexity", sa.String(length=40), nullable=False),
        sa.Column("care_group", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("priority", sa.String(length=200), nullable=False),
        sa.Column("acceptable_zones", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('new', 'active', 'ended')", name=op.f("ck_needs_status")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["intake_batches.id"], name=op.f("fk_needs_batch_id_intake_batches")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_needs_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needs")),
    )
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.create_index("ix_needs_status_seq", ["status", "seq"], unique=False)

    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("explicit_id", sa.Boolean(), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("zone_id", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("capacity", sa.Double(), nullable=False),
        sa.Column("max_complexity", sa.String(length=40), nullable=False),
        sa.Column("travel_factor", sa.Double(), nullable=False),
        sa.Column("care_groups", sa.JSON(), nullable=False),
        sa.Column("scheme", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_offers_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_offers_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_table(
        "assignments",
        sa.Column("need_id", sa.String(length=200), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("offer_id", sa.String(length=200), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_assignments_need_id_needs")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_assignments_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_assignments_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_assignments_run_id_runs")),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk_assignments")),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("offer_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('accept', 'reject')", name=op.f("ck_decisions_decision")),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"], name=op.f("fk_decisions_need_id_needs")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_decisions_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("run_id", "need_id", name="uq_decisions_run_need"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_need_id"), ["need_id"], unique=False)

    op.create_table(
        "suggestions",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("offer_id", sa.String(length=200), nullable=True),
        sa.Column("from_provider_id", sa.String(length=200), nullable=True),
        sa.Column("from_offer_id", sa.String(length=200), nullable=True),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("block_quantity", sa.Double(), nullable=False),
        sa.Column("cost", sa.Double(), nullable=True),
        sa.Column("saving", sa.Double(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "action IN ('assign', 'move', 'unmet')", name=op.f("ck_suggestions_action")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_suggestions_need_id_needs")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_suggestions_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "need_id", name=op.f("pk_suggestions")),
    )
    # The rows every book has: its header (with the version counter) and the nightly lock.
    book_state = sa.table(
        "book_state",
        sa.column("id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("name", sa.String),
        sa.column("currency", sa.String),
        sa.column("policy", sa.JSON),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        book_state,
        [
            {
                "id": 1,
                "version": 0,
                "name": "book",
                "currency": "GBP",
                "policy": {},
                "updated_at": datetime.now(UTC),
            }
        ],
    )
    locks = sa.table("locks", sa.column("name", sa.String))
    op.bulk_insert(locks, [{"name": "nightly"}])


def downgrade() -> None:
    op.drop_table("suggestions")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_need_id"))

    op.drop_table("decisions")
    op.drop_table("assignments")
    op.drop_table("offers")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_index("ix_needs_status_seq")

    op.drop_table("needs")
    with op.batch_alter_table("intake_rejects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_rejects_batch_id"))

    op.drop_table("intake_rejects")
    op.drop_table("block_contracts")
    op.drop_table("block_bids")
    op.drop_table("zones")
    op.drop_table("runs")
    op.drop_table("providers")
    op.drop_table("lots")
    op.drop_table("locks")
    op.drop_table("intake_batches")
    op.drop_table("book_state")
