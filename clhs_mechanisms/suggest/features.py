"""Text features of the suggesters: char n-gram TF-IDF computed with numpy, and the plain-array
state of scikit-learn word vectorizers.

:class:`CharTfidf` gives the matrix of ``TfidfVectorizer(analyzer="char_wb", sublinear_tf=True)``
(lower case, smoothed idf, l2 rows) without building a Python string per n-gram: an n-gram is an
integer whose base-``A`` digits are its characters' ranks in the vocabulary's alphabet, so a batch
of segments is transformed by a few array operations (scikit-learn's analyzer costs ~1 ms a
segment). Both classes save their fitted state as arrays of terms and idf weights, which load
much faster than pickled vocabulary dicts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from itertools import chain, count

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

# Words that carry no meaning a reader could check as evidence: stop words and the fillers of talk.
FILLERS = frozenset(
    "hmm hm mm mhm um umm uh uhh er erm ah oh yeah yep yes okay ok like mean good great guess kind sort "
    "really actually basically literally honestly just right well know think thing things stuff lot gonna "
    "wanna gotta got get laughs crosstalk inaudible".split()
)
UNINFORMATIVE = ENGLISH_STOP_WORDS | FILLERS
_CHUNK = 4096  # texts transformed at once (bounds the memory of the n-gram arrays)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


class _CodeTable:
    """A map from non-negative int64 codes to columns: open addressing, linear probing, load <= 1/4,
    so a batch of codes is looked up with a few vectorised gathers."""

    def __init__(self, codes: Sequence[int]) -> None:
        bits = max(8, (4 * len(codes)).bit_length())
        self._shift = np.uint64(64 - bits)
        self._keys = np.full(1 << bits, -1, dtype=np.int64)
        self._cols = np.full(1 << bits, -1, dtype=np.int64)
        mask = (1 << bits) - 1
        for col, (code, slot) in enumerate(zip(codes, self._slots(np.array(codes, dtype=np.int64)).tolist())):
            while self._keys[slot] != -1:
                slot = (slot + 1) & mask
            self._keys[slot], self._cols[slot] = code, col

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        return ((codes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> self._shift).astype(np.int64)

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """The column of each code, -1 for codes not in the table."""
        cols = np.full(len(codes), -1, dtype=np.int64)
        todo, slots, mask = np.arange(len(codes)), self._slots(codes), len(self._keys) - 1
        while len(todo):
            keys = self._keys[slots]
            hit = keys == codes[todo]
            cols[todo[hit]] = self._cols[slots[hit]]
            more = ~hit & (keys != -1)
            todo, slots = todo[more], (slots[more] + 1) & mask
        return cols


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray, dtype) -> sparse.csr_matrix:
    """Sublinear tf (1 + log count) times idf, rows scaled to unit l2 norm (``counts`` without duplicates)."""
    np.log(counts.data, out=counts.data)
    counts.data += 1.0
    counts.data *= idf[counts.indices]
    return normalize(counts).astype(dtype)


def _chunked(transform, texts: Sequence[str], width: int, dtype) -> sparse.csr_matrix:
    texts = list(texts)
    if not texts:
        return sparse.csr_matrix((0, width), dtype=dtype)
    parts = [transform(texts[i : i + _CHUNK]) for i in range(0, len(texts), _CHUNK)]
    return sparse.vstack(parts, format="csr") if len(parts) > 1 else parts[0]


class CharTfidf:
    """TF-IDF over the char n-grams of each lower-cased word padded with one space on each side.

    ``min_df``/``max_df`` (int: documents, float: proportion) and ``max_features`` (most frequent
    n-grams; ties go to the alphabetically first) prune the vocabulary as scikit-learn does.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (2, 5),
        *,
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        max_features: int | None = None,
        dtype=np.float64,
    ) -> None:
        self.ngram_range = tuple(ngram_range)
        self.min_df, self.max_df, self.max_features = min_df, max_df, max_features
        self.dtype = np.dtype(dtype)

    @property
    def max_alphabet(self) -> int:
        """Most distinct characters an n-gram code can hold: ``(A + 2) ** max_n < 2 ** 63``."""
        return int(np.floor((2.0**63 - 1) ** (1 / self.ngram_range[1]))) - 3

    # ------------------------------------------------------------------ n-gram codes
    def _set_alphabet(self, chars: Sequence[str]) -> None:
        """Digit ``i + 1`` for ``chars[i]``; any other character gets ``unknown`` (no term has it)."""
        cps = np.fromiter(map(ord, chars), dtype=np.int64, count=len(chars))
        self._digit = np.zeros(int(cps.max(initial=0)) + 2, dtype=np.int64)
        self._unknown = len(chars) + 1
        self._digit[:] = self._unknown
        self._digit[cps] = np.arange(1, len(chars) + 1)
        self._base = len(chars) + 2
        self._chars = list(chars)

    @staticmethod
    def _bags(texts: Sequence[str]) -> tuple[sparse.csr_matrix, list[str]]:
        """Word counts ``(texts, distinct words)`` of the lower-cased texts, and the distinct words.

        N-grams never cross words, so each distinct word is analysed once per batch.
        """
        index: defaultdict[str, int] = defaultdict(count().__next__)
        ids = [[index[w] for w in t.lower().split()] for t in texts]
        indptr = np.r_[0, np.cumsum(np.fromiter(map(len, ids), dtype=np.int64, count=len(ids)))]
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(indptr[-1]))
        bag = sparse.csr_matrix((np.ones(len(flat)), flat, indptr), shape=(len(texts), len(index)))
        return bag, list(index)

    def _codes(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(word index, n-gram code) of every n-gram occurrence in the padded ``words``."""
        if not words:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        padded = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 2
        cps = np.frombuffer(
            (" " + "  ".join(words) + " ").encode("utf-32-le", "surrogatepass"), dtype=np.uint32
        )
        digits = self._digit[np.minimum(cps, len(self._digit) - 1)]
        word_end = np.repeat(np.cumsum(padded), padded)
        word_start = word_end - np.repeat(padded, padded)
        row = np.repeat(np.arange(len(words)), padded)
        min_n, max_n = self.ngram_range
        rows, codes = [], []
        code = np.zeros(len(digits), dtype=np.int64)
        for n in range(1, max_n + 1):
            code = code[: len(digits) - n + 1] * self._base + digits[n - 1 :]
            m = len(code)
            if n >= min_n:
                ok = np.arange(m) + n <= word_end[:m]
            else:  # a padded word shorter than min_n counts once, whole
                ok = (np.arange(m) == word_start[:m]) & (word_end[:m] - word_start[:m] == n)
            rows.append(row[:m][ok])
            codes.append(code[ok])
        return np.concatenate(rows), np.concatenate(codes)

    def _decode(self, codes: np.ndarray) -> np.ndarray:
        """The n-grams (a str array) of ``codes`` of known characters."""
        n = self.ngram_range[1]
        digits = np.zeros((len(codes), n), dtype=np.int64)  # most significant digit first, right-aligned
        for i in range(n - 1, -1, -1):
            codes, digits[:, i] = np.divmod(codes, self._base)
        lead = (digits == 0).sum(axis=1)
        digits = np.take_along_axis(digits, np.minimum(np.arange(n) + lead[:, None], n - 1), axis=1)
        digits[np.arange(n) >= n - lead[:, None]] = 0  # left-aligned; 0 marks the end
        points = np.r_[0, [ord(c) for c in self._chars]].astype(np.uint32)
        return np.ascontiguousarray(points[digits]).view(f"<U{n}").ravel()

    def _index(self, terms: Sequence[str]) -> None:
        """Column ``i`` is ``terms[i]``; the alphabet is the terms' characters."""
        self.terms_ = np.asarray(terms, dtype=str)
        self._set_alphabet(sorted(set("".join(terms))))
        self._table = _CodeTable([self._encode(t) for t in terms])

    def _encode(self, term: str) -> int:
        code = 0
        for ch in term:
            code = code * self._base + int(self._digit[ord(ch)])
        return code

    # ------------------------------------------------------------------ estimator
    def fit(self, texts: Sequence[str]) -> CharTfidf:
        texts = list(texts)
        cps = np.frombuffer(
            " ".join(t.lower() for t in texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
        )
        chars, freq = np.unique(cps, return_counts=True)
        keep = np.sort(chars[np.argsort(-freq, kind="stable")[: self.max_alphabet]])
        self._set_alphabet([chr(c) for c in keep.tolist()])
        bag, words = self._bags(texts)
        rows, codes = self._codes(words)
        uniq, ids = np.unique(codes, return_inverse=True)
        counts = (
            bag @ sparse.csr_matrix((np.ones(len(ids)), (rows, ids)), shape=(len(words), len(uniq)))
        ).tocsc()
        tf = np.asarray(counts.sum(axis=0)).ravel()
        df = np.diff(counts.indptr)
        n = len(texts)
        low = self.min_df if isinstance(self.min_df, int) else self.min_df * n
        high = self.max_df if isinstance(self.max_df, int) else self.max_df * n
        ok = (df >= low) & (df <= high) & ~self._has_unknown(uniq)
        terms = self._decode(uniq[ok])
        order = np.argsort(terms, kind="stable")
        if self.max_features is not None and len(order) > self.max_features:
            order = order[np.sort(np.argsort(-tf[ok][order], kind="stable")[: self.max_features])]
        if not len(order):
            raise ValueError(
                "no char n-grams remain after pruning; use more training texts or a lower min_df"
            )
        self._index(terms[order].tolist())
        self.idf_ = np.log((1.0 + n) / (1.0 + df[ok][order])) + 1.0
        return self

    def _has_unknown(self, codes: np.ndarray) -> np.ndarray:
        bad = np.zeros(len(codes), dtype=bool)
        for _ in range(self.ngram_range[1]):
            bad |= codes % self._base == self._unknown
            codes = codes // self._base
        return bad

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return _chunked(self._transform, texts, len(self), self.dtype)

    def _transform(self, texts: list[str]) -> sparse.csr_matrix:
        bag, words = self._bags(texts)
        rows, codes = self._codes(words)
        cols = self._table.lookup(codes)
        hit = cols >= 0
        grams = sparse.csr_matrix(
            (np.ones(int(hit.sum())), (rows[hit], cols[hit])), shape=(len(words), len(self))
        )
        return _tfidf(bag @ grams, self.idf_, self.dtype)

    def __len__(self) -> int:
        return len(self.terms_)

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict:
        return {
            "terms": self.terms_,
            "idf": self.idf_,
            "ngram_range": list(self.ngram_range),
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_state(cls, state: dict) -> CharTfidf:
        self = cls(tuple(state["ngram_range"]), dtype=np.dtype(state["dtype"]))
        self._index(np.asarray(state["terms"], dtype=str).tolist())
        self.idf_ = np.asarray(state["idf"], dtype=float)
        return self


class WordTfidf:
    """TF-IDF over lower-case word 1-2 grams (scikit-learn's token pattern), exactly as
    ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words=..., min_df=..., max_df=...)``.

    The vocabulary is fitted by scikit-learn; transforming maps each token to an id once and finds
    unigram and bigram columns with array lookups instead of building a string per n-gram.
    """

    def __init__(
        self,
        *,
        stop_words: str | None = None,
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        dtype=np.float64,
    ) -> None:
        self.stop_words, self.min_df, self.max_df = stop_words, min_df, max_df
        self.dtype = np.dtype(dtype)

    def fit(self, texts: Sequence[str]) -> WordTfidf:
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            stop_words=self.stop_words,
            min_df=self.min_df,
            max_df=self.max_df,
        ).fit(list(texts))
        self._index(vectorizer.get_feature_names_out().tolist())
        self.idf_ = np.asarray(vectorizer.idf_, dtype=float)
        return self

    def _index(self, terms: Sequence[str]) -> None:
        """Token ids for every word of the terms (stop words: -2); unigram columns by token id;
        bigram columns in a table keyed by ``id1 * n_tokens + id2``; ``informative_``: terms a reader
        can take as evidence, not made only of stop words and the fillers of talk ("hmm", "yeah so",
        "I mean")."""
        self.terms_ = np.asarray(terms, dtype=str)
        split = [t.split(" ") for t in terms]
        self.informative_ = np.array([not all(w in UNINFORMATIVE for w in ws) for ws in split], dtype=bool)
        tokens = sorted({w for ws in split for w in ws})
        self._ids = {w: i for i, w in enumerate(tokens)}
        if self.stop_words:
            self._ids.update((w, -2) for w in ENGLISH_STOP_WORDS)
        self._unigram = np.full(len(tokens) + 1, -1, dtype=np.int64)  # last: unknown token
        bigrams, columns = [], []
        for col, ws in enumerate(split):
            if len(ws) == 1:
                self._unigram[self._ids[ws[0]]] = col
            else:
                bigrams.append(self._ids[ws[0]] * len(tokens) + self._ids[ws[1]])
                columns.append(col)
        self._bigram = _CodeTable(bigrams)
        self._bigram_cols = np.asarray(columns, dtype=np.int64)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return _chunked(self._transform, texts, len(self), self.dtype)

    def _transform(self, texts: list[str]) -> sparse.csr_matrix:
        get, n_tok = self._ids.get, len(self._unigram) - 1
        ids = [[get(w, -1) for w in _TOKEN.findall(t.lower())] for t in texts]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        tok = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        row = np.repeat(np.arange(len(texts)), lengths)
        keep = tok != -2  # stop words go before bigrams are formed
        tok, row = tok[keep], row[keep]
        uni = self._unigram[np.where(tok >= 0, tok, n_tok)]
        pair = (row[1:] == row[:-1]) & (tok[1:] >= 0) & (tok[:-1] >= 0)
        at = self._bigram.lookup(tok[:-1][pair] * n_tok + tok[1:][pair])
        bi = np.full(len(at), -1, dtype=np.int64)
        bi[at >= 0] = self._bigram_cols[at[at >= 0]]
        rows = np.r_[row, row[:-1][pair]]
        cols = np.r_[uni, bi]
        hit = cols >= 0
        counts = sparse.csr_matrix(
            (np.ones(int(hit.sum())), (rows[hit], cols[hit])), shape=(len(texts), len(self))
        )
        return _tfidf(counts, self.idf_, self.dtype)

    def __len__(self) -> int:
        return len(self.terms_)

    def get_state(self) -> dict:
        return {
            "terms": self.terms_,
            "idf": self.idf_,
            "stop_words": self.stop_words or "",
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_state(cls, state: dict) -> WordTfidf:
        self = cls(stop_words=state["stop_words"] or None, dtype=np.dtype(state["dtype"]))
        self._index(np.asarray(state["terms"], dtype=str).tolist())
        self.idf_ = np.asarray(state["idf"], dtype=float)
        return self
