"""Feed ownership, provenance, conflicts between sources and their resolution, unregistered enterprises."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc

from policy_hub.extensions import db
from policy_hub.models import AuditEntry, Enterprise, Observation
from policy_hub.models.profiles import ConflictResolution
from policy_hub.services import Forbidden, InputRejected, NotFound
from policy_hub.services.conflicts import conflict_report, resolve_conflict
from policy_hub.services.feeds import import_feed, unregistered_enterprises
from policy_hub.services.matching import profiles_for_year
from policy_hub.services.profiles import profile_of, provenance

AS_OF = date(2026, 6, 30)


def code(serial: int) -> str:
    body = f"91140105{serial:09d}"
    return body + uscc.calc_check_digit(body)


A, B, GHOST = code(1), code(2), code(3)
MARKET_HEADER = "统一社会信用代码,企业名称,住所所在地行政区划代码,成立日期,注册资本（万元）,市场主体类型,行业代码,登记状态,是否列入经营异常名录"


def write(tmp_path: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


@pytest.fixture
def officer(make_user):
    return make_user("data_officer", region="140000")


def commit(path: Path, source: str, officer) -> dict:
    summary = import_feed(path, source, officer, commit=True)
    db.session.commit()
    return summary


def load_a_and_b(tmp_path: Path, officer, *, tax_employees: int = 40, hr_employees: int = 35) -> None:
    commit(write(tmp_path, "登记.csv", [MARKET_HEADER, f"{A},甲公司,140105,2015-03-01,100,有限责任公司,6510,存续,否",
                                        f"{B},乙公司,140105,2016-03-01,50,有限责任公司,6510,在业,否"]), "market", officer)
    commit(write(tmp_path, "人社.csv", ["统一社会信用代码,单位名称,年度,参保职工人数", f"{A},甲公司,2025,{hr_employees}",
                                        f"{B},乙公司,2025,12"]), "hr", officer)
    commit(write(tmp_path, "税务.csv", ["统一社会信用代码,纳税人名称,所属年度,营业收入（元）,从业人数",
                                        f"{A},甲公司,2025,5000000,{tax_employees}", f"{B},乙公司,2025,800000,12"]),
           "tax", officer)


def test_a_foreign_column_in_a_tax_file_is_ignored_with_a_warning_and_never_stored(tmp_path, officer):
    path = write(tmp_path, "税务.csv", ["统一社会信用代码,纳税人名称,所属年度,营业收入（元）,注册资本（万元）,行业代码",
                                        f"{A},甲公司,2025,5000000,100,6510"])
    preview = import_feed(path, "tax", officer)
    ignored = {w["column"]: w["message"] for w in preview["warnings"] if w["row"] == 1}  # the header row
    assert set(ignored) == {"注册资本（万元）", "行业代码"}
    assert "市场监管部门负责" in ignored["行业代码"] and "本列已忽略" in ignored["行业代码"]
    assert preview["observations"] == 1 and not preview["errors"]
    commit(path, "tax", officer)
    fields = db.session.scalars(select(Observation.field).where(Observation.source == "tax")).all()
    assert fields == ["revenue"]


def test_a_cross_check_column_is_kept_as_the_tax_value_and_the_preview_says_so(tmp_path, officer):
    path = write(tmp_path, "税务.csv", ["统一社会信用代码,纳税人名称,所属年度,营业收入（元）,从业人数",
                                        f"{A},甲公司,2025,5000000,40"])
    preview = import_feed(path, "tax", officer)
    header, unregistered = preview["warnings"]
    assert (header["row"], header["column"]) == (1, "从业人数")
    assert "人社部门负责" in header["message"] and "冲突报告" in header["message"]
    assert unregistered["value"] == A and preview["unregistered"] == 1
    assert preview["observations"] == 2


def test_every_stored_value_keeps_its_source_file_and_import_time(tmp_path, officer):
    load_a_and_b(tmp_path, officer)
    rows = db.session.execute(
        select(Observation.source, Observation.import_id, Observation.observed_at, Observation.row)
        .where(Observation.credit_code == A)).all()
    assert {r.source for r in rows} == {"market", "hr", "tax"}
    assert all(r.import_id and r.observed_at.tzinfo is not None and r.row for r in rows)
    profile = profile_of(A, 2025, AS_OF)
    where = provenance(A, 2025, profile["sources"])
    assert (where["employees"]["source"], where["employees"]["filename"]) == ("hr", "人社.csv")
    assert (where["revenue"]["source"], where["revenue"]["filename"]) == ("tax", "税务.csv")
    assert where["name"]["filename"] == "登记.csv" and where["revenue"]["imported_at"].tzinfo is not None
    assert "scale" not in where  # derived


def test_the_authoritative_source_wins_until_the_conflict_is_resolved(tmp_path, officer):
    load_a_and_b(tmp_path, officer)
    build = profiles_for_year(2025, AS_OF)
    assert (build.profiles[A]["employees"], build.sources[A]["employees"]) == (35, "hr")
    [entry] = conflict_report(officer)  # B's sources agree: no conflict
    assert (entry["credit_code"], entry["field"], entry["fiscal_year"], entry["status"]) == (A, "employees", 2025,
                                                                                             "open")
    assert [(v["source"], v["value"], v["filename"], v["authoritative"]) for v in entry["values"]] == [
        ("hr", 35, "人社.csv", True), ("tax", 40, "税务.csv", False)]
    assert entry["used_source"] == "hr" and entry["name"] == "甲公司"

    resolve_conflict(officer, A, "employees", 2025, "tax", "税务年报经企业确认")
    db.session.commit()
    build = profiles_for_year(2025, AS_OF)
    assert (build.profiles[A]["employees"], build.sources[A]["employees"]) == (40, "tax")
    assert not [c for c in build.conflicts if c.credit_code == A]
    assert conflict_report(officer, include_resolved=False) == []
    [resolved] = conflict_report(officer)
    assert resolved["status"] == "resolved" and resolved["resolution"]["reason"] == "税务年报经企业确认"
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "conflict.resolve")).one()
    assert audit.entity_id == A and '"source":"tax"' in audit.payload.replace(" ", "")


def test_a_new_disagreeing_value_from_the_chosen_source_reopens_the_conflict(tmp_path, officer):
    load_a_and_b(tmp_path, officer)
    resolve_conflict(officer, A, "employees", 2025, "tax", "以税务为准")
    db.session.commit()
    commit(write(tmp_path, "税务2.csv", ["统一社会信用代码,纳税人名称,所属年度,从业人数", f"{A},甲公司,2025,41"]),
           "tax", officer)
    build = profiles_for_year(2025, AS_OF)
    assert (build.profiles[A]["employees"], build.sources[A]["employees"]) == (35, "hr")
    [entry] = conflict_report(officer, include_resolved=False)
    assert entry["status"] == "reopened" and [v["value"] for v in entry["values"]] == [35, 41]


def test_resolving_needs_a_reason_a_real_conflict_a_reporting_source_and_the_data_officer(tmp_path, officer,
                                                                                         make_user):
    load_a_and_b(tmp_path, officer)
    with pytest.raises(InputRejected, match="理由"):
        resolve_conflict(officer, A, "employees", 2025, "tax", "  ")
    with pytest.raises(NotFound):
        resolve_conflict(officer, B, "employees", 2025, "tax", "无冲突")
    with pytest.raises(InputRejected, match="market"):
        resolve_conflict(officer, A, "employees", 2025, "market", "来源未报送")
    with pytest.raises(Forbidden):
        resolve_conflict(make_user("city_admin", region="140100"), A, "employees", 2025, "tax", "越权")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ConflictResolution)) == 0


def test_rows_for_unknown_enterprises_are_reported_and_never_profiled(tmp_path, officer):
    load_a_and_b(tmp_path, officer)
    path = write(tmp_path, "人社2.csv", ["统一社会信用代码,单位名称,年度,参保职工人数", f"{GHOST},无登记公司,2025,9",
                                         f"{A},甲公司,2024,30"])
    preview = import_feed(path, "hr", officer)
    assert preview["unregistered"] == 1
    [warning] = [w for w in preview["warnings"] if "没有市场监管登记信息" in w["message"]]
    assert warning["value"] == GHOST and warning["message"].startswith("1 家企业")
    summary = commit(path, "hr", officer)
    assert summary["enterprises"] == 2 and summary["new_observations"] == 2
    assert unregistered_enterprises(officer) == [{"credit_code": GHOST, "sources": ["hr"], "observations": 1}]
    assert db.session.get(Enterprise, GHOST).registered is False
    build = profiles_for_year(2025, AS_OF)
    assert GHOST in build.unregistered and GHOST not in build.profiles
    with pytest.raises(NotFound):
        profile_of(GHOST, 2025, AS_OF)


def test_the_conflict_page_lists_and_resolves(tmp_path, officer, login):
    load_a_and_b(tmp_path, officer)
    client = login(officer)
    html = client.get("/data").get_data(as_text=True)
    assert "/data/conflicts" in html
    html = client.get("/data/conflicts").get_data(as_text=True)
    assert A in html and "从业人数" in html and "人社.csv" in html and "权威来源" in html
    resp = client.post("/data/conflicts/resolve", data={"credit_code": A, "field": "employees", "fiscal_year": "2025",
                                                        "source": "tax", "reason": "核实后采用税务数据"})
    assert resp.status_code == 302
    stored = db.session.scalars(select(ConflictResolution)).one()
    assert (stored.source, stored.value, stored.reason) == ("tax", 40, "核实后采用税务数据")
    html = client.get("/data/conflicts").get_data(as_text=True)
    assert "没有待处理的数据冲突" in html and "采用税务的数据" in html
    resp = client.post("/data/conflicts/resolve", data={"credit_code": A, "field": "employees", "fiscal_year": "2025",
                                                        "source": "tax", "reason": ""})
    assert resp.status_code == 422


def test_revenue_typed_values_survive_the_bulk_path(tmp_path, officer):
    load_a_and_b(tmp_path, officer)
    build = profiles_for_year(2025, AS_OF)
    assert build.profiles[A]["revenue"] == Decimal("5000000") and build.profiles[A]["name"] == "甲公司"
    assert db.session.get(Enterprise, A).region_code == "140105"


def test_a_changed_market_row_adds_one_observation_and_updates_the_registration(tmp_path, officer):
    load_a_and_b(tmp_path, officer)
    summary = commit(write(tmp_path, "登记2.csv", [MARKET_HEADER, f"{A},甲公司（新）,140105,2015-03-01,100,有限责任公司,6510,存续,否"]),
                     "market", officer)
    assert (summary["new_observations"], summary["unchanged_observations"]) == (1, 7)
    assert db.session.get(Enterprise, A).name == "甲公司(新)"  # NFKC and db.session.get(Enterprise, B).name == "乙公司"
    again = commit(write(tmp_path, "登记3.csv", [MARKET_HEADER, f"{A},甲公司（新）,140105,2015-03-01,100,有限责任公司,6510,存续,否"]),
                   "market", officer)
    assert again["new_observations"] == 0


def test_build_profiles_honours_a_resolution_only_while_the_chosen_value_stands():
    import pandas as pd

    from matching.profiles import RESOLUTION_COLUMNS, build_profiles

    def build(tax_value: int, resolutions):
        obs = pd.DataFrame([(A, "name", "甲", None, "market", 1), (A, "employees", 35, 2025, "hr", 2),
                            (A, "employees", tax_value, 2025, "tax", 3)],
                           columns=["credit_code", "field", "value", "fiscal_year", "source", "seq"])
        obs["fiscal_year"] = obs["fiscal_year"].astype("Int64")
        return build_profiles(obs, fiscal_year=2025, as_of=AS_OF, closed_lists=frozenset(),
                              credit_list_imported=False, resolutions=resolutions)

    chosen = pd.DataFrame([(A, "employees", 2025, "tax", 40)], columns=list(RESOLUTION_COLUMNS))
    chosen["fiscal_year"] = chosen["fiscal_year"].astype("Int64")
    plain = build(40, None)
    assert (plain.profiles[A]["employees"], len(plain.conflicts)) == (35, 1)
    resolved = build(40, chosen)
    assert (resolved.profiles[A]["employees"], resolved.sources[A]["employees"], resolved.conflicts) == (40, "tax", [])
    stale = build(41, chosen)
    assert (stale.profiles[A]["employees"], stale.conflicts[0].other_value) == (35, 41)


def test_a_stale_page_cannot_overwrite_another_officers_resolution(tmp_path, officer, login):
    load_a_and_b(tmp_path, officer)
    client = login(officer)
    form = {"credit_code": A, "field": "employees", "fiscal_year": "2025", "seen_resolution": ""}
    first = client.post("/data/conflicts/resolve", data=form | {"source": "tax", "reason": "核实后采用税务数据"})
    assert first.status_code == 302
    # A second officer's page was loaded before the first resolution: it still says "no resolution yet".
    stale = client.post("/data/conflicts/resolve", data=form | {"source": "hr", "reason": "以人社为准"})
    assert stale.status_code == 409 and "刷新" in stale.get_data(as_text=True)
    stored = db.session.scalars(select(ConflictResolution)).all()
    assert [(r.source, r.reason) for r in stored] == [("tax", "核实后采用税务数据")]
    fresh = client.post("/data/conflicts/resolve",
                        data=form | {"seen_resolution": str(stored[0].id), "source": "hr", "reason": "以人社为准"})
    assert fresh.status_code == 302
    long = client.post("/data/conflicts/resolve",
                       data=form | {"seen_resolution": "", "source": "tax", "reason": "长" * 2001})
    assert long.status_code == 422 and "2000" in long.get_data(as_text=True)
