"""The numpy floor: the benchmark's generated rules evaluated by hand-written numpy over int64 columns.

Same semantics as the engines for the clause and formula kinds of bench/items.py: Kleene AND with known masks,
closed-world qualifications, baseline exclusions, jurisdiction spans, amounts in exact integer 分 (a rational
num/den, capped, rounded half-up once). No Decimal, no per-row Python: this is the cost floor.
"""

from __future__ import annotations

import numpy as np

from bench.synthetic import AS_OF, EPOCH_ORDINAL, Province
from rules.derived import scale_group_of, scale_groups, section_of
from rules.regions import PROVINCE_CODE, city_of

SCALES = ("大型", "中型", "小型", "微型")
AS_OF_DAYS = AS_OF.toordinal() - EPOCH_ORDINAL


class Columns:
    """A province's columns in jurisdiction order (by city, then county), with derived columns.

    ``num``/``cat``/``held``/``qualified_on``/``first_on`` as in :class:`bench.synthetic.Province`, permuted;
    ``spans``: region code (city or county; 140000 = all) -> slice of rows; ``derived``: code -> (int64
    values, known) for scale (index into SCALES), city (index into city codes), section (ord of the letter).
    """

    def __init__(self, prov: Province):
        region = prov.region
        uniq, inv = np.unique(region.astype(str), return_inverse=True)
        city = np.array([city_of(r) for r in uniq])
        key = np.lexsort((inv, np.searchsorted(np.unique(city), city)[inv]))
        self.n = prov.n
        self.order = key
        self.credit_codes = prov.credit_codes[key]
        inv = inv[key]
        self.region_idx, self.regions = inv, uniq
        self.spans: dict[str, slice] = {PROVINCE_CODE: slice(0, prov.n)}
        for code_set in (uniq, np.unique(city)):
            for code in code_set:
                rows = np.flatnonzero((uniq == code)[inv] | (city == code)[inv])
                if len(rows):
                    self.spans[str(code)] = slice(int(rows[0]), int(rows[-1]) + 1)
        self.city_of_row = city[inv]
        self.num = {k: (v[key], m[key]) for k, (v, m) in prov.num.items()}
        self.cat = {k: (c[key], names) for k, (c, names) in prov.cat.items()}
        self.held = {k: v[key] for k, v in prov.held.items()}
        self.qualified_on = {k: (v[key], m[key]) for k, (v, m) in prov.qualified_on.items()}
        self.first_on = {k: (v[key], m[key]) for k, (v, m) in prov.first_on.items()}
        self.derived: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.pairs: list[tuple[np.ndarray, ...]] = []

    def derive(self) -> None:
        """industry_section and scale (Kleene, as rules.derived.scale_of), by column."""
        codes, names = self.cat["industry_code"]
        known = codes >= 0
        sec = np.array([ord(section_of(n) or "?") for n in names], dtype=np.int64)
        self.derived["industry_section"] = (np.where(known, sec[codes], 0), known)
        group_of = {g.group: i for i, g in enumerate(scale_groups())}
        gidx = np.array([group_of[g.group] if (g := scale_group_of(n)) else -1 for n in names], dtype=np.int64)
        row_group = np.where(known, gidx[codes], -1)
        out = np.full(self.n, -1, dtype=np.int64)
        for i, g in enumerate(scale_groups()):
            rows = np.flatnonzero(row_group == i)
            if len(rows):
                out[rows] = _scale(g, [self.num[m] for m in (g.metric1, g.metric2) if m], rows)
        self.derived["scale"] = (np.where(out >= 0, out, 0), out >= 0)


def _scale(g, metrics: list[tuple[np.ndarray, np.ndarray]], rows: np.ndarray) -> np.ndarray:
    vals = [(v[rows], k[rows]) for v, k in metrics]
    cands = [[int(c) for c in g.candidates(i)] for i in range(len(vals))]
    result, agree = None, np.ones(len(rows), dtype=bool)
    combos = [(a,) for a in cands[0]] if len(vals) == 1 else [(a, b) for a in cands[0] for b in cands[1]]
    for combo in combos:
        m = [np.where(k, v, c) for (v, k), c in zip(vals, combo, strict=True)]
        below = m[0] < int(g.ceiling[0])
        if g.ceiling[1] is not None:
            below |= m[1] < int(g.ceiling[1])

        def meets(floor, m=m):
            ok = m[0] >= int(floor[0])
            return ok & (m[1] >= int(floor[1])) if floor[1] is not None else ok

        code = np.where(~below, 0, np.where(meets(g.medium), 1, np.where(meets(g.small), 2, 3)))
        if result is None:
            result = code
        else:
            agree &= code == result
    return np.where(agree, result, -1)


_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal,
        "!=": np.not_equal}


def clause(cols: Columns, c: tuple, sl: slice) -> tuple[np.ndarray, np.ndarray]:
    """(value, known) of one clause spec (see bench.items) over rows ``sl``."""
    kind = c[0]
    if kind == "cmp":
        v, k = cols.num[c[1]]
        return _OPS[c[2]](v[sl], c[3]), k[sl]
    if kind == "growth":  # a > b * num / den
        (a, ka), (b, kb) = cols.num[c[1]], cols.num[c[2]]
        return a[sl] * c[4] > b[sl] * c[3], ka[sl] & kb[sl]
    if kind == "ratio":  # num / den  op  p / q, unknown when den is 0
        (a, ka), (b, kb) = cols.num[c[1]], cols.num[c[2]]
        bb = b[sl]
        return _OPS[c[3]](a[sl] * c[5], bb * c[4]), ka[sl] & kb[sl] & (bb != 0)
    if kind == "qual":
        held = cols.held[c[1]][sl]
        return held, np.ones(len(held), dtype=bool)
    if kind == "qual_since":
        v, has = (cols.qualified_on if c[1] == "qualified_on" else cols.first_on)[c[2]]
        return has[sl] & (v[sl] >= c[3]), np.ones(len(v[sl]), dtype=bool)
    if kind == "cat_in":
        codes, names = cols.cat[c[1]]
        wanted = np.zeros(len(names) + 1, dtype=bool)
        wanted[[names.index(x) for x in c[2]]] = True
        cc = codes[sl]
        hit = wanted[cc]  # -1 hits the extra False slot
        return (~hit if c[3] else hit), cc >= 0
    if kind == "derived_in":
        v, k = cols.derived[c[1]]
        hit = np.isin(v[sl], c[2])
        return (~hit if c[3] else hit), k[sl]
    if kind == "region_in":
        hit = np.isin(cols.regions, c[1])[cols.region_idx[sl]]
        return hit, np.ones(len(hit), dtype=bool)
    if kind == "city_in":
        hit = np.isin(cols.city_of_row[sl], c[1])
        return hit, np.ones(len(hit), dtype=bool)
    if kind == "age_ge":  # (as_of - established_on).days / 365.25 >= years
        v, k = cols.num["established_on"]
        return (AS_OF_DAYS - v[sl]) * 100 >= c[1] * 36525, k[sl]
    if kind == "not":
        v, k = cols.num[c[1]]
        return v[sl] == 0, k[sl]
    raise ValueError(f"unknown clause kind {kind}")


def amount(cols: Columns, f: tuple, cap_fen: int | None, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(amount in 分 rounded half-up after the cap, known) at absolute ``rows``."""
    kind = f[0]
    ones = np.ones(len(rows), dtype=bool)
    if kind == "fixed":
        num, den, known = np.full(len(rows), f[1] * 100, dtype=np.int64), 1, ones
    elif kind == "mul":  # field * r_num / r_den 元
        v, k = cols.num[f[1]]
        num, den, known = v[rows] * 100 * f[2], f[3], k[rows]
    elif kind == "min_mul":
        v, k = cols.num[f[1]]
        num, den, known = np.minimum(v[rows] * 100 * f[2], f[4] * 100 * f[3]), f[3], k[rows]
    elif kind == "diff_min":
        (a, ka), (b, kb) = cols.num[f[1]], cols.num[f[2]]
        num = np.minimum((a[rows] - b[rows]) * 100 * f[3], f[5] * 100 * f[4])
        den, known = f[4], ka[rows] & kb[rows]
    elif kind == "ternary_scale":  # field * (scale == '大型' ? r_large : r_other) / den
        v, k = cols.num[f[1]]
        s, sk = cols.derived["scale"]
        num = v[rows] * 100 * np.where(s[rows] == 0, f[2], f[3])
        den, known = f[4], k[rows] & sk[rows]
    else:
        raise ValueError(f"unknown formula kind {kind}")
    if cap_fen is not None:
        num = np.minimum(num, cap_fen * den)
    return (2 * num + den) // (2 * den), known


def evaluate(cols: Columns, specs: list) -> dict[str, int]:
    """Every item's verdicts over its jurisdiction. ``specs``: bench.items.ItemSpec list. Returns the totals
    {pairs, eligible, unknown, ineligible} and keeps the (item index, row, verdict, 分) arrays on ``cols.pairs``."""
    cols.derive()
    totals = dict.fromkeys(("pairs", "eligible", "unknown", "ineligible"), 0)
    d, dk = cols.num["serious_dishonest"]
    st, _ = cols.cat["operating_status"]
    active = (st == 0) | (st == 1)
    base_false = (dk & (d == 1)) | ((st >= 0) & ~active)
    base_unknown = ~base_false & ((~dk) | (st < 0))
    out = []
    cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    for pos, spec in enumerate(specs):
        sl = cols.spans.get(spec.item.region_code, slice(0, 0))
        false, unknown = base_false[sl].copy(), base_unknown[sl].copy()
        for c in spec.clauses:
            key = (spec.item.region_code, c)
            if key not in cache:
                cache[key] = clause(cols, c, sl)
            v, k = cache[key]
            false |= k & ~v
            unknown |= ~k
        unknown &= ~false
        cand = np.flatnonzero(~false)
        rows = cand + sl.start
        fen, fk = amount(cols, spec.formula, spec.cap_fen, rows)
        drop = fk & (fen <= 0)
        keep = ~drop
        verdict = np.where(unknown[cand] | ~fk, 1, 0)[keep]
        totals["pairs"] += sl.stop - sl.start
        totals["ineligible"] += (sl.stop - sl.start) - int(keep.sum())
        totals["unknown"] += int(verdict.sum())
        totals["eligible"] += int((verdict == 0).sum())
        out.append((np.full(len(verdict), pos), rows[keep], verdict, np.where(fk, fen, -1)[keep]))
        if len(cache) > 256:
            cache.clear()
    cols.pairs = out
    return totals
