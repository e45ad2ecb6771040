"""disbursement life cycle: commitments, recoveries, re-budget entries (issue 5)

Revision ID: 0004
Revises: 0003
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # 告知承诺: the values the enterprise declared itself, and when it accepted the terms.
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declared', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('commitment_accepted_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('award_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('filed_by', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.Column('resolution_reason', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("resolution IS NULL OR resolution IN ('dismissed','upheld')",
                       name=op.f('ck_award_objections_resolution_known')),
    sa.CheckConstraint('(resolution IS NULL) = (resolved_at IS NULL)',
                       name=op.f('ck_award_objections_resolved_consistently')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_objections_award_id_awards')),
    sa.ForeignKeyConstraint(['filed_by'], ['users.id'], name=op.f('fk_award_objections_filed_by_users')),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_award_objections_resolved_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_objections'))
    )
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_objections_award_id'), ['award_id'], unique=False)

    op.create_table('award_recoveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_award_recoveries_amount_positive')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_recoveries_award_id_awards')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_award_recoveries_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_recoveries'))
    )
    with op.batch_alter_table('award_recoveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_recoveries_award_id'), ['award_id'], unique=False)

    op.create_table('budget_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('city_code', sa.String(length=6), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_budget_entries_amount_positive')),
    sa.CheckConstraint("kind IN ('rebudget')", name=op.f('ck_budget_entries_kind_known')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_budget_entries_item_id_items')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_budget_entries_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_entries'))
    )
    with op.batch_alter_table('budget_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_entries_item_id'), ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('budget_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_entries_item_id'))
    op.drop_table('budget_entries')
    with op.batch_alter_table('award_recoveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_recoveries_award_id'))
    op.drop_table('award_recoveries')
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_objections_award_id'))
    op.drop_table('award_objections')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_column('commitment_accepted_at')
        batch_op.drop_column('declared')
