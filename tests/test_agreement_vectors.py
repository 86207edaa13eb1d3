"""Agreement statistics reproduce published reference values (tests/data/reference/agreement_vectors.json, copied from
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


ALSO = {"cohen_kappa": cohen_kappa, "scott_pi": scott_pi, "bennett_s": brennan_prediger,
        "percent_agreement": percent_agreement}


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
            yield pytest.param(data, None if weighting == "unweighted" else weighting, value, id=f"seq{i}-{weighting}")


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
    assert krippendorff_alpha(data, weights=np.ones(30)) == pytest.approx(v["krippendorff_alpha_nominal"], abs=TOL)


def test_cooccurrence_c_coefficient():
    v = VECTORS["cooccurrence"][0]
    m = pair_measures(1000, v["n1"], v["n2"], v["n12"])
    assert m["jaccard"][0] == pytest.approx(v["expected_c"], abs=TOL)
    assert m["overlap"][0] == pytest.approx(v["overlap_coefficient"], abs=TOL)


def _as_ratings(data: list[list]) -> pd.DataFrame:
    """A present/absent vector pair as the rating table the project-level functions use."""
    n = len(data[0])
    table = pd.DataFrame({"code": "c", "document": [f"d{i}" for i in range(n)], "unit": [f"u{i}" for i in range(n)],
                          "start": 0, "end": 1, "weight": 1.0, "A": np.array(data[0], dtype=float),
                          "B": np.array(data[1], dtype=float)})
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
        out[(out["code"] == "c") & (out["statistic"] == "gwet_ac1")]["value"].iloc[0], abs=1e-12)
    assert (out["formula"].str.len() > 20).all()
