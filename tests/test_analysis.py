"""Analysis: co-occurrence, significance, strata, drill-down, agreement, machine coder, hypotheses,
saturation.

Pure functions are checked against hand-computed tables and independent computations
(scipy, scikit-learn, brute-force shuffles); the ``clhs`` commands run on a small project.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from clhs_mechanisms import ClhsError, Project, import_paths, load_codebook
from clhs_mechanisms.analysis import (
    Frames,
    agreement,
    bh_adjust,
    brennan_prediger,
    cohen_kappa,
    cooccurrence,
    cooccurrence_by,
    cooccurrence_network,
    cooccurrence_quotes,
    disagreements,
    evaluate_hypotheses,
    fisher_p,
    fleiss_kappa,
    gwet_ac1,
    hypothesis_pairs,
    incidence,
    krippendorff_alpha,
    machine_agreement,
    machine_codings,
    percent_agreement,
    permutation_p,
    rating_table,
    saturation,
    scott_pi,
)
from clhs_mechanisms.analysis.hypotheses import contrast_side, mechanism_rule
from clhs_mechanisms.analysis.reliability import group_features, group_stats, pair_features, pair_stats
from clhs_mechanisms.cli import main
from clhs_mechanisms.codebook import Hypothesis

from .conftest import DATA

# -- small hand-made tables --------------------------------------------------------------------------

# d1: four segments of 10 characters (0-9, 10-19, 20-29, 30-39), turns {0, 1} and {2, 3}; d2: three segments
SEGMENTS = pd.DataFrame(
    {
        "document": ["d1"] * 4 + ["d2"] * 3,
        "idx": [0, 1, 2, 3, 0, 1, 2],
        "turn": [0, 0, 1, 1, 0, 1, 1],
        "start": [0, 10, 20, 30, 0, 10, 20],
        "end": [9, 19, 29, 39, 9, 19, 29],
        "text": ["s10", "s11", "s12", "s13", "s20", "s21", "s22"],
        "codable": True,
    }
)
CODINGS = pd.DataFrame(
    {
        "document": ["d1", "d1", "d1", "d2", "d2", "d1"],
        "code": ["A", "B", "A", "A", "B", "C"],
        "coder": "x",
        "start": [0, 5, 20, 0, 12, 25],
        "end": [9, 15, 29, 5, 15, 35],
        "quote": ["qa1", "qb1", "qa2", "qa3", "qb2", "qc"],
    }
)
DOCUMENTS = pd.DataFrame(
    {"name": ["d1", "d2"], "case": ["P1", "P1"], "attributes": [{"role": "patient"}, {"role": "clinician"}]}
)


def _pair(table: pd.DataFrame, a: str, b: str) -> pd.Series:
    return table[(table["code_a"] == a) & (table["code_b"] == b)].iloc[0]


def test_segment_incidence_maps_a_span_to_every_segment_it_touches():
    inc = incidence(CODINGS, SEGMENTS, unit="segment")
    assert inc.codes == ["A", "B", "C"]
    # B at 5-15 touches segments 0 and 1 of d1; C at 25-35 touches segments 2 and 3
    assert inc.matrix.toarray().tolist() == [
        [1, 1, 0],
        [0, 1, 0],
        [1, 0, 1],
        [0, 0, 1],
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 0],
    ]
    assert inc.codings_outside == 0


def test_cooccurrence_counts_and_measures_by_hand():
    t = cooccurrence(CODINGS, SEGMENTS, unit="segment")
    ab = _pair(t, "A", "B")
    assert (ab["N"], ab["n1"], ab["n2"], ab["n12"]) == (7, 3, 3, 1)
    assert ab["jaccard"] == pytest.approx(1 / 5)
    assert ab["overlap"] == pytest.approx(1 / 3)
    assert ab["p_b_given_a"] == pytest.approx(1 / 3) and ab["p_a_given_b"] == pytest.approx(1 / 3)
    assert ab["lift"] == pytest.approx(1 * 7 / 9)
    assert ab["pmi"] == pytest.approx(math.log2(7 / 9))
    assert ab["npmi"] == pytest.approx(math.log2(7 / 9) / -math.log2(1 / 7))
    assert ab["odds_ratio"] == pytest.approx(1 * 2 / (2 * 2))
    assert ab["fisher_p"] == pytest.approx(stats.fisher_exact([[1, 2], [2, 2]])[1])
    bc = _pair(t, "B", "C")
    assert bc["n12"] == 0 and bc["npmi"] == -1 and bc["pmi"] == -math.inf
    assert t.attrs["formulas"]["jaccard"].startswith("n12 / (n1 + n2 - n12)")
    assert t["too_small"].all()  # three units per code cannot show anything


@pytest.mark.parametrize(
    "unit, expected",
    [
        ("turn", {("A", "B"): (4, 3, 2, 1), ("A", "C"): (4, 3, 1, 1)}),
        ("document", {("A", "B"): (2, 2, 2, 2), ("B", "C"): (2, 2, 1, 1)}),
        ("case", {("A", "B"): (1, 1, 1, 1)}),
        ("window", {("A", "B"): (5, 4, 4, 3), ("B", "C"): (5, 4, 2, 1)}),
    ],
)
def test_units(unit, expected):
    t = cooccurrence(CODINGS, SEGMENTS, DOCUMENTS, unit=unit, window=1, tests=unit not in ("case",))
    for (a, b), counts in expected.items():
        row = _pair(t, a, b)
        assert (row["N"], row["n1"], row["n2"], row["n12"]) == counts, (unit, a, b)
    if unit == "window":
        assert "fisher_p" not in t.columns  # windows overlap: no test on them


def test_span_relations():
    cod = pd.DataFrame(
        {
            "document": "d",
            "coder": "x",
            "code": ["A", "B", "B", "C", "A"],
            "start": [0, 5, 0, 2, 50],
            "end": [10, 8, 10, 20, 60],
        }
    )
    overlap = cooccurrence(cod, unit="span", relation="overlap")
    ab = _pair(overlap, "A", "B")
    # A(0-10) overlaps B(5-8) and B(0-10); A(50-60) overlaps nothing
    assert (ab["n1"], ab["n2"], ab["n12"], ab["n1_linked"], ab["n2_linked"]) == (2, 2, 2, 1, 2)
    assert ab["p_b_given_a"] == pytest.approx(0.5) and ab["p_a_given_b"] == pytest.approx(1.0)
    assert math.isnan(ab["lift"]) and math.isnan(ab["N"])
    assert _pair(overlap, "B", "C")["n12"] == 2
    inclusion = cooccurrence(cod, unit="span", relation="inclusion")
    assert _pair(inclusion, "A", "B")["n12"] == 2 and _pair(inclusion, "A", "C")["n12"] == 0
    assert _pair(inclusion, "B", "C")["n12"] == 1  # B(5-8) inside C(2-20)
    exact = cooccurrence(cod, unit="span", relation="exact")
    assert _pair(exact, "A", "B")["n12"] == 1 and exact["n12"].sum() == 1


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 80)
    .flatmap(lambda N: st.tuples(st.just(N), st.integers(0, N), st.integers(0, N)))
    .flatmap(
        lambda t: st.tuples(
            st.just(t[0]),
            st.just(t[1]),
            st.just(t[2]),
            st.integers(max(0, t[1] + t[2] - t[0]), min(t[1], t[2])),
        )
    )
)
def test_fisher_matches_scipy(table):
    N, n1, n2, x = table
    cells = [[x, n1 - x], [n2 - x, N - n1 - n2 + x]]
    for alternative in ("two-sided", "greater", "less"):
        assert fisher_p(N, n1, n2, x, alternative)[()] == pytest.approx(
            stats.fisher_exact(cells, alternative=alternative)[1], rel=1e-7, abs=1e-12
        )


def _fisher_grid() -> np.ndarray:
    """Tables (N, n1, n2, n12) up to N = 100,000 at both ends of n12's range, around the mode and between."""
    rows = []
    for N in (2, 9, 57, 400, 3_000, 10_000, 100_000):
        for n1, n2 in ((N // 2, N // 2), (N // 10, N // 3), (N - 1, 1), (N // 3, N - N // 5), (1, 1)):
            lo, hi = max(0, n1 + n2 - N), min(n1, n2)
            mode = (n1 + 1) * (n2 + 1) // (N + 2)
            for x in {lo, lo + 1, (lo + mode) // 2, mode - 1, mode, mode + 1, (mode + hi) // 2, hi - 1, hi}:
                if lo <= x <= hi:
                    rows.append((N, n1, n2, x))
    return np.array(sorted(set(rows)))


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_fisher_matches_scipy_on_a_grid_up_to_100000(alternative):
    """Both tails agree with scipy.stats.fisher_exact everywhere, including tables far in the other direction
    (p about 1, whose first tail term underflows) and far in their own (p about 0)."""
    grid = _fisher_grid()
    got = fisher_p(grid[:, 0], grid[:, 1], grid[:, 2], grid[:, 3], alternative)
    want = np.array(
        [
            stats.fisher_exact([[x, a - x], [b - x, N - a - b + x]], alternative=alternative)[1]
            for N, a, b, x in grid
        ]
    )
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-300)
    assert fisher_p(3000, 1500, 1500, 200, "greater")[()] == pytest.approx(1.0)
    assert fisher_p(10_000, 5000, 5000, 5000, "less")[()] == pytest.approx(1.0)


def test_two_sided_fisher_on_a_grid_up_to_100000():
    """Two-sided p sums every table at most (1 + 1e-7) times as likely as the observed one (R's fisher.test):
    checked by brute force over the whole support, and against scipy.stats.fisher_exact, whose tolerance is
    1e-14, wherever no table lies between the two tolerances (there the definitions differ by that table)."""
    grid = _fisher_grid()
    got = fisher_p(grid[:, 0], grid[:, 1], grid[:, 2], grid[:, 3])
    compared = 0
    for p, (N, a, b, x) in zip(got, grid):
        support = np.arange(max(0, a + b - N), min(a, b) + 1)
        logpmf = stats.hypergeom.logpmf(support, N, a, b)
        ratio = logpmf - stats.hypergeom.logpmf(x, N, a, b)
        assert p == pytest.approx(
            min(1.0, np.exp(logpmf[ratio <= np.log1p(1e-7)]).sum()), rel=1e-8, abs=1e-300
        )
        if not ((ratio > np.log1p(1e-14)) & (ratio <= np.log1p(1e-7))).any():
            scipy_p = stats.fisher_exact([[x, a - x], [b - x, N - a - b + x]])[1]
            assert p == pytest.approx(scipy_p, rel=1e-8, abs=1e-300), (N, a, b, x)
            compared += 1
    assert len(grid) - compared <= 4, (
        "the tolerances differ only for a few near-ties (ties at the mode among them)"
    )


def test_fisher_large_counts_vectorised():
    N, n1, n2, x = 1_000_000, np.array([50_000, 3_000]), np.array([30_000, 400_000]), np.array([1_600, 1_150])
    for alternative in ("two-sided", "greater", "less"):
        got = fisher_p(N, n1, n2, x, alternative)
        want = [
            stats.fisher_exact([[a, b - a], [c - a, N - b - c + a]], alternative=alternative)[1]
            for a, b, c in zip(x, n1, n2)
        ]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_bh_adjust_matches_scipy():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.005, 0.5])
    q = bh_adjust(p)
    ok = ~np.isnan(p)
    np.testing.assert_allclose(q[ok], stats.false_discovery_control(p[ok], method="bh"))
    assert np.isnan(q[4])


def test_permutation_test_matches_brute_force_shuffles():
    rng = np.random.default_rng(3)
    docs = np.repeat([0, 1, 2], [8, 6, 10])
    a = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    b = np.array([1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    observed = int((a & b).sum())
    shuffled = []
    for _ in range(4000):
        a2, b2 = a.copy(), b.copy()
        for d in range(3):
            idx = np.flatnonzero(docs == d)
            a2[idx] = rng.permutation(a[idx])
            b2[idx] = rng.permutation(b[idx])
        shuffled.append(int((a2 & b2).sum()))
    brute = (1 + np.sum(np.array(shuffled) >= observed)) / 4001
    counts = np.array([[a[docs == d].sum(), b[docs == d].sum()] for d in range(3)])
    p = permutation_p(
        np.bincount(docs),
        counts,
        np.array([[0, 1]]),
        np.array([observed]),
        permutations=4000,
        alternative="greater",
        seed=1,
    )
    assert p[0] == pytest.approx(brute, abs=0.03)
    same = np.array([[a[docs == d].sum()] * 2 for d in range(3)])
    p_same = permutation_p(
        np.bincount(docs),
        same,
        np.array([[0, 1]]),
        np.array([a.sum()]),
        permutations=500,
        alternative="greater",
        seed=1,
    )
    assert p_same[0] < 0.01  # a code always with the other: almost no shuffle does as well


def test_cooccurrence_permutations_in_table():
    t = cooccurrence(CODINGS, SEGMENTS, unit="segment", permutations=200, seed=2)
    assert t["perm_p"].between(1 / 201, 1).all() and "perm_q" in t.columns
    again = cooccurrence(CODINGS, SEGMENTS, unit="segment", permutations=200, seed=2)
    assert (t["perm_p"] == again["perm_p"]).all()


def test_stratified_by_attribute():
    docs = pd.DataFrame(
        {
            "name": [f"d{i}" for i in range(6)],
            "case": None,
            "attributes": [{"role": "patient" if i < 3 else "clinician"} for i in range(6)],
        }
    )
    segs = pd.DataFrame(
        {
            "document": np.repeat(docs["name"], 4).to_numpy(),
            "idx": np.tile(range(4), 6),
            "turn": np.tile(range(4), 6),
            "start": np.tile([0, 10, 20, 30], 6),
            "end": np.tile([9, 19, 29, 39], 6),
            "codable": True,
        }
    )
    rows = []
    for i in range(6):
        rows += [(f"d{i}", "A", 0, 5), (f"d{i}", "B", 1, 5 if i < 3 else 15), (f"d{i}", "B", 30, 35)]
    cod = pd.DataFrame(rows, columns=["document", "code", "start", "end"]).assign(coder="x")
    res = cooccurrence_by(cod, segs, docs, "role", measure_name="p_b_given_a", n_boot=300, seed=0)
    strata = res.strata.set_index("stratum")
    assert strata.loc["patient", "N"] == 12 and strata.loc["patient", "p_b_given_a"] == pytest.approx(1.0)
    assert strata.loc["clinician", "p_b_given_a"] == pytest.approx(1.0)
    jac = cooccurrence_by(cod, segs, docs, "role", measure_name="jaccard", n_boot=300, seed=0).differences
    row = jac.iloc[0]
    assert (row["stratum_s"], row["stratum_t"]) == ("clinician", "patient")
    # clinicians: A in seg 0, B in segs 0, 1, 3 -> 1/3; patients: B in segs 0, 3 -> 1/2
    assert row["difference"] == pytest.approx(1 / 3 - 1 / 2)
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    with pytest.raises(ClhsError, match="no document has the attribute 'site'.*role"):
        cooccurrence_by(cod, segs, docs, "site")


def test_quotes_and_network():
    q = cooccurrence_quotes(CODINGS, SEGMENTS, "A", "B")
    assert q["unit"].tolist() == ["d1#0"] and q["text"].tolist() == ["s10"]
    assert q["quotes_a"].iloc[0] == ["qa1"] and q["quotes_b"].iloc[0] == ["qb1"]
    spans = cooccurrence_quotes(CODINGS, SEGMENTS, "A", "C", unit="span")
    assert spans[["quote_a", "quote_b", "overlap_start", "overlap_end"]].values.tolist() == [
        ["qa2", "qc", 25, 29]
    ]
    docs = cooccurrence_quotes(CODINGS, SEGMENTS, "A", "B", unit="document")
    assert sorted(docs["unit"]) == ["d1", "d2"] and docs.set_index("unit").loc["d1", "quotes_a"] == [
        "qa1",
        "qa2",
    ]
    t = cooccurrence(CODINGS, SEGMENTS)
    net = cooccurrence_network(t, measure_name="jaccard", threshold=0.21, codebook=None)
    assert dict(zip(net.nodes["code"], net.nodes["frequency"])) == {"A": 3, "B": 3, "C": 2}
    assert net.edges[["source", "target"]].values.tolist() == [["A", "C"]]
    assert net.edges["weight"].iloc[0] == pytest.approx(0.25)


# -- agreement ----------------------------------------------------------------------------------------


def _two_coders() -> pd.DataFrame:
    segs = SEGMENTS
    rows = [
        ("d1", "A", "ana", 0, 9),
        ("d1", "A", "ben", 0, 9),
        ("d1", "A", "ana", 20, 29),
        ("d1", "B", "ana", 10, 19),
        ("d1", "B", "ben", 12, 19),
        ("d1", "B", "ben", 30, 39),
        ("d2", "A", "ana", 0, 9),
        ("d2", "A", "ben", 0, 9),
        ("d2", "B", "ben", 10, 19),
        ("d2", "A", "cleo", 0, 9),
    ]
    return pd.DataFrame(rows, columns=["document", "code", "coder", "start", "end"]), segs


def test_rating_table_and_cohen_by_hand():
    cod, segs = _two_coders()
    r = rating_table(cod, segs, coders=["ana", "ben"])
    a = r[r["code"] == "A"]
    assert a["ana"].tolist() == [1, 0, 1, 0, 1, 0, 0] and a["ben"].tolist() == [1, 0, 0, 0, 1, 0, 0]
    out = agreement(r, n_boot=300, seed=0)
    kappa_a = out[(out["code"] == "A") & (out["statistic"] == "cohen_kappa")].iloc[0]
    assert kappa_a["value"] == pytest.approx(cohen_kappa_score(a["ana"], a["ben"]))
    assert kappa_a["ci_low"] <= kappa_a["value"] <= kappa_a["ci_high"] and kappa_a["units"] == 7
    assert kappa_a["coded"] == "ana: 3, ben: 2"
    pooled = out[(out["code"] == "(all codes)") & (out["statistic"] == "cohen_kappa")]["value"].iloc[0]
    assert pooled == pytest.approx(cohen_kappa_score(r["ana"], r["ben"]))
    # De Vries pooled kappa: mean Po and mean Pe over the codes
    po, pe = [], []
    for code in ("A", "B"):
        x, y = r.loc[r["code"] == code, "ana"].to_numpy(), r.loc[r["code"] == code, "ben"].to_numpy()
        po.append(np.mean(x == y))
        pe.append(x.mean() * y.mean() + (1 - x.mean()) * (1 - y.mean()))
    dv = out[out["statistic"] == "pooled_kappa"]["value"].iloc[0]
    assert dv == pytest.approx((np.mean(po) - np.mean(pe)) / (1 - np.mean(pe)))
    d = disagreements(r, texts={"d1": "x" * 40, "d2": "y" * 30})
    assert len(d) == 3 and d["unit"].tolist() == ["d1#2", "d1#3", "d2#1"]
    first = d.iloc[0]
    assert (first["code"], first["unit"], first["coded_by"], first["not_coded_by"]) == (
        "A",
        "d1#2",
        ["ana"],
        ["ben"],
    )
    assert first["text"] == "x" * 9


def test_three_coders_with_missing_documents():
    cod, segs = _two_coders()
    r = rating_table(cod, segs, coders=["ana", "ben", "cleo"])
    assert r.loc[r["document"] == "d1", "cleo"].isna().all()  # cleo did not code d1
    out = agreement(r, n_boot=0)
    groups = out[out["n_coders"] == 3]
    assert set(groups["statistic"]) == {
        "percent_agreement",
        "fleiss_kappa",
        "brennan_prediger",
        "gwet_ac1",
        "krippendorff_alpha",
    }
    assert set(out[out["n_coders"] == 2]["coders"]) == {"ana + ben", "ana + cleo", "ben + cleo"}
    alpha = groups[(groups["code"] == "A") & (groups["statistic"] == "krippendorff_alpha")]["value"].iloc[0]
    a = r[r["code"] == "A"]
    assert alpha == pytest.approx(krippendorff_alpha(a[["ana", "ben", "cleo"]].to_numpy().T))


def test_character_units():
    cod = pd.DataFrame(
        {"document": "d", "code": "A", "coder": ["ana", "ben"], "start": [0, 5], "end": [10, 20]}
    )
    r = rating_table(cod, None, coders=["ana", "ben"], unit="character", texts={"d": "z" * 40})
    assert r["weight"].sum() == 40
    out = agreement(r, n_boot=50).set_index(["code", "statistic"])
    # characters: both 5-10 (5), ana only 0-5 (5), ben only 10-20 (10), neither 20-40 (20)
    a = np.r_[np.ones(5), np.ones(5), np.zeros(10), np.zeros(20)]
    b = np.r_[np.zeros(5), np.ones(5), np.ones(10), np.zeros(20)]
    assert out.loc[("A", "cohen_kappa"), "value"] == pytest.approx(cohen_kappa_score(a, b))
    assert out.loc[("A", "percent_agreement"), "value"] == pytest.approx(25 / 40)
    assert out.loc[("A", "krippendorff_alpha"), "value"] == pytest.approx(krippendorff_alpha([a, b]))
    assert out.loc[("A", "cohen_kappa"), "units"] == 40


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([0, 1, None]), st.sampled_from([0, 1, None])), min_size=3, max_size=40)
)
def test_vectorised_two_coder_statistics_match_the_libraries(pairs):
    a = np.array([np.nan if x is None else x for x, _ in pairs], dtype=float)
    b = np.array([np.nan if y is None else y for _, y in pairs], dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    if both.sum() < 2 or len(set(a[both]) | set(b[both])) < 2:
        return
    V = np.where(np.isnan(np.vstack([a, b])), -1, np.vstack([a, b])).astype(int)
    w = np.ones(len(a))
    T = pair_features(V[0], V[1], 2, w).sum(axis=0).reshape(1, 2, 2)
    mine = pair_stats(T, 2)["cohen_kappa"][0]
    assert mine == pytest.approx(cohen_kappa_score(a[both], b[both]), abs=1e-9)
    G = group_features(V, 2, w).sum(axis=0, keepdims=True)
    krippendorff = pytest.importorskip("krippendorff")
    assert group_stats(G, 2, np.array([0, 1]))["krippendorff_alpha"][0] == pytest.approx(
        krippendorff.alpha(
            reliability_data=np.vstack([a, b]), level_of_measurement="nominal", value_domain=[0, 1]
        ),
        abs=1e-9,
    )


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([1, 2, 3, 5, None]), min_size=3, max_size=3), min_size=4, max_size=25),
    st.sampled_from(["nominal", "ordinal", "interval", "ratio"]),
)
def test_weighted_alpha_equals_the_package(units, level):
    pytest.importorskip("krippendorff")
    data = np.array([[np.nan if v is None else v for v in u] for u in units], dtype=float).T
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if len(set(data[:, pairable][~np.isnan(data[:, pairable])])) < 2:
        return
    assert krippendorff_alpha(data, level=level, weights=np.ones(data.shape[1])) == pytest.approx(
        krippendorff_alpha(data, level=level), abs=1e-9
    )
    # a weight of 2 is the same as the unit twice
    w = np.ones(data.shape[1])
    w[0] = 2
    assert krippendorff_alpha(data, level=level, weights=w) == pytest.approx(
        krippendorff_alpha(np.hstack([data, data[:, :1]]), level=level), abs=1e-9
    )


def test_gwet_fleiss_randolph_by_hand():
    # two coders: Po = 0.9, pi_1 = (0.8 + 0.7) / 2 = 0.75, Pe = 2 * 0.75 * 0.25 = 0.375
    two = [[1] * 8 + [0] * 2, [1] * 7 + [0] * 3]
    assert gwet_ac1(two) == pytest.approx((0.9 - 0.375) / 0.625)
    # three coders, units (1,1,1) (1,1,0) (1,1,1) (1,0,0): P = 2/3; Fleiss p_1 = 9/12; Gwet pi_1 = 0.75
    three = np.array([[1, 1, 1], [1, 1, 0], [1, 1, 1], [1, 0, 0]]).T
    assert percent_agreement(three) == pytest.approx(2 / 3)
    assert fleiss_kappa(three) == pytest.approx((2 / 3 - 0.625) / 0.375)
    assert gwet_ac1(three) == pytest.approx((2 / 3 - 0.375) / 0.625)
    assert brennan_prediger(three) == pytest.approx((2 / 3 - 0.5) / 0.5)
    assert scott_pi(two) == pytest.approx((0.9 - (0.75**2 + 0.25**2)) / (1 - (0.75**2 + 0.25**2)))
    assert math.isnan(cohen_kappa([[1, 1, 1], [1, 1, 1]]))  # one category: Pe = 1, kappa undefined


def test_one_category_gives_ac1_and_bp_of_one_as_agreement_does():
    """Every rating in one category: Pa = 1, so AC1 and Brennan-Prediger are 1 for any number of categories
    >= 2,
    whether or not the categories are named; the project-level table says the same. Fleiss and Scott stay
    undefined (Pe = 1)."""
    same = [[1, 1, 1, 1], [1, 1, 1, 1]]
    for kwargs in ({}, {"categories": [1]}, {"categories": [0, 1]}, {"categories": [0, 1, 2]}):
        assert gwet_ac1(same, **kwargs) == 1.0 and brennan_prediger(same, **kwargs) == 1.0
    assert math.isnan(fleiss_kappa(same)) and math.isnan(scott_pi(same))
    table = pd.DataFrame(
        {
            "code": "c",
            "document": [f"d{i}" for i in range(4)],
            "unit": [f"u{i}" for i in range(4)],
            "start": 0,
            "end": 1,
            "weight": 1.0,
            "A": 1.0,
            "B": 1.0,
        }
    )
    table.attrs.update(unit="segment", coders=["A", "B"])
    out = agreement(table, n_boot=0).query("code == 'c'").set_index("statistic")["value"]
    assert out["gwet_ac1"] == gwet_ac1(same) and out["brennan_prediger"] == brennan_prediger(same)


def test_machine_codings_use_each_threshold():
    sug = pd.DataFrame(
        {
            "document": ["d1", "d1", "d1", "d2"],
            "start": [0, 10, 20, 0],
            "end": [9, 19, 29, 9],
            "text": ["a", "b", "c", "d"],
            "code": ["A", "A", "B", "A"],
            "score": [0.7, 0.4, 0.35, 0.9],
            "components": [{"threshold": 0.6}, {"threshold": 0.5}, {"threshold": 0.3}, {}],
            "status": ["pending", "pending", "decided", "stale"],
        }
    )
    cod, rated = machine_codings(sug)
    assert list(zip(cod["start"], cod["code"])) == [
        (0, "A"),
        (20, "B"),
    ]  # 0.4 < 0.5; the stale one is ignored
    assert rated == {"d1"}
    cod, _ = machine_codings(sug, threshold=0.3)
    assert len(cod) == 3


def test_machine_agreement_beside_humans():
    cod, segs = _two_coders()
    sug = pd.DataFrame(
        {
            "document": ["d1", "d1", "d2"],
            "start": [0, 20, 0],
            "end": [9, 29, 9],
            "code": "A",
            "score": 0.9,
            "components": [{"threshold": 0.5}] * 3,
            "status": "pending",
        }
    )
    out = machine_agreement(
        cod.assign(coder_kind="human"),
        sug,
        segs,
        humans=["ana", "ben"],
        n_boot=0,
        statistics=["cohen_kappa", "percent_agreement"],
    )
    assert set(out["kind"]) == {"machine-human", "human-human"}
    row = out[
        (out["coders"] == "machine + ana") & (out["code"] == "A") & (out["statistic"] == "percent_agreement")
    ]
    assert row["value"].iloc[0] == pytest.approx(1.0)  # the machine coded exactly ana's A segments
    assert set(out["coders"]) == {"machine + ana", "machine + ben", "ana + ben"}


# -- hypotheses and saturation --------------------------------------------------------------------------


def _hypothesis_data(n_docs: int = 4, per_doc: int = 25, seed: int = 0):
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(n_docs)]
    segs = pd.DataFrame(
        {
            "document": np.repeat(docs, per_doc),
            "idx": np.tile(range(per_doc), n_docs),
            "turn": np.tile(range(per_doc), n_docs),
            "start": np.tile(np.arange(per_doc) * 10, n_docs),
            "end": np.tile(np.arange(per_doc) * 10 + 9, n_docs),
            "codable": True,
        }
    )
    rows = []
    for d, s in zip(segs["document"], segs["start"]):
        m = rng.random() < 0.3
        if m:
            rows.append((d, "ppi_registry", s, s + 5))
        if rng.random() < (0.7 if m else 0.1):
            rows.append((d, "mot_help", s, s + 9))
        if rng.random() < 0.2:
            rows.append((d, "mot_credit", s + 2, s + 8))
    return pd.DataFrame(rows, columns=["document", "code", "start", "end"]).assign(coder="x"), segs


def _h(id_, mechanism, outcome, contrast=(), expected="positive", unit="segment", note=""):
    return Hypothesis(
        id=id_,
        statement="s",
        mechanism=tuple(mechanism),
        outcome=tuple(outcome),
        expected=expected,
        unit=unit,
        contrast=tuple(contrast),
        note=note,
    )


def test_hypothesis_verdicts():
    cod, segs = _hypothesis_data(n_docs=12)  # the verdict's case-level test needs 5+ documents
    hyps = [
        _h("H1", ["ppi_registry"], ["mot_help"], ["mot_credit"]),
        _h("H2", ["mot_credit"], ["mot_help"]),
        _h("H3", ["ppi_registry"], ["mot_help"], expected="negative"),
        _h("H4", ["ppi_registry"], ["mot_nothing"]),
        _h("H5", ["ppi_registry"], ["mot_help"], unit="document"),
    ]
    t = evaluate_hypotheses(cod, segs, None, hyps).set_index("hypothesis")
    assert t.loc["H1", "verdict"] == "supported"
    assert t.loc["H1", "contrast_side"] == "outcome"
    m, o = (
        cod[cod["code"] == c][["document", "start"]]
        .apply(tuple, axis=1)
        .map(lambda x: (x[0], x[1] // 10 * 10))
        for c in ("ppi_registry", "mot_help")
    )
    assert t.loc["H1", "n_mechanism"] == len(set(m)) and t.loc["H1", "n_both"] == len(set(m) & set(o))
    assert t.loc["H2", "verdict"] == "not supported"
    assert t.loc["H3", "verdict"] == "not supported"  # the association is positive, not negative
    assert t.loc["H4", "verdict"] == "not enough data" and t.loc["H4", "n_outcome"] == 0
    assert t.loc["H5", "verdict"] == "not enough data"  # four documents cannot show anything
    assert "lift" in t.loc["H1", "reason"] and "Fisher p" in t.loc["H1", "reason"]
    assert (t["fisher_q"] >= t["fisher_p"]).all() and (t["cluster_q"] >= t["cluster_p"]).all()
    pairs = hypothesis_pairs(cod, segs, None, hyps[:1])
    assert pairs["role"].tolist() == ["mechanism-outcome", "mechanism-contrast", "contrast-outcome"]


def test_contrast_side_and_conjunction_from_the_codebook():
    cb = load_codebook(DATA.parents[1] / "codebook" / "clhs_mechanisms.yaml")
    h = {x.id: x for x in cb.hypotheses}
    assert contrast_side(h["H1"], cb) == "outcome"
    assert contrast_side(h["H3"], cb) == "mechanism"
    assert contrast_side(h["H10"], cb) == "outcome"
    assert contrast_side(h["H2"], cb) is None
    required, any_of = mechanism_rule(h["H1"])
    assert required == ["moa_enabling_inherent_motivation"] and all(c.startswith("ppi_") for c in any_of)
    assert mechanism_rule(h["H9"]) == ([], list(h["H9"].mechanism))
    # without a note the domain rule decides: contrast shares the mechanism's domain -> mechanism side
    assert contrast_side(_h("X", ["mot_a"], ["com_b"], ["mot_c"]), None) == "mechanism"


def test_saturation_curve():
    cod = pd.DataFrame(
        {
            "document": ["d1", "d1", "d2", "d3", "d3", "d4", "d5", "d6"],
            "code": ["A", "B", "A", "C", "A", "B", "A", "D"],
            "coder": "x",
            "start": [0, 5, 0, 0, 3, 0, 0, 0],
            "end": [9, 9, 5, 9, 9, 5, 4, 3],
        }
    )
    docs = pd.DataFrame(
        {
            "name": [f"d{i}" for i in range(6, 0, -1)],
            "case": None,
            "attributes": [{"interview_date": f"2026-0{i}-01"} for i in range(6, 0, -1)],
        }
    )
    c = saturation(cod, None, docs, pair_unit="document", consecutive=2)
    assert c["document"].tolist() == ["d1", "d2", "d3", "d4", "d5", "d6"]
    assert c["n_new_codes"].tolist() == [2, 0, 1, 0, 0, 1] and c["total_codes"].iloc[-1] == 4
    assert c["new_pairs"].iloc[0] == ["A & B"] and c["new_pairs"].iloc[2] == ["A & C"]
    assert c.attrs["codes_saturated_at"] == 3 and c.attrs["pairs_saturated_at"] == 3
    assert (
        saturation(cod, None, docs, pair_unit="document", consecutive=3).attrs["codes_saturated_at"] is None
    )
    rev = saturation(cod, None, docs, order=["d6", "d5", "d4", "d3", "d2", "d1"], pair_unit="document")
    assert rev["n_new_codes"].tolist() == [1, 1, 1, 1, 0, 0]


# -- bad input ------------------------------------------------------------------------------------------


def test_bad_input_is_one_clear_error():
    cod, segs = _two_coders()
    empty = cod.iloc[0:0]
    with pytest.raises(ClhsError, match="no codings"):
        cooccurrence(empty, segs)
    with pytest.raises(ClhsError, match="at least two coders"):
        rating_table(cod, segs, coders=["ana"])
    with pytest.raises(ClhsError, match="coder 'zed' has no codings"):
        rating_table(cod, segs, coders=["ana", "zed"])
    with pytest.raises(ClhsError, match="code 'Z' is never used"):
        cooccurrence(cod, segs, codes=["A", "Z"])
    with pytest.raises(ClhsError, match="code 'Z' is never used"):
        rating_table(cod, segs, coders=["ana", "ben"], codes=["Z"])
    dan = pd.DataFrame({"document": "d1", "code": "A", "coder": "dan", "start": [0], "end": [5]})
    with pytest.raises(ClhsError, match="no unit was rated by two or more"):
        agreement(rating_table(pd.concat([cod, dan]), segs, coders=["cleo", "dan"]))
    with pytest.raises(ClhsError, match="no unit has ratings from two or more coders"):
        krippendorff_alpha([[1, None, None], [None, 2, None]])
    with pytest.raises(ClhsError, match="attribute 'site'"):
        cooccurrence_by(cod, segs, DOCUMENTS, "site")


# -- the commands on a project ---------------------------------------------------------------------------

TURNS = [
    "We built the registry form together.",
    "I give back because someone helped me.",
    "The dashboard made the credit easy.",
    "Honestly it was required.",
    "Other families matter to me.",
    "Data entry happens once now.",
    "We share what we learn.",
    "My chair expects it of us.",
    "The registry lets us see every centre.",
    "I want other kids to be spared that.",
]


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    base = tmp_path_factory.mktemp("analysis")
    files = base / "files"
    files.mkdir()
    for i in range(4):
        role = "patient" if i < 2 else "clinician"
        body = "\n".join(
            f"Interviewer: Question {k}?\nP0{i}: {TURNS[(k + i) % len(TURNS)]}" for k in range(10)
        )
        (files / f"p0{i}.txt").write_text(
            f"---\nrole: {role}\nparticipant: P0{i}\ninterview_date: 2026-0{i + 1}-01\n---\n{body}\n",
            encoding="utf-8",
        )
    project = Project.init(base / "proj", load_codebook(DATA / "mini_codebook.yaml"))
    list(import_paths(project, [files]))
    segs = project.segments(codable_only=True).reset_index(drop=True)
    for g, s in enumerate(segs.itertuples()):
        codes = []
        if g % 4 == 0:
            codes.append("ppi_registry")
        if (g % 4 == 0 and g not in (12, 28)) or g in (1, 2):
            codes.append("mot_help")
        if g % 4 == 2:
            codes.append("mot_credit")
        for code in codes:
            project.add_coding(s.document, s.start, s.end, code, coder="ana")
            if not (code == "mot_help" and g == 4):
                project.add_coding(s.document, s.start, s.end, code, coder="ben")
            if s.document in ("p00.txt", "p01.txt"):
                project.add_coding(s.document, s.start, s.end, code, coder="cleo")
        if g == 3:
            project.add_coding(s.document, s.start, s.end, "mot_credit", coder="ben")
        if s.document == "p03.txt" and g % 2:
            project.add_coding(s.document, s.start, s.end, "mot_help", coder="dan")
    rows = [
        {
            "segment_id": s.id,
            "code": "mot_help",
            "score": 0.8 if g % 4 == 0 else 0.2,
            "components": {"threshold": 0.5},
            "evidence": [],
        }
        for g, s in enumerate(segs.itertuples())
    ]
    project.add_suggestions(rows, method="test", model_version="t1")
    project.close()
    empty = Project.init(base / "empty", load_codebook(DATA / "mini_codebook.yaml"))
    empty.close()
    return base


@pytest.fixture()
def run(proj):
    runner = CliRunner()

    def invoke(*args: str, project: str = "proj"):
        return runner.invoke(main, [*args, "--project", str(proj / project)], catch_exceptions=False)

    return invoke


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, (
        result.output
    )
    return lines[0]


def test_frames_from_project(proj):
    with Project.open(proj / "proj") as project:
        f = Frames.from_project(project, coders=["ana"])
    assert set(f.codings["coder"]) == {"ana"} and len(f.segments) > 40
    t = cooccurrence(f.codings, f.segments, f.documents)
    row = _pair(t, "mot_help", "ppi_registry")
    assert (row["N"], row["n1"], row["n2"], row["n12"]) == (40, 10, 10, 8)


def test_cli_cooccur(run, tmp_path):
    table = run("cooccur", "--coder", "ana", "--measure", "lift", "--measure", "jaccard")
    assert table.exit_code == 0, table.output
    assert "N = 40 units" in table.output and "lift: n12 * N / (n1 * n2)" in table.output
    out = tmp_path / "c.csv"
    csv = run("cooccur", "--coder", "ana", "--format", "csv", "-o", str(out))
    assert csv.exit_code == 0
    df = pd.read_csv(out)
    assert len(df) == 3 and {"n1", "n2", "n12", "jaccard", "fisher_q", "too_small"} <= set(df.columns)
    js = json.loads(run("cooccur", "--unit", "span", "--format", "json").output)
    assert js["N"] is None and "n12_exceeds_min" in js["formulas"] and len(js["pairs"]) == 3
    by = run("cooccur", "--coder", "ana", "--by", "role", "--bootstrap", "50")
    assert by.exit_code == 0 and "clinician" in by.output and "patient" in by.output
    quotes = run("cooccur", "--coder", "ana", "--quotes", "mot_help", "ppi_registry")
    assert "8 places where" in quotes.output and "[mot_help]" in quotes.output
    perm = run("cooccur", "--coder", "ana", "--permutations", "99", "--format", "csv")
    assert "perm_p" in perm.output.splitlines()[0]


def test_cli_hypotheses(run, tmp_path):
    result = run("hypotheses", "--coder", "ana", "--output-dir", str(tmp_path / "h"))
    assert result.exit_code == 0, result.output
    assert "H1" in result.output and "not enough data" in result.output
    table = pd.read_csv(tmp_path / "h" / "hypotheses.csv")
    # four participants: Fisher's test on the segments supports H1, the case-level test cannot
    assert table.loc[0, "verdict"] == "not enough data" and table.loc[0, "fisher_verdict"] == "supported"
    assert table.loc[0, "n_both"] == 8 and table.loc[0, "clusters"] == 4
    markdown = (tmp_path / "h" / "hypotheses.md").read_text(encoding="utf-8")
    assert "by Fisher's test alone: supported" in markdown
    assert (tmp_path / "h" / "hypothesis_pairs.csv").exists()
    _one_line_error(run("hypotheses", "--hypothesis", "H9"))


def test_cli_agreement(run, tmp_path):
    result = run(
        "agreement", "--coders", "ana", "ben", "--bootstrap", "50", "--disagreements", str(tmp_path / "d.csv")
    )
    assert result.exit_code == 0, result.output
    assert "(all codes)" in result.output and "cohen" in result.output and "De Vries" in result.output
    d = pd.read_csv(tmp_path / "d.csv")
    assert len(d) == 2 and set(d["code"]) == {"mot_help", "mot_credit"}
    three = run(
        "agreement", "--coders", "ana", "ben", "cleo", "--unit", "turn", "--format", "csv", "--bootstrap", "0"
    )
    df = pd.read_csv(pd.io.common.StringIO(three.output))
    assert {"ana + ben + cleo", "ana + cleo", "ben + cleo", "ana + ben"} <= set(df["coders"])
    chars = run(
        "agreement",
        "--coders",
        "ana",
        "ben",
        "--unit",
        "character",
        "--statistic",
        "cohen_kappa",
        "--format",
        "json",
        "--bootstrap",
        "20",
    )
    js = json.loads(chars.output)
    assert js["unit"] == "character" and js["resample"] == "document"
    machine = run(
        "agreement",
        "--coders",
        "ana",
        "ben",
        "--machine",
        "--format",
        "csv",
        "--bootstrap",
        "0",
        "--statistic",
        "percent_agreement",
    )
    m = pd.read_csv(pd.io.common.StringIO(machine.output))
    row = m[(m["coders"] == "machine + ana") & (m["code"] == "mot_help")]
    assert row["value"].iloc[0] == pytest.approx(36 / 40)  # machine: g % 4 == 0; ana: also 1, 2, not 12, 28


def test_cli_saturation(run):
    result = run("saturation", "--consecutive", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    js = json.loads(result.output)
    assert js["order_by"] == "interview_date"
    assert [r["document"] for r in js["curve"]] == ["p00.txt", "p01.txt", "p02.txt", "p03.txt"]
    assert js["codes_saturated_at"] == 1
    table = run("saturation")
    assert "codes:" in table.output and "code pairs:" in table.output


def test_cli_bad_input(run):
    assert "at least two coders" in _one_line_error(run("agreement", "--coders", "ana"))
    assert "coder 'zed' has no codings" in _one_line_error(run("agreement", "--coders", "ana", "zed"))
    assert "do not overlap" in _one_line_error(run("agreement", "--coders", "cleo", "dan"))
    assert "never used" in _one_line_error(run("cooccur", "--code", "nope"))
    assert "attribute 'site'" in _one_line_error(run("cooccur", "--by", "site"))
    for args in (("cooccur",), ("hypotheses",), ("agreement", "--coders", "a", "b"), ("saturation",)):
        assert "no codings" in _one_line_error(run(*args, project="empty"))
