"""Hash-chained audit rows (DESIGN "Audit"): hash = SHA-256(prev_hash + canonical JSON of the payload)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Audit rows hold ids, states and amounts, never personal data (DESIGN "Audit"; 晋政发〔2024〕8号 item 15).
PERSONAL_KEYS = frozenset({
    "account_no", "account_name", "payee_name", "holder_name", "name", "id_number", "id_no", "phone",
    "mobile", "contact", "email", "address", "legal_person",
})  # fmt: skip


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"audit times must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC).isoformat()


def _plain(value: Any) -> Any:
    """Turn a payload into JSON values deterministically; floats are refused (money is never float)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise TypeError(f"floats are not allowed in audit payloads: {value!r}; use int 分 or Decimal")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite Decimal in audit payload: {value!r}")
        return format(value, "f")
    if isinstance(value, datetime):
        return _utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"audit payload keys must be str, got {k!r}")
            out[k] = _plain(v)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise TypeError(f"cannot serialise {type(value).__name__} in an audit payload")


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 text kept (ensure_ascii=False).

    Decimal -> its fixed-point string ('12.50'), date -> 'YYYY-MM-DD', aware datetime -> UTC ISO
    ('2026-06-30T01:02:03+00:00'), tuple -> list. Raises TypeError for floats or unknown types,
    ValueError for naive datetimes.
    """
    return json.dumps(_plain(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """SHA-256 hex of ``prev_hash`` + canonical_json(payload), UTF-8 encoded. Raises ValueError for a
    prev_hash that is not 64 lowercase hex characters."""
    if not isinstance(prev_hash, str) or not _HEX64.match(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex characters, got {prev_hash!r}")
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One stored audit row: seq (ascending), the previous row's hash, this row's hash, the payload."""

    seq: int
    prev_hash: str
    hash: str
    payload: Mapping[str, Any]


def verify_chain(rows: Iterable[AuditRecord], start_prev_hash: str = GENESIS_HASH) -> int | None:
    """The seq of the first row that does not verify, or None if every row does.

    A row fails when its prev_hash is not the previous row's hash (``start_prev_hash`` for the first),
    when its seq does not increase, or when its hash is not chain_hash(prev_hash, payload). Rows must be
    given in seq order.
    """
    expected_prev = start_prev_hash
    last_seq: int | None = None
    for row in rows:
        if row.prev_hash != expected_prev or (last_seq is not None and row.seq <= last_seq):
            return row.seq
        try:
            ok = chain_hash(row.prev_hash, row.payload) == row.hash
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return row.seq
        expected_prev, last_seq = row.hash, row.seq
    return None


def append_record(prev: AuditRecord | None, payload: Mapping[str, Any]) -> AuditRecord:
    """The record that follows ``prev`` (None for the first row, seq 1), with its hash computed."""
    prev_hash = prev.hash if prev else GENESIS_HASH
    seq = prev.seq + 1 if prev else 1
    return AuditRecord(seq, prev_hash, chain_hash(prev_hash, payload), payload)


def _check_no_personal(snapshot: Mapping[str, Any] | None, where: str) -> None:
    for key, value in (snapshot or {}).items():
        if key in PERSONAL_KEYS:
            raise ValueError(f"audit {where} must not carry personal data; drop key {key!r}")
        if isinstance(value, Mapping):
            _check_no_personal(value, f"{where}.{key}")


def audit_payload(
    actor_id: int | str | None,
    action: str,
    entity_type: str,
    entity_id: int | str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    at: datetime,
) -> dict[str, Any]:
    """The payload of one audit row: ids, states and amounts only.

    Returns:
        {'actor_id', 'action', 'entity_type', 'entity_id', 'before', 'after', 'at'} with ``at`` as a UTC
        ISO string; before/after are small dicts such as {'state': 'reviewed', 'amount_fen': 500000}.

    Raises:
        ValueError: naive ``at``, or a before/after key in PERSONAL_KEYS (names, accounts, phones...).
        TypeError: a value canonical_json cannot serialise (e.g. a float).
    """
    _check_no_personal(before, "before")
    _check_no_personal(after, "after")
    payload = {
        "actor_id": actor_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
        "at": _utc_iso(at),
    }
    canonical_json(payload)  # fail now, not when the chain is verified
    return payload
