"""store_seconds: COPY the eligible and unknown pairs into a scratch PostgreSQL table shaped like match_results."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Sequence

from matching.engine import Verdict

TABLE = "bench_match_results"
DDL = f"""
CREATE TABLE {TABLE} (
    id BIGSERIAL PRIMARY KEY,
    item_id INTEGER NOT NULL,
    item_revision INTEGER NOT NULL,
    credit_code VARCHAR(18) NOT NULL,
    fiscal_year INTEGER NOT NULL,
    verdict VARCHAR(16) NOT NULL,
    amount_fen BIGINT,
    missing_fields JSON NOT NULL,
    explanation JSON NOT NULL,
    inputs JSON NOT NULL,
    as_of DATE NOT NULL,
    run_id INTEGER NOT NULL,
    note TEXT,
    CONSTRAINT uq_{TABLE}_pair UNIQUE (item_id, credit_code, fiscal_year)
);
CREATE INDEX ix_{TABLE}_credit_code ON {TABLE} (credit_code);
CREATE INDEX ix_{TABLE}_item_id ON {TABLE} (item_id);
"""
COLUMNS = ("item_id", "item_revision", "credit_code", "fiscal_year", "verdict", "amount_fen", "missing_fields",
           "explanation", "inputs", "as_of", "run_id")


def store_pairs(url: str | None, verdicts: Sequence[Verdict], as_of: datetime.date, fiscal_year: int = 2025
                ) -> float | None:
    """Seconds to COPY ``verdicts`` (eligible, unknown, superseded) into a fresh scratch table, with its
    unique constraint and indexes, and commit. None when ``url`` is None. The table is dropped afterwards."""
    if not url:
        return None
    import psycopg  # only needed when a database is configured

    url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(DDL)
        conn.commit()
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for v in verdicts:
                fen = None if v.amount is None else int(v.amount * 100)
                copy.write_row((v.item_id, 1, v.credit_code, fiscal_year, v.verdict, fen,
                                json.dumps(list(v.missing_fields)), json.dumps(v.explanation, ensure_ascii=False),
                                json.dumps(v.inputs, ensure_ascii=False), as_of, 1))
        conn.commit()
        seconds = time.perf_counter() - t
        conn.execute(f"DROP TABLE {TABLE}")
        conn.commit()
    return seconds
