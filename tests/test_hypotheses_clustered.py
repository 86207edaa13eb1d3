"""Clustered hypothesis tests (issue 21): case-level sign-flip test, case-bootstrap effects,
robustness per coder, stratum, left-out case and machine; the command and the app section."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats
from scipy.stats.contingency import odds_ratio
from streamlit.testing.v1 import AppTest

from clhs_mechanisms import ClhsError, Project, import_paths
from clhs_mechanisms.analysis.clustered import (
    ClusterTables,
    cluster_tables,
    clustered_effects,
    sign_flip_p,
    sign_matrix,
)
from clhs_mechanisms.analysis.hypotheses import evaluate_hypotheses, hypothesis_pairs
from clhs_mechanisms.analysis.robustness import hypothesis_robustness, robustness_summary
from clhs_mechanisms.analysis.significance import odds_ratio_interval
from clhs_mechanisms.cli import main
from clhs_mechanisms.codebook import Hypothesis

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = Path(__file__).resolve().parents[1] / "clhs_mechanisms" / "app" / "views"
H1 = Hypothesis(
    id="H1",
    statement="s",
    mechanism=("ppi_registry",),
    outcome=("mot_help",),
    expected="positive",
    unit="segment",
    label="Help follows infrastructure",
)


def _frames(mech, outc, doc_of_segment, case_of_doc: dict[str, str] | None = None):
    """Codings (ppi_registry where ``mech``, mot_help where ``outc``), segments and documents."""
    doc = np.asarray(doc_of_segment, dtype=object)
    idx = np.concatenate([np.arange(n) for n in pd.Series(doc).value_counts(sort=False)])
    segs = pd.DataFrame({"document": doc, "idx": idx, "turn": idx, "start": idx * 10, "end": idx * 10 + 9})
    rows = [(d, "ppi_registry", s, s + 5) for d, s, m in zip(doc, segs["start"], mech) if m]
    rows += [(d, "mot_help", s + 2, s + 9) for d, s, o in zip(doc, segs["start"], outc) if o]
    cod = pd.DataFrame(rows, columns=["document", "code", "start", "end"]).assign(coder="x")
    names = list(dict.fromkeys(doc))
    cases = case_of_doc or {}
    documents = pd.DataFrame(
        {"name": names, "case": [cases.get(n) for n in names], "attributes": [{} for _ in names]}
    )
    return cod, segs, documents


def test_cooccurrences_all_from_one_case_are_not_significant_while_fishers_are():
    rng = np.random.default_rng(4)
    sizes = {f"c{c}d{k}": 100 if c == 0 else 30 for c in range(20) for k in range(2)}  # P0 talks a lot
    case_of = {d: "P" + d[1:].split("d")[0] for d in sizes}
    doc = np.repeat(list(sizes), list(sizes.values()))
    in_first = np.char.startswith(doc.astype(str), "c0d")
    mech = rng.random(len(doc)) < np.where(in_first, 0.5, 0.1)
    other = rng.random(len(doc)) < 0.1
    outc = np.where(in_first, mech, other & ~mech)  # every co-occurrence is P0's
    t = evaluate_hypotheses(*_frames(mech, outc, doc, case_of), [H1]).iloc[0]
    assert t["n_both"] == (mech & outc & in_first).sum() > 0
    assert t["fisher_p"] < 1e-9 and t["fisher_verdict"] == "supported"
    assert t["clusters"] == 20 and t["clustered_test"] == "case sign-flip"
    # one participant is one replicate: the sign of its score flips with probability 1/2
    assert t["cluster_p"] > 0.4 and t["verdict"] == "not supported"
    # clustered by document (no cases), that participant is two replicates: p near 1/4
    by_doc = evaluate_hypotheses(*_frames(mech, outc, doc), [H1]).iloc[0]
    assert by_doc["clusters"] == 40 and 0.2 < by_doc["cluster_p"] < t["cluster_p"]


def test_sign_flip_is_exact_on_few_clusters_and_leaving_one_out_equals_recomputing():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(3, 7))
    d[0, 2] = 0.0
    signs = sign_matrix(7, 1000, 1)  # 2^7 = 128 sign vectors <= 1000: every vector is enumerated
    every = np.array(list(itertools.product((-1.0, 1.0), repeat=7)))
    null, obs = every @ d.T, d.sum(axis=1)
    for alternative, hit in (
        ("greater", null >= obs - 1e-9),
        ("less", null <= obs + 1e-9),
        ("two-sided", np.abs(null) >= np.abs(obs) - 1e-9),
    ):
        p, min_p = sign_flip_p(d, signs, alternative)
        assert p == pytest.approx(hit.mean(axis=0))
    assert min_p[0] == 2.0 ** (1 - 6) and min_p[1] == 2.0 ** (1 - 7)
    for K, R in ((7, 1000), (40, 300)):  # exact, then random sign vectors
        d = rng.normal(size=(2, K))
        signs = sign_matrix(K, R, 2)
        loo, _ = sign_flip_p(d, signs, "greater", leave_out=True)
        for c in range(K):
            alone, _ = sign_flip_p(np.delete(d, c, axis=1), np.delete(signs, c, axis=1), "greater")
            assert loo[:, c] == pytest.approx(alone)


def test_effects_and_intervals_against_references():
    t = ClusterTables(*(np.array(x, dtype=float) for x in ([20, 30], [5, 10], [8, 6], [4, 3])))
    e = clustered_effects(t, "within", n_boot=0).iloc[0]
    cells = [(n, a, b, ab) for n, a, b, ab in zip(t.n, t.a, t.b, t.ab)]
    mh_or = sum(ab * (n - a - b + ab) / n for n, a, b, ab in cells) / sum(
        (a - ab) * (b - ab) / n for n, a, b, ab in cells
    )
    mh_rd = sum((ab * (n - a) - (b - ab) * a) / n for n, a, b, ab in cells) / sum(
        a * (n - a) / n for n, a, _, _ in cells
    )
    assert e["odds_ratio"] == pytest.approx(mh_or) and e["risk_difference"] == pytest.approx(mh_rd)
    for N, n1, n2, n12 in ((100, 20, 30, 12), (4589, 109, 539, 72), (50, 10, 10, 1)):
        lo, hi = odds_ratio_interval(N, n1, n2, n12)
        ref = odds_ratio(np.array([[n12, n1 - n12], [n2 - n12, N - n1 - n2 + n12]]), kind="sample")
        assert (lo, hi) == pytest.approx(tuple(ref.confidence_interval(0.95)))
    assert odds_ratio_interval(10, 5, 5, 5) == (0.0, np.inf)
    cod, segs, docs = _frames([1, 1, 0, 0, 1, 0] * 5, [1, 0, 0, 0, 1, 1] * 5, np.repeat(["a", "b", "c"], 10))
    row = evaluate_hypotheses(cod, segs, docs, [H1]).iloc[0]
    table = [[row.n_both, row.n_mechanism - row.n_both], [row.n_outcome - row.n_both, 30 - 15 - 15 + 10]]
    assert row["fisher_p"] == pytest.approx(stats.fisher_exact(table, alternative="greater")[1])


def _streaky(rng, rates, n, stay=1 / 3):
    enter = rates * (1 - stay) / (1 - rates)
    x = np.zeros((len(rates), n), dtype=bool)
    x[:, 0] = rng.random(len(rates)) < rates
    for i in range(1, n):
        u = rng.random(len(rates))
        x[:, i] = np.where(x[:, i - 1], u < stay, u < enter)
    return x


def test_case_bootstrap_interval_covers_a_known_risk_difference():
    rng = np.random.default_rng(11)
    n_sets, K, longest, delta = 200, 40, 100, 0.15
    covered = 0
    for i in range(n_sets):
        density = rng.lognormal(0, 0.7, K)
        base_rate = np.minimum(0.08 * density / density.mean(), 0.5)
        mech = _streaky(rng, np.minimum(0.06 * density / density.mean(), 0.5), longest)
        base = _streaky(rng, base_rate, longest)
        outc = base | (mech & (rng.random((K, longest)) < delta / (1 - base_rate)[:, None]))
        keep = np.arange(longest)[None, :] < rng.integers(40, longest, K)[:, None]
        t = cluster_tables(mech[keep], outc[keep], np.repeat(np.arange(K), keep.sum(axis=1)), K)
        e = clustered_effects(t, "within", n_boot=500, seed=i).iloc[0]
        covered += e["risk_difference_low"] <= delta <= e["risk_difference_high"]
    assert covered / n_sets >= 0.9


def test_case_units_use_fishers_test_and_bad_input_is_one_clear_error():
    rng = np.random.default_rng(2)
    doc = np.repeat([f"d{i}" for i in range(30)], 4)
    cod, segs, docs = _frames(rng.random(120) < 0.3, rng.random(120) < 0.3, doc)
    h = Hypothesis(**{**H1.__dict__, "unit": "case"})
    row = evaluate_hypotheses(cod, segs, docs, [h]).iloc[0]
    assert row["clustered_test"] == "Fisher (one unit per case)" and row["cluster_p"] == row["fisher_p"]
    one = _frames([1, 0, 1, 1], [1, 1, 0, 1], ["a"] * 4)
    with pytest.raises(ClhsError, match="all codings come from one case"):
        evaluate_hypotheses(*one, [h])
    docs["attributes"] = [{"role": "patient" if i < 15 else "nurse"} for i in range(30)]
    with pytest.raises(ClhsError, match="stratum role = payer has no units.*nurse, patient"):
        hypothesis_robustness(cod, segs, docs, [H1], by=["role=payer"])


def test_robustness_leaving_out_a_case_equals_testing_without_it():
    rng = np.random.default_rng(5)
    doc = np.repeat([f"d{i}" for i in range(8)], 25)  # 8 cases: every sign vector is enumerated
    mech = rng.random(200) < 0.3
    outc = rng.random(200) < np.where(mech, 0.7, 0.1)
    cod, segs, docs = _frames(mech, outc, doc)
    docs["attributes"] = [{"role": "patient" if i < 4 else "nurse"} for i in range(8)]
    cod = pd.concat([cod, cod.assign(coder="y").iloc[::2]], ignore_index=True)
    suggestions = cod.assign(text="", score=0.9, components=[{"threshold": 0.5}] * len(cod), status="pending")
    r = hypothesis_robustness(cod, segs, docs, [H1], suggestions=suggestions)
    assert set(r["check"]) == {"pooled", "coder", "stratum", "leave-one-case-out", "machine"}
    assert set(r.loc[r["check"] == "stratum", "variant"]) == {"role = patient", "role = nurse"}
    assert set(r.loc[r["check"] == "coder", "variant"]) == {"x", "y"}
    assert r.loc[r["check"] == "pooled", "verdict"].iloc[0] == "supported"
    loo = r[r["check"] == "leave-one-case-out"].set_index("variant")
    assert len(loo) == 8
    without = evaluate_hypotheses(cod[cod["document"] != "d3"], segs, docs, [H1]).iloc[0]
    row = loo.loc["without d3"]
    for col in ("N", "n_both", "verdict"):
        assert row[col] == without[col]
    for col in ("cluster_p", "cluster_q", "effect_rd", "effect_or"):
        assert row[col] == pytest.approx(without[col])
    summary = robustness_summary(r).iloc[0]
    assert summary["robust_strata"].startswith("role: supported 0/2, too little data 2/2")
    assert "without any one of 8 cases" in summary["robust_leave_one_out"]
    pairs = hypothesis_pairs(cod, segs, docs, [H1])
    assert {"fisher_p", "cluster_p", "clusters"} <= set(pairs.columns)


TURNS = ["We built the registry form.", "Someone helped me.", "The credit was easy.", "It was required."]


@pytest.fixture(scope="module")
def proj(tmp_path_factory, mini_codebook):
    base = tmp_path_factory.mktemp("clustered")
    files = base / "files"
    files.mkdir()
    for i in range(8):
        body = "\n".join(f"Interviewer: Question {k}?\nP{i}: {TURNS[(k + i) % 4]}" for k in range(10))
        attributes = f"role: {'patient' if i % 2 else 'nurse'}\nnetwork: {'north' if i < 6 else 'south'}"
        (files / f"p{i}.txt").write_text(
            f"---\n{attributes}\nparticipant: P{i}\n---\n{body}\n", encoding="utf-8"
        )
    project = Project.init(base / "proj", mini_codebook)
    list(import_paths(project, [files]))
    segs = project.segments(codable_only=True).reset_index(drop=True)
    for g, s in enumerate(segs.itertuples()):
        codes = ["ppi_registry", "mot_help"] if g % 4 == 0 else (["mot_credit"] if g % 4 == 2 else [])
        for code in codes:
            for coder in ("ana", "ben"):
                project.add_coding(s.document, s.start, s.end, code, coder=coder)
    rows = [
        {"segment_id": s.id, "code": "mot_help", "score": 0.8 if g % 4 == 0 else 0.2, "evidence": []}
        for g, s in enumerate(segs.itertuples())
    ]
    project.add_suggestions(rows, method="test", model_version="t1")
    project.close()
    return base / "proj"


def test_command_with_robustness_and_a_stratum_without_units(proj, tmp_path):
    runner = CliRunner()
    out = tmp_path / "h"
    result = runner.invoke(
        main, ["hypotheses", "--robustness", "--output-dir", str(out), "--project", str(proj)]
    )
    assert result.exit_code == 0, result.output
    assert "case p" in result.output and "without one case:" in result.output
    table = pd.read_csv(out / "hypotheses.csv")
    assert table.loc[0, "verdict"] == "supported" and table.loc[0, "clusters"] == 8
    assert {
        "effect_rd_low",
        "effect_rd_high",
        "fisher_p",
        "cluster_p",
        "robust_coders",
        "robust_machine",
    } <= set(table.columns)
    robust = pd.read_csv(out / "hypothesis_robustness.csv")
    assert {"coder", "stratum", "leave-one-case-out", "machine"} <= set(robust["check"])
    bad = runner.invoke(
        main,
        ["hypotheses", "--by", "role=payer", "--output-dir", str(tmp_path / "x"), "--project", str(proj)],
    )
    assert bad.exit_code == 2 and "has no units" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "x").exists()


def test_app_section_shows_intervals_and_robustness(proj, monkeypatch):
    monkeypatch.setenv("CLHS_PROJECT", str(proj))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["coder"] = "ana"
    at.run()
    at.switch_page(str(PAGES / "cooccurrence.py"))
    at.run()
    at.toggle(key="co_robust").set_value(True).run()
    assert not at.exception, at.exception
    hypotheses, variants = at.dataframe[-2].value, at.dataframe[-1].value  # the second is in the expander
    assert {"risk difference [95%]", "case p", "verdict", "robust_leave_one_out"} <= set(hypotheses.columns)
    assert {"check", "variant", "same_verdict"} <= set(variants.columns)
    assert any("case-level sign-flip" in c.value for c in at.caption)
