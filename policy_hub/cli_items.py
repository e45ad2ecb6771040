"""``policy-hub items export|show|template`` and ``enterprises show``: item lists and 一企一档 profiles as files
and JSON. Thin: parse, call one service, print."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import click

from policy_hub.cli import _emit, command, json_option, today_shanghai
from policy_hub.cli_commands import enterprises_group, items_group
from policy_hub.services.users import SYSTEM

logger = logging.getLogger(__name__)


@items_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--region", "region_code", default=None, help="只导出该区划（含下级）的事项，6位区划代码")
@json_option
@command
def items_export(path, region_code, as_json):
    """Write the stored items to PATH (.xlsx or .csv) in the import format; importing it changes nothing."""
    from policy_hub.services.items import export_items

    count = export_items(path, SYSTEM, region_code=region_code)
    _emit(as_json, {"path": path, "items": count}, f"已导出 {count} 项事项到 {path}")


@items_group.command("template")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@json_option
@command
def items_template(path, as_json):
    """Write the item-list template (xlsx: drop-downs, instructions, one example row) to PATH."""
    from importers.template import write_template

    if not path.lower().endswith(".xlsx"):
        raise click.UsageError("模板为 xlsx 文件，PATH 应以 .xlsx 结尾")
    write_template(path)
    _emit(as_json, {"path": path}, f"已写出事项清单模板 {path}")


@items_group.command("show")
@click.argument("region_code")
@click.argument("item_code")
@json_option
@command
def items_show(region_code, item_code, as_json):
    """Print one stored item (DESIGN.md field names; amounts 元 with two decimals; dates ISO)."""
    from policy_hub.services.items import find_item, item_json

    doc = item_json(find_item(region_code, item_code))
    _emit(as_json, doc, json.dumps(doc, ensure_ascii=False, indent=2, default=str))


@enterprises_group.command("show")
@click.argument("credit_code")
@click.option("--year", "fiscal_year", type=click.IntRange(2000, 2100), default=None,
              help="考核年度，默认上一年度")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="评估日期 YYYY-MM-DD，默认上海时区今天")
@json_option
@command
def enterprises_show(credit_code, fiscal_year, as_of, as_json):
    """Print one enterprise's profile: {credit_code, name, fiscal_year, as_of, values, sources}."""
    from policy_hub.services.profiles import profile_of

    day = as_of.date() if as_of else today_shanghai()
    # read_profile records reads by users (ProfileAccess.user_id is required); the operator has no user row.
    logger.info("profile of %s read by the operator via the CLI", credit_code)
    doc = profile_of(credit_code.strip().upper(), fiscal_year or day.year - 1, day)
    doc = {**doc, "as_of": day.isoformat(), "values": money_as_yuan(doc["values"])}
    _emit(as_json, doc, json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def money_as_yuan(values: dict) -> dict:
    """Money fields of a profile as 元 strings with two decimals (``"5000000.00"``); other values unchanged."""
    from rules.money import round_yuan
    from rules.vocabulary import FIELDS

    return {k: (f"{round_yuan(Decimal(v)):.2f}" if v is not None and k in FIELDS and FIELDS[k].type == "money"
                else v) for k, v in values.items()}
