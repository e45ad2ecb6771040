"""The chunked, vectorised CSV path of the feeds gives exactly what the per-row reader gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from importers import ImportFileError
from importers.feed_fast import credit_codes_valid
from importers.feeds import FeedReader, read_feed


def code(serial: int) -> str:
    body = f"91140105{serial:09d}"
    return body + uscc.calc_check_digit(body)


GOOD = [code(i) for i in range(1, 6)]
BAD_CHECK = GOOD[0][:-1] + ("0" if GOOD[0][-1] != "0" else "1")
CODES = GOOD + [BAD_CHECK, GOOD[1].lower(), f" {GOOD[2]}", "", "123", "91140105000000001I"]
YEARS = ["2024", "2025", "2025年", " 2024", "1999", "", "二〇二五", "2025.0"]
MONEY = ["4136200", "29294.66", "12.00", "0", "007", "１２３", "50万", "3万-5万", "", "-1", "abc", "0.57万元",
         "1000000000000000", "12.5"]
INTS = ["26", "0", "26.0", "２６", "-3", "", "x", "0012"]
RATINGS = ["A", "m", "B ", "Z", ""]
TAX_HEADER = "统一社会信用代码,纳税人名称,所属年度,营业收入（元）,研发费用（元）,从业人数,纳税信用等级,注册资本"

rows = st.one_of(
    st.tuples(st.sampled_from(CODES), st.sampled_from(["甲公司", "", "备注"]), st.sampled_from(YEARS),
              st.sampled_from(MONEY), st.sampled_from(MONEY), st.sampled_from(INTS), st.sampled_from(RATINGS),
              st.sampled_from(["100", ""])).map(",".join),
    st.sampled_from(["", ",,,,,,,", "备注：以上数据来自税务", "说明,,,,", " ,,,"]),
)


def both(path: Path, source: str, chunk: int):
    out = []
    for fast in (True, False):
        reader = FeedReader(path, source, chunk_rows=chunk, fast=fast)
        parts = list(reader.chunks())
        obs = pd.concat([p.observations for p in parts], ignore_index=True)
        out.append((obs, [e for p in parts for e in p.errors], [w for p in parts for w in p.warnings],
                    reader.enterprises, reader.table is not None))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(rows, min_size=1, max_size=25), chunk=st.integers(1, 7),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_the_fast_path_equals_the_per_row_reader_on_messy_tax_files(tmp_path, lines, chunk, encoding):
    path = tmp_path / "税务.csv"
    path.write_text("\n".join([TAX_HEADER, *lines]) + "\n", encoding=encoding)
    (fast_obs, fast_err, fast_warn, fast_n, used), (obs, err, warn, n, _) = both(path, "tax", chunk)
    assert used or not "".join(lines).strip(" ,")  # only a file without any data row has no fast path
    pd.testing.assert_frame_equal(fast_obs, obs)
    assert [type(v) for v in fast_obs.value] == [type(v) for v in obs.value]
    assert (fast_err, fast_warn, fast_n) == (err, warn, n)


def test_the_fast_path_equals_the_per_row_reader_on_the_sample_feeds():
    examples = Path(__file__).resolve().parents[2] / "examples"
    for name, source in (("企业登记信息_市场监管.csv", "market"), ("企业参保信息_人社_2024-2025.csv", "hr")):
        (fast_obs, fast_err, fast_warn, fast_n, used), (obs, err, warn, n, _) = both(examples / name, source, 333)
        assert used
        pd.testing.assert_frame_equal(fast_obs, obs)
        assert (fast_err, fast_warn, fast_n) == (err, warn, n)


def test_a_duplicate_in_a_later_chunk_names_the_first_row(tmp_path):
    path = tmp_path / "人社.csv"
    path.write_text("\n".join(["统一社会信用代码,年度,裁员人数", f"{GOOD[0]},2025,1", f"{GOOD[1]},2025,1",
                               f"{GOOD[0]},2025,2"]) + "\n", encoding="utf-8")
    reader = FeedReader(path, "hr", chunk_rows=1)
    parts = list(reader.chunks())
    errors = [e for p in parts for e in p.errors]
    assert [(e.row, e.value, e.message) for e in errors] == [(4, GOOD[0], "重复记录：企业与年度与第 2 行相同")]
    assert len(parts) == 3 and reader.enterprises == 2


def test_a_quoted_csv_takes_the_per_row_reader(tmp_path):
    path = tmp_path / "人社.csv"
    path.write_text(f'统一社会信用代码,年度,裁员人数\n"{GOOD[0]}",2025,"1"\n', encoding="utf-8")
    reader = FeedReader(path, "hr")
    assert reader.table is None
    assert read_feed(path, "hr").observations.value.tolist() == [1]


def test_the_vectorised_credit_code_check_agrees_with_python_stdnum():
    candidates = GOOD + [BAD_CHECK, "91140105000000001I", "9114010500000000", GOOD[0].lower(), "A" * 18]
    candidates += [c[:-1] + ch for c in GOOD for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY"]
    mask = credit_codes_valid(pd.Series(candidates, dtype=object))
    assert mask.tolist() == [uscc.is_valid(c) and c == c.upper() for c in candidates]


def test_a_market_column_in_a_tax_file_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "税务.csv"
    path.write_text(f"统一社会信用代码,所属年度,营业收入（元）,行业代码,从业人数\n{GOOD[0]},2025,10,6510,3\n", encoding="utf-8")
    result = read_feed(path, "tax")
    assert sorted(result.observations.field) == ["employees", "revenue"]
    assert [(w.row, w.column) for w in result.warnings] == [(1, "从业人数"), (1, "行业代码")]
    assert "本列已忽略" in result.warnings[1].message and "仅用于核对" in result.warnings[0].message


MARKET_HEADER = "统一社会信用代码,企业名称,住所所在地行政区划代码,成立日期,注册资本（万元）,市场主体类型,行业代码,登记状态,是否列入经营异常名录"
market_rows = st.tuples(
    st.sampled_from(CODES), st.sampled_from(["甲公司", " 乙 ", "\u3000丙", "ｱｲ", "", "\u200b", "备注"]),
    st.sampled_from(["140105", "140100", "999999", "14010", "", " 140105"]),
    st.sampled_from(["2015-03-01", "2015/3/1", "2015-02-30", "20150301", "", "2015年3月1日", "1900-01-01"]),
    st.sampled_from(["100", "0.57", "50万元", "", "12.00", "abc", "１００"]), st.sampled_from(["有限责任公司", "", " 合伙企业"]),
    st.sampled_from(["6510", "0511", "9901", "65", "", "6510 "]), st.sampled_from(["存续", "在业", "x", "", " 存续"]),
    st.sampled_from(["否", "是", "Y", "maybe", "", "y"]),
).map(",".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(market_rows, min_size=1, max_size=25), chunk=st.integers(1, 7))
def test_the_fast_path_equals_the_per_row_reader_on_messy_market_files(tmp_path, lines, chunk):
    path = tmp_path / "登记.csv"
    path.write_text("\n".join([MARKET_HEADER, *lines]) + "\n", encoding="utf-8")
    (fast_obs, fast_err, fast_warn, fast_n, _), (obs, err, warn, n, _) = both(path, "market", chunk)
    pd.testing.assert_frame_equal(fast_obs, obs)
    assert [type(v) for v in fast_obs.value] == [type(v) for v in obs.value]
    assert (fast_err, fast_warn, fast_n) == (err, warn, n)


@pytest.mark.parametrize("content, expected", [
    (b"", "空文件"),
    (b"   \r\n\r\n", "空"),
    (b"%PDF-1.7\n1 0 obj\n", "PDF"),
    (b"<html><body><table><tr><td>x</td></tr></table></body></html>", "网页（HTML）"),
])
def test_non_tables_are_refused_by_name_on_the_fast_csv_path_too(tmp_path, content, expected):
    path = tmp_path / "tax.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as exc:
        read_feed(path, "tax")
    assert expected in str(exc.value)
