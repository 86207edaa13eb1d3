"""Agreement: per-code and pooled statistics with their formulas, the machine as a coder, adjudication."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import streamlit as st

from clhs_mechanisms.analysis import (
    AGREEMENT_UNITS,
    ALL_CODES,
    STATISTICS,
    agreement,
    disagreements,
    rating_table,
)
from clhs_mechanisms.analysis.adjudication import (
    ADJUDICATION,
    VERDICTS,
    adjudication_memo,
    adjudications,
    default_pair,
    ratings_only,
)
from clhs_mechanisms.analysis.agreement import UNDEFINED, machine_agreement
from clhs_mechanisms.analysis.reliability import PLAIN_NAMES
from clhs_mechanisms.app import state
from clhs_mechanisms.app.format import code_labels, estimate, stat
from clhs_mechanisms.assist import context_groups, current_model_info, load_current_model
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.markdown import escape_markdown
from clhs_mechanisms.store import now

project = state.project()
st.title("Inter-coder agreement")
if not state.sees_everything():
    st.info("This project codes blind: agreement shows everyone's codings, so only an adjudicator sees it.")
    st.stop()

codings = state.frame("codings")
segments = state.frame("segments")
labels = code_labels(project.codebook)
coders = sorted(ratings_only(codings)["coder"].unique())
if len(coders) < 2:
    st.info(
        "Agreement needs codings by at least two coders. "
        + (f"So far only {escape_markdown(coders[0])} has coded." if coders else "Nothing is coded yet.")
    )
    st.stop()


def label(code: str) -> str:
    """A code's label for a reader (its id where the codebook has none)."""
    return labels.get(code, code)


pair = default_pair(codings, segments)
c1, c2, c3 = st.columns([2, 1, 1])
chosen = c1.multiselect(
    "Coders",
    coders,
    default=list(pair.coders) if pair.coders else [],
    key="ag_coders",
    help="At first: the two coders who coded the most segments in common.",
)
unit = c2.selectbox("Unit", AGREEMENT_UNITS, key="ag_unit")
n_boot = c3.number_input("Bootstrap resamples (0 = no intervals)", 0, 5000, 0, step=100, key="ag_boot")
if pair.coders is None:
    st.info(escape_markdown(pair.reason[0].upper() + pair.reason[1:]) + ".")
if len(chosen) < 2:
    st.warning("Choose at least two coders.")
    st.stop()


@st.cache_data(max_entries=16, show_spinner=False)
def _ratings(path: str, change: int, coders: tuple[str, ...], unit: str) -> pd.DataFrame:
    """The rating table of these coders (computed once per project change)."""
    texts = project.document_texts(codings["document"].unique()) if unit == "character" else None
    return rating_table(codings, segments, coders=list(coders), unit=unit, texts=texts)


@st.cache_data(max_entries=16, show_spinner="Computing agreement…")
def _table(path: str, change: int, coders: tuple[str, ...], unit: str, n_boot: int) -> pd.DataFrame:
    return agreement(_ratings(path, change, coders, unit), n_boot=n_boot)


@st.cache_data(max_entries=16, show_spinner=False)
def _disagreements(path: str, change: int, coders: tuple[str, ...], unit: str) -> pd.DataFrame:
    """Every disagreement of these coders, each marked resolved or not by the project's adjudications."""
    people = state.frame("coders")
    judges = people.loc[people["role"] == "adjudicator", "name"] if "role" in people.columns else ()
    adjudicated = adjudications(codings, state.frame("memos"), adjudicators=judges, compared=coders)
    return disagreements(_ratings(path, change, coders, unit), adjudicated=adjudicated)


@st.cache_data(max_entries=16, show_spinner=False)
def _listed(path: str, change: int, coders: tuple[str, ...], unit: str, hide: bool) -> pd.DataFrame:
    """The first 500 disagreements to list (unresolved ones only with ``hide``), with their text."""
    diff = _disagreements(path, change, coders, unit)
    shown = diff[~diff["resolved"]] if hide else diff
    shown = shown.head(500).copy()
    texts = project.document_texts(shown["document"].unique())
    shown["text"] = [
        texts[d][int(a) : int(b)] if int(b) >= 0 else texts[d]
        for d, a, b in zip(shown["document"], shown["start"], shown["end"])
    ]
    return shown


key = (state.project_dir(), state.version(), tuple(chosen), unit)
try:
    table = _table(*key, int(n_boot))
except ClhsError as exc:  # e.g. coders whose documents do not overlap: a choice to change, not a failure
    st.warning(escape_markdown(str(exc)))
    st.stop()

unit_word = "characters" if unit == "character" else f"{unit}s"
interval = f"; in brackets its {int(100 * table.attrs['ci'])}% bootstrap interval" if n_boot else ""
st.caption(
    f"Present/absent per code on {unit_word}. Estimate: the statistic to 3 significant digits{interval}; "
    "— where it is undefined (every rating in one category, so Pe = 1)."
)


def _stat_rows(rows: pd.DataFrame, *, codes: bool) -> tuple[pd.DataFrame, str]:
    """Agreement rows for reading (code labels and ids, one estimate column) and a caption: the coders,
    units and counts when every row has the same (one pair of coders), instead of their columns."""
    out = {}
    if codes:
        out["Code"] = rows["code"].map(label)
        out["Code id"] = rows["code"]
    if "kind" in rows.columns:
        out["Kind"] = rows["kind"]
    out["Coders"] = rows["coders"]
    if not codes:
        out["Statistic"] = rows["statistic"].map(PLAIN_NAMES)
    out["Estimate"] = [
        estimate(v, lo, hi) for v, lo, hi in zip(rows["value"], rows["ci_low"], rows["ci_high"])
    ]
    out["Units"] = [stat(int(u)) if float(u).is_integer() else stat(u) for u in rows["units"]]
    out["Coded"] = [" / ".join(part.rsplit(": ", 1)[-1] for part in c.split(", ")) for c in rows["coded"]]
    out["Note"] = rows["note"].replace(UNDEFINED, "undefined (Pe = 1)")
    frame = pd.DataFrame(out)
    said = []
    if frame["Coders"].nunique() == 1:
        said.append(str(rows["coders"].iloc[0]))
        frame = frame.drop(columns="Coders")
        if frame["Units"].nunique() == 1:
            said.append(f"{frame['Units'].iloc[0]} {'items (code × unit)' if not codes else unit_word} rated")
            frame = frame.drop(columns="Units")
        if frame["Coded"].nunique() == 1:
            said.append(f"coded: {rows['coded'].iloc[0]}")
            frame = frame.drop(columns="Coded")
    if not frame["Note"].astype(bool).any():
        frame = frame.drop(columns="Note")
    return frame, escape_markdown(" · ".join(said))


COLUMNS = {
    "Code": st.column_config.TextColumn("Code", help="The code's label (its id is beside it)"),
    "Code id": st.column_config.TextColumn("Code id", help="The code's id in the codebook"),
    "Estimate": st.column_config.TextColumn(  # a set width: a table keeps its first widths on a rerun
        "Estimate", width=150 if n_boot else 80, help="The statistic (and its bootstrap interval)"
    ),
    "Units": st.column_config.TextColumn("Units", help=f"{unit_word} rated by two or more of these coders"),
    "Coded": st.column_config.TextColumn("Coded", help="Units each coder coded, in the order of Coders"),
    "Note": st.column_config.TextColumn("Note", help="Undefined (Pe = 1): every rating in one category"),
}


def _show(rows: pd.DataFrame, *, codes: bool) -> None:
    frame, said = _stat_rows(rows, codes=codes)
    if said:
        st.caption(said)
    st.dataframe(frame, hide_index=True, column_config=COLUMNS)


st.subheader("Pooled over codes")
_show(table[table["code"] == ALL_CODES], codes=False)
st.subheader("Per code")
per_code = table[table["code"] != ALL_CODES]
sets = list(dict.fromkeys(per_code["coders"]))
p1, p2 = st.columns(2) if len(sets) > 1 else (st.container(), None)
if p2 is not None:  # three or more coders: the group, or one pair, at a time
    per_code = per_code[per_code["coders"] == p2.selectbox("Coders compared", sets, key="ag_set")]
available = [s for s in STATISTICS if s in set(per_code["statistic"])]
statistic = p1.selectbox(
    "Statistic",
    available,
    key="ag_stat",
    index=available.index("cohen_kappa") if "cohen_kappa" in available else 0,
    format_func=lambda s: PLAIN_NAMES.get(s, s),
)
_show(per_code[per_code["statistic"] == statistic], codes=True)
if table.attrs.get("unused_codes"):
    st.caption(
        "Not used by these coders (left out): "
        + escape_markdown(", ".join(label(c) for c in table.attrs["unused_codes"]))
    )
with st.expander("Formulas"):
    for s in [s for s in STATISTICS if s in set(table["statistic"])]:
        name, formula = STATISTICS[s]
        st.markdown(f"**{escape_markdown(name)}**: {escape_markdown(formula)}")


@st.cache_data(max_entries=4, show_spinner="Scoring with the current model…")
def _scores_now(path: str, version: str, documents: tuple[str, ...]) -> pd.DataFrame:
    """Every (codable segment, code) of ``documents`` scored by the current model, as suggestions that
    are not stored: the machine's ratings of documents it has no suggestions for."""
    model, _ = load_current_model(project)
    segs = project.segments(codable_only=True)
    segs = segs[segs["document"].isin(documents)].reset_index(drop=True)
    docs = project.documents()
    roles = {name: (attrs or {}).get("role") for name, attrs in zip(docs["name"], docs["attributes"])}
    texts, seg_roles = segs["text"].tolist(), [roles.get(d) for d in segs["document"]]
    if "groups" in inspect.signature(model.score).parameters:  # the ensemble reads each segment in context
        scores = model.score(texts, seg_roles, groups=context_groups(project, segs))
    else:
        scores = model.score(texts, seg_roles)
    k, n = len(model.codes), len(segs)
    return pd.DataFrame(
        {
            "segment_id": np.repeat(segs["id"].to_numpy(), k),
            "document": np.repeat(segs["document"].to_numpy(), k),
            "start": np.repeat(segs["start"].to_numpy(), k),
            "end": np.repeat(segs["end"].to_numpy(), k),
            "code": np.tile(np.asarray(model.codes, dtype=object), n),
            "score": np.asarray(scores, dtype=float).reshape(-1),
            "threshold": np.tile(np.asarray(model.thresholds, dtype=float), n),
            "status": "scored",
            "created_at": now(),
        }
    )


def _machine_suggestions(own: pd.DataFrame, humans: list[str]) -> pd.DataFrame | None:
    """The stored suggestions on current segments, and (if the reader asks) the current model's scores
    of the documents these humans coded that have none; None when there is nothing to compare."""
    stored = state.frame("suggestions", status=None)
    stored = stored[stored["segment_id"].isin(segments["id"])]
    coded = set(own.loc[own["coder"].isin(humans), "document"])
    missing = sorted(coded - set(stored["document"]))
    if not missing:
        return stored
    what = (
        f"The machine has no suggestions for {len(missing)} of the {len(coded)} documents these coders "
        "coded: its suggestion passes scored other documents."
    )
    model = current_model_info(project)
    if model is None:
        st.info(what + " Train a model (`clhs train`) to score them here.")
        return stored if len(missing) < len(coded) else None
    st.caption(escape_markdown(what))
    if not st.toggle(f"Score those {len(missing)} documents with the current model", key="ag_score"):
        return stored if len(missing) < len(coded) else None
    st.caption(
        escape_markdown(
            f"Scored now by model {model['version']}, not stored. If the model learnt from these "
            "documents' codings (gold files, decisions, manual codings), agreement is overstated."
        )
    )
    return pd.concat([stored, _scores_now(state.project_dir(), model["version"], tuple(missing))])


def _machine_section() -> None:
    """The machine (suggestions at their thresholds) as one more coder beside the chosen humans."""
    if unit == "character":
        st.caption("The machine suggests per segment: compare it on segment, turn or document units.")
        return
    if not st.toggle("Compare the machine with these coders", key="ag_machine"):
        st.caption("Off by default: it rates every segment the machine scored.")
        return
    own = ratings_only(codings)
    own = own[own["origin"] != "suggestion"]
    humans = [c for c in chosen if (own["coder"] == c).any()]
    if not humans:
        st.info(
            "None of these coders has codings of their own: codings made by accepting a suggestion agree "
            "with the machine by construction."
        )
        return
    try:  # e.g. a model whose files changed, or no document both rated: a message, not a failure
        suggestions = _machine_suggestions(own, humans)
        if suggestions is None:
            return
        m = machine_agreement(
            codings,
            suggestions,
            segments,
            humans=humans,
            unit=unit,
            statistics=["cohen_kappa", "percent_agreement"],
            n_boot=0,
        )
    except ClhsError as exc:
        st.info(escape_markdown(str(exc)))
        return
    _show(m[m["code"] == ALL_CODES], codes=False)
    st.caption(
        "The machine codes a segment when a suggestion's score reaches its threshold (its latest "
        "suggestion, pending, decided or kept since a human coded it). Codings made by accepting a "
        "suggestion are left out; where a suggestion pass skipped a pair a human had coded, the "
        "machine's rating is unknown."
    )


with st.expander("The machine as a coder"):
    _machine_section()


def _where(unit_label: str, document: str) -> str:
    """A unit's place in its document as its number: "47" (segment 47), "3" (turn 3), "10–52" (characters)."""
    rest = unit_label[len(document) :] if unit_label.startswith(document) else unit_label
    return rest.removeprefix("#turn").removeprefix("#").removeprefix("@").replace("-", "–")


def _place(unit_label: str, document: str) -> str:
    """A unit's place in words: "segment 47", "turn 3", "characters 10–52", "the whole document"."""
    if unit == "document":
        return "the whole document"
    return f"{'characters' if unit == 'character' else unit} {_where(unit_label, document)}"


st.subheader("Disagreements")
if "ag_done" in st.session_state:
    st.success(st.session_state.pop("ag_done"))
everything = _disagreements(*key)
n_resolved = int(everything["resolved"].sum())
hide = st.toggle("Hide resolved", value=True, key="ag_hide", help="Resolved: an adjudication settles it.")
diff = _listed(*key, hide)
st.caption(
    f"{len(everything)} unit{'' if len(everything) == 1 else 's'} where the chosen coders differ; "
    f"{n_resolved} resolved by adjudication"
    + (f"; the first {len(diff)} listed." if len(diff) == 500 else ".")
)
if diff.empty:
    st.caption("Nothing left to adjudicate." if len(everything) else "The chosen coders agree everywhere.")
    st.stop()
listed = pd.DataFrame(
    {
        "Code": diff["code"].map(label),
        "Document": diff["document"],
        "Where": [_where(u, d) for u, d in zip(diff["unit"], diff["document"])],
        "Coded by": diff["coded_by"].map(", ".join),
        "Resolved by": [f"{w}: {v}" if w else "" for w, v in zip(diff["resolved_by"], diff["verdict"])],
    }
).head(200)
if unit == "document":
    listed = listed.drop(columns="Where")
if not diff["resolved"].any():
    listed = listed.drop(columns="Resolved by")
st.dataframe(
    listed,
    hide_index=True,
    column_config={
        "Code": st.column_config.TextColumn(
            "Code", help="The code's label; the chosen unit's id and text are below"
        ),
        "Resolved by": st.column_config.TextColumn(
            "Resolved by", help="The latest adjudication: who, and its verdict"
        ),
        "Where": st.column_config.TextColumn(
            "Characters" if unit == "character" else unit.capitalize(),
            help=f"The {unit}'s place in the document",
        ),
    },
)
rows = {f"{r.document}\x1f{r.code}\x1f{r.start}\x1f{r.end}": r for r in diff.itertuples()}
pick = st.selectbox(
    "Adjudicate",
    list(rows),
    key="ag_pick",
    format_func=lambda k: (
        f"{label(rows[k].code)} · {rows[k].document} · {_place(rows[k].unit, rows[k].document)}"
    ),
)
row = rows[pick]
st.markdown(
    f"**{state.highlight(label(row.code), [])}** ({state.highlight(row.code, [])}) in "
    f"*{state.highlight(row.document, [])}*, {state.highlight(_place(row.unit, row.document), [])}: "
    f"{state.highlight(str(row.text), [])}",
    unsafe_allow_html=True,
)
st.caption(
    escape_markdown(
        f"Coded by {', '.join(row.coded_by)}; not by {', '.join(row.not_coded_by)}"
        + (f"; not rated by {', '.join(row.not_rated)}." if row.not_rated else ".")
    )
)
if row.resolved:
    st.caption(escape_markdown(f"Resolved by {row.resolved_by}: the code {row.verdict}."))
verdict = st.radio(
    "Final coding", VERDICTS, horizontal=True, key="ag_verdict", format_func=lambda v: f"the code {v}"
)
who = state.coder()
if st.button("Record adjudication", disabled=not who or int(row.end) < 0):
    same = codings[
        (codings["coder"] == who)
        & (codings["document"] == row.document)
        & (codings["code"] == row.code)
        & (codings["start"] == row.start)
        & (codings["end"] == row.end)
    ]
    try:
        if verdict == VERDICTS[0] and same.empty:  # the final coding, unless the adjudicator's own is it
            project.add_coding(
                row.document, int(row.start), int(row.end), row.code, coder=who, origin=ADJUDICATION
            )
        project.add_memo(
            adjudication_memo(
                who, row.code, verdict, int(row.start), int(row.end), row.coded_by, row.not_coded_by
            ),
            coder=who,
            target_type="document",
            target_id=row.document,
        )
        st.session_state["ag_done"] = "Adjudication recorded."
        st.rerun()
    except ClhsError as exc:
        state.report_error(exc)
if int(row.end) < 0:
    st.caption("Whole-document units are adjudicated on segment or turn units.")
