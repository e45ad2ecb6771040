"""Append hash-chained audit rows in the caller's transaction, and verify the chain."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import select

from disbursement.audit import (
    GENESIS_HASH,
    AuditRecord,
    audit_payload,
    canonical_json,
    chain_hash,
    verify_chain,
)
from policy_hub.extensions import db
from policy_hub.models import AuditEntry, AuditHead
from policy_hub.models.types import utcnow

logger = logging.getLogger(__name__)


def record(actor_id: int | None, action: str, entity_type: str, entity_id, before=None, after=None,
           at: datetime | None = None) -> AuditEntry:
    """Append one audit row (ids and amounts only, never personal data) in the current transaction.

    The single ``audit_head`` row is locked first (FOR UPDATE on PostgreSQL; SQLite writers are already
    serialised by BEGIN IMMEDIATE), so concurrent appends queue and the chain never forks.
    """
    at = at or utcnow()
    head = db.session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    payload = audit_payload(actor_id, action, entity_type, entity_id, before, after, at)
    text = canonical_json(payload)
    digest = chain_hash(head.hash, payload)
    entry = AuditEntry(seq=head.seq + 1, at=at, actor_id=actor_id, action=action, entity_type=entity_type,
                       entity_id=str(entity_id), payload=text, prev_hash=head.hash, hash=digest)
    head.seq, head.hash = entry.seq, digest
    db.session.add(entry)
    db.session.flush()
    return entry


def anchor() -> dict:
    """The latest row's {seq, hash}, to publish elsewhere (上链存证); seq 0 and the genesis hash when empty."""
    last = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    return {"seq": last.seq, "hash": last.hash} if last else {"seq": 0, "hash": GENESIS_HASH}


def parse_anchor(text: str) -> tuple[int, str]:
    """``"SEQ:HASH"`` -> (seq, hash). Raises ValueError (Chinese) unless SEQ >= 1 and HASH is 64 hex digits."""
    seq, _, digest = (text or "").strip().partition(":")
    digest = digest.strip().lower()
    if not seq.strip().isdigit() or int(seq) < 1 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"锚点格式应为 序号:64位十六进制哈希（如 12:3fa4…），实际为 {text!r}")
    return int(seq), digest


def verify(anchor: tuple[int, str] | None = None) -> dict:
    """Recompute the chain, and optionally check it against a published ``anchor`` (seq, hash).

    Returns {rows, ok, first_bad_seq, head_seq, head_hash, problem}; with an anchor also ``anchor_ok``.
    ``problem`` is a Chinese sentence naming the first failing row (None when ok). The anchor fails when the
    row at its seq is missing or holds another hash.

    A row fails when its stored payload is not the canonical JSON that was hashed, when its columns (actor,
    action, entity) disagree with the payload, or when its link or hash does not verify.
    """
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    count = 0
    bad: int | None = None
    records = []
    for r in rows:
        count += 1
        payload = json.loads(r.payload)
        consistent = canonical_json(payload) == r.payload and (
            payload.get("actor_id"), payload.get("action"), payload.get("entity_type"), str(payload.get("entity_id"))
        ) == (r.actor_id, r.action, r.entity_type, r.entity_id)
        if not consistent and bad is None:
            bad = r.seq
        records.append(AuditRecord(r.seq, r.prev_hash, r.hash, payload))
    chain_bad = verify_chain(records)
    if chain_bad is not None and (bad is None or chain_bad < bad):
        bad = chain_bad
    head = db.session.get(AuditHead, 1)
    if bad is None and head is not None and records and (head.seq, head.hash) != (records[-1].seq, records[-1].hash):
        bad = records[-1].seq  # rows were removed from the end
    result = {"rows": count, "ok": bad is None, "first_bad_seq": bad,
              "head_seq": head.seq if head else 0, "head_hash": head.hash if head else GENESIS_HASH,
              "problem": None if bad is None else f"审计链第 {bad} 行（seq={bad}）校验失败：内容或哈希与链不符"}
    if anchor is not None:
        seq, digest = anchor
        row = next((r for r in records if r.seq == seq), None)
        result["anchor"] = f"{seq}:{digest}"
        result["anchor_ok"] = row is not None and row.hash == digest
        if not result["anchor_ok"]:
            found = "不存在" if row is None else f"哈希为 {row.hash}"
            result["problem"] = result["problem"] or f"与公布的锚点不符：第 {seq} 行{found}，锚点为 {digest}"
            result["ok"] = False
    return result
