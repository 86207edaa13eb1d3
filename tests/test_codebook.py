"""Codebook loading, validation with file:line:field errors, and lint."""

from __future__ import annotations

import re

import pytest

from clhs_mechanisms import CodebookError, lint_codebook, load_codebook, parse_codebook
from clhs_mechanisms.codebook import shipped_codebook_path

from .conftest import REFERENCE


def _mini_text(mini_codebook_path) -> str:
    return mini_codebook_path.read_text(encoding="utf-8")


def test_loads_into_immutable_objects(mini_codebook):
    cb = mini_codebook
    assert cb.id == "mini" and cb.version == "0.1.0"
    assert cb.code_ids == ("mot_help", "mot_credit", "ppi_registry")
    code = cb.code("mot_help")
    assert code.exclude[0].code == "mot_credit"
    assert code.counterexamples[0].code == "mot_credit"
    assert code.patterns[0][0] == {"LEMMA": "give"}
    assert cb.hypotheses[0].contrast == ("mot_credit",)
    with pytest.raises(AttributeError):
        code.label = "x"  # frozen
    assert len(cb.sha256) == 64


def test_unknown_code_suggests_close_match(mini_codebook):
    with pytest.raises(CodebookError, match=r"unknown code 'mot_hlep' \(did you mean 'mot_help'"):
        mini_codebook.code("mot_hlep")


def test_unknown_exclude_target_names_line_and_field(mini_codebook_path):
    text = _mini_text(mini_codebook_path).replace(
        'code: mot_credit\n    examples:\n      - "I do it',
        'code: mot_credti\n    examples:\n      - "I do it',
    )
    line = text.splitlines().index("        code: mot_credti") + 1
    with pytest.raises(CodebookError) as err:
        parse_codebook(text, name="codebook.yaml")
    assert str(err.value).startswith(
        f"codebook.yaml:{line}: code 'mot_help': exclude[0]: refers to unknown code 'mot_credti'"
    )


def test_malformed_yaml_reports_line(mini_codebook_path):
    text = _mini_text(mini_codebook_path).replace("label: Registry", "label: [Registry")
    with pytest.raises(CodebookError, match=r"^codebook.yaml:\d+: malformed YAML"):
        parse_codebook(text, name="codebook.yaml")


def test_duplicate_id(mini_codebook_path):
    text = _mini_text(mini_codebook_path).replace("- id: ppi_registry", "- id: mot_credit")
    with pytest.raises(CodebookError, match=r"and \d+ more errors") as err:
        parse_codebook(text, name="cb.yaml")
    assert any(
        re.search(
            r"cb.yaml:\d+: code 'mot_credit': id: duplicate id 'mot_credit' \(first defined at line \d+\)", m
        )
        for m in err.value.errors
    )


def test_unknown_parent_and_cycle(mini_codebook_path):
    base = _mini_text(mini_codebook_path)
    unknown = base.replace("    domain: ppi\n", "    domain: ppi\n    parent: ppi_nothing\n")
    with pytest.raises(CodebookError, match="parent: refers to unknown code 'ppi_nothing'"):
        parse_codebook(unknown, name="cb.yaml")
    cycle = base.replace("    domain: ppi\n", "    domain: ppi\n    parent: mot_help\n").replace(
        "    label: Helping others\n    domain: mot\n",
        "    label: Helping others\n    domain: mot\n    parent: ppi_registry\n",
    )
    with pytest.raises(CodebookError, match="parent cycle"):
        parse_codebook(cycle, name="cb.yaml")


def test_schema_error_names_field(mini_codebook_path):
    text = _mini_text(mini_codebook_path).replace("status: F-rel", "status: maybe")
    with pytest.raises(
        CodebookError, match=r"cb.yaml:\d+: code 'ppi_registry': evidence.status: 'maybe' is not one of"
    ):
        parse_codebook(text, name="cb.yaml")


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(CodebookError, match="empty codebook"):
        load_codebook(empty)
    comments = tmp_path / "comments.yaml"
    comments.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="empty codebook"):
        load_codebook(comments)
    with pytest.raises(CodebookError, match="no such codebook file"):
        load_codebook(tmp_path / "nope.yaml")


def test_lint_reports_overlaps_and_thin_codes(mini_codebook_path):
    text = _mini_text(mini_codebook_path).replace(
        "      - dashboard\n", "      - dashboard\n      - credit\n"
    )
    warnings = lint_codebook(parse_codebook(text))
    kinds = {(w.code, w.kind) for w in warnings}
    assert ("mot_credit", "duplicate-cue") in kinds
    thin = text.replace('      - "If one kid avoids the hospital, it was worth it."\n', "")
    assert ("mot_help", "examples") in {(w.code, w.kind) for w in lint_codebook(parse_codebook(thin))}


def test_lint_example_matching_other_code(mini_codebook_path):
    text = _mini_text(mini_codebook_path).replace(
        '"My chair expects it."', '"My chair expects it, and the dashboard shows it."'
    )
    hits = [w for w in lint_codebook(parse_codebook(text)) if w.kind == "example-matches-other"]
    assert [w.code for w in hits] == ["mot_credit"] and "ppi_registry" in hits[0].message


def _spec_code_ids() -> list[str]:
    spec = (REFERENCE / "codebook_spec_codes.md").read_text(encoding="utf-8")
    return re.findall(r"^\*\*[A-G]\d `([a-z_]+)`", spec, flags=re.MULTILINE)


def test_shipped_codebook_matches_spec():
    cb = load_codebook(shipped_codebook_path())
    spec_ids = _spec_code_ids()
    assert len(spec_ids) == 35
    assert sorted(cb.code_ids) == sorted(spec_ids)
    assert len(cb.domains) == 7
    assert [h.id for h in cb.hypotheses] == [f"H{i}" for i in range(1, 11)]
    for code in cb.codes:
        assert len(code.examples) >= 3, code.id
        assert len(code.counterexamples) >= 2, code.id
        assert code.cues and code.definition and code.include and code.exclude, code.id
        assert code.evidence is not None and code.sources, code.id
    assert "10.1002/lrh2.10278" in str(cb.framework.get("doi"))


@pytest.mark.parametrize(
    "text, message",
    [
        # an alias bomb: 500 bytes that expand to a billion values
        (
            'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
            + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10))
            + "codes: *a9\n",
            "too large or too deeply nested once its aliases are expanded",
        ),
        ("x: " + "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("id: a\x00b\n", "malformed YAML: unacceptable character #x0000"),
        ("id: x\ndescription: '" + "y" * 5_000_001 + "'\n", "too large for a codebook"),
    ],
)
def test_hostile_codebooks_get_a_one_line_error(text, message):
    with pytest.raises(CodebookError) as err:
        parse_codebook(text, "hostile.yaml")
    assert (
        message in str(err.value) and "\n" not in str(err.value) and str(err.value).startswith("hostile.yaml")
    )


def test_aliases_within_limits_still_load(mini_codebook_path):
    lines = mini_codebook_path.read_text(encoding="utf-8").split("\n")
    first, second = [i for i, line in enumerate(lines) if line.strip() == "cues:"][:2]
    lines[first] += " &shared"  # the first code's cue list, reused by the second code
    end = second + 1
    while lines[end].strip().startswith("- "):
        end += 1
    lines[second:end] = [lines[second] + " *shared"]
    codebook = parse_codebook("\n".join(lines))
    assert codebook.codes[0].cues == codebook.codes[1].cues


def test_an_invalid_spacy_pattern_is_refused_with_its_line(mini_codebook_path):
    lines = mini_codebook_path.read_text(encoding="utf-8").split("\n")
    at = next(i for i, line in enumerate(lines) if "{LEMMA: give}" in line)
    lines[at] = lines[at].replace("LEMMA", "LEMA")  # a key spaCy's Matcher does not know
    with pytest.raises(CodebookError) as err:
        parse_codebook("\n".join(lines), "bad.yaml")
    assert str(err.value).startswith(f"bad.yaml:{at + 1}:") and "not a valid spaCy token pattern" in str(
        err.value
    )
