"""Team mode and blind double coding: passwords as hashes, roles, settings, one decision per coder."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from clhs_mechanisms import StoreError, import_paths
from clhs_mechanisms.app import identity
from clhs_mechanisms.cli import main

from .test_app import APP, PAGES


@pytest.fixture()
def team(project, transcript_file):
    """A project with ana (coder), cy (adjudicator) and two pending suggestions."""
    list(import_paths(project, [transcript_file]))
    segs = project.segments(codable_only=True)
    project.add_suggestions(
        [{"segment_id": segs.id.iloc[i], "code": "mot_help", "score": 0.6} for i in (0, 1)],
        method="ensemble",
        model_version="m",
    )
    project.add_coder("ana", "correct horse")
    project.add_coder("bo", "battery staple")
    project.add_coder("cy", "adjudicate this", adjudicator=True)
    return project


def test_passwords_are_kept_only_as_hashes_and_checked(team):
    assert team.verify_coder("ana", "correct horse") and not team.verify_coder("ana", "correct horsE")
    assert not team.verify_coder("nobody", "correct horse") and not team.verify_coder("", "")
    assert (team.coder_role("cy"), team.coder_role("ana"), team.coder_role("nobody")) == (
        "adjudicator",
        "coder",
        None,
    )
    stored = (team.directory / "project.db").read_bytes() + b"".join(
        p.read_bytes() for p in team.directory.glob("project.db-*")
    )
    assert b"correct horse" not in stored and b"scrypt$" in stored
    with pytest.raises(StoreError, match="at least 8 characters"):
        team.add_coder("dee", "short")


def test_blind_coding_lets_every_coder_decide_every_suggestion_once(team):
    first = team.suggestions().id.iloc[0]
    team.decide(first, "accept", coder="ana")
    with pytest.raises(StoreError, match="already decided"):
        team.decide(first, "reject", coder="bo")  # not blind: one decision per suggestion
    team.set_setting("blind", "on")
    assert first in set(team.suggestions(for_coder="bo").id) and first not in set(
        team.suggestions(for_coder="ana").id
    )
    team.decide(first, "reject", coder="bo")
    with pytest.raises(StoreError, match="already decided \\(reject\\) by bo"):
        team.decide(first, "accept", coder="bo")
    assert sorted(team.decisions()["coder"]) == ["ana", "bo"]
    undone = team.undo(coder="bo")
    assert "yours to decide again" in undone.message and first in set(team.suggestions(for_coder="bo").id)
    assert team.suggestions(status=None).set_index("id").loc[first, "status"] == "decided"  # ana's stands
    with pytest.raises(StoreError, match="setting 'blind' is one of off, on"):
        team.set_setting("blind", "maybe")
    with pytest.raises(StoreError, match="unknown setting"):
        team.set_setting("colour", "on")


def test_session_tokens_are_signed_and_expire(tmp_path):
    token = identity.make_token(tmp_path, "ana")
    assert identity.read_token(tmp_path, token) == "ana"
    assert identity.read_token(tmp_path, token, now=time.time() + 8 * 86400) is None
    body, signature = token.rsplit(".", 1)
    (tmp_path / "elsewhere").mkdir()
    assert identity.read_token(tmp_path, identity.make_token(tmp_path / "elsewhere", "ana")) is None
    assert identity.read_token(tmp_path, body + "." + "0" * len(signature)) is None
    assert identity.read_token(tmp_path, "garbage") is None and identity.read_token(tmp_path, None) is None
    assert oct((tmp_path / identity.KEY_FILE).stat().st_mode & 0o777) == "0o600"


def test_cli_coder_add_list_and_settings(project):
    run = CliRunner().invoke
    where = ["--project", str(project.directory)]
    added = run(
        main, ["coder", "add", "ana", "--adjudicator", "--password-stdin", *where], input="long enough\n"
    )
    assert added.exit_code == 0 and "ana: can sign in (adjudicator)" in added.output
    short = run(main, ["coder", "add", "bo", "--password-stdin", *where], input="short\n")
    assert short.exit_code == 2 and short.output.startswith("error:")
    assert "ana\tadjudicator\tcan sign in" in run(main, ["coder", "list", *where]).output
    assert run(main, ["settings", "blind", "on", *where]).exit_code == 0
    assert "blind\ton" in run(main, ["settings", *where]).output
    bad = run(main, ["settings", "blind", "maybe", *where])
    assert bad.exit_code == 2 and "one of off, on" in bad.output


def test_team_mode_sign_in_and_blind_pages(team, monkeypatch):
    """Team mode: nothing shows before sign-in; a wrong password gets one message that does not say
    whether the name exists; with blind coding on, bo does not see ana's coding but cy does."""
    monkeypatch.setenv("CLHS_PROJECT", str(team.directory))
    monkeypatch.setenv("CLHS_TEAM", "1")
    seg = team.segments(codable_only=True).iloc[0]
    team.add_coding(seg.document, seg.start, seg.end, "ppi_registry", coder="ana")
    team.set_setting("blind", "on")

    def signed_in(name: str, password: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30).run()
        assert (
            any("Sign in" in i.value for i in at.info)
            and not at.button(key="FormSubmitter:sign_in-Sign in").disabled
        )
        at.text_input(key="sign_in_name").input(name)
        at.text_input(key="sign_in_password").input(password)
        return at.button(key="FormSubmitter:sign_in-Sign in").click().run()

    for name in ("ana", "nobody"):
        wrong = signed_in(name, "not the password")
        assert [e.value for e in wrong.error] == ["Name or password is wrong."]
    for name, password, seen in (
        ("bo", "battery staple", 0),
        ("cy", "adjudicate this", 1),
        ("ana", "correct horse", 1),
    ):
        at = signed_in(name, password)
        at.switch_page(str(PAGES / "documents.py")).run()
        assert not at.exception and at.session_state["coder"] == name
        assert at.dataframe[0].value["codings"].tolist() == [seen], name
        at.switch_page(str(PAGES / "export.py")).run()
        assert any("only an adjudicator exports" in i.value for i in at.info) == (name != "cy")
