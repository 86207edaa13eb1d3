"""Who interviewed: named speakers' turns are not coded, set at import or afterwards (codings stay)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from clhs_mechanisms import StoreError, import_paths
from clhs_mechanisms.cli import main


def test_naming_the_interviewer_after_import_keeps_codings(project, transcript_file):
    list(import_paths(project, [transcript_file]))
    name = transcript_file.name
    segs = project.segments(document=name)
    answer = segs[segs["speaker"] == "P01"].iloc[0]
    project.add_coding(name, int(answer.start), int(answer.end), "mot_help", coder="ana")
    project.add_suggestions(
        [{"segment_id": answer.id, "code": "ppi_registry", "score": 0.6}], method="cues", model_version=None
    )
    changed = project.set_interviewers(name, ["p01 "])  # names match without case and blanks
    segs = project.segments(document=name)
    assert changed == int((segs["speaker"] == "P01").sum()) and not segs["codable"].any()
    assert project.codings()["code"].tolist() == ["mot_help"] and project.suggestions().empty
    assert project.documents().set_index("name").loc[name, "attributes"]["interviewer"] == "p01"
    with pytest.raises(StoreError, match="no speaker 'Dana'.*speakers: Interviewer, P01"):
        project.set_interviewers(name, ["Dana"])
    result = CliRunner().invoke(main, ["interviewers", name, "--project", str(project.directory)])
    assert result.exit_code == 0 and "segments changed" in result.output
    segs = project.segments(document=name)
    assert segs.set_index("speaker")["codable"].groupby(level=0).all().to_dict() == {
        "Interviewer": False,
        "P01": True,
    }
    assert "interviewer" not in project.documents().set_index("name").loc[name, "attributes"]


def test_import_names_interviewers_forces_a_layout_and_reads_whisper_tables(project, tmp_path):
    """clhs import --interviewer NAME (and a sidecar's interviewer column) marks named speakers not
    codable; --format forces a layout; Whisper's .tsv is a transcript, another .tsv a table of
    excerpts; a folder's JSON file that is not Whisper's output is left alone."""
    from .conftest import DATA

    folder = tmp_path / "zoom"
    folder.mkdir()
    (folder / "call.vtt").write_bytes((DATA / "transcripts" / "zoom.vtt").read_bytes())
    (folder / "notes.json").write_text('{"interviewer": "Dana"}', encoding="utf-8")
    where = ["--project", str(project.directory)]
    run = CliRunner().invoke
    result = run(main, ["import", str(folder), "--interviewer", "dana whitfield", "--format", "zoom", *where])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and "format detected" not in result.output
    segs = project.segments(document="call.vtt")
    codable = segs.groupby("speaker")["codable"].all().to_dict()
    assert codable["Dana Whitfield"] is False and codable["Paul McCartney"] is True
    table = tmp_path / "lit" / "excerpts.tsv"
    table.parent.mkdir()
    table.write_text("id\ttext\nL1\tRegistries feed care.\n", encoding="utf-8")
    whisper = tmp_path / "lit" / "talk.tsv"
    whisper.write_bytes((DATA / "transcripts" / "whisper.tsv").read_bytes())
    (tmp_path / "lit" / "attributes.csv").write_text("file,interviewer\ntalk.tsv,nobody\n", encoding="utf-8")
    assert run(main, ["import", str(tmp_path / "lit"), *where]).exit_code == 0
    kinds = project.documents().set_index("name")["kind"].to_dict()
    assert (kinds["excerpts.tsv"], kinds["talk.tsv"]) == ("literature", "interview")
    bad = run(main, ["import", str(folder / "call.vtt"), "--format", "nonsense", *where])
    assert bad.exit_code == 2 and bad.output.startswith("error:")


def test_an_interviewer_column_in_the_sidecar_names_them_per_document(project, tmp_path):
    from .conftest import DATA

    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / "a.vtt").write_bytes((DATA / "transcripts" / "zoom.vtt").read_bytes())
    (folder / "attributes.csv").write_text(
        "file,interviewer\na.vtt,Paul McCartney; Ringo Starr\n", encoding="utf-8"
    )
    list(import_paths(project, [folder]))
    codable = project.segments(document="a.vtt").groupby("speaker")["codable"].all().to_dict()
    assert (codable["Paul McCartney"], codable["Ringo Starr"], codable["Dana Whitfield"]) == (
        False,
        False,
        True,
    )
