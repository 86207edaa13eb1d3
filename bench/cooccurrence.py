"""Co-occurrence speed and memory against a pandas self-merge baseline, measured in the same run.

Synthetic data (default): 100 codes, 1,000,000 codings, 10,000 documents of 100 segments each.
Code frequencies are skewed (Zipf-like); most codings lie inside one segment, one in five
runs into the next segment. Two definitions are timed:

1. same segment (``cooccurrence(codings, segments, unit="segment")``): spans are mapped to
   the segments they overlap (binary search), then one sparse product X.T @ X gives every
   n12, and all measures follow. The baseline does the same in plain pandas: merge codings
   with segments on the document and keep overlapping (coding, segment) rows, then
   self-merge the (segment, code) table on the segment and count code pairs with groupby.
   Its two steps are timed separately as well: the counting step alone (given the
   assignment for free) is the fairest comparison of the counting;
2. overlapping spans (``cooccurrence(codings, unit="span", relation="overlap")``): the
   baseline self-merges the codings on the document (in chunks of documents, to keep its
   memory bounded), keeps overlapping pairs of different codes and counts them.

Goal: under 2 s and under 1 GB peak memory for each definition, and at least 10x faster
than the baseline. Timings are the best of ``--repeat`` runs; peak memory is the peak of
Python-tracked allocations (tracemalloc, which sees numpy and pandas buffers) in a
separate run, so tracing does not slow the timed runs. Fisher's exact test (two-sided, all
4,950 pairs) is timed separately. The counts of both methods are compared pair by pair.

Usage: python bench/cooccurrence.py [--codings 1000000] [--documents 10000] [--codes 100]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd

from clhs_mechanisms.analysis.cooccurrence import cooccurrence

SEGMENT_LENGTH = 200


def synthetic(
    n_codings: int, n_documents: int, n_codes: int, segments_per_doc: int = 100, seed: int = 11
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    names = np.array([f"doc{d:05d}" for d in range(n_documents)], dtype=object)
    seg_doc = np.repeat(np.arange(n_documents), segments_per_doc)
    seg_idx = np.tile(np.arange(segments_per_doc), n_documents)
    segments = pd.DataFrame(
        {
            "document": names[seg_doc],
            "idx": seg_idx,
            "turn": seg_idx // 3,
            "start": seg_idx * SEGMENT_LENGTH,
            "end": seg_idx * SEGMENT_LENGTH + SEGMENT_LENGTH - 1,
            "codable": True,
        }
    )
    weights = 1.0 / np.arange(1, n_codes + 1) ** 0.8
    code = rng.choice(n_codes, size=n_codings, p=weights / weights.sum())
    doc = rng.integers(0, n_documents, size=n_codings)
    seg = rng.integers(0, segments_per_doc - 1, size=n_codings)
    offset = rng.integers(0, SEGMENT_LENGTH // 2, size=n_codings)
    length = rng.integers(20, SEGMENT_LENGTH // 2, size=n_codings)
    longer = rng.random(n_codings) < 0.2
    length[longer] += SEGMENT_LENGTH
    start = seg * SEGMENT_LENGTH + offset
    codings = pd.DataFrame(
        {
            "document": names[doc],
            "code": np.array([f"code{c:03d}" for c in range(n_codes)], dtype=object)[code],
            "coder": "A",
            "start": start,
            "end": start + length,
        }
    )
    return codings, segments


def baseline_assign(
    codings: pd.DataFrame, segments: pd.DataFrame, chunk_documents: int = 250
) -> pd.DataFrame:
    """Plain pandas: codings merged with the segments of their document, overlapping rows kept."""
    seg = segments[["document", "start", "end"]].rename(columns={"start": "s_start", "end": "s_end"})
    seg["segment"] = np.arange(len(seg))
    docs = pd.unique(codings["document"])
    parts = []
    for i in range(0, len(docs), chunk_documents):
        chunk = set(docs[i : i + chunk_documents])
        c = codings[codings["document"].isin(chunk)][["document", "code", "start", "end"]]
        m = c.merge(seg[seg["document"].isin(chunk)], on="document")
        m = m[(m["start"] < m["s_end"]) & (m["s_start"] < m["end"])]
        parts.append(m[["segment", "code"]])
    return pd.concat(parts, ignore_index=True)


def baseline_segment(unit_codes: pd.DataFrame) -> pd.Series:
    """Self-merge of the (segment, code) table on the segment; counts per code pair."""
    uc = unit_codes.drop_duplicates()
    merged = uc.merge(uc, on="segment", suffixes=("_a", "_b"))
    merged = merged[merged["code_a"] < merged["code_b"]]
    return merged.groupby(["code_a", "code_b"]).size()


def baseline_overlap(codings: pd.DataFrame, chunk_documents: int = 500) -> pd.Series:
    """Self-merge of the codings on the document (chunked); overlapping pairs of different codes."""
    cod = codings[["document", "code", "start", "end"]].drop_duplicates()
    docs = pd.unique(cod["document"])
    parts = []
    for i in range(0, len(docs), chunk_documents):
        chunk = cod[cod["document"].isin(docs[i : i + chunk_documents])]
        m = chunk.merge(chunk, on="document", suffixes=("_a", "_b"))
        m = m[(m["code_a"] < m["code_b"]) & (m["start_a"] < m["end_b"]) & (m["start_b"] < m["end_a"])]
        parts.append(m.groupby(["code_a", "code_b"]).size())
    return pd.concat(parts).groupby(level=[0, 1]).sum()


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def peak_mb(fn: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def compare(ours: pd.DataFrame, base: pd.Series) -> int:
    """Pairs whose n12 differs between the two methods."""
    mine = ours.set_index(["code_a", "code_b"])["n12"]
    base = base.reindex(mine.index, fill_value=0)
    return int((mine != base).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codings", type=int, default=1_000_000)
    ap.add_argument("--documents", type=int, default=10_000)
    ap.add_argument("--codes", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t = time.perf_counter()
    codings, segments = synthetic(args.codings, args.documents, args.codes)
    print(
        f"synthetic data: {len(codings):,} codings, {args.codes} codes, {args.documents:,} documents, "
        f"{len(segments):,} segments ({time.perf_counter() - t:.1f} s to build)"
    )

    def same():
        return cooccurrence(codings, segments, unit="segment", tests=False)

    def same_fisher():
        return cooccurrence(codings, segments, unit="segment", tests=True)

    def span():
        return cooccurrence(codings, unit="span", relation="overlap")

    t_assign, unit_codes = best_time(lambda: baseline_assign(codings, segments), 1)
    results = []
    for label, ours, base in (
        ("same segment", same, lambda: baseline_segment(baseline_assign(codings, segments))),
        ("overlapping spans", span, lambda: baseline_overlap(codings)),
    ):
        t_ours, table = best_time(ours, args.repeat)
        t_base, counts = best_time(base, 1)
        m_ours = peak_mb(ours)
        m_base = peak_mb(base)
        wrong = compare(table, counts)
        results.append((label, t_ours, m_ours, t_base, m_base, wrong, int(table["n12"].sum())))
    t_count, _ = best_time(lambda: baseline_segment(unit_codes), 1)
    t_fisher, _ = best_time(same_fisher, args.repeat)
    print()
    print(
        f"{'definition':<20}{'ours s':>9}{'ours MB':>10}{'baseline s':>12}{'baseline MB':>13}{'speed-up':>10}"
        f"{'pairs differing':>17}{'sum n12':>14}"
    )
    for label, t_o, m_o, t_b, m_b, wrong, total in results:
        print(
            f"{label:<20}{t_o:>9.2f}{m_o:>10.0f}{t_b:>12.2f}{m_b:>13.0f}"
            f"{t_b / t_o:>9.1f}x{wrong:>17}{total:>14,}"
        )
    same_ours = results[0][1]
    print(
        f"\nsame segment, baseline steps: assigning codings to segments {t_assign:.2f} s, counting pairs "
        f"given the assignment {t_count:.2f} s (ours, everything: {same_ours:.2f} s; "
        f"{t_count / same_ours:.1f}x the counting step alone)"
    )
    print(f"same segment with two-sided Fisher tests and BH q-values for all pairs: {t_fisher:.2f} s")
    ok = all(
        t_o < 2 and m_o < 1024 and t_b / t_o >= 10 and wrong == 0 for _, t_o, m_o, t_b, _, wrong, _ in results
    )
    print(
        "goal (each definition < 2 s, < 1 GB, >= 10x the baseline, identical counts):",
        "met" if ok else "NOT met",
    )


if __name__ == "__main__":
    main()
