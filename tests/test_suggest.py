"""Tests of the assisted-coding engine (clhs_mechanisms.suggest), through its public API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clhs_mechanisms import ClhsError, load_codebook, parse_codebook
from clhs_mechanisms.suggest import (
    CodebookSimilarity,
    CodeClassifier,
    CueMatcher,
    Ensemble,
    Evidence,
    KeywordBaseline,
    TrainingSet,
    evaluate,
    load_model,
    make_suggester,
    save_model,
)

ROOT = Path(__file__).resolve().parents[1]
SUPPORT_CB = """
id: t
title: T
version: 1.0.0
domains: [{id: d, label: D}]
codes:
  - id: support
    label: Feeling supported
    domain: d
    definition: Feeling supported by peers.
    cues: [supported, give back]
    examples: ["We felt supported by other parents."]
"""


def test_cues_match_lemma_variants_and_offsets(mini_codebook):
    m = CueMatcher(mini_codebook)
    text = "Someone helped us, so we gave back last year."
    s = m.score([text, "Nothing relevant here."])
    j = mini_codebook.code_ids.index("mot_help")
    assert s[0, j] > 0.5 and s[1, j] == 0
    ev = m.evidence(text, "mot_help")
    assert ev and all(text[e.start : e.end] == e.text for e in ev)
    assert ev[0].text == "gave back" and "give back" in ev[0].why


def test_cues_negation_and_hedging():
    cb = parse_codebook(SUPPORT_CB)
    m = CueMatcher(cb)
    plain, negated, hedged, far = m.score(
        [
            "We felt supported.",
            "We never felt supported.",
            "Maybe we felt supported.",
            "No idea why, but we felt supported.",
        ]
    )[:, 0]
    assert plain > 0.5
    assert negated < 0.1 and "negated" in m.evidence("We never felt supported.", "support")[0].why
    assert negated < hedged < plain
    assert far == pytest.approx(plain)  # the negator is in another clause
    assert m.score(["We didn't feel supported at all."])[0, 0] < 0.1


def test_keyword_baseline_is_plain_substring(mini_codebook):
    kb = KeywordBaseline(mini_codebook)
    j = mini_codebook.code_ids.index("mot_help")
    assert kb.score(["We gave back."])[0, j] == 0  # no lemmas
    assert kb.score(["We never give back."])[0, j] == 1  # no negation


def test_similarity_cold_start_ranks_own_example_first(mini_codebook):
    sim = CodebookSimilarity(mini_codebook)
    for j, code in enumerate(mini_codebook.codes):
        s = sim.score([code.examples[0]])[0]
        assert int(np.argmax(s)) == j, code.id
    assert ((0 <= s) & (s <= 1)).all()
    text = "Data go into the registry forms."
    ev = sim.evidence(text, "ppi_registry")
    assert ev and all(text[e.start : e.end] == e.text for e in ev)


def test_classifier_learns_tiny_training_set(mini_codebook, mini_training):
    clf = CodeClassifier(mini_codebook, cv=3).fit(mini_training)
    s = clf.score(
        ["The registry sends us data every week.", "It is required for my credit."], ["parent", None]
    )
    assert s.shape == (2, 3) and ((0 <= s) & (s <= 1)).all()
    assert np.argmax(s[0]) == mini_codebook.code_ids.index("ppi_registry")
    assert np.argmax(s[1]) == mini_codebook.code_ids.index("mot_credit")
    assert ((0 <= clf.thresholds) & (clf.thresholds <= 1)).all()
    text = "The registry sends us data every week."
    ev = clf.evidence(text, "ppi_registry")
    assert any("registry" in e.text.lower() for e in ev) and all(text[e.start : e.end] == e.text for e in ev)


def test_classifier_partial_update_moves_scores(mini_codebook, mini_training):
    clf = CodeClassifier(mini_codebook, cv=0).fit(mini_training)
    text = "Our quarterly potluck brings everyone together."
    j = mini_codebook.code_ids.index("mot_help")
    before = clf.score([text])[0, j]
    X = clf.transform_cache([text] * 5)
    update = TrainingSet.from_decisions(
        [{"text": text, "role": None, "code": "mot_help", "label": 1}], mini_codebook
    )
    clf.partial_update(TrainingSet.concat(*[update] * 5), X, epochs=5)
    assert clf.score_cached(X[:1])[0, j] > before


def test_the_ensembles_fold_members_are_clones_of_its_members(mini_codebook, mini_training, monkeypatch):
    from clhs_mechanisms.suggest.protocol import clone

    configured = CodeClassifier(mini_codebook, C=16.0, char_weight=0.3, cv=2)
    copy = clone(configured, cv=0)
    assert (type(copy), copy.C, copy.char_weight, copy.cv, copy.coef_) == (CodeClassifier, 16.0, 0.3, 0, None)
    fitted_with = []
    original = CodeClassifier.fit
    monkeypatch.setattr(
        CodeClassifier, "fit", lambda self, training: fitted_with.append(self.C) or original(self, training)
    )
    ens = Ensemble(mini_codebook, folds=3, settings={"classifier": {"C": 16.0}})
    ens.fit(mini_training)
    assert fitted_with == [16.0] * 4  # three folds and the final fit


def test_ensemble_suggest_has_components_and_evidence(mini_codebook, mini_training):
    ens = Ensemble(mini_codebook, folds=3).fit(mini_training)
    assert ((0 <= ens.thresholds) & (ens.thresholds <= 1)).all()
    text = "I give back because someone helped my son."
    out = ens.suggest([text, "Registry reports come monthly."], floor=0.5)
    assert out[0] and out[0][0].code == "mot_help"
    top = out[0][0]
    # stacked: the text alone, before context, judged against its own threshold
    assert set(top.components) == {"cues", "similarity", "classifier", "stacked", "stacked_threshold"}
    assert top.components["stacked_threshold"] == pytest.approx(
        ens.thresholds_[mini_codebook.code_ids.index("mot_help")]
    )
    assert top.evidence and all(
        isinstance(e, Evidence) and text[e.start : e.end] == e.text for e in top.evidence
    )
    assert all(s.score >= 0.5 * s.threshold for row in out for s in row)
    assert [s.score for s in out[0]] == sorted((s.score for s in out[0]), reverse=True)
    components, evidence = ens.explain(text, "mot_help")
    assert components["cues"] > 0.5 and evidence


def test_make_suggester_names(mini_codebook):
    for name, cls in [
        ("cues", CueMatcher),
        ("similarity", CodebookSimilarity),
        ("classifier", CodeClassifier),
        ("ensemble", Ensemble),
        ("keywords", KeywordBaseline),
    ]:
        assert isinstance(make_suggester(name, mini_codebook), cls)
    with pytest.raises(ValueError):
        make_suggester("magic", mini_codebook)


def test_the_registry_names_every_method_once(mini_codebook, mini_training):
    from clhs_mechanisms.suggest import Suggester, registry

    assert registry.methods() == ("keywords", "cues", "similarity", "classifier", "ensemble")
    assert registry.suggesting_methods() == ("cues", "similarity", "classifier", "ensemble")
    assert registry.trained_methods() == ("classifier", "ensemble")
    assert registry.member_methods() == ("cues", "similarity", "classifier")
    for name in registry.methods():
        model = make_suggester(name, mini_codebook, **({"folds": 2} if name == "ensemble" else {}))
        assert model.method == name and isinstance(model.fit(mini_training), Suggester), name


def test_a_new_suggester_is_one_module_and_one_registry_line(
    mini_codebook, mini_training, project, transcript_file, tmp_path
):
    from clhs_mechanisms import import_paths
    from clhs_mechanisms.assist import suggest
    from clhs_mechanisms.suggest import registry

    registry.register(registry.Method("toy", "tests.toy_suggester:LabelWords", scale=2.0))  # the one line
    try:
        gold = tmp_path / "gold.jsonl"
        rows = [
            {"id": "1", "text": "The registry form.", "codes": ["ppi_registry"]},
            {"id": "2", "text": "Helping others.", "codes": ["mot_help"]},
        ]
        gold.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        result = evaluate(gold, mini_codebook, train_paths=[], method="toy")
        assert result["method"] == "toy" and result["micro"]["f1"] == 1.0

        ens = Ensemble(mini_codebook, members=("cues", "toy"), folds=3).fit(mini_training)
        assert list(ens.members_) == ["cues", "toy"] and ens.members_["toy"].method == "toy"
        top = ens.suggest(["The registry sends data."], floor=0)[0]
        assert {"cues", "toy", "stacked"} <= set(top[0].components)
        save_model(ens, tmp_path / "m", codebook=mini_codebook, training_hash="x")
        assert np.allclose(
            load_model(tmp_path / "m", mini_codebook).score(["The registry form."]),
            ens.score(["The registry form."]),
        )

        list(import_paths(project, [transcript_file]))
        report = suggest(project, method="toy")
        stored = project.suggestions()
        assert report.suggestions == len(stored) > 0 and set(stored["method"]) == {"toy"}
        assert "ppi_registry" in set(stored["code"])
    finally:
        registry.unregister("toy")
    assert "toy" not in registry.methods()


def test_training_set_from_decisions_marks_unknowns(mini_codebook):
    ts = TrainingSet.from_decisions(
        [
            {"text": "a", "role": "parent", "code": "mot_help", "label": 1},
            {"text": "a", "role": "parent", "code": "mot_credit", "label": 0},
            {"text": "b", "role": None, "code": "ppi_registry", "label": 1},
        ],
        mini_codebook,
    )
    assert ts.texts == ["a", "b"]
    assert ts.labels.tolist() == [[1, 0, -1], [-1, -1, 1]]
    rejected = TrainingSet.from_decisions([{"text": "a", "code": "mot_help", "label": 0}], mini_codebook)
    assert ts.hash() != rejected.hash()
    with pytest.raises(ClhsError):
        TrainingSet.from_decisions([{"text": "a", "code": "nope", "label": 1}], mini_codebook)


def test_training_set_from_codebook(mini_codebook):
    ts = TrainingSet.from_codebook(mini_codebook)
    j = mini_codebook.code_ids.index("mot_credit")
    i = ts.texts.index(
        "We joined for the certification credit."
    )  # counterexample of mot_help naming mot_credit
    assert ts.labels[i, j] == 1 and ts.labels[i, mini_codebook.code_ids.index("mot_help")] == 0
    assert ts.labels[ts.texts.index("My chair expects it."), j] == 1


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text": "ok", "codes": [}', "bad JSON"),
        ('{"text": "ok", "codes": ["mot_halp"]}', "unknown code 'mot_halp'"),
        ('{"text": "  ", "codes": []}', "empty 'text'"),
        ('{"codes": ["mot_help"]}', "empty 'text'"),
    ],
)
def test_gold_loader_errors_name_file_and_line(tmp_path, mini_codebook, line, message):
    path = tmp_path / "gold.jsonl"
    path.write_text(
        '{"text": "fine", "codes": ["mot_help"], "role": "parent"}\n' + line + "\n", encoding="utf-8"
    )
    with pytest.raises(ClhsError) as err:
        TrainingSet.from_gold(path, mini_codebook)
    assert str(err.value).startswith("gold.jsonl:2:") and message in str(err.value)


def _write_gold(path: Path, rows) -> None:
    path.write_text(
        "".join(json.dumps({"text": t, "codes": c, "role": "parent"}) + "\n" for t, c in rows),
        encoding="utf-8",
    )


def test_evaluate_keys_and_ranges(tmp_path, mini_codebook):
    _write_gold(
        tmp_path / "train.jsonl",
        [
            ("I give back to others.", ["mot_help"]),
            ("Credit was required.", ["mot_credit"]),
            ("The registry form.", ["ppi_registry"]),
            ("Lunch was nice.", []),
        ],
    )
    _write_gold(
        tmp_path / "test.jsonl",
        [
            ("We gave back.", ["mot_help"]),
            ("It was required for credit.", ["mot_credit"]),
            ("Weather talk.", []),
        ],
    )
    _write_gold(tmp_path / "second_coder.jsonl", [("bad", ["not_a_code"])])  # files beside are never read
    for method in ("cues", "ensemble"):
        r = evaluate(
            tmp_path / "test.jsonl", mini_codebook, method=method, train_paths=[tmp_path / "train.jsonl"]
        )
        assert set(r) == {
            "micro",
            "macro",
            "mean_kappa",
            "per_code",
            "n_segments",
            "method",
            "standalone",
            "overlap",
        }
        assert r["n_segments"] == 3 and r["method"] == method
        for avg in ("micro", "macro"):
            assert set(r[avg]) == {"precision", "recall", "f1"} and all(0 <= v <= 1 for v in r[avg].values())
        assert -1 <= r["mean_kappa"] <= 1
        assert set(r["per_code"]) == set(mini_codebook.code_ids)
        assert r["per_code"]["mot_help"]["support"] == 1
    assert (
        evaluate(tmp_path / "test.jsonl", mini_codebook, method="cues")["per_code"]["mot_help"]["recall"]
        == 1.0
    )


def test_evaluate_never_trains_on_the_answers(tmp_path, mini_codebook):
    """A second coder's file of the same texts beside the gold file is not training data by default;
    training on the gold file itself is refused; shared texts are counted."""
    rows = [
        ("We gave back.", ["mot_help"]),
        ("It was required for credit.", ["mot_credit"]),
        ("Weather talk.", []),
    ]
    _write_gold(tmp_path / "ana.jsonl", rows)
    _write_gold(tmp_path / "ben.jsonl", rows)
    (tmp_path / "broken.jsonl").write_text('{"no": "text"}\n', encoding="utf-8")  # beside it; never read
    alone = evaluate(tmp_path / "ana.jsonl", mini_codebook, method="ensemble")
    assert alone["overlap"] == 0
    leaked = evaluate(
        tmp_path / "ana.jsonl", mini_codebook, method="ensemble", train_paths=[tmp_path / "ben.jsonl"]
    )
    assert leaked["overlap"] == 3
    with pytest.raises(ClhsError, match="also a training file"):
        evaluate(tmp_path / "ana.jsonl", mini_codebook, train_paths=[tmp_path / "ana.jsonl"])


def test_save_load_round_trip_and_refusals(tmp_path, mini_codebook, mini_training):
    model = Ensemble(mini_codebook, folds=3).fit(mini_training)
    meta_path = save_model(
        model, tmp_path / "m", codebook=mini_codebook, training_hash=mini_training.hash(), metrics={"f1": 0.5}
    )
    meta = json.loads(meta_path.read_text())
    assert (
        meta["codebook"]["version"] == mini_codebook.version and meta["training_hash"] == mini_training.hash()
    )
    assert {"sklearn", "spacy", "numpy", "clhs_mechanisms"} <= set(meta["versions"])
    loaded = load_model(tmp_path / "m", mini_codebook)
    texts = ["I give back.", "The registry form."]
    assert np.allclose(loaded.score(texts), model.score(texts))
    assert np.allclose(loaded.thresholds, model.thresholds)

    newer = parse_codebook(mini_codebook.text.replace("version: 0.1.0", "version: 0.2.0"))
    with pytest.raises(ClhsError, match=r"trained for codebook 0\.1\.0 .*uses 0\.2\.0 .*retrain with"):
        load_model(tmp_path / "m", newer)

    old = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**old, "format": 1}))  # vocabularies as pickled vectorizers
    with pytest.raises(ClhsError, match=r"format 1.*retrain with"):
        load_model(tmp_path / "m", mini_codebook)
    meta_path.write_text(json.dumps(old))

    state = tmp_path / "m" / "state.skops"
    state.write_bytes(state.read_bytes() + b"\0")
    with pytest.raises(ClhsError, match="sha256 mismatch"):
        load_model(tmp_path / "m", mini_codebook)


def test_shipped_codebook_and_gold_data():
    cb = load_codebook(ROOT / "codebook" / "clhs_mechanisms.yaml")
    gold = TrainingSet.from_gold(ROOT / "corpus" / "gold" / "test.jsonl", cb)
    assert gold.labels.shape == (len(gold), len(cb)) and set(np.unique(gold.labels)) <= {0, 1}
    sim = CodebookSimilarity(cb)
    hits = sum(
        int(np.argmax(sim.score([c.examples[0]])[0]) == j) for j, c in enumerate(cb.codes) if c.examples
    )
    assert hits >= 0.8 * len(cb)
    cues = CueMatcher(cb).score(gold.texts[:200])
    assert cues.shape == (200, len(cb)) and ((0 <= cues) & (cues <= 1)).all() and cues.max() > 0


def test_roles_are_matched_whatever_their_spelling(mini_codebook, mini_training):
    from clhs_mechanisms.suggest.roles import OTHER, place_role, role_key

    assert role_key("QI lead") == role_key("qi_leads") == role_key("QI Leader") == "qi_lead"
    assert role_key("Patient (teen)") == "teen_patient" and role_key("Parents") == "parent"
    assert role_key(None) == role_key("  ") == OTHER
    known = {"qi_lead", "nurse", "parent", "teen_patient", OTHER}
    assert place_role("Head Nurse", known) == "nurse" and place_role("Mother", known) == "parent"
    assert place_role("pilot", known) == OTHER and place_role("Teen patients", known) == "teen_patient"
    clf = CodeClassifier(mini_codebook, cv=0).fit(mini_training)  # trained roles: parent and other
    texts = ["I give back now."] * 4
    X = clf.transform_cache(texts, ["parent", "Parents", "PARENT (mum)", "astronaut"])
    role = X[:, clf._block_slices()["role"]].toarray()
    assert (role != 0).sum(axis=1).tolist() == [1, 1, 1, 1]  # never a silent all-zero role
    assert np.array_equal(role[0], role[1]) and np.array_equal(role[0], role[2])
    assert clf.roles_[int(role[3].argmax())] == OTHER


def test_term_evidence_is_material_and_short(mini_codebook, mini_training):
    """At most five terms, each carrying at least a tenth of the text's positive term weight."""
    import re

    clf = CodeClassifier(mini_codebook, cv=0).fit(mini_training)
    text = (
        "Honestly I give back to other families now, because the registry form and the dashboard "
        "were easy, and we pay it forward so other parents have it easier than we did."
    )
    shares = []
    for code in mini_codebook.code_ids:
        terms = [e for e in clf.evidence(text, code) if "learnt term" in e.why]
        assert len(terms) <= 5
        shares += [
            int(m.group(1)) for e in terms for m in [re.search(r"\((\d+)% of the term weight\)", e.why)]
        ]
    assert shares and min(shares) >= 10


@pytest.mark.parametrize(
    "rows",
    [
        # some rows name their document, others do not: those stand alone
        [
            {
                "id": "a",
                "text": "We gave back to other families.",
                "codes": ["mot_help"],
                "document": "d.txt",
                "start": 0,
                "end": 31,
            },
            {
                "id": "b",
                "text": "It was required for credit.",
                "codes": ["mot_credit"],
                "document": "d.txt",
                "start": 32,
                "end": 59,
            },
            {"id": "c", "text": "The registry form takes two minutes.", "codes": ["ppi_registry"]},
        ],
        [{"id": "one", "text": "We gave back to other families.", "codes": ["mot_help"]}],  # one row
        [{"id": str(i), "text": "We gave back.", "codes": ["mot_help"]} for i in range(4)],  # identical texts
    ],
)
def test_evaluate_odd_gold_files(tmp_path, mini_codebook, rows):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    train = tmp_path / "train.jsonl"
    _write_gold(
        train,
        [
            ("I give back to others.", ["mot_help"]),
            ("Credit was required.", ["mot_credit"]),
            ("The registry form.", ["ppi_registry"]),
            ("Lunch was nice.", []),
        ],
    )
    for standalone in (False, True):
        r = evaluate(path, mini_codebook, method="ensemble", train_paths=[train], standalone=standalone)
        assert r["n_segments"] == len(rows) and 0 <= r["micro"]["f1"] <= 1
        assert r["per_code"]["mot_help"]["support"] == sum("mot_help" in row["codes"] for row in rows)


def test_a_foreign_state_with_matching_hashes_is_refused_in_one_line(tmp_path, mini_codebook, mini_training):
    """A classifier's state under a model.json that says ensemble (every hash matching): a message,
    not a KeyError."""
    clf = CodeClassifier(mini_codebook, cv=0).fit(mini_training)
    meta_path = save_model(clf, tmp_path / "m", codebook=mini_codebook, training_hash="x")
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "method": "ensemble"}))
    with pytest.raises(ClhsError, match="model state does not belong to the 'ensemble' suggester") as err:
        load_model(tmp_path / "m", mini_codebook)
    assert "\n" not in str(err.value) and err.value.hint == "clhs train"


def test_a_state_with_untrusted_types_is_refused_in_one_line(tmp_path, mini_codebook, mini_training):
    """A state holding a type outside the trusted list (here fractions.Fraction), hashes matching."""
    import fractions
    import hashlib

    import skops.io as sio

    from clhs_mechanisms.suggest.persist import STATE_FILE

    clf = CodeClassifier(mini_codebook, cv=0).fit(mini_training)
    meta_path = save_model(clf, tmp_path / "m", codebook=mini_codebook, training_hash="x")
    state = tmp_path / "m" / STATE_FILE
    sio.dump({"members": fractions.Fraction(1, 3)}, state)
    meta = json.loads(meta_path.read_text())
    meta["files"][STATE_FILE] = hashlib.sha256(state.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ClhsError, match="untrusted types: refusing to load") as err:
        load_model(tmp_path / "m", mini_codebook)
    assert "\n" not in str(err.value) and "Fraction" in str(err.value)
