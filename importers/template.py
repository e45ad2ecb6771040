"""The downloadable item-list template (xlsx): headers, drop-downs, instructions and one worked example row.

Pure and built at call time from ``importers.items.ITEM_COLUMNS`` (headers, synonyms), the enumerations of
``importers.items``, the division table ``rules.regions`` and the vocabulary ``rules.FIELDS`` (cheat sheet), so a
field added to any of them appears in the next download.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import IO, Any

import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

import rules
from importers.items import CATEGORIES, ITEM_COLUMNS, MODES, PERIODS, STATUSES
from importers.report import put
from rules import regions
from rules.vocabulary import SOURCES

ITEM_SHEET, GUIDE_SHEET, LISTS_SHEET = "事项清单", "填写说明", "选项"
HEADER_ROW, EXAMPLE_ROW, LAST_ROW = 2, 3, 1002
UNITS = {"cap": "万元", "budget": "万元"}
TEXT_FIELDS = ("code", "region_code", "policy_doc_no", "contact")
BOOLEAN = ("是", "否")
TYPE_NAMES = {"string": "文本", "money": "金额", "integer": "整数", "date": "日期", "boolean": "是/否",
              "fraction": "比例", "decimal": "小数", "set": "集合", "mapping": "资质→日期"}
UNIT_NAMES = {"元": "元", "persons": "人", "months": "月", "years": "年", "fraction 0-1": "0–1 的小数（5.5% 写 0.055）"}
HINTS = {
    "code": "文本；同一区划内唯一，重新导入时按（适用区域, 事项编码）更新",
    "region_code": "下拉选择区划名称，或填6位区划代码；城区请写全称（如 阳泉市城区）",
    "eligibility": "资格规则（规则语言，见下方速查表）；免申即享、即申即享事项必填",
    "amount_formula": "以元计的金额公式；免申即享、即申即享事项必填（税收减免除外）",
    "cap": "单户上限，单位见表头（万元）；空表示不设上限",
    "budget": "资金规模，单位见表头（万元）",
    "fiscal_year": "4位年度，如 2025",
    "apply_start": "日期，如 2026-03-01、2026/3/1、2026年3月1日",
    "apply_end": "日期，不早于申报开始",
    "period": "每年（默认）或 一次性",
    "commitment_allowed": "是/否（默认否）：未知字段可否以告知承诺补足",
    "notice_days": "公示天数（整数，默认0）",
    "status": "上架（默认）、草稿、下架",
}
OPERATORS = (
    ("and / or / not", "且 / 或 / 非（未知值按三值逻辑处理）", "employees <= 300 and not abnormal_listed"),
    ("== != > >= < <=", "比较", "tax_credit_rating == 'A'"),
    ("in", "属于（集合或列表）", "'高新技术企业' in 资质"),
    ("+ - * /", "四则运算（除以0为未知）", "研发费用 * 0.05"),
    ("条件 ? 甲 : 乙", "条件取值", "scale == '大型' ? 0.30 : 0.60"),
    ("100万 / 1.5亿", "数字可带万、亿后缀", "营业收入 >= 5000万"),
    ("d'2025-01-01'", "日期字面量，按日历日期比较", "established_on <= d'2023-12-31'"),
    ("字段['资质']", "按资质取认定日期", "first_qualified_on['高新技术企业'] >= d'2025-01-01'"),
    ("as_of", "评估日期（系统传入，规则不读时钟）", "as_of >= d'2026-01-01'"),
    ("'文本'", "文本用英文单引号", "operating_status in ['存续', '在业']"),
)


def example_row() -> dict[str, Any]:
    """The worked example (a 免申即享 item of 太原市) by field code; it imports with no errors."""
    return {
        "code": "EX-001", "name": "科技型中小企业研发费用补助（示例，导入前请删除本行）",
        "policy_title": "太原市支持科技创新若干措施", "policy_doc_no": "并政发〔2025〕1号", "department": "太原市科技局",
        "region_code": "太原市", "category": "财政补贴", "mode": "免申即享",
        "conditions_text": "认定为科技型中小企业，且考核年度研发费用不低于100万元",
        "eligibility": "'科技型中小企业' in 资质 and 研发费用 >= 100万",
        "standard_text": "按研发费用的5%给予补助，最高50万元", "amount_formula": "$min([研发费用 * 0.05, 50万])",
        "cap": 50, "budget": 2000, "funding_source": "市级财政", "fiscal_year": 2025,
        "apply_start": dt.date(2026, 3, 1), "apply_end": dt.date(2026, 12, 31), "contact": "0351-1234567",
        "period": "每年", "exclusive_group": None, "commitment_allowed": "否", "notice_days": 7, "status": "上架",
    }


def choices() -> dict[str, tuple[str, ...]]:
    """Drop-down values by field code: enumerations, 是/否, and every division by its full name."""
    by_code = sorted(regions.regions().values(), key=lambda r: r.code)
    return {"category": tuple(CATEGORIES), "mode": tuple(MODES), "period": tuple(PERIODS),
            "commitment_allowed": BOOLEAN, "status": tuple(STATUSES),
            "region_code": tuple(r.full_name for r in by_code)}


def header_text(column) -> str:
    unit = f"（{UNITS[column.field]}）" if column.field in UNITS else ""
    return column.names[0] + unit + ("*" if column.required else "")


def write_template(out: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write the template workbook to ``out`` (path or binary stream)."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = ITEM_SHEET
    put(ws, 1, 1, "奖补事项清单（带 * 为必填；第3行为示例，可参照填写后删除；说明见“填写说明”工作表）")
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    example = example_row()
    for c, column in enumerate(ITEM_COLUMNS, start=1):
        letter = get_column_letter(c)
        put(ws, HEADER_ROW, c, header_text(column))
        ws.cell(row=HEADER_ROW, column=c).font = Font(bold=True)
        ws.column_dimensions[letter].width = max(12, len(column.names[0]) * 2 + 4)
        if column.field in TEXT_FIELDS:
            ws.column_dimensions[letter].number_format = "@"
        value = example.get(column.field)
        if value is not None:
            put(ws, EXAMPLE_ROW, c, value, text_format=column.field in TEXT_FIELDS)
    ws.freeze_panes = ws.cell(row=EXAMPLE_ROW, column=1)
    _lists(book, ws)
    _guide(book.create_sheet(GUIDE_SHEET))
    book.save(out)


def _lists(book, ws) -> None:
    lists = book.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    position = {column.field: c for c, column in enumerate(ITEM_COLUMNS, start=1)}
    for n, (fld, values) in enumerate(choices().items(), start=1):
        if fld not in position:
            continue
        column = ITEM_COLUMNS[position[fld] - 1]
        put(lists, 1, n, column.names[0])
        for r, value in enumerate(values, start=2):
            put(lists, r, n, value)
        letter = get_column_letter(n)
        rule = DataValidation(type="list", formula1=f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}",
                              allow_blank=True, showErrorMessage=True, errorTitle="不是可选值",
                              error=f"{column.names[0]}应从下拉列表中选择：{'、'.join(values[:12])}"
                                    + ("…" if len(values) > 12 else ""))
        target = get_column_letter(position[fld])
        rule.add(f"{target}{EXAMPLE_ROW}:{target}{LAST_ROW}")
        ws.add_data_validation(rule)


def _guide(ws) -> None:
    rows: list[tuple[Any, ...]] = [("一、各列填写说明",), ("列名", "也可写作", "必填", "填写要求")]
    for column in ITEM_COLUMNS:
        rows.append((header_text(column), "、".join(column.names[1:]), "是" if column.required else "",
                     HINTS.get(column.field, "文本")))
    rows += [(), ("二、规则语言速查：可用字段（字段代码或中文名称均可）",),
             ("字段代码", "中文名称", "类型", "单位", "数据来源", "说明")]
    for f in rules.FIELDS.values():
        rows.append((f.code, f.label, TYPE_NAMES.get(f.type, f.type), UNIT_NAMES.get(f.unit, f.unit),
                     SOURCES.get(f.source, f.source), f.description))
    rows += [(), ("三、规则语言速查：运算符与写法",), ("写法", "含义", "示例")]
    rows += OPERATORS
    builtins = "、".join(f"${name}" for name in sorted(rules.ALLOWED_BUILTINS))
    rows.append((builtins, "内置函数，参数写成列表", "$min([研发费用 * 0.05, 50万])"))
    rows += [(), ("未知（缺数据）的字段使比较结果为“未知”，事项判定为待补充数据，不会误判为符合。",),
             ("金额公式以元计，先按单户上限封顶，再四舍五入到分。",)]
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            put(ws, r, c, value)
            ws.cell(row=r, column=c).alignment = Alignment(wrap_text=True, vertical="top")
        if len(row) == 1 or (row and r > 1 and rows[r - 2] == ()):
            ws.cell(row=r, column=1).font = Font(bold=True)
    for letter, width in zip("ABCDEF", (26, 22, 10, 16, 14, 60), strict=True):
        ws.column_dimensions[letter].width = width
