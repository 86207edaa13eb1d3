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
from clhs_mechanisms.analysis.units import COOCCURRENCE_UNITS, reviewed_segments
from clhs_mechanisms.app import format as fmt
from clhs_mechanisms.app import state
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.markdown import escape_markdown

project = state.project()
codebook = project.codebook
st.title("Co-occurrence")

codings = state.visible(state.frame("codings"))
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


labels = fmt.code_labels(codebook)
decided = state.frame("decisions")
if coders:
    decided = decided[decided["coder"].isin(coders)]
units_seen = reviewed_segments(
    segments, codings[codings["coder"].isin(coders)] if coders else codings, decided["segment_id"]
)


@st.cache_data(max_entries=16, show_spinner="Counting co-occurrences…")
def _table(path: str, change: int, unit: str, coders: tuple[str, ...], docs: tuple[str, ...]):
    """The co-occurrence table, recomputed only when the project or the choices change."""
    chosen_codings = codings[codings["document"].isin(docs)]
    return cooccurrence(
        chosen_codings, units_seen, documents, unit=unit, coders=list(coders) or None, tests=unit != "span"
    )


try:
    table = _table(
        state.project_dir(), state.version(), unit, tuple(coders), tuple(sorted(set(codings["document"])))
    )
except ClhsError as exc:
    state.report_error(exc)
    st.stop()
order = [labels[c] for c in codebook.code_ids if c in set(table["code_a"]) | set(table["code_b"])]
table = table.assign(label_a=table["code_a"].map(labels), label_b=table["code_b"].map(labels))
mirror = {
    "code_a": "code_b",
    "code_b": "code_a",
    "label_a": "label_b",
    "label_b": "label_a",
    "n1": "n2",
    "n2": "n1",
}
both = pd.concat([table, table.rename(columns=mirror)])
cell = alt.selection_point(fields=["code_a", "code_b"], name="cell", on="click", clear="dblclick")
axis = alt.Axis(labelOverlap=False, labelFontSize=10, labelLimit=260)
chart = (
    alt.Chart(both)
    .mark_rect(stroke="white")
    .encode(
        x=alt.X("label_b:N", sort=order, title=None, axis=axis),
        y=alt.Y("label_a:N", sort=order, title=None, axis=axis),
        color=alt.Color(f"{measure}:Q", scale=alt.Scale(scheme="blues")),
        opacity=alt.condition(cell, alt.value(1.0), alt.value(0.55)),
        tooltip=[
            alt.Tooltip("label_a:N", title="code A"),
            alt.Tooltip("code_a:N", title="id A"),
            alt.Tooltip("label_b:N", title="code B"),
            alt.Tooltip("code_b:N", title="id B"),
            "n1",
            "n2",
            "n12",
            alt.Tooltip(f"{measure}:Q", format=".3g"),
        ],
    )
    .add_params(cell)
    .properties(height=max(320, 18 * len(order)))
)
clicked = st.altair_chart(chart, width="stretch", on_select="rerun", key="co_heatmap")
scope = f"by {', '.join(coders)}" if coders else "by any coder"
st.caption(
    f"{measure}: {FORMULAS[measure]} · unit: {unit} · N = {table.attrs.get('N', '—')} units: a unit counts "
    f"when it was coded or reviewed (a suggestion on it decided) {escape_markdown(scope)}, so N grows only "
    "with the work done · n1/n2 = units with each code, n12 = with both · click a cell for its quotes"
)

shown = table.sort_values(measure, ascending=False)
columns = [
    c for c in ["label_a", "label_b", "N", "n1", "n2", "n12", measure, "fisher_p", "fisher_q"] if c in shown
]
readable = shown[columns].assign(
    **{c: shown[c].map(fmt.p_value) for c in ("fisher_p", "fisher_q") if c in shown},
    **{measure: shown[measure].map(fmt.stat)},
)
st.dataframe(
    readable.rename(columns={"label_a": "code A", "label_b": "code B"}),
    hide_index=True,
    width="stretch",
    column_config={
        "code A": st.column_config.TextColumn(width="large"),
        "code B": st.column_config.TextColumn(width="large"),
    },
)
st.download_button(
    "Download matrix (CSV)", table.to_csv(index=False), file_name=f"cooccurrence_{unit}.csv", mime="text/csv"
)

st.subheader("Quotes behind a cell")
picked = (clicked.selection.get("cell") or [{}])[0] if clicked and clicked.selection else {}
cell_pair = (picked.get("code_a"), picked.get("code_b"))
if all(cell_pair) and cell_pair[0] != cell_pair[1] and st.session_state.get("co_clicked") != cell_pair:
    # a new click sets the pickers once; afterwards they are the reader's again
    st.session_state["co_a"], st.session_state["co_b"] = cell_pair
    st.session_state["co_clicked"] = cell_pair
strongest = table[table["n12"] > 0].sort_values([measure, "n12"], ascending=False).head(1)
ids = [c for c in codebook.code_ids if labels[c] in order]
default_a = strongest["code_a"].iloc[0] if len(strongest) else ids[0]
default_b = strongest["code_b"].iloc[0] if len(strongest) else next(c for c in ids if c != default_a)
q1, q2 = st.columns(2)
code_a = q1.selectbox("Code A", ids, index=ids.index(default_a), key="co_a", format_func=labels.get)
others = [c for c in ids if c != code_a]
code_b = q2.selectbox(
    "Code B",
    others,
    index=others.index(default_b) if default_b in others else 0,
    key="co_b",
    format_func=labels.get,
)
if code_a and code_b:
    row = table[
        ((table.code_a == code_a) & (table.code_b == code_b))
        | ((table.code_a == code_b) & (table.code_b == code_a))
    ]
    if len(row):
        r = row.iloc[0]
        st.caption(f"n1 = {r.n1}, n2 = {r.n2}, n12 = {r.n12} · {measure} {fmt.stat(r[measure])}")
    quotes = cooccurrence_quotes(
        codings, units_seen, code_a, code_b, documents=documents, unit=unit, coders=coders or None
    )
    st.dataframe(quotes, hide_index=True, width="stretch")

st.subheader("Network")
n1, n2 = st.columns(2)
finite = table[measure].replace([np.inf, -np.inf], np.nan).dropna()
low, high = (float(min(0.0, finite.min())), float(finite.max())) if len(finite) else (0.0, 1.0)
high = high if high > low else low + 1.0
strong = table.loc[finite.index]
strong = strong[strong["n12"] >= 3]  # an edge resting on one or two units is noise
threshold = n1.slider(
    f"Show edges with {measure} above",
    low,
    high,
    float(strong[measure].quantile(0.75)) if len(strong) else low,
    key="co_threshold",
    help="Default: the top quarter of pairs that co-occur in at least 3 units.",
)
nodes, edges = cooccurrence_network(table, measure_name=measure, threshold=threshold, codebook=codebook)
if len(edges):
    nodes = nodes[nodes["code"].isin(set(edges["source"]) | set(edges["target"]))]
if len(nodes):
    angle = np.linspace(0, 2 * np.pi, len(nodes), endpoint=False)
    pos = pd.DataFrame({"x": np.cos(angle), "y": np.sin(angle)}, index=nodes["code"].tolist())
    node_df = nodes.assign(
        x=pos["x"].to_numpy(),
        y=pos["y"].to_numpy(),
        label=nodes["code"].map(labels),
        align=np.where(np.cos(angle) < 0, "right", "left"),
    )
    edge_df = (
        edges.assign(
            x=edges["source"].map(pos["x"]),
            y=edges["source"].map(pos["y"]),
            x2=edges["target"].map(pos["x"]),
            y2=edges["target"].map(pos["y"]),
            source_label=edges["source"].map(labels),
            target_label=edges["target"].map(labels),
        )
        if len(edges)
        else edges
    )
    scale = alt.Scale(domain=[-1.9, 1.9])
    layers = []
    if len(edges):
        layers.append(
            alt.Chart(edge_df)
            .mark_rule(opacity=0.5)
            .encode(
                x=alt.X("x:Q", axis=None, scale=scale),
                y=alt.Y("y:Q", axis=None, scale=scale),
                x2="x2:Q",
                y2="y2:Q",
                strokeWidth=alt.StrokeWidth("weight:Q", legend=None),
                tooltip=["source_label", "target_label", alt.Tooltip("weight:Q", format=".3g")],
            )
        )
    layers.append(
        alt.Chart(node_df)
        .mark_circle()
        .encode(
            x=alt.X("x:Q", axis=None, scale=scale),
            y=alt.Y("y:Q", axis=None, scale=scale),
            size=alt.Size("frequency:Q", legend=None),
            tooltip=["label", "code", "frequency"],
        )
    )
    for side in ("left", "right"):
        layers.append(
            alt.Chart(node_df[node_df["align"] == side])
            .mark_text(align=side, dx=8 if side == "left" else -8, fontSize=11)
            .encode(x="x:Q", y="y:Q", text="label:N")
        )
    st.altair_chart(alt.layer(*layers).properties(height=560), width="stretch")
    n2.caption(f"{len(nodes)} codes (size = frequency), {len(edges)} edges with {measure} ≥ {threshold:.3g}")

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
