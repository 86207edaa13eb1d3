"""The review session and taking work back: decide, widen, disagree, undo, change and delete codings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from clhs_mechanisms import StoreError, import_paths
from clhs_mechanisms.cli import main
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.review import ReviewSession


@pytest.fixture()
def pending(project, transcript_file):
    """Three suggestions on consecutive codable segments of one transcript."""
    list(import_paths(project, [transcript_file]))
    segs = project.segments(codable_only=True)
    rows = [
        {"segment_id": segs.id.iloc[i], "code": code, "score": score, "components": {"threshold": 0.5}}
        for i, (code, score) in enumerate((("mot_help", 0.55), ("ppi_registry", 0.52), ("mot_credit", 0.51)))
    ]
    project.add_suggestions(rows, method="ensemble", model_version="m1")
    return project


def test_a_widened_span_never_reaches_the_next_item(pending):
    """Issue 16: the span choice belongs to the item it was made on; the next accept codes its own
    segment (before, '+ next segment' stayed set and an accept stored 4061-4365 for 4061-4231)."""
    session = ReviewSession(pending, "ana")
    first = session.next(pending.suggestions(), mode="document")
    widened = session.decide(first, "accept", widen="next")
    assert widened.action == "edit" and widened.refused is None
    second = session.next(pending.suggestions(), mode="document")
    assert second.id != first.id
    plain = session.decide(second, "accept")
    assert plain.action == "accept"
    codings = pending.codings().set_index("code")
    assert (codings.loc[first.code, "start"], codings.loc[first.code, "end"]) == first.span("next")
    assert (codings.loc[second.code, "start"], codings.loc[second.code, "end"]) == second.span()
    assert first.span("next") != first.span()


def test_recode_stores_an_edit_and_reject_stores_nothing_coded(pending):
    session = ReviewSession(pending, "ana")
    item = session.next(pending.suggestions(), mode="document")
    assert session.decide(item, "recode", code="mot_credit").action == "edit"
    item = session.next(pending.suggestions(), mode="document")
    assert session.decide(item, "reject").action == "reject"
    assert pending.codings()["code"].tolist() == ["mot_credit"]
    with pytest.raises(ClhsError, match="needs the code"):
        session.decide(item, "recode")


def test_a_refused_decision_can_be_kept_as_a_disagreement(pending):
    ana, bo = ReviewSession(pending, "ana"), ReviewSession(pending, "bo")
    item = bo.next(pending.suggestions(), mode="document")
    assert ana.decide(item, "reject").refused is None
    outcome = bo.decide(item, "accept")
    assert outcome.refused and "already decided (reject) by ana" in outcome.refused
    bo.disagree(item, "accept", outcome.refused)
    bo.disagree(item, "accept", outcome.refused)  # twice: one coding
    assert pending.codings()["coder"].tolist() == ["bo"]
    assert pending.memos()["text"].str.startswith("Disagreement: bo would accept").sum() == 2


def test_retraining_is_due_every_n_decisions(pending):
    session = ReviewSession(pending, "ana", retrain_every=2)
    due = [
        session.decide(session.next(pending.suggestions(), mode="document"), "reject").retrain_due
        for _ in range(3)
    ]
    assert due == [False, True, False]


def test_undo_takes_back_decisions_and_codings_in_reverse_order(pending):
    """Undo (U): the suggestion is pending again and its coding gone; a hand coding is removed; the
    audit log keeps all of it; with nothing left: a message, nothing changed."""
    session = ReviewSession(pending, "ana")
    item = session.next(pending.suggestions(), mode="document")
    session.decide(item, "accept")
    pending.add_coding(item.document, *item.span(), "ppi_registry", coder="ana")
    pending.add_coding(item.document, *item.span(), "mot_credit", coder="bo")  # not ana's: never undone
    assert "removed the coding of 'ppi_registry'" in session.undo().message
    undone = session.undo()
    assert (undone.action, undone.entity_id) == ("accept", item.id)
    assert item.id in set(pending.suggestions()["id"]) and pending.decisions().empty
    assert pending.codings()["coder"].tolist() == ["bo"]
    with pytest.raises(StoreError, match="nothing to undo"):
        session.undo()
    assert pending.audit_log()["action"].tolist().count("undo") == 2
    again = session.next(pending.suggestions(), mode="document")
    assert session.decide(again, "reject").refused is None  # decidable again


def test_change_delete_and_duplicate_codings(pending):
    item = ReviewSession(pending, "ana").next(pending.suggestions(), mode="document")
    start, end = item.span()
    cid = pending.add_coding(item.document, start, end, "mot_help", coder="ana")
    with pytest.raises(StoreError, match="already coded 'mot_help'"):
        pending.add_coding(item.document, start, end, "mot_help", coder="ana")
    with pytest.raises(StoreError, match="only its coder"):
        pending.delete_coding(cid, coder="bo")
    pending.recode(cid, coder="ana", code="mot_credit", span=(start, end - 1))
    row = pending.codings().iloc[0]
    assert (row.code, row.end, row.quote) == (
        "mot_credit",
        end - 1,
        pending.document_text(item.document)[start : end - 1],
    )
    assert "gave the coding its code 'mot_help'" in pending.undo(coder="ana").message
    assert pending.codings().iloc[0].code == "mot_help"
    pending.delete_coding(cid, coder="ana")
    assert pending.codings().empty
    pending.undo(coder="ana")  # the deletion is taken back
    assert pending.codings()["id"].tolist() == [cid]
    with pytest.raises(StoreError, match="outside the document"):
        pending.recode(cid, coder="ana", span=(0, 10**9))


def test_cli_undo_and_coding_commands(pending):
    project_dir = str(pending.directory)
    item = ReviewSession(pending, "ana").next(pending.suggestions(), mode="document")
    cid = pending.add_coding(item.document, *item.span(), "mot_help", coder="ana")
    run = CliRunner().invoke
    listed = run(main, ["coding", "list", "--coder", "ana", "--project", project_dir])
    assert listed.exit_code == 0 and cid in listed.output and "mot_help" in listed.output
    changed = run(
        main, ["coding", "edit", cid, "--code", "mot_credit", "--coder", "ana", "--project", project_dir]
    )
    assert changed.exit_code == 0, changed.output
    refused = run(main, ["coding", "delete", cid, "--coder", "bo", "--project", project_dir])
    assert (
        refused.exit_code == 2 and refused.output.startswith("error:") and "only its coder" in refused.output
    )
    assert run(main, ["coding", "delete", cid, "--coder", "ana", "--project", project_dir]).exit_code == 0
    undone = run(main, ["undo", "--coder", "ana", "--project", project_dir])
    assert undone.exit_code == 0 and "restored the deleted coding" in undone.output
    assert pending.codings()["code"].tolist() == ["mot_credit"]
    nothing = run(main, ["undo", "--coder", "cleo", "--project", project_dir])
    assert nothing.exit_code == 2 and "nothing to undo" in nothing.output


def test_a_literature_excerpt_has_no_neighbouring_papers_as_context(project, tmp_path):
    """Issue 16: an excerpt's context is its own excerpt, never the table's next row."""
    table = tmp_path / "lit.csv"
    table.write_text(
        "id,authors,year,text\n"
        "L1,Okafor A,2020,Registries feed care and research. Centres share data monthly.\n"
        "L2,Lee B,2021,Families join because others helped them.\n",
        encoding="utf-8",
    )
    list(import_paths(project, [table]))
    segs = project.segments(codable_only=True)
    project.add_suggestions(
        [{"segment_id": segs.id.iloc[-1], "code": "mot_help", "score": 0.6}],
        method="cues",
        model_version=None,
    )
    item = ReviewSession(project, "ana").next(project.suggestions())
    assert (item.suggestion["kind"], item.before, item.after) == ("literature", (), ())
