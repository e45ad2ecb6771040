"""Benchmark: a 1,000,000-row 税务 feed (CSV) through preview and commit into PostgreSQL.

Generates ``--rows`` rows (enterprises x 2 fiscal years, valid credit codes, money in 元, some blank R&D
figures) in a temp dir, then runs ``policy_hub.services.feeds.import_feed`` twice against a fresh database:
preview, then commit. Prints the figures, and with ``--json`` one JSON line last with the keys of ``KEYS``:
wall seconds, peak RSS, this process's CPU seconds, the CPU seconds of the PostgreSQL backend during the commit
(the COPY runs there, overlapping the client's reading) and the 1-minute load average (other work on the machine
stretches the wall times).

    python bench/import_feed.py [--rows 1000000] [--database-url postgresql+psycopg://...] [--no-fresh] [--json]

The database URL comes from ``--database-url`` or ``POLICY_HUB_BENCH_DATABASE_URL``; by default a database
``policy_hub_bench`` on the local server, dropped and created afresh (``--no-fresh``: use it as it is).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYS = ("rows", "observations", "enterprises", "preview_seconds", "commit_seconds", "total_seconds",
        "peak_rss_mb", "file_mb", "client_cpu_seconds", "server_cpu_seconds", "load_average")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/policy_hub_bench"
ALPHABET = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
WEIGHTS = np.array((1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), dtype=np.int64)
HEADER = "统一社会信用代码,纳税人名称,所属年度,营业收入（元）,资产总额（元）,应纳税所得额（元）,纳税总额（元）,研发费用（元）,纳税信用等级\n"


def credit_codes(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct valid unified social credit codes (GB 32100): 91 + a Shanxi county + 9 random + check."""
    body = np.empty((n, 18), dtype=np.int64)
    body[:, :8] = [9, 1, 1, 4, 0, 1, 0, 5]
    serial = np.arange(n, dtype=np.int64) * 7919 + int(rng.integers(0, 1000))
    for k in range(9):  # distinct: the serial written in base 31
        body[:, 16 - k] = serial % 31
        serial //= 31
    body[:, 17] = (31 - (body[:, :17] @ WEIGHTS) % 31) % 31
    chars = ALPHABET[body].astype(np.uint8)
    return [bytes(row).decode("ascii") for row in chars]


def write_tax_feed(path: Path, rows: int, seed: int = 7) -> int:
    """Write a 税务 CSV of ``rows`` data rows (two years per enterprise) to ``path``; returns the enterprises."""
    rng = np.random.default_rng(seed)
    firms = (rows + 1) // 2
    codes = credit_codes(firms, rng)
    revenue = rng.integers(100_000, 500_000_000, size=rows)
    assets = rng.integers(100_000, 800_000_000, size=rows)
    income = rng.integers(0, 50_000_000, size=rows)
    tax = rng.integers(0, 20_000_000, size=rows)
    cents = rng.integers(0, 100, size=rows)
    rd = rng.integers(0, 30_000_000, size=rows)
    rd_blank = rng.random(rows) < 0.1
    ratings = np.array(list("ABMCD"))[rng.integers(0, 5, size=rows)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        lines = []
        for i in range(rows):
            rd_text = "" if rd_blank[i] else str(rd[i])
            lines.append(f"{codes[i // 2]},山西样本{i // 2:07d}有限公司,{2024 + i % 2},{revenue[i]}.{cents[i]:02d},"
                         f"{assets[i]},{income[i]},{tax[i]},{rd_text},{ratings[i]}\n")
            if len(lines) == 50_000:
                fh.writelines(lines)
                lines = []
        fh.writelines(lines)
    return firms


def _fresh_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def run(rows: int, url: str, fresh: bool = True) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from policy_hub.app import create_app
    from policy_hub.extensions import db
    from policy_hub.services.feeds import import_feed
    from policy_hub.services.users import create_user

    if fresh:
        _fresh_database(url)
    app = create_app({"POLICY_HUB_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "TESTING": True})
    with tempfile.TemporaryDirectory() as tmp, app.app_context():
        upgrade()
        officer = create_user("bench-officer", "data_officer", "bench-password-1", region_code="140000")
        db.session.commit()
        path = Path(tmp) / "企业纳税信息_税务_bench.csv"
        with ProcessPoolExecutor(1) as pool:  # generate elsewhere: the peak RSS is the import's own
            firms = pool.submit(write_tax_feed, path, rows).result()
        load = os.getloadavg()[0]
        started, cpu_started = time.perf_counter(), _cpu()
        preview = import_feed(path, "tax", officer)
        previewed = time.perf_counter()
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()  # the commit's connection
        server_started = _proc_cpu(backend)
        summary = import_feed(path, "tax", officer, commit=True)
        server_cpu = _proc_cpu(backend) - server_started
        db.session.commit()
        committed, cpu_used = time.perf_counter(), _cpu() - cpu_started
        assert summary["committed"] and not summary["errors"], summary["errors"][:3]
        assert summary["enterprises"] == firms == preview["enterprises"]
        file_mb = path.stat().st_size / 2**20
    return {
        "rows": summary["rows"], "observations": summary["new_observations"], "enterprises": summary["enterprises"],
        "preview_seconds": round(previewed - started, 2), "commit_seconds": round(committed - previewed, 2),
        "total_seconds": round(committed - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "file_mb": round(file_mb, 1), "client_cpu_seconds": round(cpu_used, 1),
        "server_cpu_seconds": round(server_cpu, 1), "load_average": round(max(load, os.getloadavg()[0]), 1),
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a local process (the PostgreSQL backend doing the COPY); 0 when not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("POLICY_HUB_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--no-fresh", action="store_true", help="use the database as it is (must be migrated)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = run(args.rows, args.database_url, fresh=not args.no_fresh)
    for key in KEYS:
        print(f"{key:>16}: {figures[key]}")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
