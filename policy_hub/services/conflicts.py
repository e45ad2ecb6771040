"""Conflicts between department feeds (一企一档) and the data officer's resolutions.

A conflict is an (enterprise, field, fiscal year) whose latest values from two or more sources differ. Every
observation stays stored; the profile takes the authoritative source's value (``rules.vocabulary.FIELDS[f].source``)
until the data officer resolves the conflict by choosing one source's value, with a reason. A resolution applies
while that source still reports that value (``matching.build_profiles(resolutions=...)``); a later disagreeing
observation reopens the conflict.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import and_, func, select, text

from importers.feed_specs import CROSS_CHECK_FIELDS
from matching.profiles import RESOLUTION_COLUMNS
from policy_hub.extensions import db
from policy_hub.models import Enterprise, ImportBatch, Observation, User
from policy_hub.models.profiles import ConflictResolution
from policy_hub.services import Conflict, InputRejected, NotFound
from policy_hub.services import audit as audit_service
from policy_hub.services.feeds import decode_observation, encode_observation
from policy_hub.services.users import require_role
from rules.vocabulary import FIELDS

logger = logging.getLogger(__name__)
NO_YEAR = -1  # stands for "no fiscal year" in joins (snapshot fields)


def _latest_resolutions(credit_code: str | None = None) -> dict[tuple, ConflictResolution]:
    query = select(ConflictResolution).order_by(ConflictResolution.id)
    if credit_code is not None:
        query = query.where(ConflictResolution.credit_code == credit_code)
    return {(r.credit_code, r.field, r.fiscal_year): r for r in db.session.scalars(query)}


def load_resolutions(credit_code: str | None = None) -> pd.DataFrame:
    """The latest resolution per key as the frame ``matching.build_profiles(resolutions=...)`` takes:
    credit_code (str), field (str), fiscal_year (Int64, NA for snapshot fields), source (str), value (typed)."""
    rows = [(r.credit_code, r.field, r.fiscal_year, r.source, decode_observation(r.field, r.value))
            for r in _latest_resolutions(credit_code).values()]
    frame = pd.DataFrame(rows, columns=list(RESOLUTION_COLUMNS))
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    return frame


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def conflict_report(user: User, credit_code: str | None = None, *, include_resolved: bool = True,
                    limit: int = 500) -> list[dict]:
    """Disagreements between sources, per enterprise and field, ordered by credit code, field, year.

    Each entry: ``{credit_code, name, field, label, fiscal_year (int|None), authority (source key), status
    ('open' | 'resolved' | 'reopened'), used_source, values: [{source, value (JSON), filename, imported_at
    (UTC datetime), authoritative (bool)}], resolution: {source, reason, user_id, at} | None}``.
    Only fields that more than one feed carries (``importers.feed_specs.CROSS_CHECK_FIELDS``) are searched. At
    most ``limit`` entries. Requires data_officer or province_admin.
    """
    require_role(user, "data_officer", "province_admin")
    year_key = func.coalesce(Observation.fiscal_year, NO_YEAR)
    keys = (select(Observation.credit_code.label("code"), Observation.field.label("fld"), year_key.label("fy"))
            .where(Observation.field.in_(sorted(CROSS_CHECK_FIELDS)))
            .group_by(Observation.credit_code, Observation.field, year_key)
            .having(func.count(func.distinct(Observation.source)) > 1))
    if credit_code is not None:
        keys = keys.where(Observation.credit_code == credit_code)
    keys = keys.subquery()
    rows = db.session.execute(
        select(Observation.credit_code, Observation.field, Observation.fiscal_year, Observation.source,
               Observation.value, ImportBatch.filename, Observation.observed_at)
        .join(keys, and_(keys.c.code == Observation.credit_code, keys.c.fld == Observation.field,
                         keys.c.fy == year_key))
        .join(ImportBatch, ImportBatch.id == Observation.import_id)
        .order_by(Observation.id))
    latest: dict[tuple, dict[str, dict]] = {}
    for code, fld, fy, source, value, filename, at in rows:
        latest.setdefault((code, fld, fy), {})[source] = {"source": source, "value": value, "filename": filename,
                                                          "imported_at": at}
    resolutions = _latest_resolutions(credit_code)
    out = []
    for key in sorted(latest, key=lambda k: (k[0], k[1], k[2] or 0)):
        code, fld, fy = key
        by_source = latest[key]
        typed = {s: decode_observation(fld, v["value"]) for s, v in by_source.items()}
        first = next(iter(typed.values()))
        if all(_same(first, v) for v in typed.values()):
            continue
        authority = FIELDS[fld].source
        res = resolutions.get(key)
        status = "open"
        if res is not None:
            valid = res.source in typed and _same(typed[res.source], decode_observation(fld, res.value))
            status = "resolved" if valid else "reopened"
        if status == "resolved" and not include_resolved:
            continue
        used = res.source if status == "resolved" else (
            authority if authority in by_source else max(by_source, key=lambda s: by_source[s]["imported_at"]))
        out.append({
            "credit_code": code, "name": None, "field": fld, "label": FIELDS[fld].label,
            "fiscal_year": fy, "authority": authority, "status": status, "used_source": used,
            "values": [dict(v, authoritative=s == authority) for s, v in sorted(by_source.items())],
            "resolution": None if res is None else {"id": res.id, "source": res.source, "reason": res.reason,
                                                    "user_id": res.user_id, "at": res.created_at},
        })
        if len(out) >= limit:
            break
    if out:
        names = dict(db.session.execute(select(Enterprise.credit_code, Enterprise.name)
                                        .where(Enterprise.credit_code.in_({e["credit_code"] for e in out}))).all())
        for entry in out:
            entry["name"] = names.get(entry["credit_code"])
    return out


def resolve_conflict(user: User, credit_code: str, field: str, fiscal_year: int | None, source: str,
                     reason: str, *, seen_resolution: int | None | str = "any") -> dict:
    """Use ``source``'s current value for (credit_code, field, fiscal_year), with a reason; audited.

    ``seen_resolution`` is the resolution id the officer saw (None: none yet); if another officer resolved the
    conflict since, Conflict is raised instead of silently overwriting ("any" skips the check, for scripts).
    Returns ``{credit_code, field, fiscal_year, source, value (JSON)}``. Raises InputRejected (no reason, a reason
    over 2000 characters, or ``source`` did not report this field), NotFound (no conflict there) or Conflict.
    Flushes, never commits.
    """
    require_role(user, "data_officer")
    reason = (reason or "").strip()
    if not reason:
        raise InputRejected("请填写处理理由")
    if len(reason) > 2000:
        raise InputRejected(f"处理理由最多 2000 字，收到 {len(reason)} 字")
    if db.session.get_bind().dialect.name == "postgresql":  # SQLite writers are serialised by BEGIN IMMEDIATE
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                           {"key": f"conflict:{credit_code}:{field}:{fiscal_year}"})
    entries = [c for c in conflict_report(user, credit_code, include_resolved=True)
               if c["field"] == field and c["fiscal_year"] == fiscal_year]
    if not entries:
        raise NotFound(f"企业 {credit_code} 的 {field}（{fiscal_year or '非年度'}）没有数据冲突")
    current = entries[0]["resolution"] and entries[0]["resolution"]["id"]
    if seen_resolution != "any" and current != seen_resolution:
        raise Conflict("该冲突刚被其他人处理过，请刷新页面查看后再决定")
    chosen = {v["source"]: v for v in entries[0]["values"]}.get(source)
    if chosen is None:
        raise InputRejected(f"来源 {source} 未报送该字段，可选：{'、'.join(v['source'] for v in entries[0]['values'])}")
    value = encode_observation(field, decode_observation(field, chosen["value"]))
    before = entries[0]["resolution"] and {"source": entries[0]["resolution"]["source"]}
    row = ConflictResolution(credit_code=credit_code, field=field, fiscal_year=fiscal_year, source=source,
                             value=value, reason=reason, user_id=user.id)
    db.session.add(row)
    db.session.flush()
    audit_service.record(user.id, "conflict.resolve", "enterprise", credit_code, before,
                         {"field": field, "fiscal_year": fiscal_year, "source": source, "resolution_id": row.id})
    logger.info("conflict %s/%s/%s resolved to %s by user %s", credit_code, field, fiscal_year, source, user.id)
    return {"credit_code": credit_code, "field": field, "fiscal_year": fiscal_year, "source": source,
            "value": value}
