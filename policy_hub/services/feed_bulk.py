"""Bulk steps of a feed import, one chunk of observations at a time: find what is new, write it (COPY on
PostgreSQL, chunked executemany elsewhere), and register the enterprises. No ORM object per row.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from sqlalchemy import insert, select, text, update

from policy_hub.extensions import db
from policy_hub.models import Enterprise, Observation
from rules import regions
from rules.vocabulary import FIELDS

BATCH = 5000  # codes per IN (...) query: under SQLite's bound-parameter limit
OBS_COLUMNS = ("credit_code", "field", "value", "fiscal_year", "source", "import_id", "row", "observed_at")


def _money(v) -> str:
    return f'"{v}"'


def _date(v) -> str:
    return f'"{v.isoformat()}"'


def _text(v) -> str:
    return json.dumps(v, ensure_ascii=False)


_ENCODERS = {"money": _money, "fraction": _money, "decimal": _money, "integer": lambda v: str(int(v)),
             "date": _date, "boolean": lambda v: "true" if v else "false"}


def json_texts(fields: pd.Series, values: pd.Series) -> list[str]:
    """Each typed value as the JSON text of ``rules.vocabulary.encode_value`` (str(Decimal) for money...)."""
    encoders = {f: _ENCODERS.get(FIELDS[f].type, _text) for f in set(fields.tolist())}
    return [encoders[f](v) for f, v in zip(fields.tolist(), values.tolist(), strict=True)]


def _batches(codes: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(codes), BATCH):
        yield codes[start:start + BATCH]


def stored_latest(source: str, codes: list[str]) -> dict[tuple, str]:
    """(credit_code, field, fiscal_year or None) -> JSON text of ``source``'s latest stored value, for ``codes``."""
    latest: dict[tuple, str] = {}
    for batch in _batches(codes):
        rows = db.session.execute(
            select(Observation.credit_code, Observation.field, Observation.fiscal_year, Observation.value)
            .where(Observation.source == source, Observation.credit_code.in_(batch)).order_by(Observation.id))
        for code, fld, fy, value in rows:
            latest[(code, fld, fy)] = json.dumps(value, ensure_ascii=False)
    return latest


def count_new(obs: pd.DataFrame, source: str, compare: bool) -> int:
    """How many observations of one chunk :func:`new_rows` would return (cheap when nothing is stored)."""
    return len(new_rows(obs, source, compare)) if compare else len(obs)


def new_rows(obs: pd.DataFrame, source: str, compare: bool) -> pd.DataFrame:
    """The observations of one chunk that differ from ``source``'s latest stored value (all of them when
    ``compare`` is false: nothing of this source is stored yet). Columns credit_code, field, value (JSON text),
    fiscal_year (Int64), row (int)."""
    frame = pd.DataFrame({"credit_code": obs["credit_code"], "field": obs["field"],
                          "value": json_texts(obs["field"], obs["value"]), "fiscal_year": obs["fiscal_year"],
                          "row": obs["row"]})
    if not compare or frame.empty:
        return frame
    latest = stored_latest(source, sorted(set(frame["credit_code"])))
    if not latest:
        return frame
    years = [None if pd.isna(y) else int(y) for y in frame["fiscal_year"]]
    keep = [latest.get((c, f, y)) != v for c, f, y, v in
            zip(frame["credit_code"], frame["field"], years, frame["value"], strict=True)]
    return frame[keep]


class ObservationWriter:
    """Appends new observation rows (as from :func:`new_rows`) in the current transaction.

    On PostgreSQL rows go through COPY. With ``stream=True`` one COPY stays open across chunks, so the server
    inserts while the next chunk is read (no other statement may run on the connection until :meth:`close`).
    Elsewhere rows go through chunked executemany.
    """

    def __init__(self, source: str, import_id: int, now: datetime, *, stream: bool):
        self.source, self.import_id, self.now, self.stream = source, import_id, now, stream
        self.connection = db.session.connection()
        self.postgresql = self.connection.dialect.name == "postgresql"
        self._stack = contextlib.ExitStack()
        self._copy = None

    def write(self, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        if not self.postgresql:
            self._executemany(rows)
            return
        if self._copy is None:
            cursor = self._stack.enter_context(self.connection.connection.driver_connection.cursor())
            self._copy = self._stack.enter_context(
                cursor.copy(f"COPY observations ({', '.join(OBS_COLUMNS)}) FROM STDIN"))
        self._copy.write(self._copy_text(rows))
        if not self.stream:
            self.close()

    def close(self, error: BaseException | None = None) -> None:
        """Finish the COPY (abort it when ``error`` is given)."""
        if self._copy is not None:
            self._copy = None
            if error is None:
                self._stack.close()
            else:
                self._stack.__exit__(type(error), error, error.__traceback__)

    def _copy_text(self, rows: pd.DataFrame) -> str:
        tail = f"\t{self.source}\t{self.import_id}\t"
        stamp = self.now.isoformat()
        years = ["\\N" if pd.isna(y) else str(int(y)) for y in rows["fiscal_year"].tolist()]
        values = [v.replace("\\", "\\\\") if "\\" in v else v for v in rows["value"].tolist()]
        return "".join(f"{c}\t{f}\t{v}\t{y}{tail}{r}\t{stamp}\n" for c, f, v, y, r in zip(
            rows["credit_code"].tolist(), rows["field"].tolist(), values, years, rows["row"].tolist(), strict=True))

    def _executemany(self, rows: pd.DataFrame) -> None:
        records = [{"credit_code": c, "field": f, "value": json.loads(v), "source": self.source,
                    "fiscal_year": None if pd.isna(y) else int(y), "import_id": self.import_id, "row": int(r),
                    "observed_at": self.now}
                   for c, f, v, y, r in rows.loc[:, ["credit_code", "field", "value", "fiscal_year", "row"]]
                   .itertuples(index=False, name=None)]
        for start in range(0, len(records), BATCH):
            db.session.execute(insert(Observation), records[start:start + BATCH])


def register_codes(codes: Iterable[str]) -> None:
    """PostgreSQL, non-market feeds: an unregistered Enterprise for every credit code not known yet (COPY into a
    temporary table, then one INSERT ... ON CONFLICT DO NOTHING)."""
    connection = db.session.connection()
    connection.execute(text("CREATE TEMPORARY TABLE feed_codes (credit_code varchar(18)) ON COMMIT DROP"))
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy("COPY feed_codes (credit_code) FROM STDIN") as copy:
            copy.write("".join(f"{c}\n" for c in codes))
    connection.execute(text(
        "INSERT INTO enterprises (credit_code, registered) SELECT DISTINCT credit_code, false FROM feed_codes "
        "ON CONFLICT (credit_code) DO NOTHING"))
    connection.execute(text("DROP TABLE feed_codes"))


def unregistered_among(codes: Iterable[str]) -> list[str]:
    """The codes (sorted) without 市场监管 registration: no Enterprise row yet, or one not registered."""
    codes = sorted(set(codes))
    registered: set[str] = set()
    for batch in _batches(codes):
        registered.update(db.session.scalars(select(Enterprise.credit_code).where(
            Enterprise.credit_code.in_(batch), Enterprise.registered.is_(True))))
    return [c for c in codes if c not in registered]


def register_enterprises(obs: pd.DataFrame, source: str) -> None:
    """Create an Enterprise for every new credit code (registered only from 市场监管); the 市场监管 feed also
    sets name, region and city."""
    codes = sorted(set(obs["credit_code"]))
    existing: set[str] = set()
    for batch in _batches(codes):
        existing.update(db.session.scalars(select(Enterprise.credit_code).where(Enterprise.credit_code.in_(batch))))
    if source != "market":
        fresh = [{"credit_code": c, "registered": False} for c in codes if c not in existing]
        for start in range(0, len(fresh), BATCH):
            db.session.execute(insert(Enterprise), fresh[start:start + BATCH])
        return
    wanted = obs[obs["field"].isin(["name", "region_code"])]
    values = wanted.drop_duplicates(["credit_code", "field"], keep="last").pivot(
        index="credit_code", columns="field", values="value") if len(wanted) else pd.DataFrame()
    inserts, updates = [], []
    for code in codes:
        row = {"credit_code": code, "registered": True}
        if code in values.index:
            name = values.at[code, "name"] if "name" in values.columns else None
            region = values.at[code, "region_code"] if "region_code" in values.columns else None
            if isinstance(name, str):
                row["name"] = name
            if isinstance(region, str):
                row["region_code"], row["city_code"] = region, regions.city_of(region)
        (updates if code in existing else inserts).append(row)
    for start in range(0, len(inserts), BATCH):
        db.session.execute(insert(Enterprise), inserts[start:start + BATCH])
    for keys in {tuple(sorted(r)) for r in updates}:
        same = [r for r in updates if tuple(sorted(r)) == keys]
        for start in range(0, len(same), BATCH):
            db.session.execute(update(Enterprise), same[start:start + BATCH])
