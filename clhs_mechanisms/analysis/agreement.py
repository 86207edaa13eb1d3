"""Inter-coder agreement in a project: per code (present/absent) and pooled, with bootstrap intervals.

``ratings.rating_table`` turns codings into one row per (code, unit) with a 1/0/NaN column per coder;
``agreement`` computes every statistic of ``reliability`` per code and pooled over codes, for the
group of coders and for each pair, with percentile bootstrap intervals; ``disagreements`` lists
where coders differ (for adjudication; ``adjudication`` marks those already settled) and
``machine_agreement`` treats the assisted-coding suggestions at their thresholds as one more coder.

Bootstrap: the units (or, with ``resample="document"``, whole documents: the default for
character units, whose runs are not independent) are drawn with replacement ``n_boot``
times and every statistic recomputed; the interval is the percentile interval. All statistics
are sums over units of per-unit terms, so each replicate is one matrix product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ClhsError
from .adjudication import mark_resolved, ratings_only
from .ratings import coverage_of, rating_table, ratings_with_coverage
from .reliability import (
    GROUP_STATISTICS,
    PAIR_STATISTICS,
    STATISTICS,
    chance_corrected,
    cohen_kappa,
    group_features,
    group_stats,
    krippendorff_alpha,
    pair_features,
    pair_stats,
)
from .units import check_codes, require_codings, select_coders

__all__ = [
    "ALL_CODES",
    "RESAMPLING",
    "agreement",
    "coverage_of",
    "disagreements",
    "machine_agreement",
    "machine_codings",
    "rating_table",
]

ALL_CODES = "(all codes)"  # the ``code`` of rows pooled over codes
RESAMPLING = ("unit", "document")  # what the bootstrap draws
UNDEFINED = "undefined: expected agreement is 1 (every rating in one category)"


# -- the agreement table --------------------------------------------------------------------------


def _coder_columns(ratings: pd.DataFrame, coders: Sequence[str] | None) -> list[str]:
    coders = list(coders) if coders else list(ratings.attrs.get("coders", []))
    if not coders:
        raise ClhsError("name the coder columns to compare")
    for c in coders:
        if c not in ratings.columns:
            raise ClhsError(f"no ratings for coder '{c}'")
    if len(coders) < 2:
        raise ClhsError(f"agreement needs at least two coders; got {len(coders)}")
    return coders


def _replicate_weights(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """Row 0: the data itself (each cluster once); rows 1..n_boot: bootstrap draws."""
    rng = np.random.default_rng(seed)
    W = np.ones((1 + n_boot, n_clusters))
    if n_boot:
        W[1:] = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot)
    return W


def _interval(values: np.ndarray, ci: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return float("nan"), float("nan")
    return float(np.percentile(v, 100 * (1 - ci) / 2)), float(np.percentile(v, 100 * (1 + ci) / 2))


TABLE_COLUMNS = [
    "code",
    "coders",
    "n_coders",
    "statistic",
    "name",
    "formula",
    "value",
    "ci_low",
    "ci_high",
    "units",
    "coded",
    "note",
]
_BINARY = np.array([0, 1], dtype=object)  # present/absent: the categories of every rating table


class _Rows:
    """The agreement table as it is built: one row per (code, coders, statistic) asked for."""

    def __init__(self, wanted: Sequence[str], n_boot: int, ci: float) -> None:
        self.wanted, self.n_boot, self.ci = set(wanted), n_boot, ci
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        code: str,
        who: tuple[str, ...],
        stat: str,
        series: np.ndarray,
        units: float,
        coded: str,
        note: str = "",
    ) -> None:
        """``series``: the value on the data, then one per bootstrap replicate."""
        if stat not in self.wanted:
            return
        value = float(series[0])
        lo, hi = _interval(series[1:], self.ci) if self.n_boot else (float("nan"), float("nan"))
        self.rows.append(
            {
                "code": code,
                "coders": " + ".join(who),
                "n_coders": len(who),
                "statistic": stat,
                "name": STATISTICS[stat][0],
                "formula": STATISTICS[stat][1],
                "value": value,
                "ci_low": lo,
                "ci_high": hi,
                "units": units,
                "coded": coded,
                "note": note or (UNDEFINED if np.isnan(value) else ""),
            }
        )


def _wanted(statistics: Sequence[str] | None) -> list[str]:
    wanted = list(statistics) if statistics else list(STATISTICS)
    for s in wanted:
        if s not in STATISTICS:
            raise ClhsError(f"unknown statistic '{s}' (use {', '.join(STATISTICS)})")
    return wanted


def _bootstrap(
    ratings: pd.DataFrame, resample: str, n_boot: int, seed: int
) -> tuple[sp.csr_matrix, np.ndarray]:
    """(S, W): S (clusters x items) sums items into the drawn clusters (documents or units);
    W (1 + n_boot x clusters) weighs the clusters of each replicate."""
    key = (
        ratings["document"]
        if resample == "document"
        else ratings["document"].astype(str) + "\x1f" + ratings["unit"].astype(str)
    )
    cluster, names = pd.factorize(key)
    S = sp.csr_matrix(
        (np.ones(len(cluster)), (cluster, np.arange(len(cluster)))), shape=(len(names), len(cluster))
    )
    return S, _replicate_weights(len(names), n_boot, seed)


def agreement(
    ratings: pd.DataFrame,
    *,
    coders: Sequence[str] | None = None,
    statistics: Sequence[str] | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    resample: str | None = None,
    seed: int = 0,
    pooled: bool = True,
) -> pd.DataFrame:
    """Agreement per code and pooled over codes, for the coder group and each pair of coders.

    One row per (code, coders, statistic): ``code`` (``ALL_CODES`` for pooled rows),
    ``coders`` (``A + B``), ``n_coders``, ``statistic``, ``name`` (with reference),
    ``formula``, ``value``, ``ci_low``, ``ci_high``, ``units`` (units rated by two or more of
    these coders; characters for character units), ``coded`` (units each coder coded) and
    ``note``. Two coders get ``PAIR_STATISTICS`` (plus Fleiss' kappa in the pooled row of a
    group); three or more get ``GROUP_STATISTICS`` for the group plus ``PAIR_STATISTICS``
    for every pair. Pooled rows treat every (code, unit) as one item; ``pooled_kappa``
    (De Vries et al.) averages the per-code Po and Pe instead. Codes that none of these
    coders used are left out (listed in ``attrs["unused_codes"]``).

    ``resample``: ``unit`` (default) or ``document`` (default for character units).
    Bootstrap replicates in which a statistic is undefined (e.g. no unit coded, so Pe = 1)
    are left out of that statistic's interval.
    """
    coders = _coder_columns(ratings, coders)
    unit = ratings.attrs.get("unit", "segment")
    resample = resample or ("document" if unit == "character" else "unit")
    if resample not in RESAMPLING:
        raise ClhsError(f"unknown resampling '{resample}' (use {' or '.join(RESAMPLING)})")
    rows = _Rows(_wanted(statistics), n_boot, ci)
    values = ratings[coders].to_numpy(dtype=np.float64)
    rated = ~np.isnan(values)
    if not (rated.sum(axis=1) >= 2).any():
        raise ClhsError(
            f"no unit was rated by two or more of {', '.join(coders)}: their documents do not overlap"
        )
    V = np.where(rated, values, -1).astype(np.int64).T  # coders x items, categories 0/1
    w = ratings["weight"].to_numpy(dtype=np.float64) if "weight" in ratings.columns else np.ones(len(ratings))
    S, W = _bootstrap(ratings, resample, n_boot, seed)
    codes_col = ratings["code"].to_numpy()
    used = [c for c in pd.unique(codes_col) if (values[codes_col == c] == 1).any()]
    sets = [tuple(coders)] + (list(combinations(coders, 2)) if len(coders) > 2 else [])
    per_code: PerCode = {}
    scopes = [(c, codes_col == c) for c in used] + ([(ALL_CODES, np.isin(codes_col, used))] if pooled else [])
    for code, mask in scopes:
        for who in sets:
            Vs = V[[coders.index(c) for c in who]][:, mask]
            _scope_rows(rows, code, who, Vs, w[mask], W, S[:, mask], unit, per_code)
    out = pd.DataFrame(rows.rows, columns=TABLE_COLUMNS)
    unused = [c for c in pd.unique(codes_col) if c not in used]
    out.attrs.update(
        unit=unit,
        coders=coders,
        unused_codes=unused,
        n_boot=n_boot,
        ci=ci,
        resample=resample,
        bootstrap=f"percentile interval over {n_boot} resamples of {resample}s",
    )
    return out


PerCode = dict[tuple[str, ...], list[tuple[np.ndarray, np.ndarray]]]  # pair of coders -> each code's (Po, Pe)


def _scope_rows(
    rows: _Rows,
    code: str,
    who: tuple[str, ...],
    Vs: np.ndarray,
    ws: np.ndarray,
    W: np.ndarray,
    Sm: sp.csr_matrix,
    unit: str,
    per_code: PerCode,
) -> None:
    """The rows of one code (or ``ALL_CODES``) for one set of coders: ``Vs`` their ratings (coders x
    items, -1 missing), ``ws`` the items' weights, ``Sm`` the items' clusters, ``W`` the replicates."""
    pairable = (Vs >= 0).sum(axis=0) >= 2
    units = float(ws[pairable].sum())
    units = int(units) if units.is_integer() else units
    coded = ", ".join(f"{c}: {int(((Vs[i] == 1) & pairable).sum())}" for i, c in enumerate(who))
    if units == 0:
        for stat in PAIR_STATISTICS if len(who) == 2 else GROUP_STATISTICS:
            rows.add(code, who, stat, np.array([np.nan]), 0.0, coded, "no unit rated by these coders")
        return
    q = len(_BINARY)
    group = group_stats(W @ (Sm @ group_features(Vs, q, ws)), q, _BINARY)
    if len(who) > 2:
        for stat in GROUP_STATISTICS:
            series = group[stat].copy()
            if stat == "krippendorff_alpha" and unit != "character":
                series[0] = krippendorff_alpha(np.where(Vs >= 0, Vs, np.nan), value_domain=[0, 1])
            rows.add(code, who, stat, series, units, coded)
        return
    pair = pair_stats((W @ (Sm @ pair_features(Vs[0], Vs[1], q, ws))).reshape(-1, q, q), q)
    if code != ALL_CODES:
        per_code.setdefault(who, []).append((pair["_po"], pair["_pe"]))
    point = _point_estimates(Vs, ws, unit)
    for stat in PAIR_STATISTICS:
        series = (pair[stat] if stat in ("cohen_kappa", "scott_pi") else group[stat]).copy()
        if stat in point:
            series[0] = point[stat]
        rows.add(code, who, stat, series, units, coded)
    if code == ALL_CODES and per_code.get(who):
        po, pe = (np.mean([p[k] for p in per_code[who]], axis=0) for k in (0, 1))
        rows.add(
            code,
            who,
            "pooled_kappa",
            chance_corrected(po, pe),
            units,
            coded,
            f"over {len(per_code[who])} codes",
        )


def _point_estimates(V: np.ndarray, w: np.ndarray, unit: str) -> dict[str, float]:
    """Library point estimates for two coders: Cohen's kappa (scikit-learn) and, for unweighted
    units, Krippendorff's alpha (``krippendorff``)."""
    data = np.where(V >= 0, V, np.nan)
    out = {"cohen_kappa": cohen_kappa(data, weights=None if unit != "character" else w, categories=[0, 1])}
    if unit != "character":
        out["krippendorff_alpha"] = krippendorff_alpha(data, value_domain=[0, 1])
    return out


def disagreements(
    ratings: pd.DataFrame,
    *,
    coders: Sequence[str] | None = None,
    texts: Mapping[str, str] | None = None,
    adjudicated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Where two or more coders rated a unit and did not all agree: the adjudication list.

    Columns: ``code``, ``document``, ``unit``, ``start``, ``end``, ``coded_by`` and
    ``not_coded_by`` (lists of coders), ``not_rated`` (coders who did not rate the unit),
    ``resolved`` (an adjudication in ``adjudicated``, as ``adjudication.adjudications`` reads them,
    settles it), ``resolved_by`` and ``verdict`` (of the latest such adjudication) and, with
    ``texts``, the unit's ``text``.
    """
    coders = _coder_columns(ratings, coders)
    values = ratings[coders].to_numpy(dtype=np.float64)
    rated = ~np.isnan(values)
    yes = (values == 1) & rated
    no = (values == 0) & rated
    mask = (rated.sum(axis=1) >= 2) & yes.any(axis=1) & no.any(axis=1)
    names = np.asarray(coders, dtype=object)
    sub = ratings.loc[mask, ["code", "document", "unit", "start", "end"]].reset_index(drop=True)
    sub["coded_by"] = [list(names[r]) for r in yes[mask]]
    sub["not_coded_by"] = [list(names[r]) for r in no[mask]]
    sub["not_rated"] = [list(names[~r]) for r in rated[mask]]
    sub = mark_resolved(sub, adjudicated)
    if texts is not None:
        sub["text"] = [
            texts.get(d, "")[s:e] if e >= 0 else texts.get(d, "")
            for d, s, e in zip(sub["document"], sub["start"], sub["end"])
        ]
    return sub


# -- the machine as a coder ------------------------------------------------------------------------


def _current_latest(suggestions: pd.DataFrame, segments: pd.DataFrame | None) -> pd.DataFrame:
    """The suggestions on current segments (when ``segments`` has ``id``), the latest per (segment, code)."""
    sug = suggestions
    if segments is not None and "id" in segments.columns and "segment_id" in sug.columns:
        sug = sug[sug["segment_id"].isin(segments["id"])]
    if "created_at" in sug.columns:
        sug = sug.sort_values("created_at", kind="stable")
    key = ["segment_id", "code"] if "segment_id" in sug.columns else ["document", "start", "end", "code"]
    return sug.drop_duplicates(key, keep="last")


def _thresholds(sug: pd.DataFrame, threshold: float | None) -> np.ndarray:
    """Each suggestion's threshold: ``threshold``, else its ``threshold`` column where set, else
    ``components["threshold"]``, else 0.5."""
    if threshold is not None:
        return np.full(len(sug), float(threshold))
    out = np.array(
        [
            float(c["threshold"]) if isinstance(c, dict) and "threshold" in c else 0.5
            for c in (sug["components"] if "components" in sug.columns else [None] * len(sug))
        ]
    )
    if "threshold" in sug.columns:
        given = sug["threshold"].to_numpy(dtype=float)
        out = np.where(np.isnan(given), out, given)
    return out


def machine_codings(
    suggestions: pd.DataFrame,
    *,
    name: str = "machine",
    threshold: float | None = None,
    segments: pd.DataFrame | None = None,
    settled: set[tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, set[str]]:
    """The suggestions at their thresholds as codings of one coder, and the documents it rated.

    The machine's view of a (segment, code) pair is its latest suggestion for it, whatever its
    status: pending, decided (a reviewer's decision does not change what the machine said) or
    stale where the pair is in ``settled`` ((segment id, code) pairs a human coded: a later
    suggestion pass skips them, so the stale suggestion is the machine's last score); other stale
    suggestions were replaced by a later pass that scored the segment again. With ``segments``
    (with ``id``) only suggestions on current segments count. A suggestion is a coding when
    ``score >= threshold``: ``threshold`` if given, else its ``threshold`` column, else its own
    ``components["threshold"]`` (0.5 if it has none). The machine rated every document with a
    suggestion that counts.
    """
    if len(suggestions) == 0:
        raise ClhsError("the project has no suggestions: run the assisted coding first", hint="clhs suggest")
    sug = _current_latest(suggestions, segments)
    if "status" in sug.columns:
        stale = (sug["status"] == "stale").to_numpy().copy()
        if settled and "segment_id" in sug.columns:
            stale &= ~pd.MultiIndex.from_arrays([sug["segment_id"], sug["code"]]).isin(list(settled))
        sug = sug[~stale]
    if len(sug) == 0:
        raise ClhsError("every suggestion is stale: run the assisted coding again", hint="clhs suggest")
    hit = sug[sug["score"].to_numpy(dtype=float) >= _thresholds(sug, threshold)]
    codings = pd.DataFrame(
        {
            "document": hit["document"].to_numpy(),
            "code": hit["code"].to_numpy(),
            "coder": name,
            "start": hit["start"].to_numpy(),
            "end": hit["end"].to_numpy(),
            "quote": hit["text"].to_numpy() if "text" in hit.columns else "",
        }
    )
    return codings, set(pd.unique(sug["document"]))


def _unknown_to_machine(people: pd.DataFrame, sug: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Segments (``document``, ``code``, ``start``, ``end``) where a human coded the code before the
    machine's last suggestion pass over the document and the machine has no suggestion for it: the
    pass skipped the pair (it never suggests what a human coded), so the machine's rating is unknown.
    Empty without the columns that tell (``segment_id``, ``created_at``; segment ``id``)."""
    empty = pd.DataFrame(columns=["document", "code", "start", "end"])
    need = {"segment_id", "created_at"}
    if "id" not in segments.columns or not need <= set(people.columns) or not need <= set(sug.columns):
        return empty
    last_pass = sug.groupby("document")["created_at"].max()
    h = people[people["segment_id"].notna()]
    h = h[h["created_at"].astype(str) < h["document"].map(last_pass).fillna("").astype(str)]
    pairs = pd.MultiIndex.from_arrays([h["segment_id"], h["code"]]).unique()
    pairs = pairs[~pairs.isin(pd.MultiIndex.from_arrays([sug["segment_id"], sug["code"]]))]
    if not len(pairs):
        return empty
    where = segments.set_index("id")[["document", "start", "end"]].reindex(pairs.get_level_values(0))
    out = where.reset_index(drop=True).assign(code=pairs.get_level_values(1))
    return out.dropna(subset=["document"])


def _human_ratings(
    codings: pd.DataFrame, humans: Sequence[str] | None, independent: bool
) -> tuple[pd.DataFrame, list[str]]:
    """The codings the humans' ratings come from, and the humans."""
    codings = ratings_only(codings)
    if independent and "origin" in codings.columns:
        codings = codings[codings["origin"] != "suggestion"]
    own = " of their own (codings made by accepting a suggestion agree with it by construction)"
    if humans:
        humans = list(dict.fromkeys(humans))
        for h in humans:
            if not (codings["coder"] == h).any():
                raise ClhsError(
                    f"coder '{h}' has no codings{own if independent else ''} to compare the machine with"
                )
        return select_coders(codings, humans), humans
    pool = codings[codings["coder_kind"] == "human"] if "coder_kind" in codings.columns else codings
    humans = sorted(pd.unique(pool["coder"]))
    if not humans:
        raise ClhsError(f"no human coder has codings{own if independent else ''} to compare the machine with")
    return pool, humans


def machine_agreement(
    codings: pd.DataFrame,
    suggestions: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    humans: Sequence[str] | None = None,
    unit: str = "segment",
    codes: Sequence[str] | None = None,
    statistics: Sequence[str] | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    name: str = "machine",
    threshold: float | None = None,
    independent: bool = True,
) -> pd.DataFrame:
    """Agreement of the machine (``machine_codings``) with each human coder, beside the human-human pairs.

    Rows as in ``agreement`` plus ``kind`` (``machine-human`` or ``human-human``). Humans default
    to every coder whose ``coder_kind`` is human (all coders if the column is absent); codes to
    those the humans used. ``independent``: codings made by accepting a suggestion are left out of
    the humans' ratings (they agree with the machine by construction). Where a human coded a
    (segment, code) pair before the machine's last suggestion pass over the document and the
    machine has no suggestion for it, the pass skipped the pair: the machine's rating there is
    NaN, not 0 (``_unknown_to_machine``).
    """
    if unit == "character":
        raise ClhsError("suggestions are per segment; compare the machine on segment, turn or document units")
    require_codings(codings)
    people = codings[codings["coder_kind"] == "human"] if "coder_kind" in codings.columns else codings
    codings, humans = _human_ratings(codings, humans, independent)
    if name in humans:
        raise ClhsError(f"the machine's name '{name}' is also a human coder's; choose another name")
    settled = set(zip(people["segment_id"], people["code"])) if "segment_id" in people.columns else set()
    sug = _current_latest(suggestions, segments) if len(suggestions) else suggestions
    machine, rated = machine_codings(sug, name=name, threshold=threshold, settled=settled)
    code_list = check_codes(codings, codes)
    cover = coverage_of(codings, humans, "coded")
    if not rated & set().union(*cover.values()):
        raise ClhsError(
            f"the machine rated none of the documents {', '.join(humans)} coded: its suggestions are "
            f"for {len(rated)} other document(s)",
            hint="the app's Agreement page scores them with the current model; or code suggested documents",
        )
    cover[name] = rated
    both = pd.concat([codings[["document", "code", "coder", "start", "end"]], machine], ignore_index=True)
    both = both[both["code"].isin(code_list)]
    unknown = {name: _unknown_to_machine(people, sug, segments)}
    ratings = ratings_with_coverage(both, segments, [*humans, name], unit, code_list, cover, unknown)
    pairs = [(name, h) for h in humans] + list(combinations(humans, 2))
    frames = []
    for who in pairs:
        t = agreement(ratings, coders=list(who), statistics=statistics, n_boot=n_boot, ci=ci, seed=seed)
        t.insert(0, "kind", "machine-human" if name in who else "human-human")
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(
        unit=unit,
        machine=name,
        humans=humans,
        threshold="each suggestion's own threshold" if threshold is None else threshold,
    )
    return out
