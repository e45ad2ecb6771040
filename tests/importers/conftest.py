"""Helpers that write small xlsx/CSV files into tmp_path, shaped like the real ones."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

ITEM_HEADER = ["事项编码", "事项名称", "扶持类型", "兑现方式", "适用区域", "资格规则", "金额公式", "单户上限",
               "资金规模", "资金来源", "考核年度", "申报开始", "申报截止"]


def item_row(**overrides: Any) -> list[Any]:
    """One valid on-application item row under ITEM_HEADER; override cells by header name."""
    base = {"事项编码": "T-001", "事项名称": "测试事项", "扶持类型": "奖励", "兑现方式": "依申请", "适用区域": "太原市",
            "资格规则": None, "金额公式": None, "单户上限": "10", "资金规模": "100", "资金来源": "市级财政",
            "考核年度": "2025", "申报开始": "2026-03-01", "申报截止": "2026-12-31"}
    base.update(overrides)
    return [base[h] for h in ITEM_HEADER]


@pytest.fixture
def write_xlsx(tmp_path: Path) -> Callable[..., Path]:
    def write(rows: Sequence[Sequence[Any]], merges: Sequence[str] = (), name: str = "t.xlsx",
              title: str = "Sheet1", extra: dict[str, Sequence[Sequence[Any]]] | None = None) -> Path:
        book = openpyxl.Workbook()
        ws = book.active
        ws.title = title
        for row in rows:
            ws.append(list(row))
        for rng in merges:
            ws.merge_cells(rng)
        for sheet_name, sheet_rows in (extra or {}).items():
            other = book.create_sheet(sheet_name)
            for row in sheet_rows:
                other.append(list(row))
        path = tmp_path / name
        book.save(path)
        return path

    return write


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(rows: Sequence[Sequence[Any]], encoding: str = "utf-8", name: str = "t.csv") -> Path:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        path = tmp_path / name
        path.write_bytes(buf.getvalue().encode(encoding))
        return path

    return write
