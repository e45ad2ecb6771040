"""Ten eligibility rules and amount formulas written fresh from real enterprise-incentive policy texts.

Written as a new user would write them, from README.md and DESIGN.md only ("Vocabulary", "The rule language",
the item fields table), and first tried through `policy-hub items import --json`. Each case is compiled with
rules.compile_rule (kind 'rule' and 'amount') and evaluated against a hand-built profile for which the policy
clearly applies; the expected amount was computed by hand (see each comment), not by running the code.

Where the reward itself is set by local (市/县) policy, the amounts follow the usual pattern of such policies
and the comment says so; the national document named is the one that defines the qualification or the
benefit.

The last three tests are typical mistakes, checking that the error gives a position and a helpful message.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import rules
from rules import compile_rule

AS_OF = dt.date(2026, 6, 30)  # items for 考核年度 2025, matched in the 2026 window

CASES = [
    # 1. 失业保险稳岗返还 — 人社部 财政部 国家发展改革委 工业和信息化部《关于失业保险支持企业稳定就业岗位的通知》
    # (人社部发〔2019〕23号): 依法参保并足额缴费12个月以上, 上年度未裁员或裁员率不高于全国城镇调查失业率控制目标
    # (5.5%), 30人(含)以下企业裁员率不高于20%; 返还上年度实际缴纳失业保险费的50%.
    # Profile: 12 months paid, 2 of 100 laid off (2%), 86,400.00 元 paid → 86,400 × 0.5 = 43,200.00 元.
    {
        "id": "稳岗返还",
        "rule": "失业保险足额缴费月数 >= 12 and not 经营异常名录 and "
        "(裁员率 <= 0.055 or (从业人数 <= 30 and 裁员率 <= 0.20))",
        "amount": "失业保险缴费 * 0.5",
        "profile": {
            "ui_paid_months": 12,
            "abnormal_listed": False,
            "layoff_count": 2,
            "employees": 100,
            "ui_premium_paid": Decimal("86400.00"),
        },
        "expected": Decimal("43200.00"),
    },
    # 2. 小型微利企业所得税优惠 — 财政部 税务总局《关于进一步支持小微企业和个体工商户发展有关税费政策的公告》
    # (2023年第12号): 年应纳税所得额不超过300万元、从业人数不超过300人、资产总额不超过5000万元; 减按25%计入
    # 应纳税所得额, 按20%的税率缴纳 (实际税负5%). Benefit = 25% − 25% × 20% = 20% of taxable income.
    # Profile: 280万 taxable, 120 staff, 3000万 assets → 2,800,000 × 0.20 = 560,000.00 元 of tax relief.
    {
        "id": "小型微利企业",
        "rule": "taxable_income > 0 and taxable_income <= 300万 and employees <= 300 and total_assets <= 5000万",
        "amount": "taxable_income * (0.25 - 0.25 * 0.20)",
        "profile": {
            "taxable_income": Decimal("2800000"),
            "employees": 120,
            "total_assets": Decimal("30000000"),
        },
        "expected": Decimal("560000.00"),
    },
    # 3. 高新技术企业认定奖励 — qualification per《高新技术企业认定管理办法》(国科发火〔2016〕32号); the reward
    # follows the usual municipal pattern: 首次认定奖励30万元, 重新认定奖励10万元, for recognitions dated in 2025.
    # Profile: first recognised 2025-11-20 → 300,000.00 元.
    {
        "id": "高企认定奖励",
        "rule": "'高新技术企业' in 资质 and qualified_on['高新技术企业'] >= d'2025-01-01' "
        "and qualified_on['高新技术企业'] <= d'2025-12-31'",
        "amount": "first_qualified_on['高新技术企业'] >= d'2025-01-01' ? 30万 : 10万",
        "profile": {
            "qualifications": frozenset({"高新技术企业"}),
            "qualified_on": {"高新技术企业": dt.date(2025, 11, 20)},
            "first_qualified_on": {"高新技术企业": dt.date(2025, 11, 20)},
        },
        "expected": Decimal("300000.00"),
    },
    # 4. 研发费用加计扣除 — 财政部 税务总局《关于进一步完善研发费用税前加计扣除政策的公告》(2023年第7号): 再按
    # 实际发生额的100%在税前加计扣除; negative list of 财税〔2015〕119号 (烟草制造业 1610/1620/1690, 批发和零售业 F,
    # 住宿和餐饮业 H, 房地产业 K, 租赁和商务服务业 L; 娱乐业 left out here). Tax relief = extra deduction × rate:
    # 15% for a 高新技术企业, else 25%.
    # Profile: 320万 R&D, industry 3511 (C), 高新技术企业 → 3,200,000 × 0.15 = 480,000.00 元.
    {
        "id": "研发费用加计扣除",
        "rule": "研发费用 > 0 and 行业门类 not in ['F', 'H', 'K', 'L'] "
        "and industry_code not in ['1610', '1620', '1690']",
        "amount": "研发费用 * ('高新技术企业' in 资质 ? 0.15 : 0.25)",
        "profile": {
            "rd_expense": Decimal("3200000"),
            "industry_code": "3511",
            "qualifications": frozenset({"高新技术企业"}),
        },
        "expected": Decimal("480000.00"),
    },
    # 5. 专精特新中小企业首次认定奖励 — tiers per《优质中小企业梯度培育管理暂行办法》(工信部企业〔2022〕63号);
    # usual local reward: 首次认定专精特新中小企业20万元, 专精特新"小巨人"企业50万元.
    # Profile: first recognised 2025-06-15, industrial, 260 staff and 1.5亿 revenue (small, not 大型); the
    # 小巨人 list has been imported and the firm is absent from it (closed world → false) → 200,000.00 元.
    {
        "id": "专精特新",
        "rule": "first_qualified_on['专精特新中小企业'] >= d'2025-01-01' "
        "and first_qualified_on['专精特新中小企业'] <= d'2025-12-31' and scale != '大型'",
        "amount": "'专精特新小巨人企业' in qualifications ? 50万 : 20万",
        "profile": {
            "industry_code": "3511",
            "employees": 260,
            "revenue": Decimal("150000000"),
            "qualifications": frozenset({"专精特新中小企业"}),
            "qualified_on": {"专精特新中小企业": dt.date(2025, 6, 15)},
            "first_qualified_on": {"专精特新中小企业": dt.date(2025, 6, 15)},
            rules.CLOSED_LISTS: frozenset({"专精特新中小企业", "专精特新小巨人企业"}),
        },
        "expected": Decimal("200000.00"),
    },
    # 6. 规上工业企业首次入统奖励 (小升规) — 规模以上工业 = 年主营业务收入2000万元及以上 (国家统计局 统计标准, since
    # 2011); usual local reward 20万元, 30万元 when revenue reaches 1亿.
    # Profile: first entered 2025-03-01, industry 3511 (C), revenue 2600万 → 200,000.00 元.
    {
        "id": "小升规",
        "rule": "first_qualified_on['规上工业企业'] >= d'2025-01-01' "
        "and industry_section in ['B', 'C', 'D'] and revenue >= 2000万",
        "amount": "revenue >= 1亿 ? 30万 : 20万",
        "profile": {
            "industry_code": "3511",
            "revenue": Decimal("26000000"),
            "qualifications": frozenset({"规上工业企业"}),
            "qualified_on": {"规上工业企业": dt.date(2025, 3, 1)},
            "first_qualified_on": {"规上工业企业": dt.date(2025, 3, 1)},
        },
        "expected": Decimal("200000.00"),
    },
    # 7. 一次性扩岗补助 — 人社部办公厅 教育部办公厅 财政部办公厅《关于实施一次性扩岗补助政策有关工作的通知》
    # (人社厅发〔2022〕41号): 招用高校毕业生, 签订劳动合同并为其缴纳失业保险费1个月以上, 每人不超过1500元.
    # Profile: 7 graduates hired, 3 months paid → 7 × 1500 = 10,500.00 元.
    {
        "id": "一次性扩岗补助",
        "rule": "新招用高校毕业生人数 >= 1 and 失业保险足额缴费月数 >= 1",
        "amount": "新招用高校毕业生人数 * 1500",
        "profile": {"new_graduate_hires": 7, "ui_paid_months": 3},
        "expected": Decimal("10500.00"),
    },
    # 8. 小微企业吸纳高校毕业生社会保险补贴 — 《国务院办公厅关于进一步做好高校毕业生等青年就业创业工作的通知》
    # (国办发〔2022〕13号): 小微企业吸纳离校2年内未就业高校毕业生, 给予最长1年社会保险补贴; local standard taken as
    # 800元/人/月, at most 20 persons per enterprise.
    # Profile: industrial, 45 staff and 800万 revenue (小型), 25 graduates → min(25, 20) × 12 × 800 = 192,000.00 元.
    {
        "id": "吸纳高校毕业生社保补贴",
        "rule": "企业规模 in ['小型', '微型'] and new_graduate_hires > 0 and ui_paid_months >= 12",
        "amount": "$min([new_graduate_hires, 20]) * 12 * 800",
        "profile": {
            "industry_code": "3511",
            "employees": 45,
            "revenue": Decimal("8000000"),
            "new_graduate_hires": 25,
            "ui_paid_months": 12,
        },
        "expected": Decimal("192000.00"),
    },
    # 9. 营业收入首次突破台阶奖励 — usual local pattern (首次突破1亿/10亿/50亿元 奖励20万/100万/300万元), with the
    # 纳税信用A级激励 of《纳税信用管理办法(试行)》(国家税务总局公告2014年第40号) taken as +20% for A-rated firms and
    # 纳税信用B级以上 as a condition.
    # Profile: revenue 12亿 (previous year 8.5亿), rating A → 100万 × 1.2 = 1,200,000.00 元.
    {
        "id": "营收突破台阶",
        "rule": "纳税信用等级 in ['A', 'B'] and ((营业收入 >= 1亿 and 上年度营业收入 < 1亿) "
        "or (营业收入 >= 10亿 and 上年度营业收入 < 10亿) or (营业收入 >= 50亿 and 上年度营业收入 < 50亿))",
        "amount": "(营业收入 >= 50亿 ? 300万 : (营业收入 >= 10亿 ? 100万 : 20万)) * (纳税信用等级 == 'A' ? 1.2 : 1)",
        "profile": {
            "tax_credit_rating": "A",
            "revenue": Decimal("1200000000"),
            "revenue_prev": Decimal("850000000"),
        },
        "expected": Decimal("1200000.00"),
    },
    # 10. 新设立企业开办补贴 — usual local pattern following the 优化营商环境 企业开办 measures (国务院《优化营商环境
    # 条例》, 国务院令第722号, 企业开办 section): 2025年新设立的有限责任公司/股份有限公司, 注册资本100万元以上,
    # 补贴2000元 (注册资本1000万元以上5000元).
    # Profile: established 2025-09-01 (before as_of 2026-06-30), 有限责任公司, 注册资本500万 → 2,000.00 元.
    {
        "id": "新设立企业开办补贴",
        "rule": "成立日期 >= d'2025-01-01' and 成立日期 <= as_of "
        "and 市场主体类型 in ['有限责任公司', '股份有限公司'] and 注册资本 >= 100万",
        "amount": "注册资本 >= 1000万 ? 5000 : 2000",
        "profile": {
            "established_on": dt.date(2025, 9, 1),
            "entity_type": "有限责任公司",
            "registered_capital": Decimal("5000000"),
        },
        "expected": Decimal("2000.00"),
    },
]


def _profile(base: dict) -> dict:
    # Baseline fields of a firm in good standing in 太原市小店区; derived fields (layoff_rate, scale,
    # industry_section, ...) are added by rules.derive, as the documented evaluate() contract asks.
    profile = {"region_code": "140105", "operating_status": "存续", "serious_dishonest": False}
    profile.update(base)
    return rules.derive(profile, AS_OF)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rule_and_formula_compile(case):
    rule = compile_rule(case["rule"], kind="rule")
    amount = compile_rule(case["amount"], kind="amount")
    assert rule.kind == "rule"
    assert amount.kind == "amount"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_policy_applies_with_hand_computed_amount(case):
    profile = _profile(case["profile"])
    verdict = compile_rule(case["rule"], kind="rule").evaluate(profile, AS_OF)
    assert verdict.value is True, verdict.missing
    amount = compile_rule(case["amount"], kind="amount").evaluate(profile, AS_OF)
    assert not amount.missing, amount.missing
    assert Decimal(amount.value) == case["expected"]


def test_kleene_unknown_abnormal_listing_keeps_wage_subsidy_unknown():
    # 稳岗返还 with 经营异常名录 never reported: true and unknown is unknown, and the field is named.
    base = dict(CASES[0]["profile"])
    del base["abnormal_listed"]
    verdict = compile_rule(CASES[0]["rule"], kind="rule").evaluate(_profile(base), AS_OF)
    assert verdict.value is None
    assert "abnormal_listed" in verdict.missing


def test_kleene_false_decides_small_profit_despite_unknown_assets():
    # 小型微利企业: taxable income 400万 > 300万 is false, so unknown total_assets does not matter.
    base = {"taxable_income": Decimal("4000000"), "employees": 120}
    verdict = compile_rule(CASES[1]["rule"], kind="rule").evaluate(_profile(base), AS_OF)
    assert verdict.value is False


# --- three typical mistakes ---------------------------------------------------------------------------------


def test_mistake_misspelled_field_suggests_nearest():
    text = "taxable_income <= 300万 and employes <= 300"
    with pytest.raises(rules.RuleError) as info:
        compile_rule(text, kind="rule")
    err = info.value
    assert err.position == text.index("employes")
    assert err.suggestion == "employees"
    assert "employees" in err.message and "从业人数" in err.message


def test_mistake_misspelled_chinese_label_suggests_nearest():
    text = "营业收人 >= 2000万"  # 人 typed for 入
    with pytest.raises(rules.RuleError) as info:
        compile_rule(text, kind="rule")
    err = info.value
    assert err.position == 0
    assert err.suggestion == "revenue"
    assert "营业收入" in err.message


def test_mistake_string_compared_with_number():
    text = "纳税信用等级 == 1"
    with pytest.raises(rules.RuleError) as info:
        compile_rule(text, kind="rule")
    err = info.value
    assert err.position == text.index("1")
    assert "字符串" in err.expected
    assert "数值" in err.found
    assert "字符串" in err.message and "数值" in err.message


def test_mistake_amount_formula_is_boolean():
    text = "研发费用 >= 100万"  # the condition typed into 金额公式
    with pytest.raises(rules.RuleError) as info:
        compile_rule(text, kind="amount")
    err = info.value
    assert err.position is not None
    assert "数值" in err.expected
    assert "布尔" in err.found
    assert "金额" in err.message
