"""Assisted coding on a project: train, suggest, queue, decide, evaluate — library and `clhs`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from clhs_mechanisms import ClhsError, import_paths, parse_codebook
from clhs_mechanisms.assist import load_current_model, queue, suggest, train
from clhs_mechanisms.cli import main


@pytest.fixture()
def imported(project, transcript_file):
    list(import_paths(project, [transcript_file]))
    return project


def _cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cold_start_cue_suggestions_carry_evidence(imported):
    report = suggest(imported, method="cues")
    assert report.suggestions > 0 and report.model_version.startswith("cues-codebook-")
    pending = imported.suggestions()
    give_back = pending[pending["code"] == "mot_help"].iloc[0]
    assert "threshold" in give_back["components"]
    ev = give_back["evidence"][0]
    assert give_back["text"][ev["start"] : ev["end"]].lower() in ("give back", "give", "back")
    assert imported.codings().empty  # a suggestion is never a coding


def test_train_suggest_queue_decide_cycle(imported):
    model = train(imported, method="ensemble", gold=[])
    assert (model.path / "model.json").is_file()
    report = suggest(imported)
    assert report.model_version == model.version and report.suggestions > 0
    items = queue(imported, mode="uncertain", limit=3)
    assert 0 < len(items) <= 3 and items["uncertainty"].between(0, 1).all()
    confident = queue(imported, mode="confident", limit=None)
    assert confident["score"].is_monotonic_decreasing
    first = items.iloc[0]
    imported.decide(first["id"], "accept", coder="ana")
    again = suggest(imported)  # decided (segment, code) pairs are never suggested again
    pending = imported.suggestions()
    assert not ((pending["segment_id"] == first["segment_id"]) & (pending["code"] == first["code"])).any()
    assert again.suggestions >= 0
    retrained = train(imported, gold=[])
    assert retrained.n_training == model.n_training + 1  # the decision is training data now


def test_model_for_another_codebook_or_tampered_is_refused(imported, mini_codebook):
    model = train(imported, gold=[])
    manifest = model.path / "model.json"
    manifest.write_text(manifest.read_text().replace('"training_hash"', '"training_hash" ', 1))
    with pytest.raises(ClhsError, match="changed after training"):
        load_current_model(imported)
    train(imported, gold=[])
    imported.load_codebook(parse_codebook(mini_codebook.text.replace("version: 0.1.0", "version: 0.2.0")))
    with pytest.raises(ClhsError, match="retrain with `clhs train`"):
        load_current_model(imported)


def test_cli_assist_commands(imported, tmp_path):
    d = str(imported.directory)
    assert _cli("train", "--project", d).exit_code == 0
    out = _cli("suggest", "--project", d)
    assert out.exit_code == 0 and "suggestions for" in out.output
    again = _cli("suggest", "--workers", "1", "--project", d)
    assert again.exit_code == 0 and again.output.split()[0] == out.output.split()[0]  # same number stored
    assert _cli("suggest", "--workers", "-1", "--project", d).exit_code == 2
    lines = _cli("queue", "--json", "--limit", "2", "--project", d).output.splitlines()
    sid = json.loads(lines[0])["id"]
    assert _cli("decide", sid, "accept", "--coder", "ana", "--project", d).exit_code == 0
    twice = _cli("decide", sid, "reject", "--coder", "ben", "--project", d)
    assert twice.exit_code == 2 and "already decided (accept) by ana at" in twice.output
    bad = _cli(
        "decide", json.loads(lines[1])["id"], "accept", "--code", "mot_nope", "--coder", "ben", "--project", d
    )
    assert bad.exit_code == 2 and "unknown code 'mot_nope'" in bad.output


def test_floor_widens_the_suggestions(imported):
    d = str(imported.directory)
    default = _cli("suggest", "--method", "cues", "--project", d)
    assert default.exit_code == 0
    n_default = len(imported.suggestions())
    every = _cli("suggest", "--method", "cues", "--floor", "0", "--project", d)
    assert every.exit_code == 0, every.output
    segments = int(imported.status()["codable_segments"])
    assert len(imported.suggestions()) == segments * len(imported.codebook.code_ids) > n_default
    assert _cli("suggest", "--floor", "1.5", "--project", d).exit_code == 2
    with pytest.raises(ClhsError, match="floor must be between 0 and 1"):
        suggest(imported, method="cues", floor=-0.1)


def test_cli_bad_input(project, tmp_path, mini_codebook_path):
    d = str(project.directory)
    empty = _cli("suggest", "--method", "cues", "--project", d)
    assert empty.exit_code == 2 and "no codable segments" in empty.output
    assert _cli("suggest", "--project", d).exit_code == 2  # no model yet: one-line message
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"id": "a", "text": "I give back.", "codes": ["mot_help"]}\n'
        '{"id": "b", "text": "x", "codes": ["mot_nope"]}\n',
        encoding="utf-8",
    )
    result = _cli("evaluate", "--gold", str(gold), "--codebook", str(mini_codebook_path))
    assert result.exit_code == 2 and "gold.jsonl:2" in result.output and "mot_nope" in result.output


def test_cli_evaluate_json(tmp_path, mini_codebook_path):
    gold = tmp_path / "test.jsonl"
    rows = [
        ("We give back to other families.", ["mot_help"]),
        ("The dashboard shows every centre.", ["ppi_registry"]),
        ("We joined because it was required.", ["mot_credit"]),
        ("Nice weather today.", []),
    ]
    gold.write_text(
        "".join(json.dumps({"id": str(i), "text": t, "codes": c}) + "\n" for i, (t, c) in enumerate(rows)),
        encoding="utf-8",
    )
    result = _cli(
        "evaluate", "--gold", str(gold), "--codebook", str(mini_codebook_path), "--method", "cues", "--json"
    )
    assert result.exit_code == 0, result.output
    baseline = _cli(
        "evaluate", "--gold", str(gold), "--codebook", str(mini_codebook_path), "--method", "keywords"
    )
    assert baseline.exit_code == 0 and "keywords on 4 segments" in baseline.output
    data = json.loads(
        result.stdout
    )  # a warning about texts shared with the codebook's examples goes to stderr
    assert set(data) >= {"micro", "macro", "mean_kappa", "per_code", "n_segments", "method", "overlap"}
    assert data["n_segments"] == 4 and 0 <= data["micro"]["f1"] <= 1


def _pending(project) -> list[tuple]:
    df = project.suggestions()
    return sorted(zip(df["segment_id"], df["code"], df["score"].round(9), df["evidence"].map(json.dumps)))


def test_scoring_processes_store_the_same_suggestions(imported):
    train(imported, gold=[])
    suggest(imported, workers=0, batch_size=3)
    alone = _pending(imported)
    suggest(imported, workers=2, batch_size=3)  # forked: this process has one thread
    assert _pending(imported) == alone and alone


def test_scoring_processes_are_spawned_from_a_threaded_process(imported):
    """The app suggests from a thread: the scoring processes are spawned and load the model."""
    import threading

    train(imported, gold=[])
    suggest(imported, workers=0)
    alone = _pending(imported)
    reports: list = []
    worker = threading.Thread(target=lambda: reports.append(suggest(imported, workers=1, batch_size=4)))
    worker.start()
    worker.join(300)
    assert reports and _pending(imported) == alone


def test_live_scores_follow_decisions_without_a_refit(imported):
    from clhs_mechanisms.assist import LiveScores

    train(imported, gold=[])
    assert imported.documents_under_review() == []
    suggest(imported)
    assert imported.documents_under_review() == sorted(set(imported.suggestions()["document"])) != []
    live = LiveScores(imported)
    assert live.update(imported) == 0  # nothing decided since the training data was read
    before = live.apply(imported.suggestions())
    assert (before["score"] - before["stored_score"]).abs().max() < 1e-6  # same model, same scores
    target = before.sort_values("score").iloc[-1]["code"]
    for sid in before.loc[before["code"] == target, "id"]:
        imported.decide(sid, "reject", coder="ana")
    assert live.update(imported) > 0 and live.update(imported) == 0  # each decision applied once
    after = live.apply(before)
    moved = after[after["code"] == target]
    assert (moved["score"] < moved["stored_score"]).all()  # rejections pull the code's scores down
    others = after[after["code"] != target]
    assert (others["score"] - before.loc[others.index, "score"]).abs().max() < 1e-9  # other codes untouched
    # only the decided code's margins were recomputed: the same as recomputing all of them
    assert np.array_equal(live.margin, live.classifier.decision_cached(live.X))
    train(imported, gold=[])
    with pytest.raises(ClhsError, match="model changed"):
        live.update(imported)


def test_context_words_say_how_much_came_from_the_surrounding_turns():
    from clhs_mechanisms.explain import context_words

    assert context_words(0.8, {"cues": 0.8}) == "Scored from the text alone."
    alone = {"stacked": 0.3, "stacked_threshold": 0.3, "threshold": 0.5}
    assert "did not change" in context_words(0.5, alone)
    lifted = context_words(0.7, {"stacked": 0.2, "stacked_threshold": 0.4, "threshold": 0.5})
    assert lifted.startswith("Suggested because of the surrounding turns") and "0.20" in lifted
    assert "pull it below" in context_words(0.3, {"stacked": 0.6, "stacked_threshold": 0.4, "threshold": 0.5})
    raised = context_words(0.9, {"stacked": 0.6, "stacked_threshold": 0.5, "threshold": 0.5})
    assert "raised" in raised and "%" in raised


def test_explain_a_suggestion_library_and_cli(imported):
    """Every suggestion can say why: spans in plain words (no internal names), the context's share,
    and the most similar coded passages with their source."""
    from clhs_mechanisms.explain import explain_suggestion

    train(imported, gold=[])
    suggest(imported)
    pending = imported.suggestions()
    sid = pending.sort_values("score", ascending=False)["id"].iloc[0]
    why = explain_suggestion(imported, sid)
    assert why.suggestion_id == sid and why.context
    assert why.exemplars and all(ex.source and 0 <= ex.similarity <= 1 for ex in why.exemplars)
    assert [ex.similarity for ex in why.exemplars] == sorted(
        (ex.similarity for ex in why.exemplars), reverse=True
    )
    assert all(ex.text.strip() != why.text.strip() for ex in why.exemplars)
    for ev in pending["evidence"].explode().dropna():
        assert "stacked" not in ev["why"] and "pattern 1" not in ev["why"] and "cues:" not in ev["why"]
    d = str(imported.directory)
    out = _cli("explain", sid, "--project", d)
    assert out.exit_code == 0 and "similar (" in out.output and why.context in out.output
    data = json.loads(_cli("explain", sid, "--json", "--project", d).output)
    assert data["code"] == why.code and len(data["exemplars"]) == len(why.exemplars)
    missing = _cli("explain", "nope", "--project", d)
    assert missing.exit_code == 2 and "no suggestion 'nope'" in missing.output


def test_explain_an_empty_text_is_refused(mini_codebook, mini_training):
    from clhs_mechanisms.suggest import Ensemble

    ens = Ensemble(mini_codebook, folds=3).fit(mini_training)
    with pytest.raises(ClhsError, match="nothing to explain"):
        ens.explain("   ", "mot_help")
    components, evidence = ens.explain("I give back to other families.", "mot_help")
    assert 0 <= components["stacked"] <= 1 and evidence
