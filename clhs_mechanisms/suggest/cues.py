"""Rule-based suggesters driven by the codebook's ``cues`` and ``patterns``.

* :class:`CueMatcher` matches cues on lemmas and lower-case forms (spaCy ``PhraseMatcher``) and
  the codebook's token ``patterns`` (spaCy ``Matcher``); a cue in the scope of a negator is
  scored down strongly, a hedged one mildly.
* :class:`KeywordBaseline` is the naive comparison point: a code fires iff one of its cues occurs
  as a lower-case word sequence. No lemmas, no negation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from spacy.matcher import Matcher, PhraseMatcher
from spacy.pipeline.sentencizer import Sentencizer

from ..codebook import Codebook
from ..nlp import shared_pipeline
from .thresholds import best_f1_threshold
from .training import TrainingSet
from .types import DEFAULT_THRESHOLD, UNKNOWN, Evidence, Outputs, check_texts, code_index

NEGATORS = frozenset(
    {
        "not",
        "n't",
        "never",
        "no",
        "nobody",
        "nothing",
        "none",
        "neither",
        "nor",
        "without",
        "hardly",
        "barely",
        "scarcely",
        "cannot",
        "nowhere",
        "lack",
        "lacked",
    }
)
HEDGES_1 = frozenset({"maybe", "perhaps", "possibly", "probably", "might", "somewhat", "arguably"})
HEDGES_2 = frozenset({("kind", "of"), ("sort", "of"), ("i", "guess"), ("i", "suppose"), ("not", "sure")})
SENTENCE_ENDS = frozenset(Sentencizer.default_punct_chars)
CLAUSE_BREAKS = frozenset(
    {
        ",",
        ";",
        ":",
        "—",
        "–",
        "but",
        "although",
        "though",
        "however",
        "because",
        "so",
        "and",
        "yet",
        "whereas",
        "while",
    }
)


@dataclass(frozen=True)
class CueHit:
    """One cue or pattern match: which code and cue, where (chars), negated or hedged."""

    code: int
    cue: int
    label: str
    start: int
    end: int
    negated: bool
    hedged: bool

    @property
    def described(self) -> str:
        """The cue's label, saying whether it is negated or hedged."""
        return self.label + (" (negated)" if self.negated else " (hedged)" if self.hedged else "")


_ANCHOR_ATTRS = ["LOWER", "LEMMA", "ORTH"]


def _anchors(pattern, strings) -> list[frozenset]:
    """What a doc must contain for a token ``pattern`` to match: for each token that is not optional,
    the LOWER/LEMMA/ORTH values (string hashes) it accepts. spaCy's ``Matcher`` tries every pattern
    at every token (~1 ms a segment for the codebook's patterns); a pattern whose anchors are
    missing from a doc is not run on it. The check pools the three attributes' values, so it may
    let a pattern through that cannot match (the Matcher then decides), never the reverse."""
    anchors = []
    for token in pattern:
        if token.get("OP", "+") != "+":
            continue
        for attr, value in token.items():
            if {"TEXT": "ORTH"}.get(attr.upper(), attr.upper()) not in _ANCHOR_ATTRS:
                continue
            if isinstance(value, str):
                value = {"IN": [value]}
            if isinstance(value, dict) and set(value) == {"IN"}:
                anchors.append(frozenset(strings.add(v) for v in value["IN"]))
    return anchors


class CueMatcher:
    """Score codes by the codebook cues and patterns found in a segment.

    Per code, ``score = 1 - prod(1 - w_i)`` over the matched cues, where ``w_i`` is the cue's
    weight (``default_weight`` until :meth:`fit` learns each cue's precision from training data)
    times ``negation_factor`` if a negator ("not", "never", "n't", "without", ...) stands up to
    ``window`` tokens before it in the same clause, or times ``hedge_factor`` if a hedge
    ("maybe", "kind of", "I guess", ...) does. Matching is case-insensitive on lemmas
    ("gave back" matches the cue "give back") and on lower-case forms.
    """

    method = "cues"

    def __init__(
        self,
        codebook: Codebook,
        *,
        default_weight: float = 0.6,
        negation_factor: float = 0.05,
        hedge_factor: float = 0.6,
        window: int = 4,
        smoothing: float = 2.0,
    ) -> None:
        self.codebook = codebook
        self.codes = codebook.code_ids
        self.default_weight = default_weight
        self.negation_factor = negation_factor
        self.hedge_factor = hedge_factor
        self.window = window
        self.smoothing = smoothing
        self.nlp = shared_pipeline()
        # per code: cue labels (cues then patterns)
        self._cues = [
            [f"cue phrase '{c}'" for c in code.cues if c.strip()] + ["cue pattern"] * len(code.patterns)
            for code in codebook.codes
        ]
        self._shared: dict = {"hits": {}, "matchers": None}  # hits by text and the compiled matchers
        # sentence boundaries only if a pattern asks for them (negation scope stops at punctuation)
        sentences = any("SENT_START" in str(p).upper() for code in codebook.codes for p in code.patterns)
        self._unused = [] if sentences else ["sentencizer"]
        self.weights_ = [np.full(len(lab), default_weight) for lab in self._cues]
        self.thresholds_ = np.full(len(self.codes), DEFAULT_THRESHOLD)

    @property
    def thresholds(self) -> np.ndarray:
        return self.thresholds_

    @property
    def cue_matcher(self) -> CueMatcher:
        """Itself: the matcher whose matches an ensemble shares with its other members."""
        return self

    # ------------------------------------------------------------------ matching
    def _scope(self, doc, start: int) -> tuple[bool, bool]:
        """Whether a negator or hedge stands in the ``window`` tokens before ``start``, within its
        clause and sentence (a sentence ends at the punctuation spaCy's sentencizer splits after)."""
        negated = hedged = False
        i = start - 1
        while i >= max(0, start - self.window):
            low = doc[i].lower_
            if low in CLAUSE_BREAKS or low in SENTENCE_ENDS:
                break
            if low in NEGATORS or doc[i].lemma_.lower() == "not":
                negated = True
            if low in HEDGES_1 or (i > 0 and (doc[i - 1].lower_, low) in HEDGES_2):
                hedged = True
            i -= 1
        return negated, hedged

    def _matchers(self):
        """The cue PhraseMatchers (lemma, lower), the (number of anchors, Matcher) of each pattern and
        an index from each anchor value to its (pattern, anchor) pairs, built on first use
        (compiling a codebook's cues takes ~1 s) and shared like the hits."""
        if self._shared["matchers"] is None:
            lemma = PhraseMatcher(self.nlp.vocab, attr="LEMMA")
            lower = PhraseMatcher(self.nlp.vocab, attr="LOWER")
            patterns = []
            for ci, code in enumerate(self.codebook.codes):
                cues = [c for c in code.cues if c.strip()]
                for j, cue in enumerate(cues):
                    lemma.add(f"{ci}|{j}", [self.nlp(cue.lower())])
                    lower.add(f"{ci}|{j}", [self.nlp.make_doc(cue.lower())])
                for j, pattern in enumerate(code.patterns):
                    matcher = Matcher(self.nlp.vocab)
                    matcher.add(f"{ci}|{len(cues) + j}", [[dict(tok) for tok in pattern]])
                    patterns.append((_anchors(pattern, self.nlp.vocab.strings), matcher))
            index: dict[int, list[tuple[int, int]]] = {}
            for p, (anchors, _) in enumerate(patterns):
                for a, allowed in enumerate(anchors):
                    for value in allowed:
                        index.setdefault(value, []).append((p, a))
            self._shared["matchers"] = (lemma, lower, [(len(anchors), m) for anchors, m in patterns], index)
        return self._shared["matchers"]

    def _hits(self, doc) -> list[CueHit]:
        lemma, lower, patterns, index = self._matchers()
        matchers = [m for m in (lemma, lower) if len(m)]
        if patterns:
            met: dict[int, set[int]] = {}
            for value in index.keys() & set(doc.to_array(_ANCHOR_ATTRS).ravel().tolist()):
                for p, a in index[value]:
                    met.setdefault(p, set()).add(a)
            matchers += [m for p, (n, m) in enumerate(patterns) if len(met.get(p, ())) == n]
        raw = set()
        vocab = self.nlp.vocab.strings
        for m in matchers:
            for key, s, e in m(doc):
                ci, j = map(int, vocab[key].split("|"))
                raw.add((ci, j, s, e))
        hits, seen = [], set()
        for ci, j, s, e in sorted(raw, key=lambda t: (t[0], t[2], -(t[3] - t[2]), t[1])):
            if any(ci == c2 and s < e2 and s2 < e for c2, s2, e2 in seen):
                continue  # overlapping matches of one code count once
            seen.add((ci, s, e))
            negated, hedged = self._scope(doc, s)
            span = doc[s:e]
            hits.append(CueHit(ci, j, self._cues[ci][j], span.start_char, span.end_char, negated, hedged))
        return hits

    def share_matches(self, other: CueMatcher) -> None:
        """Use ``other``'s compiled matchers and cache of hits: matching depends only on the codebook,
        not on weights, so matchers of one codebook compile its cues and run spaCy over a text once
        between them."""
        if other.codebook != self.codebook:
            raise ValueError("cue matchers of different codebooks cannot share matches")
        self._shared = other._shared

    def match(self, texts: Sequence[str]) -> list[list[CueHit]]:
        """The cue hits of each text (cached by text)."""
        texts, _ = check_texts(texts)
        cache = self._shared["hits"]
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if len(cache) + len(todo) > 300_000:
            cache.clear()  # in place: matchers sharing this cache see the same state
            todo = list(dict.fromkeys(texts))
        for text, doc in zip(todo, self.nlp.pipe(todo, batch_size=512, disable=self._unused)):
            cache[text] = self._hits(doc)
        return [cache[t] for t in texts]

    def _weight(self, hit: CueHit) -> float:
        w = float(self.weights_[hit.code][hit.cue])
        if hit.negated:
            w *= self.negation_factor
        elif hit.hedged:
            w *= self.hedge_factor
        return w

    # ------------------------------------------------------------------ estimator API
    def fit(self, training: TrainingSet) -> CueMatcher:
        """Learn each cue's precision (smoothed towards ``default_weight``) and per-code thresholds."""
        if training.codes != self.codes:
            raise ValueError("training set codes differ from the codebook's")
        hits = self.match(training.texts)
        m, prior = self.smoothing, self.default_weight
        tp = [np.zeros(len(lab)) for lab in self._cues]
        n = [np.zeros(len(lab)) for lab in self._cues]
        for row, hs in zip(training.labels, hits):
            for key in {(h.code, h.cue) for h in hs if not h.negated}:
                y = row[key[0]]
                if y != UNKNOWN:
                    n[key[0]][key[1]] += 1
                    tp[key[0]][key[1]] += y
        self.weights_ = [np.clip((t + m * prior) / (c + m), 0.02, 0.98) for t, c in zip(tp, n)]
        scores = self._scores(hits)
        self.thresholds_ = np.array(
            [best_f1_threshold(training.labels[:, j], scores[:, j]) for j in range(len(self.codes))]
        )
        return self

    def _scores(self, hits: list[list[CueHit]]) -> np.ndarray:
        out = np.ones((len(hits), len(self.codes)))
        for i, hs in enumerate(hits):
            for h in hs:
                out[i, h.code] *= 1.0 - self._weight(h)
        return 1.0 - out

    def hit_score(self, hits: Sequence[CueHit]) -> float:
        """The score that ``hits`` (matches of one code in one text) give their code."""
        return 1.0 - float(np.prod([1.0 - self._weight(h) for h in hits]))

    def outputs(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> Outputs:
        """Scores of a batch (raw and calibrated are the same); roles are ignored."""
        texts, _ = check_texts(texts, roles)
        scores = self._scores(self.match(texts))
        return Outputs(scores, scores)

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores ``(n, k)`` in [0, 1]; roles are accepted and ignored."""
        return self.outputs(texts, roles).scores

    def evidence(self, text: str, code: str, role: str | None = None) -> list[Evidence]:
        """The matched cue spans for ``code`` (negated and hedged ones say so)."""
        return self.batch_evidence([text], None, [(0, code_index(self.codes, code))])[0]

    def batch_evidence(
        self, texts: list[str], outputs: Outputs | None, pairs: Sequence[tuple[int, int]], *, prefix: str = ""
    ) -> list[list[Evidence]]:
        """The matched cue spans for each (text index, code index) pair; ``prefix`` starts each ``why``."""
        hits = self.match(texts)
        return [
            [
                Evidence(h.start, h.end, texts[i][h.start : h.end], f"{prefix}{h.described}")
                for h in hits[i]
                if h.code == j
            ]
            for i, j in pairs
        ]

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict:
        return {"weights": [w.tolist() for w in self.weights_], "thresholds": self.thresholds_.tolist()}

    def set_state(self, state: dict) -> CueMatcher:
        self.weights_ = [np.asarray(w, dtype=float) for w in state["weights"]]
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        return self


class KeywordBaseline:
    """Comparison baseline: a code scores 1 iff any of its cues occurs as a lower-case word sequence.

    No lemmas, no patterns, no negation, no learning; threshold 0.5.
    """

    method = "keywords"

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self.codes = codebook.code_ids
        self._patterns = [
            [
                (cue, re.compile(r"(?<!\w)" + re.escape(cue.lower().strip()) + r"(?!\w)"))
                for cue in code.cues
                if cue.strip()
            ]
            for code in codebook.codes
        ]
        self.thresholds_ = np.full(len(self.codes), DEFAULT_THRESHOLD)

    @property
    def thresholds(self) -> np.ndarray:
        return self.thresholds_

    def fit(self, training: TrainingSet | None = None) -> KeywordBaseline:
        return self

    def outputs(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> Outputs:
        """Scores of a batch (raw and calibrated are the same); roles are ignored."""
        texts, _ = check_texts(texts, roles)
        out = np.zeros((len(texts), len(self.codes)))
        for i, t in enumerate(texts):
            low = t.lower()
            for j, pats in enumerate(self._patterns):
                if any(p.search(low) for _, p in pats):
                    out[i, j] = 1.0
        return Outputs(out, out)

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> np.ndarray:
        return self.outputs(texts, roles).scores

    def evidence(self, text: str, code: str, role: str | None = None) -> list[Evidence]:
        return self.batch_evidence([text], None, [(0, code_index(self.codes, code))])[0]

    def batch_evidence(
        self, texts: list[str], outputs: Outputs | None, pairs: Sequence[tuple[int, int]]
    ) -> list[list[Evidence]]:
        """The keywords found for each (text index, code index) pair, in text order."""
        out = []
        for i, j in pairs:
            text = texts[i]
            found = [
                Evidence(m.start(), m.end(), text[m.start() : m.end()], f"keyword '{cue}'")
                for cue, p in self._patterns[j]
                for m in p.finditer(text.lower())
            ]
            out.append(sorted(found, key=lambda e: e.start))
        return out

    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> KeywordBaseline:
        return self
