"""Agreement that starts right (issue 16): the default coder pair, the machine as a coder, adjudicated
disagreements, numbers and codes for reading; the library functions and the Agreement page (AppTest)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from clhs_mechanisms import Project, import_paths
from clhs_mechanisms.analysis import (
    disagreements,
    machine_agreement,
    machine_codings,
    rating_table,
)
from clhs_mechanisms.analysis.adjudication import (
    adjudication_memo,
    adjudications,
    default_pair,
    mark_resolved,
)
from clhs_mechanisms.app.format import code_label, code_labels, estimate, p_value, stat
from clhs_mechanisms.cli import main
from clhs_mechanisms.errors import ClhsError

from .conftest import TRANSCRIPT

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = str(Path(__file__).resolve().parents[1] / "clhs_mechanisms" / "app" / "views" / "agreement.py")

SEGMENTS = pd.DataFrame(
    {
        "id": [f"s{i}" for i in range(6)],
        "document": ["d1"] * 4 + ["d2"] * 2,
        "idx": [0, 1, 2, 3, 0, 1],
        "turn": [0, 0, 1, 1, 0, 1],
        "start": [0, 10, 20, 30, 0, 10],
        "end": [9, 19, 29, 39, 9, 19],
        "codable": True,
    }
)


def _codings(rows, **extra) -> pd.DataFrame:
    """Codings (document, code, coder, start, end[, created_at]) with their segment ids."""
    df = pd.DataFrame(
        rows, columns=["document", "code", "coder", "start", "end", "created_at"][: len(rows[0])]
    )
    seg = SEGMENTS.set_index(["document", "start"])["id"]
    df["segment_id"] = [seg.get((d, s)) for d, s in zip(df["document"], df["start"])]
    return df.assign(**extra)


# -- format ---------------------------------------------------------------------------------------------


def test_p_values_and_statistics_read_well():
    assert p_value(4e-13) == "< 0.001" and p_value(0.000999) == "< 0.001" and p_value(0.001) == "0.001"
    assert p_value(0.012) == "0.012" and p_value(0.01234) == "0.0123" and p_value(1.0) == "1"
    assert p_value(None) == p_value(float("nan")) == p_value(pd.NA) == "—"
    assert (
        stat(0.6123) == "0.612"
        and stat(0.5) == "0.500"
        and stat(12.345) == "12.3"
        and stat(-0.25) == "-0.250"
    )
    assert stat(0.99996) == "1.00" and stat(1234.5) == "1,230" and stat(0.0001234) == "1.23e-04"
    assert stat(np.int64(19950)) == "19,950" and stat(0) == "0" and stat(math.inf) == "∞"
    assert stat(None) == stat(np.nan) == stat("n/a") == "—"
    assert estimate(0.61, 0.52, 0.7) == "0.610 (0.520–0.700)"
    assert estimate(0.61, None, None) == estimate(0.61, float("nan"), 0.7) == "0.610"
    assert estimate(float("nan"), 0.1, 0.2) == "—"


def test_code_labels(mini_codebook):
    assert code_label(mini_codebook, "mot_help") == "Helping others"
    assert code_label(mini_codebook, "(all codes)") == "(all codes)"  # not a code: as it is
    assert code_label({"a": "Alpha"}, "a") == "Alpha" and code_label({"a": "Alpha"}, "b") == "b"
    assert code_labels(mini_codebook)["mot_credit"] == "Credit and requirements"


# -- the default pair -----------------------------------------------------------------------------------


def test_default_pair_is_the_pair_with_most_segments_in_common():
    rows = [
        ("d1", "A", "ana", 0, 9),  # ana coded d1 alone
        ("d1", "A", "ben", 10, 19),
        ("d1", "B", "cleo", 12, 19),  # ben and cleo: segments s1 and s2
        ("d1", "A", "ben", 20, 29),
        ("d1", "A", "cleo", 20, 25),
        ("d1", "A", "cleo", 22, 29),  # two codings of one segment count once
        ("d2", "A", "dan", 0, 9),
        ("d2", "A", "eve", 0, 9),  # dan and eve: one segment
        ("d1", "A", "zed", 0, 39),  # an adjudicator's verdict, not a rating
    ]
    cod = _codings(rows).assign(origin=["manual"] * 8 + ["adjudication"], coder_kind="human")
    pair = default_pair(cod, SEGMENTS)
    assert pair.coders == ("ben", "cleo") and pair.shared == 2 and not pair.reason
    # ties: alphabetical
    tie = _codings([("d1", "A", "bo", 0, 9), ("d1", "A", "al", 0, 9), ("d1", "A", "cy", 0, 9)])
    assert default_pair(tie, SEGMENTS).coders == ("al", "bo")
    # only humans count
    machine = tie.assign(coder_kind=["human", "human", "machine"])
    assert default_pair(machine.iloc[[0, 2]], SEGMENTS).coders is None


def test_no_default_pair_says_why():
    one = _codings([("d1", "A", "ana", 0, 9)])
    assert (
        default_pair(one, SEGMENTS).reason
        == "agreement needs codings by two coders; so far only ana has coded"
    )
    apart = _codings([("d1", "A", "ana", 0, 9), ("d2", "A", "ben", 0, 9)])
    pair = default_pair(apart, SEGMENTS)
    assert (
        pair.coders is None and "no two of the 2 coders (ana, ben) coded a segment in common" in pair.reason
    )


# -- adjudicated disagreements --------------------------------------------------------------------------


def _disputed():
    rows = [
        ("d1", "A", "ana", 0, 9),
        ("d1", "A", "ben", 10, 19),
        ("d1", "A", "ana", 20, 29),
        ("d1", "A", "ben", 20, 29),
        ("d1", "A", "ana", 30, 39),
    ]
    return _codings(rows).assign(origin="manual")


def test_adjudications_mark_disagreements_resolved():
    cod = _disputed()
    memos = pd.DataFrame(
        {
            "target_type": ["document", "document", "document", "project"],
            "target_id": ["d1", "d1", "d1", None],
            "coder": ["cleo", "cleo", "dee", "cleo"],
            "text": [
                adjudication_memo("cleo", "A", "does not apply", 0, 9, ["ana"], ["ben"]),
                "Adjudication by someone else: 'A' applies at 10-19",  # not by the memo's author: ignored
                adjudication_memo("dee", "A", "applies", 0, 9, ["ana"], ["ben"]),
                adjudication_memo("cleo", "A", "applies", 30, 39, ["ana"], ["ben"]),  # not on a document
            ],
            "created_at": ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"],
        }
    )
    judged = pd.concat(
        [cod, _codings([("d1", "A", "eve", 30, 35)]).assign(origin="manual", created_at="2026-01-05")]
    )
    adj = adjudications(judged, memos, adjudicators=["eve"], compared=["ana", "ben"])
    assert list(zip(adj["coder"], adj["verdict"], adj["start"])) == [
        ("cleo", "does not apply", 0),
        ("dee", "applies", 0),
        ("eve", "applies", 30),
    ]
    d = disagreements(rating_table(judged, SEGMENTS, coders=["ana", "ben"]), adjudicated=adj)
    assert d["unit"].tolist() == ["d1#0", "d1#1", "d1#3"]
    assert d["resolved"].tolist() == [True, False, True]
    assert d["resolved_by"].tolist() == ["dee", "", "eve"] and d["verdict"].tolist() == [
        "applies",
        "",
        "applies",
    ]
    # an adjudicator among the coders compared codes as a coder: their codings do not resolve anything
    assert adjudications(judged, None, adjudicators=["eve"], compared=["ana", "eve"]).empty


def test_an_adjudication_coding_is_a_verdict_not_a_rating():
    cod = pd.concat([_disputed(), _codings([("d1", "A", "ana", 10, 19)]).assign(origin="adjudication")])
    r = rating_table(cod, SEGMENTS, coders=["ana", "ben"])
    assert r["ana"].tolist() == [1, 0, 1, 1]  # ana's adjudication of s1 does not make it her rating
    d = disagreements(r, adjudicated=adjudications(cod))
    assert d.set_index("unit")["resolved"].to_dict() == {"d1#0": False, "d1#1": True, "d1#3": False}
    whole = pd.DataFrame({"document": ["d1"], "code": ["A"], "start": [0], "end": [-1]})
    assert mark_resolved(whole, adjudications(cod))["resolved_by"].tolist() == ["ana"]  # a document unit


# -- the machine as a coder -----------------------------------------------------------------------------


def _suggestions(rows) -> pd.DataFrame:
    """Suggestions (segment id, code, score, status, created_at) with their segment's place."""
    df = pd.DataFrame(rows, columns=["segment_id", "code", "score", "status", "created_at"])
    seg = SEGMENTS.set_index("id")
    return df.assign(
        document=df["segment_id"].map(seg["document"]),
        start=df["segment_id"].map(seg["start"]),
        end=df["segment_id"].map(seg["end"]),
        components=[{"threshold": 0.5}] * len(df),
    )


def test_machine_codings_take_the_latest_suggestion_whatever_its_status():
    sug = _suggestions(
        [
            ("s0", "A", 0.9, "stale", "2026-01-01"),
            ("s0", "A", 0.2, "pending", "2026-02-01"),  # rescored lower: the latest counts
            ("s1", "A", 0.8, "decided", "2026-01-01"),  # decided: still what the machine said
            ("s2", "A", 0.9, "stale", "2026-01-01"),  # replaced by a pass that scored it below the floor
            ("s3", "A", 0.9, "stale", "2026-01-01"),  # a human coded it since: the later pass skipped it
            ("retired", "A", 0.9, "pending", "2026-02-01"),  # a segment of an older text
        ]
    )
    cod, rated = machine_codings(sug, segments=SEGMENTS, settled={("s3", "A")})
    assert cod["start"].tolist() == [10, 30] and rated == {"d1"}
    cod, _ = machine_codings(sug.assign(threshold=[0.1, 0.1, 0.9, 0.1, 0.1, 0.1]), segments=SEGMENTS)
    assert cod["start"].tolist() == [0]  # a threshold column (scores made now) before the components


def test_the_machine_rating_is_unknown_where_a_suggestion_pass_skipped_a_coded_pair():
    human = _codings(
        [
            ("d1", "A", "ana", 0, 9, "2026-01-01"),
            ("d1", "A", "ana", 10, 19, "2026-01-01"),  # coded before the pass, never suggested: unknown
            ("d1", "A", "ana", 30, 39, "2026-03-01"),  # coded after the pass: the machine said no
            ("d1", "A", "ana", 20, 29, "2026-01-01"),
        ],
        origin=["manual", "manual", "manual", "suggestion"],  # accepted: agrees by construction
        coder_kind="human",
    )
    sug = _suggestions([("s0", "A", 0.9, "pending", "2026-02-01"), ("s2", "A", 0.9, "decided", "2026-02-01")])
    out = machine_agreement(human, sug, SEGMENTS, n_boot=0, statistics=["percent_agreement"])
    row = out[(out["code"] == "A") & (out["coders"] == "machine + ana")].iloc[0]
    # s0 agree, s2 (accepted by ana: left out of her ratings) and s3 disagree; s1 unknown
    assert row["units"] == 3 and row["value"] == pytest.approx(1 / 3)
    with pytest.raises(ClhsError, match="has no codings of their own"):
        machine_agreement(human[human["origin"] == "suggestion"], sug, SEGMENTS, humans=["ana"], n_boot=0)


def test_the_machine_on_documents_nobody_coded_says_so():
    human = _codings([("d1", "A", "ana", 0, 9), ("d1", "A", "ben", 0, 9)], coder_kind="human")
    sug = _suggestions([("s4", "A", 0.9, "pending", "2026-02-01")])  # d2 only, as in the demo
    with pytest.raises(ClhsError, match="the machine rated none of the documents ana, ben coded"):
        machine_agreement(human, sug, SEGMENTS, n_boot=0)


# -- the page ---------------------------------------------------------------------------------------------


@pytest.fixture()
def reviewed(tmp_path, mini_codebook, monkeypatch):
    """p01 double-coded by ben and cleo (one disagreement); suggestions for p02, two of them decided by
    ana, as after a first review of the demo."""
    files = tmp_path / "files"
    files.mkdir()
    for name in ("p01", "p02"):
        (files / f"{name}.txt").write_text(TRANSCRIPT.replace("P01", name.upper()), encoding="utf-8")
    project = Project.init(tmp_path / "proj", mini_codebook)
    list(import_paths(project, [files]))
    segs = project.segments(codable_only=True)
    one, two = segs[segs["document"] == "p01.txt"], segs[segs["document"] == "p02.txt"]
    for i, s in enumerate(one.itertuples()):
        project.add_coding(s.document, s.start, s.end, "mot_help", coder="ben")
        if i != 1:
            project.add_coding(s.document, s.start, s.end, "mot_help", coder="cleo")
    project.add_suggestions(
        [
            {
                "segment_id": s,
                "code": "mot_help",
                "score": 0.8,
                "components": {"threshold": 0.5},
                "evidence": [],
            }
            for s in two["id"]
        ],
        method="ensemble",
        model_version="t",
    )
    for sid in project.suggestions()["id"].iloc[:2]:
        project.decide(sid, "accept", coder="ana")
    monkeypatch.setenv("CLHS_PROJECT", str(project.directory))
    yield project
    from clhs_mechanisms.app.trainer import trainer

    trainer().join(timeout=300)  # a page's background job must not outlive its project


def _page(coder: str | None = "ana") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if coder:
        at.session_state["coder"] = coder
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def _toggle(at: AppTest, key: str):
    return next(t for t in at.toggle if t.key == key)


def test_the_page_starts_with_the_double_coders_after_a_review(reviewed):
    at = _page()
    assert not at.error and not at.warning
    assert at.multiselect(key="ag_coders").value == ["ben", "cleo"]  # not ana, who reviewed p02 alone
    table = at.dataframe[1].value  # per code: labels beside ids, estimates for reading
    assert table[["Code", "Code id"]].values.tolist() == [["Helping others", "mot_help"]]
    assert all(isinstance(v, str) and v != "None" for v in table["Estimate"])
    listed = at.dataframe[-1].value
    assert listed["Code"].tolist() == ["Helping others"] and listed["Coded by"].tolist() == ["ben"]


def test_adjudicated_disagreements_are_marked_and_hidden(reviewed):
    at = _page(coder="dee")
    at.radio(key="ag_verdict").set_value("does not apply").run()
    next(b for b in at.button if b.label == "Record adjudication").click().run()
    assert not at.exception and not at.error
    assert "Adjudication by dee: 'mot_help' does not apply" in reviewed.memos()["text"].iloc[-1]
    assert "1 resolved by adjudication" in " ".join(c.value for c in at.caption)
    assert "Nothing left to adjudicate." in [c.value for c in at.caption]
    _toggle(at, "ag_hide").set_value(False).run()
    assert at.dataframe[-1].value["Resolved by"].tolist() == ["dee: does not apply"]
    table = at.dataframe[1].value  # the adjudication changed no rating
    assert len(table) == 1 and not reviewed.codings()["coder"].eq("dee").any()


def test_cli_disagreements_carry_resolution(reviewed, tmp_path):
    seg = reviewed.segments(document="p01.txt", codable_only=True).iloc[1]
    reviewed.add_coding(
        "p01.txt", int(seg.start), int(seg.end), "mot_help", coder="dee", origin="adjudication"
    )
    out = tmp_path / "d.csv"
    result = CliRunner().invoke(
        main,
        [
            "agreement",
            "--project",
            str(reviewed.directory),
            "--coders",
            "ben",
            "cleo",
            "--bootstrap",
            "0",
            "--disagreements",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    d = pd.read_csv(out)
    assert d[["resolved", "resolved_by", "verdict"]].values.tolist() == [[True, "dee", "applies"]]


def test_the_machine_as_a_coder_on_a_project_like_the_demo(reviewed):
    """Suggestions only for documents nobody coded (as in the demo): the page offers to score the
    coders' documents with the current model, and then compares."""
    from clhs_mechanisms.assist import train

    at = _page()
    _toggle(at, "ag_machine").set_value(True).run()
    assert not at.exception and not at.error
    assert any("no suggestions for 1 of the 1 documents" in c.value for c in at.info)  # no model yet
    train(reviewed, gold=[])
    at = _page()
    _toggle(at, "ag_machine").set_value(True).run()
    _toggle(at, "ag_score").set_value(True).run()
    assert not at.exception and not at.error
    machine = next(d.value for d in at.dataframe if "Kind" in d.value.columns)
    assert set(machine["Kind"]) == {"machine-human", "human-human"}
    assert {"machine + ben", "machine + cleo", "ben + cleo"} == set(machine["Coders"])
