"""Mechanism map: the framework's domains as columns, each hypothesis an arrow coloured by its verdict;
click an arrow for its numbers and the quotes behind it."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from clhs_mechanisms.analysis.hypotheses import evaluate_hypotheses, hypothesis_pairs
from clhs_mechanisms.analysis.mechanism_map import (
    CONTEXT,
    DASHES,
    TOP,
    VERDICT_COLOURS,
    canvas,
    edge_points,
    fan_lines,
    hypothesis_quotes,
    mechanism_map,
    to_graphml,
    to_svg,
)
from clhs_mechanisms.app import state
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.markdown import escape_markdown

PICK = alt.selection_point(name="pick", fields=["hypothesis"], on="click")
project = state.project()
codebook = project.codebook
st.title("Mechanism map")
st.caption(
    "Columns follow the framework: infrastructure, processes and services → motivations → actions and "
    "the commons → needs met and outcomes, with context beneath. Each arrow is one hypothesis, coloured by "
    "its verdict and as wide as its risk difference; a circle's area is the code's codings. Hover for the "
    "numbers; click an arrow for its table and the quotes behind it. Method: docs/hypotheses.md."
)

codings = state.visible(state.frame("codings"))
documents = state.frame("documents")
segments = state.frame("segments")
coders = st.multiselect("Coders", sorted(codings["coder"].unique()), key="mm_coders")
chosen = codings[codings["coder"].isin(coders)] if coders else codings
blind_key = None if state.sees_everything() else state.coder()


@st.cache_data(max_entries=8, show_spinner="Testing the hypotheses…")
def _hypotheses(path: str, change: int, coders: tuple[str, ...], who: str | None) -> pd.DataFrame | None:
    """The hypothesis table of the chosen codings (None without codings); the arguments key the cache."""
    if chosen.empty:
        return None
    return evaluate_hypotheses(chosen, segments, documents, codebook.hypotheses, codebook=codebook)


@st.cache_data(max_entries=16, show_spinner="Finding the quotes…")
def _behind(path: str, change: int, coders: tuple[str, ...], who: str | None, hypothesis: str):
    """The code pairs and the quotes behind one hypothesis (the other arguments key the cache)."""
    h = next(h for h in codebook.hypotheses if h.id == hypothesis)
    pairs = hypothesis_pairs(chosen, segments, documents, [h])
    quotes = hypothesis_quotes(chosen, segments, documents, h, codebook=codebook)
    return pairs, quotes


def _axes(width: float, height: float, xf: str = "x", yf: str = "y") -> tuple[alt.X, alt.Y]:
    """Pixel coordinates of the layout (y down) on fields ``xf``, ``yf``."""
    return (
        alt.X(f"{xf}:Q", scale=alt.Scale(domain=[0, width], nice=False, zero=False), axis=None),
        alt.Y(
            f"{yf}:Q", scale=alt.Scale(domain=[0, height], nice=False, zero=False, reverse=True), axis=None
        ),
    )


TIPS = [
    alt.Tooltip("hypothesis:N"),
    alt.Tooltip("label:N", title="hypothesis label"),
    alt.Tooltip("verdict:N"),
    alt.Tooltip("effect_text:N", title="effect [95% interval]"),
    alt.Tooltip("p_text:N", title="p-values"),
    alt.Tooltip("N:Q", title="units"),
]
VERDICT = alt.Color(
    "verdict:N",
    scale=alt.Scale(domain=list(VERDICT_COLOURS), range=list(VERDICT_COLOURS.values())),
    legend=None,  # a legend outside the plot would shrink it: drawn inside instead (``_legend``)
)
DASH = alt.StrokeDash(
    "verdict:N",
    scale=alt.Scale(
        domain=list(VERDICT_COLOURS),
        range=[[int(v) for v in DASHES.get(k, "1 0").split()] for k in VERDICT_COLOURS],
    ),
    legend=None,
)


def _edge_layers(nodes: pd.DataFrame, edges: pd.DataFrame, size: tuple[float, float]) -> list[alt.Chart]:
    """The fans, the arrows (the layer that holds the selection) and their heads."""
    x, y = _axes(*size)
    shown = alt.condition(PICK, alt.value(1.0), alt.value(0.25))
    info = edges[["hypothesis", "label", "verdict", "effect_text", "p_text", "N", "width"]]
    curves = edge_points(edges).merge(info, on="hypothesis")
    a = np.radians(edges["angle"])
    heads = edges.assign(
        size=edges["head"] ** 2,
        angle=edges["angle"] % 360,
        hx=edges["x2"] - edges["head"] / 2 * np.cos(a),
        hy=edges["y2"] - edges["head"] / 2 * np.sin(a),
    )
    fan = alt.condition(PICK, alt.value(0.45), alt.value(0.1))
    return [
        alt.Chart(fan_lines(nodes, edges))
        .mark_rule(strokeWidth=1.2)
        .encode(x=x, y=y, x2="x2:Q", y2="y2:Q", color=alt.Color("colour:N", scale=None), opacity=fan),
        alt.Chart(curves)
        .mark_line(strokeCap="round")
        .encode(x=x, y=y, detail="hypothesis:N", order="t:Q", color=VERDICT, strokeDash=DASH, opacity=shown)
        .encode(strokeWidth=alt.StrokeWidth("width:Q", scale=None), tooltip=TIPS)
        .add_params(PICK),
        alt.Chart(heads)
        .mark_point(shape="triangle-right", filled=True, opacity=1)
        .encode(
            *_axes(*size, "hx", "hy"), color=VERDICT, angle=alt.Angle("angle:Q", scale=None), opacity=shown
        )
        .encode(size=alt.Size("size:Q", scale=None), tooltip=TIPS),
    ]


def _legend(size: tuple[float, float]) -> list[alt.Chart]:
    """The verdicts' colours and dashes along the bottom of the plot."""
    keys = pd.DataFrame({"verdict": list(VERDICT_COLOURS), "y": size[1] - 12})
    keys["x"] = 20 + 150 * keys.index.to_numpy()
    keys["x2"], keys["tx"] = keys["x"] + 28, keys["x"] + 34
    x, y = _axes(*size)
    return [
        alt.Chart(keys).mark_rule(strokeWidth=4).encode(x=x, y=y, x2="x2:Q", color=VERDICT, strokeDash=DASH),
        alt.Chart(keys).mark_text(align="left", fontSize=11).encode(*_axes(*size, "tx"), text="verdict:N"),
    ]


def _chart(nodes: pd.DataFrame, edges: pd.DataFrame) -> alt.LayerChart:
    """Column headings, the edges, the code nodes with their labels, and each arrow's label on top."""
    geo = canvas(nodes)
    size = (geo["width"], geo["height"] + 30)
    x, y = _axes(*size)
    heads = pd.DataFrame(
        [(label, x0 - 10, TOP - 40.0) for label, x0 in geo["columns"]], columns=["label", "x", "y"]
    )
    if geo["context_y"] is not None:
        heads.loc[len(heads)] = [CONTEXT, 20.0, geo["context_y"] + 16]
    dots = nodes.assign(
        size=(2 * nodes["radius"]) ** 2,
        fill=nodes["colour"].where(nodes["frequency"] > 0, "white"),  # an unused code: an empty circle
        lx=nodes["x"] + nodes["radius"] + 4,
    )
    code_tips = ["code:N", "label:N", "domain_label:N", "frequency:Q"]
    badge = _axes(*size, "xm", "ym")
    return alt.layer(
        alt.Chart(heads)
        .mark_text(align="left", fontSize=13, fontWeight="bold")
        .encode(x=x, y=y, text="label:N"),
        *_edge_layers(nodes, edges, size),
        alt.Chart(dots)
        .mark_circle(stroke="#333333", strokeWidth=1, opacity=1)
        .encode(
            x=x,
            y=y,
            size=alt.Size("size:Q", scale=None),
            fill=alt.Fill("fill:N", scale=None),
            tooltip=code_tips,
        ),
        alt.Chart(dots)
        .mark_text(align="left", fontSize=11)
        .encode(*_axes(*size, "lx", "y"), text="short:N", tooltip=code_tips),
        alt.Chart(edges)
        .mark_circle(size=480, fill="white", strokeWidth=1.5, opacity=1)
        .encode(*badge, stroke=alt.Stroke("colour:N", scale=None), tooltip=TIPS),
        alt.Chart(edges).mark_text(fontSize=10).encode(*badge, text="hypothesis:N", tooltip=TIPS),
        *_legend(size),
    ).properties(width=size[0], height=size[1])


def _pick_hypothesis(event: dict, ids: list[str]) -> str:
    """The hypothesis to show: the arrow just clicked, else the one chosen in the box."""
    clicked = [s.get("hypothesis") for s in event.get("selection", {}).get("pick", []) if s.get("hypothesis")]
    if not clicked:
        st.session_state["mm_clicked"] = None  # cleared: a new click on the same arrow counts again
    elif clicked[0] in ids and clicked[0] != st.session_state.get("mm_clicked"):
        st.session_state["mm_clicked"] = st.session_state["mm_hypothesis"] = clicked[0]
    labels = {h.id: f"{h.id} {h.label}" for h in codebook.hypotheses}
    return st.selectbox("Hypothesis", ids, key="mm_hypothesis", format_func=lambda h: labels.get(h, h))


def _interval(r: pd.Series, name: str, digits: int) -> str:
    return f"{r[name]:.{digits}f} [{r[f'{name}_low']:.{digits}f}, {r[f'{name}_high']:.{digits}f}]"


def _details(table: pd.DataFrame | None, hid: str) -> None:
    """The hypothesis' statement, its row of the table, the code pairs and the quotes behind it."""
    h = next(h for h in codebook.hypotheses if h.id == hid)
    st.subheader(escape_markdown(f"{h.id} {h.label}"))
    st.markdown(escape_markdown(h.statement))
    sides = {"mechanism": h.mechanism, "outcome": h.outcome, "contrast": h.contrast}
    st.caption(escape_markdown("; ".join(f"{k}: {', '.join(v)}" for k, v in sides.items() if v)))
    rows = table[table["hypothesis"] == hid] if table is not None else pd.DataFrame()
    if rows.empty:
        st.info("Not tested: no codings to test it on (or see the message above).")
        return
    r = rows.iloc[0]
    st.markdown(f"**{escape_markdown(r['verdict'])}**: {escape_markdown(r['reason'])}")
    row = {
        "unit": r["unit"],
        "units (N)": r["N"],
        "cases": r["clusters"],
        "with mechanism": r["n_mechanism"],
        "with outcome": r["n_outcome"],
        "with both": r["n_both"],
        "risk difference [95%]": _interval(r, "effect_rd", 3),
        "odds ratio [95%]": _interval(r, "effect_or", 2),
        "Fisher p": r["fisher_p"],
        "case p": r["cluster_p"],
        "q": r["cluster_q"],
        "contrast q": r["contrast_cluster_q"],
        "verdict": r["verdict"],
    }
    st.dataframe(pd.DataFrame([row]), hide_index=True, width="stretch")
    try:
        pairs, quotes = _behind(state.project_dir(), state.version(), tuple(coders), blind_key, hid)
    except ClhsError as exc:
        state.report_error(exc)
        return
    with st.expander(f"Code pairs ({len(pairs)})"):
        st.dataframe(pairs, hide_index=True, width="stretch")
    st.markdown(f"**Quotes behind the arrow**: {len(quotes)} {escape_markdown(h.unit)}s with both sides")
    st.dataframe(quotes, hide_index=True, width="stretch")
    st.download_button(
        "Download quotes (CSV)", quotes.to_csv(index=False), file_name=f"quotes_{hid}.csv", mime="text/csv"
    )


table = None
try:
    table = _hypotheses(state.project_dir(), state.version(), tuple(coders), blind_key)
except ClhsError as exc:
    st.info(escape_markdown(str(exc)))
if chosen.empty:
    st.info("No codings yet: the map shows the codebook's hypotheses, untested.")
nodes, edges = mechanism_map(chosen, table, codebook)
if edges.empty:
    st.info("The codebook has no hypotheses to draw.")
    st.stop()
event = st.altair_chart(_chart(nodes, edges), on_select="rerun", key="mm_chart", width="content")
svg, graphml = to_svg(nodes, edges), to_graphml(nodes, edges)
d1, d2, d3 = st.columns([1, 1, 3])
d1.download_button("Download SVG", svg, file_name="mechanism_map.svg", mime="image/svg+xml")
d2.download_button("Download GraphML", graphml, file_name="mechanism_map.graphml", mime="application/xml")
d3.caption("PNG: the chart toolbar's Download as PNG (drawn by your browser).")
_details(table, _pick_hypothesis(event, edges["hypothesis"].tolist()))
