"""Agreement statistics reproduce published reference values (tests/data/reference/agreement_vectors.json,
copied from
the published vectors; see tests/data/README.md) to 1e-6.

Every vector goes through the public functions; the binary and nominal ones also through the
project-level ``agreement`` table (the vectorised path that also computes the bootstrap), and
Krippendorff's alpha also through the weighted implementation (the one character units use).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from clhs_mechanisms.analysis import (
    agreement,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    from_category_counts,
    from_contingency,
    gwet_ac1,
    krippendorff_alpha,
    pair_measures,
    percent_agreement,
    scott_pi,
)

from .conftest import REFERENCE

VECTORS = json.loads((REFERENCE / "agreement_vectors.json").read_text(encoding="utf-8"))
TOL = 1e-6


def _alpha_cases():
    for v in VECTORS["krippendorff_alpha"]:
        for level, expected in v["expected"].items():
            yield pytest.param(v["reliability_data"], level, expected, id=f"{v['name']}-{level}")


@pytest.mark.parametrize("data, level, expected", list(_alpha_cases()))
def test_krippendorff_alpha(data, level, expected):
    assert krippendorff_alpha(data, level=level) == pytest.approx(expected, abs=TOL)
    # the weighted implementation (used for character units) with unit weights gives the same value
    weights = np.ones(len(data[0]))
    assert krippendorff_alpha(data, level=level, weights=weights) == pytest.approx(expected, abs=TOL)


ALSO = {
    "cohen_kappa": cohen_kappa,
    "scott_pi": scott_pi,
    "bennett_s": brennan_prediger,
    "percent_agreement": percent_agreement,
}


def _also_cases():
    for v in VECTORS["krippendorff_alpha"]:
        for stat, expected in v.get("also", {}).items():
            yield pytest.param(v["reliability_data"], stat, expected, id=f"{v['name']}-{stat}")


@pytest.mark.parametrize("data, stat, expected", list(_also_cases()))
def test_two_coder_statistics(data, stat, expected):
    assert ALSO[stat](data) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("vector", VECTORS["cohen_kappa_tables"], ids=lambda v: v["source"][:40])
def test_cohen_kappa_tables(vector):
    data = from_contingency(vector["table_rows_rater1"])
    assert cohen_kappa(data) == pytest.approx(vector["expected"], abs=TOL)


def _sequence(spec: str) -> list[int]:
    """'[0]*46+[1]*44' -> 46 zeros then 44 ones (parsed, not evaluated)."""
    out: list[int] = []
    for value, n in re.findall(r"\[(\d+)\]\*(\d+)", spec):
        out += [int(value)] * int(n)
    return out


def _sequence_cases():
    for i, v in enumerate(VECTORS["cohen_kappa_sequences"]):
        data = [_sequence(v["rater1"]), _sequence(v["rater2"])]
        expected = v["expected"] if isinstance(v["expected"], dict) else {"unweighted": v["expected"]}
        for weighting, value in expected.items():
            yield pytest.param(
                data, None if weighting == "unweighted" else weighting, value, id=f"seq{i}-{weighting}"
            )


@pytest.mark.parametrize("data, weighting, expected", list(_sequence_cases()))
def test_cohen_kappa_sequences(data, weighting, expected):
    assert len(data[0]) == len(data[1]) == 100
    assert cohen_kappa(data, weighting=weighting) == pytest.approx(expected, abs=TOL)


def test_fleiss_kappa_from_category_counts():
    v = VECTORS["fleiss_kappa"][0]
    data = from_category_counts(v["subjects_by_category_counts"])
    assert data.shape == (14, 10)
    assert fleiss_kappa(data) == pytest.approx(v["expected"], abs=TOL)
    assert brennan_prediger(data) == pytest.approx(v["randolph_free_marginal"], abs=TOL)


def test_fleiss_1971():
    v = VECTORS["fleiss_kappa"][1]
    data = np.array(v["subject_ratings"]).T  # coders x subjects
    assert data.shape == (6, 30)
    assert fleiss_kappa(data) == pytest.approx(v["expected"], abs=TOL)
    assert krippendorff_alpha(data) == pytest.approx(v["krippendorff_alpha_nominal"], abs=TOL)
    assert krippendorff_alpha(data, weights=np.ones(30)) == pytest.approx(
        v["krippendorff_alpha_nominal"], abs=TOL
    )


def test_cooccurrence_c_coefficient():
    v = VECTORS["cooccurrence"][0]
    m = pair_measures(1000, v["n1"], v["n2"], v["n12"])
    assert m["jaccard"][0] == pytest.approx(v["expected_c"], abs=TOL)
    assert m["overlap"][0] == pytest.approx(v["overlap_coefficient"], abs=TOL)


def _as_ratings(data: list[list]) -> pd.DataFrame:
    """A present/absent vector pair as the rating table the project-level functions use."""
    n = len(data[0])
    table = pd.DataFrame(
        {
            "code": "c",
            "document": [f"d{i}" for i in range(n)],
            "unit": [f"u{i}" for i in range(n)],
            "start": 0,
            "end": 1,
            "weight": 1.0,
            "A": np.array(data[0], dtype=float),
            "B": np.array(data[1], dtype=float),
        }
    )
    table.attrs.update(unit="segment", coders=["A", "B"])
    return table


def test_agreement_table_reproduces_the_binary_vector():
    v = next(x for x in VECTORS["krippendorff_alpha"] if x["name"] == "krippendorff_2011_binary_2x10")
    out = agreement(_as_ratings(v["reliability_data"]), n_boot=200, seed=1)
    per_code = out[out["code"] == "c"].set_index("statistic")["value"]
    assert per_code["krippendorff_alpha"] == pytest.approx(v["expected"]["nominal"], abs=TOL)
    assert per_code["cohen_kappa"] == pytest.approx(v["also"]["cohen_kappa"], abs=TOL)
    assert per_code["scott_pi"] == pytest.approx(v["also"]["scott_pi"], abs=TOL)
    assert per_code["brennan_prediger"] == pytest.approx(v["also"]["bennett_s"], abs=TOL)
    # the vectorised path (used for the bootstrap) gives the same value as the library for the point estimate
    assert gwet_ac1(v["reliability_data"]) == pytest.approx(
        out[(out["code"] == "c") & (out["statistic"] == "gwet_ac1")]["value"].iloc[0], abs=1e-12
    )
    assert (out["formula"].str.len() > 20).all()


# -- irrCAC / Gwet (2014): Fleiss, AC1 and Brennan-Prediger with missing ratings --------------------------

IRRCAC = json.loads((REFERENCE / "irrcac_vectors.json").read_text(encoding="utf-8"))
MISSING_AWARE = {"fleiss_kappa": fleiss_kappa, "gwet_ac1": gwet_ac1, "brennan_prediger": brennan_prediger}


def _raw_cases(block: str):
    for v in IRRCAC["raw"]:
        for stat in MISSING_AWARE:
            yield pytest.param(v["reliability_data"], stat, v[block][stat], id=f"{v['name']}-{stat}")


@pytest.mark.parametrize("data, stat, expected", list(_raw_cases("recomputed")))
def test_irrcac_raw_datasets_to_1e6(data, stat, expected):
    """irrCAC's own values (12 digits) on Gwet's datasets with missing ratings."""
    assert MISSING_AWARE[stat](data) == pytest.approx(expected["value"], abs=TOL)


@pytest.mark.parametrize("data, stat, expected", list(_raw_cases("irrcac_python_tests")))
def test_irrcac_python_test_suite_values(data, stat, expected):
    """The values irrCAC's (Python) test suite asserts, printed to 3 decimals: equal once rounded alike."""
    pa, pe, value = expected
    assert round(MISSING_AWARE[stat](data), 3) == value
    # its printed pa and pe give the coefficient to within their rounding
    assert MISSING_AWARE[stat](data) == pytest.approx((pa - pe) / (1 - pe), abs=2e-3)


def test_gwet_handbook_raw4raters_as_published():
    """cac.raw4raters (Gwet 2014), the values printed in irrCAC's README: coefficients to 5 decimals match to
    half a unit in the last place; pa and pe, printed to 7, give each coefficient to 1e-6."""
    v = next(x for x in IRRCAC["raw"] if x["name"] == "cac.raw4raters")
    data, pub = v["reliability_data"], v["published"]
    half = 0.5 * 10 ** -pub["digits"]
    for stat, fn in MISSING_AWARE.items():
        assert fn(data) == pytest.approx(pub[stat]["value"], abs=half)
        pa, pe = pub[stat]["pa"], pub[stat]["pe"]
        assert fn(data) == pytest.approx((pa - pe) / (1 - pe), abs=TOL)
    assert percent_agreement(data) == pytest.approx(pub["percent_agreement"], abs=TOL)
    assert krippendorff_alpha(data) == pytest.approx(pub["krippendorff_alpha"], abs=half)


@pytest.mark.parametrize("vector", IRRCAC["distributions"], ids=lambda v: v["name"])
def test_irrcac_distribution_examples(vector):
    data = from_category_counts(vector["subjects_by_category_counts"])
    q = len(vector["categories"])
    fns = {**MISSING_AWARE, "krippendorff_alpha": krippendorff_alpha, "percent_agreement": percent_agreement}
    for stat, expected in vector["expected"].items():
        kwargs = {"categories": range(q)} if stat in MISSING_AWARE else {}
        assert fns[stat](data, **kwargs) == pytest.approx(expected, abs=TOL), stat


@pytest.mark.parametrize("vector", IRRCAC["tables"], ids=lambda v: v["name"])
def test_irrcac_contingency_examples(vector):
    data = from_contingency(vector["table_rows_rater1"])
    fns = {
        **MISSING_AWARE,
        "cohen_kappa": cohen_kappa,
        "scott_pi": scott_pi,
        "krippendorff_alpha": krippendorff_alpha,
        "percent_agreement": percent_agreement,
    }
    for stat, expected in vector["expected"].items():
        assert fns[stat](data) == pytest.approx(expected, abs=TOL), stat


@pytest.mark.parametrize(
    "vector", IRRCAC["minimal"], ids=lambda v: f"{v['statistic']}-{len(v['reliability_data'])}"
)
def test_irrcac_minimal_missing_cases(vector):
    data = [[np.nan if x is None else x for x in row] for row in vector["reliability_data"]]
    assert MISSING_AWARE[vector["statistic"]](data) == pytest.approx(vector["expected"], abs=TOL)


def test_agreement_table_follows_gwet_with_missing_ratings():
    """The project-level table (what the app and CLI show) gives the same AC1 and Fleiss as the functions
    when a
    coder did not rate some units: single-rated units count in the category shares, as in irrCAC."""
    data = [[0, 1, 0, 1, 1, np.nan], [0, 1, 1, np.nan, 1, 1], [0, np.nan, 1, 1, 1, 0]]
    n = len(data[0])
    table = pd.DataFrame(
        {
            "code": "c",
            "document": [f"d{i}" for i in range(n)],
            "unit": [f"u{i}" for i in range(n)],
            "start": 0,
            "end": 1,
            "weight": 1.0,
            "A": data[0],
            "B": data[1],
            "C": data[2],
        }
    )
    table.attrs.update(unit="segment", coders=["A", "B", "C"])
    out = agreement(table, n_boot=0)
    group = out[(out["code"] == "c") & (out["n_coders"] == 3)].set_index("statistic")["value"]
    assert group["gwet_ac1"] == pytest.approx(gwet_ac1(data), abs=1e-12)
    assert group["fleiss_kappa"] == pytest.approx(fleiss_kappa(data), abs=1e-12)
    pair = out[(out["code"] == "c") & (out["coders"] == "A + B")].set_index("statistic")["value"]
    assert pair["gwet_ac1"] == pytest.approx(gwet_ac1(data[:2]), abs=1e-12)
    assert "n_uk / m_u" in out.set_index("statistic").loc["gwet_ac1", "formula"].iloc[0]
