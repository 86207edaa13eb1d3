"""Agreement: per-code and pooled statistics with their formulas, the machine as a coder, adjudication."""

from __future__ import annotations

import streamlit as st

from clhs_mechanisms.analysis import (
    AGREEMENT_UNITS,
    ALL_CODES,
    agreement,
    disagreements,
    machine_agreement,
    rating_table,
)
from clhs_mechanisms.app import state
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.markdown import escape_markdown

project = state.project()
st.title("Inter-coder agreement")

codings = state.frame("codings")
coders = sorted(codings["coder"].unique())
if len(coders) < 2:
    st.info(
        "Agreement needs codings by at least two coders. "
        + (f"So far only {coders[0]} has coded." if coders else "Nothing is coded yet.")
    )
    st.stop()

c1, c2, c3 = st.columns([2, 1, 1])
chosen = c1.multiselect("Coders", coders, default=coders[:2], key="ag_coders")
unit = c2.selectbox("Unit", AGREEMENT_UNITS, key="ag_unit")
n_boot = c3.number_input("Bootstrap resamples (0 = no intervals)", 0, 5000, 0, step=100, key="ag_boot")
if len(chosen) < 2:
    st.warning("Choose at least two coders.")
    st.stop()


@st.cache_data(max_entries=16, show_spinner="Computing agreement…")
def _agreement(path: str, change: int, coders: tuple[str, ...], unit: str, n_boot: int):
    """Agreement table and the first 500 disagreements (with their text) for these choices;
    computed once per project change, so a rerun reads no segments."""
    texts = (
        {name: project.document_text(name) for name in codings["document"].unique()}
        if unit == "character"
        else None
    )
    ratings = rating_table(codings, state.frame("segments"), coders=list(coders), unit=unit, texts=texts)
    diff = disagreements(ratings)
    shown = diff.head(500).copy()
    doc_texts = {name: project.document_text(name) for name in shown["document"].unique()}
    shown["text"] = [
        doc_texts[d][int(a) : int(b)] if int(b) >= 0 else doc_texts[d]
        for d, a, b in zip(shown["document"], shown["start"], shown["end"])
    ]
    return agreement(ratings, n_boot=n_boot), shown, len(diff)


try:
    table, diff, n_diff = _agreement(state.project_dir(), state.version(), tuple(chosen), unit, int(n_boot))
except ClhsError as exc:
    state.report_error(exc)
    st.stop()

pooled = table[table["code"] == ALL_CODES]
st.subheader("Pooled over codes")
st.dataframe(
    pooled[["coders", "statistic", "value", "ci_low", "ci_high", "units", "formula"]],
    hide_index=True,
    width="stretch",
)
st.subheader("Per code")
statistic = st.selectbox(
    "Statistic",
    sorted(table["statistic"].unique()),
    key="ag_stat",
    index=sorted(table["statistic"].unique()).index("cohen_kappa")
    if "cohen_kappa" in set(table["statistic"])
    else 0,
)
per_code = table[(table["code"] != ALL_CODES) & (table["statistic"] == statistic)]
st.caption(per_code["formula"].iloc[0] if len(per_code) else "")
st.dataframe(
    per_code[["code", "coders", "value", "ci_low", "ci_high", "units", "coded", "note"]],
    hide_index=True,
    width="stretch",
)

suggestions = state.frame("suggestions", status=None)
if len(suggestions) and unit != "character":
    with st.expander("The machine as a coder (suggestions at their thresholds)"):
        if st.toggle("Compare the machine with these coders", key="ag_machine"):
            try:
                human = codings[codings["origin"] != "suggestion"]
                m = machine_agreement(
                    human,
                    suggestions,
                    state.frame("segments"),
                    humans=chosen,
                    unit=unit,
                    statistics=["cohen_kappa"],
                    n_boot=0,
                )
                st.dataframe(
                    m[m["code"] == ALL_CODES][["kind", "coders", "statistic", "value", "units"]],
                    hide_index=True,
                    width="stretch",
                )
                st.caption(
                    "Codings made by accepting a suggestion are left out: they agree with the machine "
                    "by construction."
                )
            except ClhsError as exc:
                st.info(escape_markdown(str(exc)))
        else:
            st.caption("Off by default: it rates every segment the machine scored.")

st.subheader("Disagreements")
st.caption(f"{n_diff} units where the chosen coders differ (the first 500 are listed).")
if diff.empty:
    st.stop()
st.dataframe(
    diff[["code", "document", "unit", "coded_by", "not_coded_by", "text"]].head(200),
    hide_index=True,
    width="stretch",
)
pick = st.selectbox(
    "Adjudicate",
    range(len(diff)),
    key="ag_pick",
    format_func=lambda i: f"{diff.code.iloc[i]} · {diff.document.iloc[i]} · {diff.unit.iloc[i]}",
)
row = diff.iloc[pick]
st.markdown(
    f"**{escape_markdown(row.code)}** in *{state.highlight(row.document, [])}*: "
    f"{state.highlight(str(row.get('text', '')), [])}",
    unsafe_allow_html=True,
)
verdict = st.radio("Final coding", ["code applies", "code does not apply"], horizontal=True, key="ag_verdict")
who = state.coder()
if st.button("Record adjudication", disabled=not who or int(row.end) < 0):
    try:
        if verdict == "code applies":
            project.add_coding(
                row.document, int(row.start), int(row.end), row.code, coder=who, origin="adjudication"
            )
        project.add_memo(
            f"Adjudication by {who}: '{row.code}' {verdict.replace('code ', '')} at "
            f"{row.start}-{row.end} (coded by {', '.join(row.coded_by)}; not by "
            f"{', '.join(row.not_coded_by)}).",
            coder=who,
            target_type="document",
            target_id=row.document,
        )
        st.success("Adjudication recorded.")
    except ClhsError as exc:
        state.report_error(exc)
