"""Suggestions become codings only through a human decision; decisions are never overwritten."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from clhs_mechanisms import StoreError, import_paths
from clhs_mechanisms.cli import main


@pytest.fixture()
def suggested(project, transcript_file):
    list(import_paths(project, [transcript_file]))
    segs = project.segments(codable_only=True)
    rows = [
        {
            "segment_id": segs.id.iloc[0],
            "code": "mot_help",
            "score": 0.81,
            "components": {"cues": 0.9},
            "evidence": [{"start": 0, "end": 4, "text": "Hone", "why": "test"}],
        },
        {
            "segment_id": segs.id.iloc[1],
            "code": "ppi_registry",
            "score": 0.4,
            "components": {},
            "evidence": [],
        },
    ]
    project.add_suggestions(rows, method="ensemble", model_version="m1")
    return project


def test_accept_reject_and_edit(suggested):
    project = suggested
    pending = project.suggestions()
    assert len(pending) == 2 and pending.components.iloc[0] == {"cues": 0.9}
    first, second = pending.id.tolist()
    project.decide(first, "accept", coder="ana")
    project.decide(second, "edit", code="mot_credit", coder="ben")
    codings = project.codings()
    assert sorted(codings.code) == ["mot_credit", "mot_help"]
    assert set(codings.origin) == {"suggestion"} and set(codings.coder) == {"ana", "ben"}
    assert project.suggestions().empty
    d = project.decisions()
    assert list(d.action) == ["accept", "edit"] and list(d.code) == ["mot_help", "mot_credit"]


def test_second_decision_is_refused_with_who_and_when(suggested):
    project = suggested
    sid = project.suggestions().id.iloc[0]
    project.decide(sid, "reject", coder="ana")
    with pytest.raises(StoreError, match=r"already decided \(reject\) by ana at \d{4}-"):
        project.decide(sid, "accept", coder="ben")
    assert project.codings().empty and len(project.decisions()) == 1


def test_concurrent_decisions_only_one_wins(suggested):
    project = suggested
    sid = project.suggestions().id.iloc[0]
    outcomes: list[str] = []

    def decide(name: str) -> None:
        try:
            project.decide(sid, "accept", coder=name)
            outcomes.append("ok")
        except StoreError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=decide, args=(n,)) for n in ("ana", "ben", "cy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert all("already decided" in o for o in outcomes if o != "ok")
    assert len(project.codings()) == 1 and len(project.decisions()) == 1


def test_bad_decisions(suggested):
    project = suggested
    sid = project.suggestions().id.iloc[0]
    with pytest.raises(StoreError, match="no suggestion"):
        project.decide("nope", "accept", coder="ana")
    with pytest.raises(StoreError, match="unknown code 'mot_nothing'"):
        project.decide(sid, "edit", code="mot_nothing", coder="ana")
    with pytest.raises(StoreError, match="unknown code"):
        project.add_suggestions(
            [{"segment_id": "x", "code": "nope", "score": 1}], method="cues", model_version=None
        )
    assert project.suggestions().status.eq("pending").all()


def test_new_run_supersedes_pending_but_keeps_decided(suggested):
    project = suggested
    first = project.suggestions()
    project.decide(first.id.iloc[0], "accept", coder="ana")
    rows = [{"segment_id": s, "code": c, "score": 0.5} for s, c in zip(first.segment_id, first.code)]
    n = len(first) - 1  # all but the decided pair
    assert project.add_suggestions(rows, method="cues", model_version=None) == n
    assert sorted(project.suggestions(status=None).status) == ["decided"] + ["pending"] * n + ["stale"] * n


def test_a_decided_pair_never_comes_back_and_a_superseded_suggestion_can_still_be_decided(suggested):
    """Issue 18, item 10: a suggestion pass that read the settled pairs before a reviewer decided
    stores nothing for the decided pair; a reviewer deciding a suggestion that a newer pass made
    stale (same text) is not refused, and the newer suggestion for that pair leaves the queue."""
    project = suggested
    first = project.suggestions()
    rows = [{"segment_id": s, "code": c, "score": 0.6} for s, c in zip(first.segment_id, first.code)]
    row = dict(enumerate(rows)).get
    project.decide(first.id.iloc[0], "reject", coder="ana")
    project.add_suggestions([row(0)], method="cues", model_version=None)  # read before the decision
    assert len(project.suggestions()) == len(first) - 1
    project.add_suggestions([row(1)], method="cues", model_version=None)  # supersedes suggestion 1
    newer = project.suggestions().query("segment_id == @first.segment_id.iloc[1]").id.tolist()
    project.decide(first.id.iloc[1], "accept", coder="bo")  # the reviewer still had the old one open
    assert project.suggestions(status=None).set_index("id").loc[newer, "status"].tolist() == ["stale"]
    assert len(project.codings()) == 1
    with pytest.raises(StoreError, match="already decided \\(accept\\) by bo"):
        project.decide(newer[0], "reject", coder="ana")  # the pair is decided: never twice


def test_a_suggestion_on_replaced_text_is_refused_not_applied(project, transcript_file):
    """Suggest, re-import the document with a new first turn, then decide the old suggestion: refused
    with a message, nothing coded (before, the old offsets were applied to the new text)."""
    list(import_paths(project, [transcript_file]))
    seg = project.segments(codable_only=True).iloc[-1]
    project.add_suggestions(
        [{"segment_id": seg.id, "code": "mot_help", "score": 0.9, "components": {}, "evidence": []}],
        method="cues",
        model_version="t",
    )
    sid = project.suggestions()["id"].iloc[0]
    text = transcript_file.read_text(encoding="utf-8")
    transcript_file.write_text(
        text.replace("Interviewer: Thanks", "Interviewer: [laughs] Maybe it will rain. Thanks"),
        encoding="utf-8",
    )
    list(import_paths(project, [transcript_file], replace=True))
    with pytest.raises(StoreError, match="out of date"):
        project.decide(sid, "accept", coder="ana")
    assert project.codings().empty and project.decisions().empty
    result = CliRunner().invoke(
        main, ["decide", sid, "accept", "--coder", "ana", "--project", str(project.directory)]
    )
    assert result.exit_code == 2 and "out of date" in result.output and "(clhs suggest)" in result.output


def test_offsets_from_a_dataframe_are_stored_as_numbers(project, transcript_file):
    """numpy integers (what a DataFrame row gives) are stored as integers, not as bytes; a fraction
    is refused."""
    list(import_paths(project, [transcript_file]))
    seg = project.segments(codable_only=True).iloc[0]
    project.add_coding("p01.txt", seg.start, seg.end, "mot_help", coder="ana")  # numpy.int64
    codings = project.codings()
    assert codings["start"].dtype.kind == "i" and codings["end"].dtype.kind == "i"  # bytes would be object
    assert (int(codings.start.iloc[0]), int(codings.end.iloc[0])) == (int(seg.start), int(seg.end))
    with pytest.raises(StoreError, match="whole numbers"):
        project.add_coding("p01.txt", 0.5, 3, "mot_help", coder="ana")


def test_suggestion_progress_is_counted_in_the_database(suggested):
    project = suggested
    project.decide(project.suggestions().id.iloc[0], "reject", coder="ana")
    progress = project.suggestion_progress()
    rows = project.suggestions(status=None)
    expected = rows.groupby(["code", "status"]).size().unstack(fill_value=0)
    assert progress.to_dict() == expected.reindex(columns=["decided", "pending"], fill_value=0).to_dict()
    assert int(progress["decided"].sum()) == 1
