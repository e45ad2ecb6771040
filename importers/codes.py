"""Code cells that must stay text: 统一社会信用代码, 行政区划代码 and 行业代码. Each parser takes a raw cell and
returns the code as a str (None when blank) or raises ``cells.CellError`` with a Chinese reason.

Sources: GB 32100-2015 check digit (python-stdnum ``cn.uscc``); the Shanxi division table of ``rules.regions``;
the GB/T 4754-2017 divisions shipped as ``importers/data/industry_divisions_gbt4754_2017.csv``.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import Any

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from importers import cells
from rules import regions

INDUSTRY_TABLE = "data/industry_divisions_gbt4754_2017.csv"


@cache
def industry_divisions() -> dict[str, str]:
    """Two-digit division code -> name, GB/T 4754-2017 (01 农业 … 97 国际组织)."""
    text = resources.files("importers").joinpath(INDUSTRY_TABLE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {row["division"]: row["name"] for row in csv.DictReader(lines)}


def credit_code(value: Any) -> str | None:
    """An 18-character 统一社会信用代码 with a valid check digit, upper-cased. A number cell is refused: Excel
    keeps 15 digits, so an all-digit code stored as a number has already lost its tail."""
    cells.check(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise cells.CellError("以数字存储，可能已丢失位数（Excel 只保留15位有效数字）；统一社会信用代码应为18位文本，"
                              "请将该列设为文本格式后重新填写")
    code = cells.code_text(value, label="统一社会信用代码")
    if code is None:
        return None
    try:
        return uscc.validate(code)
    except InvalidChecksum:
        expected = uscc.calc_check_digit(code[:17])
        raise cells.CellError(f"校验位错误：末位为 {code[-1]}，按 GB 32100 应为 {expected}") from None
    except ValidationError:
        raise cells.CellError("格式错误，应为18位（数字或大写字母，不含 I、O、Z、S、V），末位为校验位") from None


def region_code(value: Any) -> str | None:
    """A 6-digit division code present in the Shanxi division table (any level)."""
    code = cells.code_text(value, 6, "行政区划代码")
    if code is None:
        return None
    if code not in regions.regions():
        raise cells.CellError(f" {code} 不在山西省区划表中，应为6位区划代码")
    return code


def industry_code(value: Any) -> str | None:
    """A 4-digit GB/T 4754-2017 class code whose first two digits are a valid division."""
    code = cells.code_text(value, 4, "行业代码")
    if code is None:
        return None
    if not (len(code) == 4 and code.isdigit()):
        raise cells.CellError("应为4位数字的国民经济行业（GB/T 4754-2017）小类代码，如 3511")
    if code[:2] not in industry_divisions():
        raise cells.CellError(f" {code} 的大类 {code[:2]} 不是 GB/T 4754-2017 中的有效大类（01-97）")
    return code
