"""Department feed imports into append-only observations (一企一档), preview then an atomic commit."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
from sqlalchemy import func, insert, select

from importers import read_feed
from importers.feeds import FAST_SOURCES, FeedReader
from policy_hub.extensions import db
from policy_hub.models import Enterprise, ImportBatch, Observation, User
from policy_hub.models.types import utcnow
from policy_hub.services import InputRejected, feed_bulk, import_limits
from policy_hub.services import audit as audit_service
from policy_hub.services.users import require_role
from rules import regions
from rules.vocabulary import decode_value, encode_value

logger = logging.getLogger(__name__)

SOURCES = ("market", "tax", "hr", "qualifications", "credit")
RECOGNITION = "qualification_recognition"


def encode_observation(field: str, value) -> object:
    """Typed value -> JSON-able (recognitions are dicts of name and ISO dates)."""
    if field == RECOGNITION:
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in sorted(value.items())}
    return encode_value(field, value)


def decode_observation(field: str, raw) -> object:
    if field == RECOGNITION:
        from datetime import date

        return {k: (date.fromisoformat(v) if k != "name" and v else v) for k, v in raw.items()}
    return decode_value(field, raw)


def _key(credit_code: str, field: str, fiscal_year, value_json) -> tuple:
    # Recognitions are events: each distinct one is its own key. Other fields: one current value per key.
    if field == RECOGNITION:
        return (credit_code, field, None, json.dumps(value_json, sort_keys=True, ensure_ascii=False))
    return (credit_code, field, None if fiscal_year is None or pd.isna(fiscal_year) else int(fiscal_year))


def import_feed(path: str | Path, source: str, user: User, *, commit: bool = False, skip_invalid: bool = False,
                filename: str | None = None) -> dict:
    """Preview (default) or commit one department feed.

    Returns ``{source, rows, enterprises, observations, new_observations, unchanged_observations, errors,
    warnings, covered_lists, committed}`` (counts are ints); a market/tax/hr preview also has ``unregistered``
    (enterprises of the file without 市场监管 registration, also listed in a warning). Re-importing the same data
    adds nothing. market/tax/hr files are read and written chunk by chunk (COPY on PostgreSQL).
    Raises InputRejected on commit when there are errors and ``skip_invalid`` is false.
    """
    require_role(user, "data_officer")
    if source not in SOURCES:
        raise InputRejected(f"未知数据来源 {source}，可选：{', '.join(SOURCES)}")
    path = Path(path)
    if source in FAST_SOURCES:
        return _import_in_chunks(path, source, user, commit=commit, skip_invalid=skip_invalid, filename=filename)
    result = read_feed(path, source, import_limits("feed"))
    errors = [i.to_dict() for i in result.errors]
    obs = result.observations
    latest = _latest_values(source)

    new_rows = []
    for rec in obs.itertuples(index=False):
        value_json = encode_observation(rec.field, rec.value)
        key = _key(rec.credit_code, rec.field, rec.fiscal_year, value_json)
        if key in latest and (rec.field == RECOGNITION or latest[key] == value_json):
            continue
        latest[key] = value_json
        fy = None if pd.isna(rec.fiscal_year) else int(rec.fiscal_year)
        new_rows.append({"credit_code": rec.credit_code, "field": rec.field, "value": value_json,
                         "fiscal_year": fy, "source": source, "row": int(rec.row)})
    warnings = [i.to_dict() for i in result.warnings]
    if source == "credit":
        cleared = _cleared_from_credit_list(set(obs["credit_code"]), latest)
        new_rows += cleared
        if cleared:  # closed world: the new list replaces the old one, so say plainly who leaves it
            warnings.append({"sheet": filename or path.name, "row": None, "column": "统一社会信用代码",
                             "value": "、".join(r["credit_code"] for r in cleared[:20]),
                             "message": f"本名单比上次导入少了 {len(cleared)} 家企业：导入后它们不再被视为严重失信主体，"
                                        "请确认这是完整的最新名单"})

    summary = {
        "source": source,
        "rows": int(obs["row"].nunique()) if len(obs) else 0,
        "enterprises": int(result.enterprises),
        "observations": len(obs),
        "new_observations": len(new_rows),
        "unchanged_observations": len(obs) - sum(1 for r in new_rows if r["row"] is not None),
        "errors": errors,
        "warnings": warnings,
        "covered_lists": sorted(result.covered_lists),
        "committed": False,
    }
    if not commit:
        return summary
    if errors and not skip_invalid:
        raise InputRejected(f"文件有 {len(errors)} 处错误，未导入任何数据；可修正后重试，或选择跳过错误行", errors)
    known_lists = _covered_lists(source)
    if not new_rows and set(result.covered_lists) <= known_lists and (source != "credit" or _list_imported("credit")):
        summary["committed"] = True
        return summary

    batch = ImportBatch(kind="feed", source=source, filename=filename or path.name,
                        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), user_id=user.id,
                        summary={k: summary[k] for k in ("rows", "enterprises", "new_observations")},
                        covered_lists=sorted(result.covered_lists))
    db.session.add(batch)
    db.session.flush()
    now = utcnow()
    if new_rows:
        db.session.execute(insert(Observation), [dict(r, import_id=batch.id, observed_at=now) for r in new_rows])
    _upsert_enterprises(obs, source)
    audit_service.record(user.id, "feed.import", "import_batch", batch.id, None,
                         {"source": source, "new_observations": len(new_rows)})
    summary["committed"] = True
    return summary


def _import_in_chunks(path: Path, source: str, user: User, *, commit: bool, skip_invalid: bool,
                      filename: str | None) -> dict:
    """import_feed for the per-enterprise feeds (market, tax, hr), chunk by chunk with bounded memory.

    The preview also counts (``unregistered``) and warns about the enterprises that have no 市场监管 registration.

    On commit the chunks are written inside a savepoint, which is rolled back when the file has errors (and
    ``skip_invalid`` is false) or nothing is new, so a refused or unchanged import writes nothing.
    """
    reader = FeedReader(path, source, import_limits("feed"))
    compare = db.session.scalar(select(Observation.id).where(Observation.source == source).limit(1)) is not None
    counts = {"rows": 0, "observations": 0, "new_observations": 0}
    errors: list[dict] = []
    warnings: list[dict] = []
    unregistered: list[str] = []
    savepoint = db.session.begin_nested() if commit else None
    writer = None
    try:
        if commit:
            batch = ImportBatch(kind="feed", source=source, filename=filename or path.name, sha256=_sha256(path),
                                user_id=user.id, summary={}, covered_lists=[])
            db.session.add(batch)
            db.session.flush()
            stream = db.session.connection().dialect.name == "postgresql" and not compare and source != "market"
            writer = feed_bulk.ObservationWriter(source, batch.id, utcnow(), stream=stream)
        for chunk in reader.chunks():
            obs = chunk.observations
            errors += [i.to_dict() for i in chunk.errors]
            warnings += [i.to_dict() for i in chunk.warnings]
            counts["rows"] += int(obs["row"].nunique())
            counts["observations"] += len(obs)
            if writer is None and source != "market":
                unregistered += feed_bulk.unregistered_among(obs["credit_code"].unique())
            if writer is None or (errors and not skip_invalid):
                counts["new_observations"] += feed_bulk.count_new(obs, source, compare)
                continue
            fresh = feed_bulk.new_rows(obs, source, compare)
            counts["new_observations"] += len(fresh)
            writer.write(fresh)
            if not writer.stream and len(obs):
                feed_bulk.register_enterprises(obs, source)
        if writer is not None:
            writer.close()
        summary = dict(counts, source=source, enterprises=reader.enterprises,
                       unchanged_observations=counts["observations"] - counts["new_observations"], errors=errors,
                       warnings=warnings, covered_lists=[], committed=False)
        if not commit:
            summary["unregistered"] = len(unregistered)
            if unregistered:
                warnings.append({"sheet": filename or path.name, "row": None, "column": "统一社会信用代码",
                                 "value": "、".join(unregistered[:20]) + ("等" if len(unregistered) > 20 else ""),
                                 "message": f"{len(unregistered)} 家企业没有市场监管登记信息：数据会保存，但这些企业不参与政策匹配，"
                                            "并列入数据质量报告；请核对信用代码，或先导入市场监管登记数据"})
            return summary
        if errors and not skip_invalid:
            raise InputRejected(f"文件有 {len(errors)} 处错误，未导入任何数据；可修正后重试，或选择跳过错误行", errors)
        summary["committed"] = True
        if not counts["new_observations"]:
            savepoint.rollback()  # re-importing the same data writes nothing, not even a batch
            return summary
        if writer.stream:
            feed_bulk.register_codes(reader.codes)
        batch.summary = {k: summary[k] for k in ("rows", "enterprises", "new_observations")}
        audit_service.record(user.id, "feed.import", "import_batch", batch.id, None,
                             {"source": source, "new_observations": counts["new_observations"]})
        savepoint.commit()
        return summary
    except BaseException as exc:
        if writer is not None:
            writer.close(exc)
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _latest_values(source: str) -> dict:
    rows = db.session.execute(
        select(Observation.credit_code, Observation.field, Observation.fiscal_year, Observation.value)
        .where(Observation.source == source).order_by(Observation.id)
    )
    latest: dict = {}
    for code, field, fy, value in rows:
        latest[_key(code, field, fy, value)] = value
    return latest


def _cleared_from_credit_list(on_list: set[str], latest: dict) -> list[dict]:
    """Closed world: an enterprise no longer on the newest 严重失信 list is recorded as not on it."""
    cleared = []
    for (code, field, _fy), value in list(latest.items()):
        if field == "serious_dishonest" and value is True and code not in on_list:
            cleared.append({"credit_code": code, "field": field, "value": False, "fiscal_year": None,
                            "source": "credit", "row": None})
    return cleared


def _covered_lists(source: str) -> set[str]:
    out: set[str] = set()
    for lists in db.session.scalars(select(ImportBatch.covered_lists).where(ImportBatch.source == source)):
        out.update(lists or [])
    return out


def _list_imported(source: str) -> bool:
    return db.session.scalar(select(ImportBatch.id).where(ImportBatch.source == source).limit(1)) is not None


def closed_world_state() -> tuple[frozenset[str], bool]:
    """(qualification names whose list was imported, whether a 严重失信 list was imported)."""
    return frozenset(_covered_lists("qualifications")), _list_imported("credit")


def _upsert_enterprises(obs: pd.DataFrame, source: str) -> None:
    existing = {e.credit_code: e for e in db.session.scalars(select(Enterprise))}
    for code, group in obs.groupby("credit_code"):
        ent = existing.get(code)
        if ent is None:
            ent = Enterprise(credit_code=code, registered=False)
            db.session.add(ent)
            existing[code] = ent
        if source == "market":
            values = dict(zip(group["field"], group["value"], strict=False))
            ent.registered = True
            ent.name = values.get("name", ent.name)
            if values.get("region_code"):
                ent.region_code = values["region_code"]
                ent.city_code = regions.city_of(ent.region_code)
    db.session.flush()


def load_observations(credit_code: str | None = None) -> pd.DataFrame:
    """Every observation (or one enterprise's), typed, as the frame ``matching.build_profiles`` takes:
    credit_code (str), field (str), value (object), fiscal_year (Int64), source (str), seq (int, import order)."""
    query = select(Observation.credit_code, Observation.field, Observation.value, Observation.fiscal_year,
                   Observation.source, Observation.id).order_by(Observation.id)
    if credit_code is not None:
        query = query.where(Observation.credit_code == credit_code)
    rows = db.session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["credit_code", "field", "value", "fiscal_year", "source", "seq"])
    frame["value"] = [decode_observation(f, v) for f, v in zip(frame["field"], frame["value"], strict=False)]
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    return frame


def unregistered_enterprises(user: User) -> list[dict]:
    """Data quality: enterprises reported by some department but absent from the 市场监管 registration feed,
    so they are not matched. One dict per enterprise: ``{credit_code, sources: [source keys], observations}``."""
    require_role(user, "data_officer", "province_admin")
    rows = db.session.execute(
        select(Observation.credit_code, Observation.source, func.count(Observation.id))
        .join(Enterprise, Enterprise.credit_code == Observation.credit_code)
        .where(Enterprise.registered.is_(False))
        .group_by(Observation.credit_code, Observation.source)
        .order_by(Observation.credit_code, Observation.source)
    )
    out: dict[str, dict] = {}
    for code, source, n in rows:
        entry = out.setdefault(code, {"credit_code": code, "sources": [], "observations": 0})
        entry["sources"].append(source)
        entry["observations"] += n
    return list(out.values())


def recent_imports(user: User, limit: int = 20) -> list[ImportBatch]:
    """The latest committed feed imports, newest first."""
    require_role(user, "data_officer", "province_admin")
    return list(db.session.scalars(
        select(ImportBatch).where(ImportBatch.kind == "feed").order_by(ImportBatch.id.desc()).limit(limit)))
