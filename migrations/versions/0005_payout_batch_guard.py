"""payout batch guard: a sent batch is immutable and its total equals the sum of its lines (issue 5)

Each payment keeps the payee it was sent to (a later account fix must not rewrite a sent line). Database
triggers, so SQL written by hand is refused too (the ORM half is in policy_hub.services.payouts).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SQLITE = (
    "CREATE TRIGGER payout_batches_insert_guard BEFORE INSERT ON payout_batches WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'payout batch is sent and immutable'); END",
    "CREATE TRIGGER payout_batches_update_guard BEFORE UPDATE ON payout_batches WHEN OLD.status = 'sent' BEGIN SELECT RAISE(ABORT, 'payout batch is sent and immutable'); END",
    "CREATE TRIGGER payout_batches_total_guard BEFORE UPDATE ON payout_batches WHEN NEW.status = 'sent' AND (NEW.total_fen <> (SELECT COALESCE(SUM(amount_fen), 0) FROM payments WHERE batch_id = NEW.id) OR NEW.line_count <> (SELECT COUNT(*) FROM payments WHERE batch_id = NEW.id)) BEGIN SELECT RAISE(ABORT, 'payout batch total must equal the sum of its lines'); END",
    "CREATE TRIGGER payout_batches_delete_guard BEFORE DELETE ON payout_batches BEGIN SELECT RAISE(ABORT, 'payout batch is sent and immutable'); END",
    "CREATE TRIGGER payments_insert_guard BEFORE INSERT ON payments WHEN (SELECT status FROM payout_batches WHERE id = NEW.batch_id) = 'sent' BEGIN SELECT RAISE(ABORT, 'payment lines of a batch are immutable'); END",
    "CREATE TRIGGER payments_update_guard BEFORE UPDATE ON payments WHEN OLD.batch_id IS NOT NEW.batch_id OR OLD.award_id IS NOT NEW.award_id OR OLD.seq IS NOT NEW.seq OR OLD.payment_ref IS NOT NEW.payment_ref OR OLD.amount_fen IS NOT NEW.amount_fen OR OLD.payee_name IS NOT NEW.payee_name OR OLD.payee_bank IS NOT NEW.payee_bank OR OLD.payee_account_enc IS NOT NEW.payee_account_enc OR OLD.payee_key_id IS NOT NEW.payee_key_id OR OLD.payee_account_last4 IS NOT NEW.payee_account_last4 BEGIN SELECT RAISE(ABORT, 'payment lines of a batch are immutable'); END",
    "CREATE TRIGGER payments_delete_guard BEFORE DELETE ON payments BEGIN SELECT RAISE(ABORT, 'payment lines of a batch are immutable'); END",
)

POSTGRESQL = (
    "CREATE FUNCTION payout_batch_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'payout batch is sent and immutable'; END IF; IF TG_OP = 'INSERT' AND NEW.status = 'sent' THEN RAISE EXCEPTION 'payout batch is sent and immutable'; END IF; IF TG_OP = 'UPDATE' AND OLD.status = 'sent' THEN RAISE EXCEPTION 'payout batch is sent and immutable'; END IF; IF NEW.status = 'sent' AND (NEW.total_fen IS DISTINCT FROM (SELECT COALESCE(SUM(amount_fen), 0) FROM payments WHERE batch_id = NEW.id) OR NEW.line_count IS DISTINCT FROM (SELECT COUNT(*) FROM payments WHERE batch_id = NEW.id)) THEN RAISE EXCEPTION 'payout batch total must equal the sum of its lines'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
    'CREATE TRIGGER payout_batches_guard BEFORE INSERT OR UPDATE OR DELETE ON payout_batches FOR EACH ROW EXECUTE FUNCTION payout_batch_guard()',
    "CREATE FUNCTION payment_line_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'payment lines of a batch are immutable'; END IF; IF TG_OP = 'INSERT' THEN IF (SELECT status FROM payout_batches WHERE id = NEW.batch_id) = 'sent' THEN RAISE EXCEPTION 'payment lines of a batch are immutable'; END IF; RETURN NEW; END IF; IF (NEW.batch_id, NEW.award_id, NEW.seq, NEW.payment_ref, NEW.amount_fen, NEW.payee_name, NEW.payee_bank, NEW.payee_account_enc, NEW.payee_key_id, NEW.payee_account_last4) IS DISTINCT FROM (OLD.batch_id, OLD.award_id, OLD.seq, OLD.payment_ref, OLD.amount_fen, OLD.payee_name, OLD.payee_bank, OLD.payee_account_enc, OLD.payee_key_id, OLD.payee_account_last4) THEN RAISE EXCEPTION 'payment lines of a batch are immutable'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
    'CREATE TRIGGER payments_guard BEFORE INSERT OR UPDATE OR DELETE ON payments FOR EACH ROW EXECUTE FUNCTION payment_line_guard()',
)

SQLITE_DROP = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in (
    "payout_batches_insert_guard", "payout_batches_update_guard", "payout_batches_total_guard",
    "payout_batches_delete_guard", "payments_insert_guard", "payments_update_guard", "payments_delete_guard"))

POSTGRESQL_DROP = (
    "DROP TRIGGER IF EXISTS payments_guard ON payments",
    "DROP FUNCTION IF EXISTS payment_line_guard()",
    "DROP TRIGGER IF EXISTS payout_batches_guard ON payout_batches",
    "DROP FUNCTION IF EXISTS payout_batch_guard()",
)


def _run(statements):
    for statement in statements:
        op.execute(statement)


PAYEE_COLUMNS = (
    ('payee_name', sa.String(length=200)), ('payee_bank', sa.String(length=200)), ('payee_account_enc', sa.Text()),
    ('payee_key_id', sa.String(length=32)), ('payee_account_last4', sa.String(length=4)),
)


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        for name, type_ in PAYEE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    _run(POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE)


def downgrade():
    _run(POSTGRESQL_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        for name, _ in reversed(PAYEE_COLUMNS):
            batch_op.drop_column(name)
