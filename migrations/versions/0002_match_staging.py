"""matching results staged per partition (issue 3)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('match_staged_partitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('partition', sa.String(length=16), nullable=False),
    sa.Column('item_revisions', sa.JSON(), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('ineligible_by_item', sa.JSON(), nullable=False),
    sa.Column('enterprises', sa.Integer(), nullable=False),
    sa.Column('unregistered', sa.Integer(), nullable=False),
    sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['match_runs.id'], name=op.f('fk_match_staged_partitions_run_id_match_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_staged_partitions')),
    sa.UniqueConstraint('run_id', 'partition', name='uq_match_staged_partitions_run_partition')
    )
    with op.batch_alter_table('match_staged_partitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_staged_partitions_run_id'), ['run_id'], unique=False)

    op.create_table('match_staged_verdicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('partition', sa.String(length=16), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('missing_fields', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['match_runs.id'], name=op.f('fk_match_staged_verdicts_run_id_match_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_staged_verdicts'))
    )
    with op.batch_alter_table('match_staged_verdicts', schema=None) as batch_op:
        batch_op.create_index('ix_match_staged_verdicts_run_partition', ['run_id', 'partition'], unique=False)


def downgrade():
    with op.batch_alter_table('match_staged_verdicts', schema=None) as batch_op:
        batch_op.drop_index('ix_match_staged_verdicts_run_partition')
    op.drop_table('match_staged_verdicts')
    with op.batch_alter_table('match_staged_partitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_staged_partitions_run_id'))
    op.drop_table('match_staged_partitions')
