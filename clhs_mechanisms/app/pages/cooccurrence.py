"""Co-occurrence: a code x code heatmap with measures, units and filters, down to the quotes behind a cell."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from clhs_mechanisms.analysis.cooccurrence import cooccurrence, cooccurrence_network, cooccurrence_quotes
from clhs_mechanisms.analysis.hypotheses import evaluate_hypotheses
from clhs_mechanisms.analysis.robustness import hypothesis_robustness, with_robustness
from clhs_mechanisms.analysis.significance import FORMULAS, MEASURES
from clhs_mechanisms.analysis.units import COOCCURRENCE_UNITS
from clhs_mechanisms.app import state
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.markdown import escape_markdown

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
measure = c1.selectbox(
    "Measure",
    MEASURES,
    index=1,
    key="co_measure",
    help="\n\n".join(f"**{m}**: {FORMULAS[m]}" for m in MEASURES),
)
# window units need a window size, which this page does not ask for
unit = c2.selectbox("Unit", [u for u in COOCCURRENCE_UNITS if u != "window"], key="co_unit")
coders = c3.multiselect("Coders", sorted(codings["coder"].unique()), key="co_coders")

attrs = pd.DataFrame(list(documents["attributes"]), index=documents["name"])
filters = st.columns(3)
chosen: dict[str, list[str]] = {}
for col, name in zip(filters, ("role", "site", "network")):
    if name in attrs:
        chosen[name] = col.multiselect(
            name.capitalize(), sorted(attrs[name].dropna().unique()), key=f"co_{name}"
        )
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
    return cooccurrence(
        chosen_codings, segments, documents, unit=unit, coders=list(coders) or None, tests=unit != "span"
    )


try:
    table = _table(
        state.project_dir(), state.version(), unit, tuple(coders), tuple(sorted(set(codings["document"])))
    )
except ClhsError as exc:
    state.report_error(exc)
    st.stop()
order = [c for c in codebook.code_ids if c in set(table["code_a"]) | set(table["code_b"])]
both = pd.concat(
    [
        table,
        table.rename(
            columns={
                "code_a": "code_b",
                "code_b": "code_a",
                "n1": "n2",
                "n2": "n1",
                "p_b_given_a": "p_a_given_b",
                "p_a_given_b": "p_b_given_a",
            }
        ),
    ]
)
chart = (
    alt.Chart(both)
    .mark_rect()
    .encode(
        x=alt.X("code_b:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelFontSize=9)),
        y=alt.Y("code_a:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelFontSize=9)),
        color=alt.Color(f"{measure}:Q", scale=alt.Scale(scheme="blues")),
        tooltip=["code_a", "code_b", "n1", "n2", "n12", alt.Tooltip(f"{measure}:Q", format=".3f")],
    )
    .properties(height=max(300, 16 * len(order)))
)
st.altair_chart(chart, width="stretch")
st.caption(
    f"{measure}: {FORMULAS[measure]} · unit: {unit} · N = {table.attrs.get('N', '—')} · "
    "n1/n2 = units (or codings, for spans) with each code, n12 = with both"
)

shown = table.sort_values(measure, ascending=False)
columns = [
    c
    for c in ["code_a", "code_b", "N", "n1", "n2", "n12", measure, "fisher_p", "fisher_q", "too_small"]
    if c in shown
]
st.dataframe(shown[columns], hide_index=True, width="stretch")
st.download_button(
    "Download matrix (CSV)", table.to_csv(index=False), file_name=f"cooccurrence_{unit}.csv", mime="text/csv"
)

st.subheader("Quotes behind a cell")
q1, q2 = st.columns(2)
code_a = q1.selectbox("Code A", order, key="co_a")
code_b = q2.selectbox("Code B", [c for c in order if c != code_a], key="co_b")
if code_a and code_b:
    row = table[
        ((table.code_a == code_a) & (table.code_b == code_b))
        | ((table.code_a == code_b) & (table.code_b == code_a))
    ]
    if len(row):
        r = row.iloc[0]
        st.caption(f"n1 = {r.n1}, n2 = {r.n2}, n12 = {r.n12}")
    quotes = cooccurrence_quotes(
        codings, segments, code_a, code_b, documents=documents, unit=unit, coders=coders or None
    )
    st.dataframe(quotes, hide_index=True, width="stretch")

st.subheader("Network")
n1, n2 = st.columns(2)
finite = table[measure].replace([np.inf, -np.inf], np.nan).dropna()
low, high = (float(min(0.0, finite.min())), float(finite.max())) if len(finite) else (0.0, 1.0)
high = high if high > low else low + 1.0
threshold = n1.slider(
    f"Show edges with {measure} above",
    low,
    high,
    float(finite.quantile(0.9)) if len(finite) else low,
    key="co_threshold",
)
nodes, edges = cooccurrence_network(table, measure_name=measure, threshold=threshold, codebook=codebook)
if len(nodes):
    angle = np.linspace(0, 2 * np.pi, len(nodes), endpoint=False)
    pos = pd.DataFrame({"x": np.cos(angle), "y": np.sin(angle)}, index=nodes["code"].tolist())
    node_df = nodes.assign(x=pos["x"].to_numpy(), y=pos["y"].to_numpy())
    edge_df = (
        edges.assign(
            x=edges["source"].map(pos["x"]),
            y=edges["source"].map(pos["y"]),
            x2=edges["target"].map(pos["x"]),
            y2=edges["target"].map(pos["y"]),
        )
        if len(edges)
        else edges
    )
    layers = []
    if len(edges):
        layers.append(
            alt.Chart(edge_df)
            .mark_rule(opacity=0.5)
            .encode(
                x=alt.X("x:Q", axis=None),
                y=alt.Y("y:Q", axis=None),
                x2="x2:Q",
                y2="y2:Q",
                strokeWidth=alt.StrokeWidth("weight:Q", legend=None),
                tooltip=list(edges.columns),
            )
        )
    layers.append(
        alt.Chart(node_df)
        .mark_circle()
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            size=alt.Size("frequency:Q", legend=None),
            tooltip=list(nodes.columns),
        )
    )
    layers.append(alt.Chart(node_df).mark_text(dy=-10, fontSize=9).encode(x="x:Q", y="y:Q", text="code:N"))
    st.altair_chart(alt.layer(*layers).properties(height=520), width="stretch")
    n2.caption(f"{len(nodes)} codes (size = frequency), {len(edges)} edges with {measure} ≥ {threshold:.3f}")

st.subheader("Mechanism hypotheses")
robust = st.toggle(
    "Robustness: each coder alone, each network, site and role, without each case, the machine's suggestions",
    key="co_robust",
    help="Re-tests every hypothesis in each variant (a few seconds on a large project).",
)


@st.cache_data(max_entries=8, show_spinner="Testing the hypotheses…")
def _hypotheses(path: str, change: int, coders: tuple[str, ...], docs: tuple[str, ...], robust: bool):
    """The hypothesis table (with the robustness columns) and the robustness table, or None."""
    chosen = codings[codings["document"].isin(docs)]
    data = (chosen, segments, documents, codebook.hypotheses)
    table = evaluate_hypotheses(*data, codebook=codebook, coders=list(coders) or None)
    if not robust:
        return table, None
    suggestions = state.frame("suggestions", status=None)
    variants = hypothesis_robustness(
        *data, codebook=codebook, coders=list(coders) or None, suggestions=suggestions
    )
    return with_robustness(table, variants), variants


def _interval(t: pd.DataFrame, name: str) -> list[str]:
    return [
        f"{x:.2f} [{lo:.2f}, {hi:.2f}]" for x, lo, hi in zip(t[name], t[f"{name}_low"], t[f"{name}_high"])
    ]


try:
    hyp, variants = _hypotheses(
        state.project_dir(), state.version(), tuple(coders), tuple(sorted(set(codings["document"]))), robust
    )
except ClhsError as exc:
    st.info(escape_markdown(str(exc)))
else:
    shown = hyp.assign(
        **{
            "risk difference [95%]": _interval(hyp, "effect_rd"),
            "odds ratio [95%]": _interval(hyp, "effect_or"),
        }
    )
    columns = ["hypothesis", "label", "unit", "N", "clusters", "n_mechanism", "n_outcome", "n_both"]
    columns += ["risk difference [95%]", "odds ratio [95%]", "fisher_p", "cluster_p", "cluster_q", "verdict"]
    columns += [
        "fisher_verdict",
        "robust_coders",
        "robust_strata",
        "robust_leave_one_out",
        "robust_machine",
        "reason",
    ]
    st.dataframe(
        shown[[c for c in columns if c in shown]].rename(
            columns={"clusters": "cases", "cluster_p": "case p"}
        ),
        hide_index=True,
        width="stretch",
    )
    a = hyp.attrs
    st.caption(
        f"Verdict and case p: {a['test']}. Fisher p: {a['plain_test']}. q: {a['adjust']}. "
        f"Effects: {a['effect']} ({a['n_boot']} samples). Cases: {a['clusters']}. Method: docs/hypotheses.md."
    )
    if variants is not None:
        with st.expander("Every variant (coder, stratum, left-out case, machine)"):
            st.dataframe(variants, hide_index=True, width="stretch")
            st.download_button(
                "Download robustness (CSV)",
                variants.to_csv(index=False),
                file_name="hypothesis_robustness.csv",
                mime="text/csv",
            )
