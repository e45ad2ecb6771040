"""Configured import caps reach the readers: an item list over the row cap is refused before it is parsed."""

from __future__ import annotations

import pytest

from importers import ImportFileError
from policy_hub.app import create_app
from policy_hub.config import ConfigError
from policy_hub.services import import_limits
from policy_hub.services import items as item_service

HEADER = "事项编码,事项名称,政策文件,适用区划,兑现方式,扶持类型,资格规则,金额公式,封顶金额（万元）,预算金额（万元）\n"


def _app(tmp_path, monkeypatch, **env):
    for k, v in env.items():
        monkeypatch.setenv(f"POLICY_HUB_{k}", v)
    return create_app({"POLICY_HUB_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def test_configured_limits(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, ITEM_MAX_ROWS="3", FEED_MAX_MB="7", MAX_COLUMNS="50",
               XLSX_MAX_RATIO="12.5")
    with app.app_context():
        items, feed = import_limits("items"), import_limits("feed")
    assert (items.max_rows, items.max_columns, items.max_ratio) == (3, 50, 12.5)
    assert items.max_file_bytes == app.config["MAX_CONTENT_LENGTH"]
    assert (feed.max_file_bytes, feed.max_rows) == (7 * 1024 * 1024, 2_000_000)


def test_item_row_cap_refuses_the_file(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, ITEM_MAX_ROWS="3")
    path = tmp_path / "list.csv"
    row = "TY-{i},事项{i},并政发〔2025〕1号,140100,apply_free,奖励,revenue >= 1,10000,1,100\n"
    path.write_text(HEADER + "".join(row.format(i=i) for i in range(5)), encoding="utf-8")
    with app.app_context(), pytest.raises(ImportFileError) as exc:
        item_service.import_items(path, _city_admin())
    assert "超过上限 3 行" in str(exc.value)


def test_bad_ratio_is_a_config_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="XLSX_MAX_RATIO"):
        _app(tmp_path, monkeypatch, XLSX_MAX_RATIO="nan")


def _city_admin():
    from types import SimpleNamespace

    return SimpleNamespace(id=1, role="city_admin", region_code="140100", username="t")


def test_feed_row_cap_comes_from_config(tmp_path, monkeypatch):
    from policy_hub.services import feeds as feed_service

    app = _app(tmp_path, monkeypatch, FEED_MAX_ROWS="2")
    path = tmp_path / "credit.csv"
    path.write_text("统一社会信用代码,企业名称\n" + "91140100MA0000000A,甲\n" * 4, encoding="utf-8")
    with app.app_context(), pytest.raises(ImportFileError) as exc:
        feed_service.import_feed(path, "credit", _data_officer())
    assert "超过上限 2 行" in str(exc.value)


def _data_officer():
    from types import SimpleNamespace

    return SimpleNamespace(id=1, role="data_officer", region_code="140000", username="d")
