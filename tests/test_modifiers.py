"""Modifiers on codings (issue 21, item 3): validated against the codebook, set by the coding's own
coder, undoable; carried by JSON Lines, CSV, Excel and REFI-QDA; applied by the hypotheses."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from clhs_mechanisms import Project, import_paths, load_codebook
from clhs_mechanisms.analysis.hypotheses import evaluate_hypotheses
from clhs_mechanisms.analysis.readings import modifier_filters
from clhs_mechanisms.cli import main
from clhs_mechanisms.codebook import parse_codebook, shipped_codebook_path
from clhs_mechanisms.errors import ClhsError, StoreError
from clhs_mechanisms.interop.gold import import_codings_jsonl
from clhs_mechanisms.interop.refi_export import export_qdpx
from clhs_mechanisms.interop.refi_import import import_qdpx
from clhs_mechanisms.interop.tables import codings_table, write_csv
from clhs_mechanisms.interop.xlsx import codings_workbook
from clhs_mechanisms.modifiers import check_modifiers

GOLD = Path(__file__).resolve().parents[1] / "corpus" / "gold"
MODIFIERS = [
    {"id": "valence", "label": "Valence", "values": ["positive", "negative"], "applies_to": ["ppi"]},
    {"id": "cx", "label": "Causal link stated", "values": [True], "applies_to": ["all"]},
]
NOTE = "Use ppi_registry segments with valence positive only. Left out: the cx flag on mot_help."


@pytest.fixture(scope="module")
def codebook(mini_codebook_path):
    """The mini codebook with two modifiers and a hypothesis whose note asks for a valence filter."""
    data = yaml.safe_load(Path(mini_codebook_path).read_text(encoding="utf-8"))
    data["conventions"] = {"modifiers": MODIFIERS}
    data["hypotheses"][0]["note"] = NOTE
    return parse_codebook(yaml.safe_dump(data, sort_keys=False), name="modifiers codebook")


def _project(path: Path, codebook, transcript_file) -> Project:
    project = Project.init(path, codebook)
    list(import_paths(project, [transcript_file]))
    return project


@pytest.fixture()
def coded(tmp_path, codebook, transcript_file):
    """A project with one coding of ppi_registry by ana; yields (project, coding id)."""
    project = _project(tmp_path / "proj", codebook, transcript_file)
    s = project.document_text("p01.txt").index("The registry form")
    cid = project.add_coding(
        "p01.txt", s, s + 17, "ppi_registry", coder="ana", modifiers={"valence": "negative"}
    )
    yield project, cid
    project.close()


def _mods(project: Project) -> list[dict]:
    return list(project.codings()["modifiers"])


def test_bad_modifiers_are_refused_with_their_names_and_nothing_is_written(coded):
    project, cid = coded
    before = len(project.audit_log())
    for values, words in [
        ({"tone": "warm"}, ["unknown modifier 'tone'", "valence, cx"]),
        ({"valence": "mixed"}, ["no value 'mixed'", "positive, negative"]),
        ({"cx": "yes"}, ["no value 'yes'", "true"]),
    ]:
        with pytest.raises(StoreError) as err:
            project.set_modifiers(cid, values, coder="ana")
        assert all(w in str(err.value) for w in words), str(err.value)
    with pytest.raises(StoreError, match="'valence' does not apply to code 'mot_help'"):
        project.add_coding("p01.txt", 0, 9, "mot_help", coder="ana", modifiers={"valence": "positive"})
    assert _mods(project) == [{"valence": "negative"}] and len(project.audit_log()) == before


def test_only_the_coder_sets_modifiers_and_undo_takes_each_change_back(coded):
    project, cid = coded
    with pytest.raises(StoreError, match="is ana's"):
        project.set_modifiers(cid, {"valence": "positive"}, coder="ben")
    assert project.set_modifiers(cid, {"valence": "positive", "cx": True}, coder="ana") == {
        "valence": "positive",
        "cx": "true",
    }
    assert project.set_modifiers(cid, {"cx": None}, coder="ana") == {"valence": "positive"}
    with pytest.raises(StoreError, match="already has these modifiers"):
        project.set_modifiers(cid, {"valence": "positive"}, coder="ana")
    entry = project.audit_log().iloc[-1]
    assert entry["action"] == "modify" and json.loads(entry["detail"])["after"] == {"valence": "positive"}
    assert "modifiers back" in project.undo(coder="ana").message
    assert _mods(project) == [{"valence": "positive", "cx": "true"}]
    project.undo(coder="ana")
    assert _mods(project) == [{"valence": "negative"}]
    project.recode(cid, coder="ana", code="mot_help")  # valence does not apply to mot_help: dropped
    assert _mods(project) == [{}]
    project.undo(coder="ana")
    assert list(project.codings()["code"]) == ["ppi_registry"] and _mods(project) == [{"valence": "negative"}]


def test_cli_coding_set(coded):
    project, cid = coded
    run = CliRunner().invoke
    args = ["--coder", "ana", "--project", str(project.directory)]
    result = run(main, ["coding", "set", cid, "valence=positive", "cx=true", *args])
    assert result.exit_code == 0 and "cx=true, valence=positive" in result.output
    assert run(main, ["coding", "set", cid, "cx=", *args]).exit_code == 0
    assert _mods(project) == [{"valence": "positive"}]
    result = run(main, ["coding", "set", cid, "valence=mixed", *args])
    assert result.exit_code == 2 and "no value 'mixed'" in result.output
    result = run(main, ["coding", "set", cid, "valence", *args])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output
    assert "[valence=positive]" in run(main, ["coding", "list", *args]).output


def _gold_lines(project: Project) -> list[dict]:
    text = project.document_text("p01.txt")
    a, b = text.index("So I give back now."), text.index("The registry form")
    return [
        {
            "document": "p01.txt",
            "start": a,
            "end": a + 19,
            "codes": ["mot_help"],
            "modifiers": {"mot_help": {"cx": True}},
        },
        {
            "document": "p01.txt",
            "start": b,
            "end": b + 17,
            "codes": ["ppi_registry", "mot_credit"],
            "modifiers": {"ppi_registry": {"valence": "negative", "cx": True}},
        },
    ]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _stored(project: Project) -> list[tuple]:
    df = project.codings()
    return sorted(
        zip(df["start"], df["code"], df["coder"], [tuple(sorted(m.items())) for m in df["modifiers"]])
    )


def test_jsonl_import_checks_modifiers_whole_and_updates_existing_codings(
    tmp_path, codebook, transcript_file
):
    project = _project(tmp_path / "p", codebook, transcript_file)
    lines = _gold_lines(project)
    for bad, words in [
        ({"ppi_registry": {"valence": "mixed"}}, "no value 'mixed'"),
        ({"mot_credit": {"valence": "positive"}}, "does not apply to code 'mot_credit'"),
        ({"mot_help": {"cx": True}}, "'mot_help', which is not among the line's codes"),
    ]:
        f = _write(tmp_path / "bad.jsonl", [lines[0], dict(lines[1], modifiers=bad)])
        with pytest.raises(ClhsError, match=words) as err:
            import_codings_jsonl(project, f, coder="ana")
        assert err.value.where == "bad.jsonl:2"
        assert project.codings().empty  # nothing written
    assert import_codings_jsonl(project, _write(tmp_path / "g.jsonl", lines), coder="ana") == 3
    assert ("mot_credit", ()) in [(c, m) for _, c, _, m in _stored(project)]
    changed = [lines[0], dict(lines[1], modifiers={"ppi_registry": {"valence": "positive"}})]
    assert import_codings_jsonl(project, _write(tmp_path / "g2.jsonl", changed), coder="ana") == 0
    assert (("valence", "positive"),) in [m for *_, m in _stored(project)]
    project.close()


def test_modifiers_round_trip_through_jsonl_csv_and_excel(tmp_path, codebook, transcript_file):
    project = _project(tmp_path / "a", codebook, transcript_file)
    import_codings_jsonl(project, _write(tmp_path / "g.jsonl", _gold_lines(project)), coder="ana")
    write_csv(codings_table(project), tmp_path / "c.csv")
    table = pd.read_csv(tmp_path / "c.csv", keep_default_na=False)
    assert list(table.columns[table.columns.get_loc("created_at") + 1 :][:2]) == ["valence", "cx"]
    rows = [
        {
            "document": r["document"],
            "start": int(r["start"]),
            "end": int(r["end"]),
            "codes": [r["code"]],
            "modifiers": {r["code"]: {k: r[k] for k in ("valence", "cx") if r[k] != ""}},
        }
        for r in table.to_dict("records")
    ]
    other = _project(tmp_path / "b", codebook, transcript_file)
    import_codings_jsonl(other, _write(tmp_path / "back.jsonl", rows), coder="ana")
    assert _stored(other) == _stored(project)
    codings_workbook(project, tmp_path / "c.xlsx")
    wb = load_workbook(tmp_path / "c.xlsx", read_only=True)
    header = [c.value for c in next(wb["codings"].iter_rows(max_row=1))]
    assert header.index("valence") == header.index("coder") + 1
    sheet = [c.value for c in next(wb["ppi_registry"].iter_rows(max_row=1))]
    assert {"valence", "cx"} <= set(sheet) and "valence" not in [
        c.value for c in next(wb["mot_help"].iter_rows(max_row=1))
    ]
    project.close(), other.close()


def test_modifiers_round_trip_through_refi_qda_as_notes_on_codings(
    tmp_path, codebook, mini_codebook, transcript_file
):
    project = _project(tmp_path / "a", codebook, transcript_file)
    import_codings_jsonl(project, _write(tmp_path / "g.jsonl", _gold_lines(project)), coder="ana")
    report = export_qdpx(project, tmp_path / "x.qdpx")
    assert report.counts["modifiers (as notes on codings)"] == 3 and report.counts["codings"] == 3
    other = Project.init(tmp_path / "b", codebook)
    report = import_qdpx(other, tmp_path / "x.qdpx", save_report=False)
    assert report.lossless and report.counts["codes added"] == 0 and report.counts["codings"] == 3
    assert report.counts["modifiers (from notes on codings)"] == 3 and report.counts["memos"] == 0
    assert _stored(other) == _stored(project)
    again = import_qdpx(other, tmp_path / "x.qdpx", save_report=False)
    assert again.counts["modifier notes of codings already in the project"] == 2
    assert _stored(other) == _stored(project) and other.memos().empty
    plain = Project.init(tmp_path / "c", mini_codebook)  # no modifiers defined: the notes stay memos
    report = import_qdpx(plain, tmp_path / "x.qdpx", save_report=False)
    assert report.size("changed", "modifier notes the codebook does not allow (kept as memos)") == 2
    assert len(plain.memos()) == 2 and set(map(str, plain.codings()["modifiers"])) == {"{}"}
    project.close(), other.close(), plain.close()


def _filter_frames(n_cases: int = 12):
    """Per case 20 segments: 4 with ppi_registry (valence positive) and mot_help, 6 with ppi_registry
    (negative) alone, 4 more with mot_help alone: every ppi_registry segment is as likely to carry
    mot_help as any other, but the positive ones always do."""
    seg_rows, rows = [], []
    for c in range(n_cases):
        doc = f"d{c}"
        for i in range(20):
            seg_rows.append((doc, i, i * 10, i * 10 + 9))
            if i < 10:
                rows.append(
                    (
                        doc,
                        "ppi_registry",
                        i * 10,
                        i * 10 + 5,
                        {"valence": "positive" if i < 4 else "negative"},
                    )
                )
            if i < 4 or 10 <= i < 14:
                rows.append((doc, "mot_help", i * 10 + 2, i * 10 + 9, {}))
    segs = pd.DataFrame(seg_rows, columns=["document", "idx", "start", "end"]).assign(turn=lambda d: d["idx"])
    cod = pd.DataFrame(rows, columns=["document", "code", "start", "end", "modifiers"]).assign(coder="x")
    docs = pd.DataFrame(
        {"name": [f"d{c}" for c in range(n_cases)], "case": None, "attributes": [{}] * n_cases}
    )
    return cod, segs, docs


def test_a_hypothesis_applies_its_note_filter_only_where_the_data_carry_it(codebook):
    h = dataclasses.replace(codebook.hypotheses[0], contrast=())
    cod, segs, docs = _filter_frames()
    kw = dict(codebook=codebook, permutations=200, n_boot=20)
    with_ = evaluate_hypotheses(cod, segs, docs, [h], **kw).iloc[0]
    assert with_["mechanism"] == "any of ppi_registry[valence=positive]" and with_["caveat"] == ""
    assert (with_["n_mechanism"], with_["n_both"]) == (48, 48) and with_["verdict"] == "supported"
    without = evaluate_hypotheses(cod.drop(columns="modifiers"), segs, docs, [h], **kw).iloc[0]
    assert without["mechanism"] == "any of ppi_registry" and without["verdict"] != "supported"
    assert without["n_mechanism"] == 120 and abs(without["effect_rd"]) < 1e-9
    assert without["caveat"] == (
        "modifier valence not coded in these data for ppi_registry; tested without the filter"
    )
    partial = cod.copy()
    partial.loc[partial.index[partial["code"] == "ppi_registry"][:5], "modifiers"] = [{}] * 5
    caveat = evaluate_hypotheses(partial, segs, docs, [h], **kw).iloc[0]["caveat"]
    assert caveat == "valence set on 115 of 120 ppi_registry codings; the others do not count"
    no_note = dataclasses.replace(h, note="")
    assert evaluate_hypotheses(cod, segs, docs, [no_note], **kw).iloc[0]["n_mechanism"] == 120


def test_the_shipped_notes_ask_for_these_filters():
    cb = load_codebook(shipped_codebook_path())
    got = {h.id: [(f.code, f.modifier, f.values) for f in modifier_filters(h, cb)] for h in cb.hypotheses}
    assert got == {
        **{h.id: [] for h in cb.hypotheses},
        "H2": [("act_engagement_depth", "engagement_level", ("produce", "lead"))],
        "H7": [("com_create_contribute", "originator", ("patient_family",))],
        "H8": [("com_governance_norms", "valence", ("positive",))],
        "H9": [("out_health_care", "cx", ("true",))],
    }


def test_the_gold_modifiers_follow_the_codebook_and_cover_the_double_coded_sample():
    cb = load_codebook(shipped_codebook_path())
    used = {"act_engagement_depth", "com_create_contribute", "com_governance_norms", "out_health_care"}
    carried = {}
    for name in ("train.jsonl", "test.jsonl", "first_coder.jsonl", "second_coder.jsonl"):
        rows = [json.loads(line) for line in (GOLD / name).read_text(encoding="utf-8").splitlines()]
        for n, row in enumerate(rows, 1):
            for code, values in row.get("modifiers", {}).items():
                assert code in row["codes"] and code in used, f"{name}:{n}"
                assert check_modifiers(cb, code, values) and values, f"{name}:{n}"
        carried[name] = sum(bool(r.get("modifiers")) for r in rows)
    assert carried["train.jsonl"] >= 600 and carried["test.jsonl"] >= 200
    assert min(carried["first_coder.jsonl"], carried["second_coder.jsonl"]) >= 100
    train = [json.loads(line) for line in (GOLD / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    for code, key in [("act_engagement_depth", "engagement_level"), ("com_create_contribute", "originator")]:
        coded = [r for r in train if code in r["codes"]]
        assert all(key in r.get("modifiers", {}).get(code, {}) for r in coded), code
    assert (
        np.mean(
            [
                bool(r.get("modifiers", {}).get("out_health_care"))
                for r in train
                if "out_health_care" in r["codes"]
            ]
        )
        < 1
    )


def test_a_review_decision_carries_the_modifiers_chosen_on_the_item(tmp_path, codebook, transcript_file):
    """The Review page's one-click modifiers go through ReviewSession.decide onto the coding made; a
    value the codebook does not define refuses the decision, nothing stored."""
    from clhs_mechanisms.review import ReviewSession

    project = _project(tmp_path / "proj", codebook, transcript_file)
    segs = project.segments(codable_only=True)
    project.add_suggestions(
        [{"segment_id": segs.id.iloc[i], "code": "ppi_registry", "score": 0.6} for i in (0, 1)],
        method="cues",
        model_version=None,
    )
    session = ReviewSession(project, "ana")
    first = session.next(project.suggestions(), mode="document")
    assert session.decide(first, "accept", modifiers={"valence": "mixed"}).refused
    assert project.decisions().empty and project.codings().empty
    assert session.decide(first, "accept", modifiers={"valence": "negative"}).refused is None
    assert _mods(project) == [{"valence": "negative"}]
    project.close()


def test_the_pages_offer_one_click_modifiers(coded, monkeypatch):
    """Review and Documents show the code's modifiers as pills (the values the codebook defines)."""
    from streamlit.testing.v1 import AppTest

    from .test_app import APP, PAGES

    project, cid = coded
    seg = project.segments(codable_only=True).iloc[0]
    project.add_suggestions(
        [{"segment_id": seg.id, "code": "ppi_registry", "score": 0.6}], method="cues", model_version=None
    )
    monkeypatch.setenv("CLHS_PROJECT", str(project.directory))
    for page in ("review.py", "documents.py"):
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["coder"] = "ana"
        at.run()
        at.switch_page(str(PAGES / page)).run()
        assert not at.exception, at.exception
        pills = [e for e in at.get("button_group")]
        assert pills, page  # Valence (and the cx flag) for a ppi code
