"""Co-occurrence: a code x code heatmap with measures, units and filters, down to the quotes behind a cell."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from clhs_mechanisms.analysis.cooccurrence import cooccurrence, cooccurrence_quotes
from clhs_mechanisms.analysis.significance import FORMULAS, MEASURES
from clhs_mechanisms.app import state
from clhs_mechanisms.errors import ClhsError

project = state.project()
codebook = project.codebook
st.title("Co-occurrence")

codings = state.frame("codings")
if codings.empty:
    st.info("No codings yet: code some segments (Review or Documents) or import codings first.")
    st.stop()
documents = state.frame("documents")
segments = state.frame("segments")

c1, c2, c3 = st.columns(3)
measure = c1.selectbox("Measure", MEASURES, index=1, key="co_measure", help="\n\n".join(
    f"**{m}**: {FORMULAS[m]}" for m in MEASURES))
unit = c2.selectbox("Unit", ["segment", "turn", "document", "case", "span"], key="co_unit")
coders = c3.multiselect("Coders", sorted(codings["coder"].unique()), key="co_coders")

attrs = pd.DataFrame(list(documents["attributes"]), index=documents["name"])
filters = st.columns(3)
chosen: dict[str, list[str]] = {}
for col, name in zip(filters, ("role", "site", "network")):
    if name in attrs:
        chosen[name] = col.multiselect(name.capitalize(), sorted(attrs[name].dropna().unique()), key=f"co_{name}")
keep = attrs.index
for name, values in chosen.items():
    if values:
        keep = keep[attrs.loc[keep, name].isin(values)]
codings = codings[codings["document"].isin(keep)]
if codings.empty:
    st.info("No codings match these filters.")
    st.stop()



@st.cache_data(max_entries=16, show_spinner="Counting co-occurrences…")
def _table(path: str, change: int, unit: str, coders: tuple[str, ...], docs: tuple[str, ...]):
    """The co-occurrence table, recomputed only when the project or the choices change."""
    chosen_codings = codings[codings["document"].isin(docs)]
    return cooccurrence(chosen_codings, segments, documents, unit=unit, coders=list(coders) or None,
                        tests=unit != "span")


try:
    table = _table(state.project_dir(), state.version(), unit, tuple(coders), tuple(sorted(set(codings["document"]))))
except ClhsError as exc:
    state.report_error(exc)
    st.stop()
order = [c for c in codebook.code_ids if c in set(table["code_a"]) | set(table["code_b"])]
both = pd.concat([table, table.rename(columns={"code_a": "code_b", "code_b": "code_a", "n1": "n2", "n2": "n1",
                                               "p_b_given_a": "p_a_given_b", "p_a_given_b": "p_b_given_a"})])
chart = alt.Chart(both).mark_rect().encode(
    x=alt.X("code_b:N", sort=order, title=None), y=alt.Y("code_a:N", sort=order, title=None),
    color=alt.Color(f"{measure}:Q", scale=alt.Scale(scheme="blues")),
    tooltip=["code_a", "code_b", "n1", "n2", "n12", alt.Tooltip(f"{measure}:Q", format=".3f")],
).properties(height=max(300, 16 * len(order)))
st.altair_chart(chart, width="stretch")
st.caption(f"{measure}: {FORMULAS[measure]} · unit: {unit} · N = {table.attrs.get('N', '—')} · "
           "n1/n2 = units (or codings, for spans) with each code, n12 = with both")

shown = table.sort_values(measure, ascending=False)
columns = [c for c in ["code_a", "code_b", "N", "n1", "n2", "n12", measure, "fisher_p", "fisher_q", "too_small"]
           if c in shown]
st.dataframe(shown[columns], hide_index=True, width="stretch")
st.download_button("Download matrix (CSV)", table.to_csv(index=False), file_name=f"cooccurrence_{unit}.csv",
                   mime="text/csv")

st.subheader("Quotes behind a cell")
q1, q2 = st.columns(2)
code_a = q1.selectbox("Code A", order, key="co_a")
code_b = q2.selectbox("Code B", [c for c in order if c != code_a], key="co_b")
if code_a and code_b:
    row = table[((table.code_a == code_a) & (table.code_b == code_b)) | ((table.code_a == code_b) & (table.code_b == code_a))]
    if len(row):
        r = row.iloc[0]
        st.caption(f"n1 = {r.n1}, n2 = {r.n2}, n12 = {r.n12}")
    quotes = cooccurrence_quotes(codings, segments, code_a, code_b, documents=documents, unit=unit,
                                 coders=coders or None)
    st.dataframe(quotes, hide_index=True, width="stretch")
