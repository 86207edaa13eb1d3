"""The mechanism map: the framework's domains as columns, codes as nodes, hypotheses as arrows.

**Layout.** Columns follow the causal order of Seid, Hartley & Margolis (2021): infrastructure,
processes and services enable inherent motivations, which drive actions and the commons (actors,
resources and the mechanism-of-action codes), which meet needs and produce outcomes (``FRAMEWORK``
maps the codebook's domain ids to these columns). Context codes (``ctx_``: barriers, equity) sit
in a band beneath. A domain no column names gets a column of its own, after these, in codebook
order. Within a column, codes keep the codebook's order, grouped by domain. A node's area grows
with its frequency (codings of the code).

**Edges.** Each hypothesis is one arrow from its mechanism side to its outcome side, drawn as a
bundle: thin lines gather the mechanism codes at the arrow's tail and fan out from its head to
the outcome codes (contrast codes, dashed, join the side they stand in for). One arrow per
hypothesis, not one per code pair, because a hypothesis is one test with one effect and one
verdict: H1 names 6 x 4 codes and would otherwise draw its effect 24 times. The arrow's colour
is the verdict, its width the Mantel-Haenszel risk difference (``effect_rd``); the per-pair
numbers are in ``hypothesis_pairs``, the units behind the arrow in ``hypothesis_quotes``.

**Exports.** ``to_svg`` (self-contained, every text escaped), ``to_graphml`` (codes and
hypotheses as nodes; a hypothesis joins sets of codes, which GraphML tools read best as a node
with an edge from each mechanism code and to each outcome code) and ``to_png`` (with cairosvg or
vl-convert-python when one is installed).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .cooccurrence import cooccurrence_quotes
from .readings import contrast_side, prepare
from .units import unit_labels

FRAMEWORK = (
    ("Infrastructure, processes & services", ("ppi",)),
    ("Motivations", ("mot",)),
    ("Actions & commons", ("act", "com", "moa")),
    ("Needs met & outcomes", ("need", "out")),
)
CONTEXT = "Context"
SIDES = {"mechanism": "mechanism side", "outcome": "outcome side"}  # pseudo-codes for the quotes
NOT_TESTED = "not tested"
VERDICT_COLOURS = {
    "supported": "#2166AC",
    "not supported": "#D6604D",
    "not enough data": "#8C8C8C",
    NOT_TESTED: "#C8C8C8",
}
DASHES = {"not enough data": "6 4", NOT_TESTED: "2 4"}
COLUMN_WIDTH, ROW_HEIGHT, DOMAIN_GAP, LEFT, TOP = 290, 30, 12, 30, 80
LABEL_CHARS = 26  # at 11 px, about 165 px: the rest of a column is the gutter for its own arrows
MAX_EFFECT = 0.5  # risk differences at or above this draw the widest arrow
EFFECTS = [f"effect_{e}{s}" for e in ("rd", "or") for s in ("", "_low", "_high")]
NUMBERS = ["N", "n_mechanism", "n_outcome", "n_both", "fisher_p", "cluster_p", "cluster_q"]
NUMBERS.append("contrast_cluster_q")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def is_context(code: Any) -> bool:
    """Context codes (barriers, equity) go in the band beneath the columns."""
    return code.id.startswith("ctx_") or code.domain == "ctx"


def framework_columns(codebook: Any) -> list[tuple[str, list[str]]]:
    """(column label, domain ids) left to right: the framework's columns that hold codes, then
    each other domain of the codebook on its own."""
    used = {c.domain for c in codebook.codes if not is_context(c)}
    named = {d for _, ds in FRAMEWORK for d in ds}
    columns = [(label, [d for d in ds if d in used]) for label, ds in FRAMEWORK]
    columns += [(d.label, [d.id]) for d in codebook.domains if d.id not in named and d.id in used]
    return [(label, ds) for label, ds in columns if ds]


def short_label(text: str, n: int = LABEL_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def radius(frequency: Any, most: float) -> np.ndarray:
    """Node radius in pixels: area grows linearly with the frequency (4 px for an unused code)."""
    return 4 + 12 * np.sqrt(np.asarray(frequency, float) / max(most, 1))


def layout(codebook: Any, frequency: pd.Series | dict | None = None) -> pd.DataFrame:
    """The code nodes: ``code``, ``label``, ``short``, ``domain``, ``domain_label``, ``colour``,
    ``column`` (-1 for context), ``column_label``, ``context``, ``x``, ``y`` (pixels, y down),
    ``frequency``, ``radius``."""
    freq = pd.Series(frequency if frequency is not None else {}, dtype=float)
    domains = {d.id: d for d in codebook.domains}
    columns = framework_columns(codebook)
    rows, heights = [], []
    for i, (label, ds) in enumerate(columns):
        y = 0.0
        for k, d in enumerate(ds):
            codes = [c for c in codebook.codes if c.domain == d and not is_context(c)]
            for c in codes:
                rows.append((c, i, label, LEFT + i * COLUMN_WIDTH, y))
                y += ROW_HEIGHT
            y += DOMAIN_GAP if k < len(ds) - 1 else 0
        heights.append(y)
    tallest = max(heights, default=0.0)
    rows = [(c, i, lab, x, TOP + y + (tallest - heights[i]) / 2) for c, i, lab, x, y in rows]
    context = [c for c in codebook.codes if is_context(c)]
    span = max(len(columns) - 1, 1) * COLUMN_WIDTH
    for k, c in enumerate(context):
        rows.append(
            (c, -1, CONTEXT, LEFT + span * (k + 1) / (len(context) + 1), TOP + tallest + 2.5 * ROW_HEIGHT)
        )
    nodes = pd.DataFrame(
        {
            "code": [c.id for c, *_ in rows],
            "label": [c.label for c, *_ in rows],
            "short": [short_label(c.label) for c, *_ in rows],
            "domain": [c.domain for c, *_ in rows],
            "domain_label": [domains[c.domain].label if c.domain in domains else c.domain for c, *_ in rows],
            "colour": [
                (domains[c.domain].color if c.domain in domains else None) or "#888888" for c, *_ in rows
            ],
            "column": [i for _, i, *_ in rows],
            "column_label": [lab for _, _, lab, *_ in rows],
            "context": [i < 0 for _, i, *_ in rows],
            "x": [float(x) for *_, x, _ in rows],
            "y": [float(y) for *_, y in rows],
        }
    )
    nodes["frequency"] = [int(freq.get(c, 0)) for c in nodes["code"]]
    nodes["radius"] = radius(nodes["frequency"], nodes["frequency"].max() if len(nodes) else 1)
    return nodes


def canvas(nodes: pd.DataFrame) -> dict[str, Any]:
    """Size of the drawing, the column headings (label, x) and the context band's top (or None)."""
    main, context = nodes[~nodes["context"]], nodes[nodes["context"]]
    heads = main.groupby("column").agg(label=("column_label", "first"), x=("x", "min"))
    n = max(len(heads), 1)
    bottom = float(nodes["y"].max()) if len(nodes) else TOP
    return {
        "width": LEFT + n * COLUMN_WIDTH,
        "height": bottom + 2 * ROW_HEIGHT,
        "columns": list(zip(heads["label"], heads["x"])),
        "context_y": float(context["y"].min()) - 1.5 * ROW_HEIGHT if len(context) else None,
    }


def mechanism_map(
    codings: pd.DataFrame | None, hypotheses_table: pd.DataFrame | None, codebook: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The map's nodes (``layout``: one per code, sized by its codings) and edges (one per codebook
    hypothesis: its codes, verdict, effects with intervals, p-values and the arrow's geometry).

    ``hypotheses_table`` is ``evaluate_hypotheses``' table (None, or a hypothesis missing from
    it: verdict ``not tested``). Edge geometry in pixels: tail ``x1, y1``, control point
    ``cx, cy`` of a quadratic Bezier curve, head ``x2, y2``, its label's place ``xm, ym``, the head's
    ``angle`` (degrees, clockwise from the x axis), the stroke ``width``, the arrowhead's length
    ``head`` and where the stroke ends under it, ``xe, ye``.
    """
    freq = codings["code"].value_counts() if codings is not None and len(codings) else None
    nodes = layout(codebook, freq)
    table = hypotheses_table.set_index("hypothesis") if hypotheses_table is not None else pd.DataFrame()
    pos = nodes.set_index("code")
    rows, gutters = [], {}
    for i, h in enumerate(codebook.hypotheses):
        r = table.loc[h.id] if h.id in table.index else None
        verdict = str(r["verdict"]) if r is not None else NOT_TESTED
        side = contrast_side(h, codebook) or ""
        row = {
            "hypothesis": h.id,
            "label": h.label or h.id,
            "statement": h.statement,
            "unit": h.unit,
            "mechanism": tuple(h.mechanism),
            "outcome": tuple(h.outcome),
            "contrast": tuple(h.contrast),
            "contrast_side": side,
            "verdict": verdict,
            "colour": VERDICT_COLOURS.get(verdict, VERDICT_COLOURS[NOT_TESTED]),
            **{c: float(r[c]) if r is not None and c in r else math.nan for c in EFFECTS + NUMBERS},
            "reason": str(r["reason"]) if r is not None and "reason" in r else "",
        }
        row.update(_geometry(pos, h, i, gutters))
        rows.append(row)
    edges = pd.DataFrame(rows)
    if len(edges):
        rd = edges["effect_rd"].abs().clip(upper=MAX_EFFECT).fillna(0)
        edges["xm"], edges["ym"] = _badges(edges)
        edges["width"] = 1.5 + 22 * rd
        edges["head"] = 8 + edges["width"]
        a = np.radians(edges["angle"])
        edges["xe"], edges["ye"] = (
            edges["x2"] - 0.7 * edges["head"] * np.cos(a),
            edges["y2"] - 0.7 * edges["head"] * np.sin(a),
        )
        edges["effect_text"] = [_effect_text(r) for r in edges.to_dict("records")]
        edges["p_text"] = [_p_text(r) for r in edges.to_dict("records")]
    return nodes, edges


def _geometry(pos: pd.DataFrame, h: Any, i: int, gutters: dict[int, int]) -> dict[str, float]:
    """The arrow of hypothesis ``h`` (the ``i``-th) between the centres of its two sides; an arrow
    within one column bends out into the gutter to the column's right."""
    mech = pos.loc[[c for c in h.mechanism if c in pos.index]]
    out = pos.loc[[c for c in h.outcome if c in pos.index]]
    m = np.array([mech["x"].mean(), mech["y"].mean()]) if len(mech) else np.array([LEFT, TOP])
    o = np.array([out["x"].mean(), out["y"].mean()]) if len(out) else m + [COLUMN_WIDTH, 0]
    if abs(o[0] - m[0]) < COLUMN_WIDTH / 2 and not (mech["context"].any() or out["context"].any()):
        column = int(round((m[0] - LEFT) / COLUMN_WIDTH))
        k = gutters[column] = gutters.get(column, -1) + 1
        gx = LEFT + (column + 0.66) * COLUMN_WIDTH + 12 * k
        o = o if abs(o[1] - m[1]) > 1 else o + [0, ROW_HEIGHT]
        p1, p2 = np.array([gx, m[1]]), np.array([gx, o[1]])
        c = np.array([gx + 0.2 * COLUMN_WIDTH, (m[1] + o[1]) / 2])
    else:
        d = o - m
        p1, p2 = m + 0.25 * d, o - 0.25 * d
        bend = 0.12 * (1 if i % 2 == 0 else -1)
        c = (p1 + p2) / 2 + bend * np.array([-d[1], d[0]])
    angle = math.degrees(math.atan2(p2[1] - c[1], p2[0] - c[0]))
    values = (*p1, *c, *p2, angle)
    return dict(zip(("x1", "y1", "cx", "cy", "x2", "y2", "angle"), map(float, values)))


def _badges(edges: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Where each arrow's label goes: its middle, or the nearest point along it at least 24 px from
    the labels placed before."""
    placed: list[np.ndarray] = []
    for r in edges.to_dict("records"):
        for t in (0.5, 0.38, 0.62, 0.28, 0.72, 0.5):
            p = np.array(
                [(1 - t) ** 2 * r[f"{a}1"] + 2 * (1 - t) * t * r[f"c{a}"] + t**2 * r[f"{a}2"] for a in "xy"]
            )
            if all(np.hypot(*(p - q)) >= 24 for q in placed):
                break
        placed.append(p)
    return [float(p[0]) for p in placed], [float(p[1]) for p in placed]


def _num(x: float, digits: int = 2) -> str:
    return "–" if math.isnan(x) else ("∞" if math.isinf(x) else f"{x:.{digits}f}")


def _p(x: float) -> str:
    return "–" if math.isnan(x) else (f"{x:.2g}" if x < 0.001 else f"{x:.3f}")


def _effect_text(r: dict[str, Any]) -> str:
    if r["verdict"] == NOT_TESTED:
        return "not tested"
    return (
        f"risk difference {_num(r['effect_rd'], 3)} [{_num(r['effect_rd_low'], 3)}, "
        f"{_num(r['effect_rd_high'], 3)}]; odds ratio {_num(r['effect_or'])} "
        f"[{_num(r['effect_or_low'])}, {_num(r['effect_or_high'])}]"
    )


def _p_text(r: dict[str, Any]) -> str:
    if r["verdict"] == NOT_TESTED:
        return ""
    text = f"case p {_p(r['cluster_p'])} (q {_p(r['cluster_q'])}); Fisher p {_p(r['fisher_p'])}"
    return text + (f"; contrast q {_p(r['contrast_cluster_q'])}" if r["contrast"] else "")


def edge_points(edges: pd.DataFrame, n: int = 24) -> pd.DataFrame:
    """Each arrow's curve as ``n`` points (``hypothesis``, ``t``, ``x``, ``y``) for line marks, from
    its tail to where its head begins (``xe, ye``)."""
    t = np.linspace(0, 1, n)
    frames = []
    for r in edges.to_dict("records"):
        x = (1 - t) ** 2 * r["x1"] + 2 * (1 - t) * t * r["cx"] + t**2 * r["xe"]
        y = (1 - t) ** 2 * r["y1"] + 2 * (1 - t) * t * r["cy"] + t**2 * r["ye"]
        frames.append(pd.DataFrame({"hypothesis": r["hypothesis"], "t": t, "x": x, "y": y}))
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["hypothesis", "t", "x", "y"])
    )


def fan_lines(nodes: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    """The bundle's thin lines: from each mechanism code to its arrow's tail, from the head to each
    outcome code, and from each contrast code to the side it stands in for (``role`` contrast)."""
    pos = nodes.set_index("code")
    rows = []
    for r in edges.to_dict("records"):
        tail, head = (r["x1"], r["y1"]), (r["x2"], r["y2"])
        ends = [(c, "mechanism", tail) for c in r["mechanism"]] + [(c, "outcome", head) for c in r["outcome"]]
        ends += [(c, "contrast", head if r["contrast_side"] == "outcome" else tail) for c in r["contrast"]]
        for code, role, (x2, y2) in ends:
            if code in pos.index:
                x, y = pos.at[code, "x"], pos.at[code, "y"]
                rows.append((r["hypothesis"], role, code, r["verdict"], r["colour"], x, y, x2, y2))
    columns = ["hypothesis", "role", "code", "verdict", "colour", "x", "y", "x2", "y2"]
    return pd.DataFrame(rows, columns=columns)


def hypothesis_quotes(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    documents: pd.DataFrame | None,
    hypothesis: Any,
    *,
    codebook: Any = None,
    coders: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The units behind a hypothesis' arrow: each unit holding both its mechanism side (as the test
    reads it, e.g. H1's conjunction) and its outcome side, with the codes of each side present
    there, the text and each side's quotes (``cooccurrence_quotes`` of the two sides).

    Columns: ``document``, ``unit``, ``mechanism`` and ``outcome`` (codes present), ``text`` (for
    segment-based units), ``mechanism_quotes``, ``outcome_quotes``, ``coders``.
    """
    h = hypothesis
    columns = [
        "document",
        "unit",
        "mechanism",
        "outcome",
        "text",
        "mechanism_quotes",
        "outcome_quotes",
        "coders",
    ]
    prep = prepare(codings, segments, documents, [h], codebook=codebook, coders=coders)
    r, units, inc = prep.readings[0], prep.codes[h.unit], prep.incidences[h.unit]
    rows = np.flatnonzero(r.mech & r.outc)
    if not len(rows):
        return pd.DataFrame(columns=columns)
    # only the codings and segments of these units (units keep their numbers): fast on big projects
    if h.unit in ("segment", "turn") and segments is not None:
        spans = inc.units.iloc[rows][["document", "start", "end"]].astype({"document": object})
        codings, segments = _within(codings, spans), _within(segments, spans)
    sides = [
        codings[codings["code"].isin(getattr(h, side))].assign(code=code) for side, code in SIDES.items()
    ]
    q = cooccurrence_quotes(
        pd.concat(sides), segments, *SIDES.values(), documents=documents, unit=h.unit, coders=coders
    )
    present = {
        label: [", ".join(c for c in getattr(h, side) if units.has(c)[i]) for side in SIDES]
        for label, i in zip(unit_labels(inc, rows), rows)
    }
    q = q[q["unit"].isin(present)]
    return pd.DataFrame(
        {
            "document": q["document"].astype(str).to_numpy(),
            "unit": q["unit"].to_numpy(),
            "mechanism": [present[u][0] for u in q["unit"]],
            "outcome": [present[u][1] for u in q["unit"]],
            "text": q["text"].to_numpy() if "text" in q else "",
            "mechanism_quotes": q["quotes_a"].to_numpy(),
            "outcome_quotes": q["quotes_b"].to_numpy(),
            "coders": [sorted(set(a) | set(b)) for a, b in zip(q["coders_a"], q["coders_b"])],
        },
        columns=columns,
    )


def _within(table: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` (codings or segments) that overlap one of ``spans`` (document, start, end)."""
    rows = table[["document", "start", "end"]].astype({"document": object}).assign(_row=np.arange(len(table)))
    pairs = rows.merge(spans, on="document", suffixes=("", "_unit"))
    hit = pairs.loc[(pairs["start"] < pairs["end_unit"]) & (pairs["end"] > pairs["start_unit"]), "_row"]
    return table.iloc[np.sort(hit.unique())]


# -- exports -------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A string XML can hold (ElementTree escapes markup; characters XML forbids are dropped)."""
    return _INVALID_XML.sub("", f"{value:.1f}" if isinstance(value, float) else str(value))


def _sub(parent: ET.Element, tag: str, text: Any = None, raw: dict | None = None, **attrs: Any) -> ET.Element:
    """A child element; ``attrs`` are SVG attributes with ``-`` written ``_``, ``raw`` names are as given."""
    names = {k.replace("_", "-"): v for k, v in attrs.items()}
    el = ET.SubElement(parent, tag, {k: _text(v) for k, v in {**names, **(raw or {})}.items()})
    if text is not None:
        el.text = _text(text)
    return el


def _arrowhead(x: float, y: float, angle: float, size: float) -> str:
    a = math.radians(angle)
    pts = [(x, y)] + [(x - size * math.cos(a + s * 0.45), y - size * math.sin(a + s * 0.45)) for s in (-1, 1)]
    return " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)


def _label(parent: ET.Element, x: float, y: float, text: str, **attrs: Any) -> ET.Element:
    """Text with a white halo, readable over lines."""
    halo = {"stroke": "white", "stroke_width": 3, "paint_order": "stroke", "stroke_linejoin": "round"}
    return _sub(parent, "text", text, x=x, y=y, **halo, **attrs)


def to_svg(nodes: pd.DataFrame, edges: pd.DataFrame, *, title: str = "Mechanism map") -> str:
    """The map as a self-contained SVG document: no scripts, links, fonts or images; every label,
    statement and number is escaped; hovering a node or an arrow shows its details (``title``)."""
    geo = canvas(nodes)
    width, height = int(geo["width"]), int(geo["height"] + 90)
    svg = ET.Element("svg", xmlns="http://www.w3.org/2000/svg", width=str(width), height=str(height))
    for name, value in (("viewBox", f"0 0 {width} {height}"), ("role", "img"), ("font-family", "sans-serif")):
        svg.set(name, value)
    svg.set("font-size", "11")
    _sub(svg, "title", title)
    _sub(svg, "rect", x=0, y=0, width="100%", height="100%", fill="white")
    for label, x in geo["columns"]:
        _sub(svg, "text", label, x=x - 10, y=TOP - 40, font_size=13, font_weight="bold")
    if geo["context_y"] is not None:
        y = geo["context_y"]
        _sub(svg, "line", x1=LEFT - 10, x2=width - 10, y1=y, y2=y, stroke="#999", stroke_dasharray="4 4")
        _sub(svg, "text", CONTEXT, x=LEFT - 10, y=y + 16, font_size=13, font_weight="bold")
    _draw_edges(svg, nodes, edges)
    for r in nodes.to_dict("records"):
        g = _sub(svg, "g")
        _sub(g, "title", f"{r['code']}: {r['label']} ({r['domain_label']}); {r['frequency']} codings")
        fill = r["colour"] if r["frequency"] else "white"
        _sub(g, "circle", cx=r["x"], cy=r["y"], r=r["radius"], fill=fill, stroke="#333")
        _label(g, r["x"] + r["radius"] + 4, r["y"] + 4, r["short"])
    for r in edges.to_dict("records"):  # the arrows' labels, over everything else
        g = _sub(svg, "g")
        _sub(g, "title", f"{r['hypothesis']} {r['label']}: {r['verdict']}\n{r['effect_text']}\n{r['p_text']}")
        _sub(g, "circle", cx=r["xm"], cy=r["ym"], r=11, fill="white", stroke=r["colour"])
        _sub(g, "text", r["hypothesis"], x=r["xm"], y=r["ym"] + 4, text_anchor="middle", font_size=10)
    _legend(svg, nodes, geo["height"], width)
    ET.indent(svg)
    return ET.tostring(svg, encoding="unicode") + "\n"


def _draw_edges(svg: ET.Element, nodes: pd.DataFrame, edges: pd.DataFrame) -> None:
    """The fans under the arrows, then each arrow with its head and hover text."""
    fans = _sub(svg, "g", fill="none", stroke_width=1.2, opacity=0.45)
    for f in fan_lines(nodes, edges).to_dict("records"):
        dash = {"stroke_dasharray": "3 3"} if f["role"] == "contrast" else {}
        _sub(fans, "line", x1=f["x"], y1=f["y"], x2=f["x2"], y2=f["y2"], stroke=f["colour"], **dash)
    for r in edges.to_dict("records"):
        g = _sub(svg, "g")
        _sub(g, "title", f"{r['hypothesis']} {r['label']}: {r['verdict']}\n{r['effect_text']}\n{r['p_text']}")
        d = f"M {r['x1']:.1f} {r['y1']:.1f} Q {r['cx']:.1f} {r['cy']:.1f} {r['xe']:.1f} {r['ye']:.1f}"
        dash = {"stroke_dasharray": DASHES[r["verdict"]]} if r["verdict"] in DASHES else {}
        _sub(g, "path", d=d, fill="none", stroke=r["colour"], stroke_width=r["width"], **dash)
        _sub(g, "polygon", points=_arrowhead(r["x2"], r["y2"], r["angle"], r["head"]), fill=r["colour"])


def _legend(svg: ET.Element, nodes: pd.DataFrame, top: float, width: float) -> None:
    """Verdict colours and arrow widths on one row, the domains' colours below."""
    g = _sub(svg, "g", transform=f"translate({LEFT - 10},{top:.0f})")
    x = 0.0
    for verdict, colour in VERDICT_COLOURS.items():
        dash = {"stroke_dasharray": DASHES[verdict]} if verdict in DASHES else {}
        _sub(g, "line", x1=x, x2=x + 28, y1=0, y2=0, stroke=colour, stroke_width=4, **dash)
        _sub(g, "text", verdict, x=x + 34, y=4)
        x += 48 + 6.5 * len(verdict)
    for rd in (0.1, 0.3, 0.5):
        _sub(g, "line", x1=x + 20, x2=x + 48, y1=0, y2=0, stroke="#555", stroke_width=1.5 + 22 * rd)
        _sub(g, "text", f"RD {rd}", x=x + 54, y=4)
        x += 90
    _sub(
        g,
        "text",
        "Arrow: a hypothesis, its width the risk difference; circle area: codings of the code.",
        x=0,
        y=28,
    )
    x, y = 0.0, 52.0
    for r in nodes.drop_duplicates("domain").to_dict("records"):
        step = 30 + 6.2 * len(r["domain_label"])
        x, y = (0.0, y + 20) if x + step > width - LEFT else (x, y)
        _sub(g, "circle", cx=x + 6, cy=y - 4, r=6, fill=r["colour"], stroke="#333")
        _sub(g, "text", r["domain_label"], x=x + 16, y=y)
        x += step


def to_graphml(nodes: pd.DataFrame, edges: pd.DataFrame) -> str:
    """The map as GraphML: a node per code (``code:<id>``) and per hypothesis (``hypothesis:<id>``),
    with the layout, frequencies, verdicts, effects and p-values; an edge (``role``) from each
    mechanism code to its hypothesis and from the hypothesis to each outcome code, and between
    each contrast code and the hypothesis in the direction of the side it stands in for. An edge's
    ``weight`` is the size of its hypothesis' risk difference (its sign is on the hypothesis)."""
    node_keys = [("kind", "string"), ("label", "string"), ("domain", "string"), ("column", "string")]
    node_keys += [("x", "double"), ("y", "double"), ("frequency", "int"), ("colour", "string")]
    node_keys += [("statement", "string"), ("unit", "string"), ("verdict", "string"), ("reason", "string")]
    node_keys += [(c, "int" if c.startswith(("N", "n_")) else "double") for c in EFFECTS + NUMBERS]
    edge_keys = [("role", "string"), ("hypothesis", "string"), ("verdict", "string"), ("weight", "double")]
    root = ET.Element("graphml", xmlns="http://graphml.graphdrawing.org/xmlns")
    for where, keys in (("node", node_keys), ("edge", edge_keys)):
        for name, kind in keys:
            _sub(
                root,
                "key",
                raw={"id": f"{where[0]}_{name}", "for": where, "attr.name": name, "attr.type": kind},
            )
    graph = _sub(root, "graph", id="mechanism-map", edgedefault="directed")
    for r in nodes.to_dict("records"):
        values = {**r, "kind": "code", "column": r["column_label"]}
        _data(_sub(graph, "node", id=f"code:{r['code']}"), "n", values, node_keys)
    codes = set(nodes["code"])
    for i, r in enumerate(edges.to_dict("records")):
        hid = f"hypothesis:{r['hypothesis']}"
        _data(
            _sub(graph, "node", id=hid),
            "n",
            {**r, "kind": "hypothesis", "x": r["xm"], "y": r["ym"]},
            node_keys,
        )
        ends = [(c, "mechanism", True) for c in r["mechanism"]]
        ends += [(c, "contrast", r["contrast_side"] != "outcome") for c in r["contrast"]]
        ends += [(c, "outcome", False) for c in r["outcome"]]
        values = {"hypothesis": r["hypothesis"], "verdict": r["verdict"], "weight": abs(r["effect_rd"])}
        for j, (code, role, into) in enumerate(e for e in ends if e[0] in codes):
            source, target = (f"code:{code}", hid) if into else (hid, f"code:{code}")
            _data(
                _sub(graph, "edge", id=f"e{i}_{j}", source=source, target=target),
                "e",
                {**values, "role": role},
                edge_keys,
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _data(parent: ET.Element, prefix: str, values: dict[str, Any], keys: list[tuple[str, str]]) -> None:
    """GraphML ``data`` children of ``parent`` for the ``keys`` that have a value (no NaN, no empty text)."""
    for name, kind in keys:
        v = values.get(name)
        if v is None or v == "" or (isinstance(v, float) and not math.isfinite(v)):
            continue
        _sub(
            parent,
            "data",
            int(v) if kind == "int" else (f"{float(v):.6g}" if kind == "double" else v),
            key=f"{prefix}_{name}",
        )


def to_png(svg: str) -> bytes | None:
    """The SVG as PNG with cairosvg or vl-convert-python, whichever is installed; None without either."""
    try:
        import cairosvg
    except ImportError:
        pass
    else:
        return cairosvg.svg2png(bytestring=svg.encode("utf-8"))
    try:
        import vl_convert
    except ImportError:
        return None
    return vl_convert.svg_to_png(svg)
