"""Every 资格规则 and 金额公式 in the sample item lists compiles."""

from pathlib import Path

import pandas as pd
import pytest

from rules import compile_rule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _column_values(frame: pd.DataFrame, header: str) -> list[str]:
    for row in range(min(len(frame), 10)):
        for col in frame.columns:
            if str(frame.iat[row, col]).strip() == header:
                values = frame.iloc[row + 1 :, col].dropna().astype(str).str.strip()
                return [v for v in values if v and v.lower() != "nan"]
    raise AssertionError(f"no column {header}")


def _sample_texts() -> list[tuple[str, str, str]]:
    frames = {p.name: pd.read_excel(p, header=None, dtype=str) for p in EXAMPLES.glob("*奖补事项清单.xlsx")}
    frames |= {p.name: pd.read_csv(p, header=None, dtype=str, encoding="gbk") for p in EXAMPLES.glob("*清单.csv")}
    texts = []
    for name, frame in frames.items():
        frame.columns = range(frame.shape[1])
        texts += [(name, t, "rule") for t in _column_values(frame, "资格规则")]
        texts += [(name, t, "amount") for t in _column_values(frame, "金额公式")]
    return texts


SAMPLES = _sample_texts()


def test_the_sample_lists_hold_rules_and_formulas():
    assert {kind for _, _, kind in SAMPLES} == {"rule", "amount"}
    assert len({name for name, _, _ in SAMPLES}) == 3
    assert len(SAMPLES) >= 25


@pytest.mark.parametrize(("source", "text", "kind"), SAMPLES)
def test_every_sample_rule_and_formula_compiles(source, text, kind):
    assert compile_rule(text, kind).kind == kind
