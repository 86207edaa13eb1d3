"""Training data for the suggesters: texts, a 0/1/-1 label matrix over the codebook's codes.

``-1`` means *unknown*: a human decision on one code says nothing about the other codes of
the same text, and every learner ignores -1 entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..codebook import Codebook, unknown_code_message
from ..errors import ClhsError
from ..jsonlines import json_object
from .context import Group, Place
from .types import UNKNOWN


def _offset(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class TrainingSet:
    """Texts with labels ``(n, k)`` over ``codes`` (1 = has the code, 0 = has not, -1 = unknown),
    the speaker role of each text (or None), optional per-text sample weights, and optional
    ``groups``: the place of each text (a :class:`~.context.Place`, a document name, or None for a
    text on its own), texts of a document in reading order, so the context stage can learn from
    neighbouring segments. ``sources`` say where each text came from, in words a reader can check
    ("codebook example", "train.jsonl int03.txt#12", "p01.txt, coded by ana"): suggestions cite
    the most similar coded texts by them."""

    texts: list[str]
    labels: np.ndarray
    codes: tuple[str, ...]
    roles: list[str | None]
    weights: np.ndarray | None = None
    groups: list[Group] | None = None
    sources: list[str] | None = None

    def __post_init__(self) -> None:
        self.texts = list(self.texts)
        self.codes = tuple(self.codes)
        self.labels = np.asarray(self.labels, dtype=np.int8).reshape(len(self.texts), len(self.codes))
        if not np.isin(self.labels, (-1, 0, 1)).all():
            raise ValueError("labels must be 0, 1 or -1 (unknown)")
        self.roles = list(self.roles) if self.roles is not None else [None] * len(self.texts)
        if len(self.roles) != len(self.texts):
            raise ValueError(f"{len(self.roles)} roles for {len(self.texts)} texts")
        if self.weights is not None:
            self.weights = np.asarray(self.weights, dtype=float)
            if self.weights.shape != (len(self.texts),):
                raise ValueError("weights must have one value per text")
        if self.groups is not None:
            self.groups = list(self.groups)
            if len(self.groups) != len(self.texts):
                raise ValueError(f"{len(self.groups)} groups for {len(self.texts)} texts")
        self.sources = list(self.sources) if self.sources is not None else ["training data"] * len(self.texts)
        if len(self.sources) != len(self.texts):
            raise ValueError(f"{len(self.sources)} sources for {len(self.texts)} texts")

    def __len__(self) -> int:
        return len(self.texts)

    def sample_weight(self) -> np.ndarray:
        return np.ones(len(self)) if self.weights is None else self.weights

    def subset(self, index: Sequence[int] | np.ndarray) -> TrainingSet:
        """The rows at ``index`` (a new TrainingSet)."""
        idx = np.asarray(index, dtype=int)
        return TrainingSet(
            [self.texts[i] for i in idx],
            self.labels[idx],
            self.codes,
            [self.roles[i] for i in idx],
            None if self.weights is None else self.weights[idx],
            None if self.groups is None else [self.groups[i] for i in idx],
            [self.sources[i] for i in idx],
        )

    def positives(self) -> np.ndarray:
        """Number of known positives per code."""
        return (self.labels == 1).sum(axis=0)

    def hash(self) -> str:
        """sha256 of the canonical training data (texts, roles, codes, labels, weights, groups; not
        the sources, which only name where texts came from)."""
        payload = {
            "codes": list(self.codes),
            "groups": self.groups,
            "rows": [[t, r, self.labels[i].tolist()] for i, (t, r) in enumerate(zip(self.texts, self.roles))],
            "weights": None if self.weights is None else [round(float(w), 9) for w in self.weights],
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_codebook(cls, codebook: Codebook) -> TrainingSet:
        """The codebook's own examples and counterexamples.

        An example is positive for its code; a counterexample is negative for the code it
        near-misses and positive for the code it names (if any). Other codes are 0: the
        examples are written as prototypes of one code.
        """
        codes = codebook.code_ids
        pos = {c: i for i, c in enumerate(codes)}
        texts, rows, sources = [], [], []
        for code in codebook.codes:
            for ex in code.examples:
                row = np.zeros(len(codes), dtype=np.int8)
                row[pos[code.id]] = 1
                texts.append(ex)
                rows.append(row)
                sources.append(f"codebook example of {code.id}")
            for ce in code.counterexamples:
                row = np.zeros(len(codes), dtype=np.int8)
                if ce.code is not None and ce.code in pos:
                    row[pos[ce.code]] = 1
                texts.append(ce.text)
                rows.append(row)
                sources.append(f"codebook counterexample of {code.id}")
        labels = np.array(rows, dtype=np.int8).reshape(len(texts), len(codes))
        return cls(texts, labels, codes, [None] * len(texts), sources=sources)

    @classmethod
    def from_gold(cls, path: str | Path, codebook: Codebook) -> TrainingSet:
        """A gold JSON Lines file: one object a line with ``text``, ``codes`` (ids) and ``role``.

        Rows naming their ``document`` are grouped by it and put in reading order (by ``start``,
        else as in the file), documents in order of first appearance, each row's group its
        :class:`~.context.Place` when it has ``start`` and ``end``; literature rows
        (``"source": "literature"``) are independent units and never grouped. Bad JSON, a missing or empty
        text, a non-list ``codes`` or an unknown code id raise :class:`ClhsError` naming
        ``file:line``. Blank lines are skipped.
        """
        p = Path(path)
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise ClhsError("no such gold file", where=str(p)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ClhsError(f"cannot read gold file: {exc}", where=str(p)) from None
        codes = codebook.code_ids
        pos = {c: i for i, c in enumerate(codes)}
        texts, roles, rows, groups, starts, ends, sources = [], [], [], [], [], [], []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{p.name}:{n}"
            obj = json_object(line, where)
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ClhsError("missing or empty 'text'", where=where)
            ids = obj.get("codes", [])
            if not isinstance(ids, list) or not all(isinstance(c, str) for c in ids):
                raise ClhsError("'codes' must be a list of code ids", where=where)
            row = np.zeros(len(codes), dtype=np.int8)
            for c in ids:
                if c not in pos:
                    raise ClhsError(unknown_code_message(c, codes), where=where)
                row[pos[c]] = 1
            role, document, start = obj.get("role"), obj.get("document"), obj.get("start")
            texts.append(text)
            roles.append(role if isinstance(role, str) and role else None)
            rows.append(row)
            independent = obj.get("source") == "literature"
            groups.append(document if isinstance(document, str) and document and not independent else None)
            end = obj.get("end")
            row_id = obj.get("id")
            sources.append(f"{p.name} {row_id}" if isinstance(row_id, (str, int)) else f"{p.name} line {n}")
            starts.append(start if _offset(start) else len(starts))
            ends.append(end if _offset(start) and _offset(end) else None)
        labels = np.array(rows, dtype=np.int8).reshape(len(texts), len(codes))
        if not any(groups):
            return cls(texts, labels, codes, roles, sources=sources)
        first: dict[str, int] = {}
        for i, g in enumerate(groups):
            if g is not None:
                first.setdefault(g, i)
        order = sorted(
            range(len(texts)), key=lambda i: (first[groups[i]], starts[i]) if groups[i] else (i, 0)
        )
        places = [
            Place(g, starts[i], ends[i]) if g is not None and ends[i] is not None else g
            for i, g in enumerate(groups)
        ]
        return cls(texts, labels, codes, roles, groups=places, sources=sources).subset(order)

    @classmethod
    def from_decisions(cls, rows: Iterable[Mapping], codes: Sequence[str] | Codebook) -> TrainingSet:
        """Human decisions ``{text, role, code, label}`` (accept = 1, reject = 0, manual coding = 1),
        each optionally with ``where`` (its source in words, e.g. "p01.txt, coded by ana").

        Only the stated code is labelled; every other code of that text stays -1 (unknown).
        Several decisions on the same text (and role) are merged into one row; a later decision
        on the same (text, code) wins. ``codes`` is the codebook (or its code ids).
        """
        code_ids = tuple(codes.code_ids if isinstance(codes, Codebook) else codes)
        pos = {c: i for i, c in enumerate(code_ids)}
        index: dict[tuple[str, str | None], int] = {}
        texts, roles, labels, sources = [], [], [], []
        for i, row in enumerate(rows):
            try:
                text, code, label = row["text"], row["code"], int(row["label"])
            except (KeyError, TypeError, ValueError):
                raise ClhsError(f"decision {i}: needs text, code and label (1/0)") from None
            if code not in pos:
                raise ClhsError(f"decision {i}: {unknown_code_message(code, code_ids)}")
            if label not in (0, 1):
                raise ClhsError(f"decision {i}: label must be 1 (accept/manual) or 0 (reject), not {label}")
            key = (text, row.get("role"))
            if key not in index:
                index[key] = len(texts)
                texts.append(text)
                roles.append(row.get("role"))
                labels.append(np.full(len(code_ids), UNKNOWN, dtype=np.int8))
                sources.append(str(row.get("where") or "a human decision"))
            labels[index[key]][pos[code]] = label
        arr = np.array(labels, dtype=np.int8).reshape(len(texts), len(code_ids))
        return cls(texts, arr, code_ids, roles, sources=sources)

    @classmethod
    def concat(cls, *sets: TrainingSet) -> TrainingSet:
        """Rows of several training sets over the same codes, in order."""
        sets = [s for s in sets if s is not None]
        if not sets:
            raise ValueError("nothing to concatenate")
        codes = sets[0].codes
        for s in sets[1:]:
            if s.codes != codes:
                raise ValueError("training sets are over different codes")
        weights = None
        if any(s.weights is not None for s in sets):
            weights = np.concatenate([s.sample_weight() for s in sets])
        groups = None
        if any(s.groups is not None for s in sets):
            groups = [g for s in sets for g in (s.groups if s.groups is not None else [None] * len(s))]
        return cls(
            [t for s in sets for t in s.texts],
            np.vstack([s.labels for s in sets]),
            codes,
            [r for s in sets for r in s.roles],
            weights,
            groups,
            [w for s in sets for w in s.sources],
        )
