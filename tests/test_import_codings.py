"""`clhs import-codings`: coded segments in the gold-data format become one coder's codings, all or
nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from clhs_mechanisms import import_paths
from clhs_mechanisms.cli import main
from clhs_mechanisms.interop.gold import import_codings_jsonl


def _lines(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_import_is_checked_whole_and_idempotent(project, transcript_file, tmp_path):
    list(import_paths(project, [transcript_file]))
    text = project.document_text("p01.txt")
    s = text.index("So I give back now.")
    good = {
        "document": "p01.txt",
        "start": s,
        "end": s + 19,
        "text": "So I give back now.",
        "codes": ["mot_help"],
    }
    f = _lines(tmp_path / "c.jsonl", [good])
    assert import_codings_jsonl(project, f, coder="ana") == 1
    assert import_codings_jsonl(project, f, coder="ana") == 0  # the same file again adds nothing
    assert import_codings_jsonl(project, f, coder="ana", documents={"other.txt"}) == 0
    bad = _lines(tmp_path / "bad.jsonl", [good, dict(good, codes=["mot_nope"])])
    result = CliRunner().invoke(
        main, ["import-codings", str(bad), "--coder", "ben", "--project", str(project.directory)]
    )
    assert result.exit_code == 2 and "bad.jsonl:2" in result.output and "mot_nope" in result.output
    shifted = _lines(tmp_path / "shift.jsonl", [dict(good, start=s + 1, end=s + 20)])
    result = CliRunner().invoke(
        main, ["import-codings", str(shifted), "--coder", "ben", "--project", str(project.directory)]
    )
    assert result.exit_code == 2 and "does not hold the line's text" in result.output
    assert set(project.codings()["coder"]) == {"ana"}  # nothing of ben's was written
