"""feed provenance and conflict resolution (issue 4)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'conflict_resolutions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('credit_code', sa.String(length=18), nullable=False),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conflict_resolutions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_resolutions')),
    )
    with op.batch_alter_table('conflict_resolutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_resolutions_credit_code'), ['credit_code'], unique=False)


def downgrade():
    with op.batch_alter_table('conflict_resolutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_resolutions_credit_code'))
    op.drop_table('conflict_resolutions')
