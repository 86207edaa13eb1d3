"""The mechanism map (issue 21, item 4): framework layout, GraphML and SVG exports, the page, the CLI."""

from __future__ import annotations

import json
import re
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

import clhs_mechanisms.cli.mechanisms  # noqa: F401  (registers `clhs mechanism-map` until cli/__init__ imports it)
from clhs_mechanisms import Project, import_paths
from clhs_mechanisms.analysis import Frames, evaluate_hypotheses
from clhs_mechanisms.analysis.mechanism_map import (
    FRAMEWORK,
    NOT_TESTED,
    hypothesis_quotes,
    layout,
    mechanism_map,
    to_graphml,
    to_svg,
)
from clhs_mechanisms.cli import main
from clhs_mechanisms.codebook import load_codebook, parse_codebook, shipped_codebook_path

PAGE = Path(__file__).resolve().parents[1] / "clhs_mechanisms" / "app" / "views" / "mechanisms.py"
GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"
SVG = "{http://www.w3.org/2000/svg}"
TALK = """Interviewer: Why did you join?
{p}: The registry dashboard shows every centre, so I give back to other families.
Interviewer: Anything else?
{p}: We joined for the credit, honestly.
{p}: The registry form is quick and I help others with it.
"""


@pytest.fixture(scope="module")
def clhs():
    return load_codebook(shipped_codebook_path())


def _table(codebook, verdicts: dict[str, str]) -> pd.DataFrame:
    """A hypothesis table as ``evaluate_hypotheses`` gives it, for the columns the map reads."""
    rows = []
    for k, h in enumerate(codebook.hypotheses):
        if h.id in verdicts:
            rd = 0.1 * (k + 1)
            effects = {"effect_rd": rd, "effect_rd_low": rd - 0.05, "effect_rd_high": rd + 0.05}
            effects |= {"effect_or": 2.0, "effect_or_low": 1.5, "effect_or_high": 3.0}
            tests = {"fisher_p": 0.01, "cluster_p": 0.02, "cluster_q": 0.03, "contrast_cluster_q": 0.04}
            counts = {"N": 100, "n_mechanism": 10, "n_outcome": 20, "n_both": 5}
            rows.append(
                {"hypothesis": h.id, "verdict": verdicts[h.id], "reason": "why", **effects, **tests, **counts}
            )
    return pd.DataFrame(rows)


def test_layout_columns_follow_the_framework_with_context_beneath(clhs):
    nodes = layout(clhs).set_index("code")
    x = nodes.groupby("domain")["x"].first()
    assert x["ppi"] < x["mot"] < x["act"] == x["com"] == x["moa"] < x["need"] == x["out"]
    assert list(dict.fromkeys(nodes.loc[~nodes["context"], "column_label"])) == [
        label for label, _ in FRAMEWORK
    ]
    context = nodes[nodes["context"]]
    assert sorted(context.index) == ["ctx_barriers_constraints", "ctx_equity_power"]
    assert context["y"].min() > nodes.loc[~nodes["context"], "y"].max()
    # within a column, the codebook's order; every code drawn once
    assert (
        len(nodes) == len(clhs.codes)
        and nodes.loc["act_capability_values", "y"] < nodes.loc["moa_scale_network_effects", "y"]
    )


def test_a_small_codebook_keeps_the_order_and_sizes_nodes_by_codings(mini_codebook):
    nodes = layout(mini_codebook, {"mot_help": 9, "ppi_registry": 1}).set_index("code")
    assert nodes.loc["ppi_registry", "x"] < nodes.loc["mot_help", "x"]  # infrastructure before motivations
    assert (
        nodes.loc["mot_help", "radius"]
        > nodes.loc["ppi_registry", "radius"]
        > nodes.loc["mot_credit", "radius"]
    )


def test_graphml_parses_with_every_code_hypothesis_and_side(clhs):
    codings = pd.DataFrame({"code": ["mot_autonomy"] * 3 + ["ppi_hub_services"]})
    nodes, edges = mechanism_map(codings, _table(clhs, {"H1": "supported", "H2": "not supported"}), clhs)
    root = ET.fromstring(to_graphml(nodes, edges).split("\n", 1)[1])
    keys = {k.get("id"): k.get("attr.name") for k in root.iter(f"{GRAPHML}key")}
    graph_nodes = {n.get("id"): n for n in root.iter(f"{GRAPHML}node")}
    graph_edges = list(root.iter(f"{GRAPHML}edge"))
    assert len(graph_nodes) == len(clhs.codes) + len(clhs.hypotheses)
    assert len(graph_edges) == sum(
        len(h.mechanism) + len(h.outcome) + len(h.contrast) for h in clhs.hypotheses
    )

    def data(element) -> dict[str, str]:
        return {keys[d.get("key")]: d.text for d in element.iter(f"{GRAPHML}data")}

    assert data(graph_nodes["code:mot_autonomy"])["frequency"] == "3"
    h1, h3 = data(graph_nodes["hypothesis:H1"]), data(graph_nodes["hypothesis:H3"])
    assert h1["verdict"] == "supported" and float(h1["effect_rd"]) == pytest.approx(0.1)
    assert float(h1["effect_rd_low"]) == pytest.approx(0.05) and float(h1["cluster_q"]) == pytest.approx(0.03)
    assert h3["verdict"] == NOT_TESTED and "effect_rd" not in h3
    roles = {(e.get("source"), e.get("target")): data(e)["role"] for e in graph_edges}
    assert roles[("code:moa_enabling_inherent_motivation", "hypothesis:H1")] == "mechanism"
    assert roles[("hypothesis:H1", "code:mot_autonomy")] == "outcome"
    assert (
        roles[("hypothesis:H1", "code:mot_extrinsic_controlled")] == "contrast"
    )  # stands in for the outcome
    assert roles[("code:mot_extrinsic_controlled", "hypothesis:H3")] == "contrast"  # ... for the mechanism


def test_one_arrow_per_hypothesis_coloured_by_verdict_and_weighted_by_effect(clhs):
    nodes, edges = mechanism_map(None, _table(clhs, {"H1": "supported", "H2": "not enough data"}), clhs)
    assert list(edges["hypothesis"]) == [h.id for h in clhs.hypotheses]
    h = edges.set_index("hypothesis")
    assert h.loc["H2", "width"] > h.loc["H1", "width"] > h.loc["H3", "width"]  # RD 0.2 > 0.1 > untested
    assert len({h.loc["H1", "colour"], h.loc["H2", "colour"], h.loc["H3", "colour"]}) == 3
    assert h.loc["H1", "effect_text"].startswith("risk difference 0.100 [0.050, 0.150]")
    assert "case p 0.020 (q 0.030)" in h.loc["H1", "p_text"]


def test_svg_is_well_formed_escapes_labels_and_fetches_nothing(mini_codebook_path):
    text = mini_codebook_path.read_text(encoding="utf-8")
    text = text.replace("label: Helping others", "label: \"<script>alert('x')</script> & <img src=x>\"")
    text = text.replace("label: Help follows infrastructure", 'label: "H1 <b onmouseover=alert(1)>"')
    codebook = parse_codebook(text)
    nodes, edges = mechanism_map(pd.DataFrame({"code": ["mot_help"]}), None, codebook)
    svg = to_svg(nodes, edges)
    root = ET.fromstring(svg)
    tags = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert not tags & {"script", "image", "foreignObject", "use", "a", "style", "iframe"}
    assert "<script" not in svg and "<img" not in svg and "<b " not in svg and "&lt;script&gt;" in svg
    assert "href" not in svg and "url(" not in svg
    assert re.findall(r"https?://[^\"' ]+", svg) == ["http://www.w3.org/2000/svg"]  # the namespace only
    titles = [el.text for el in root.iter(f"{SVG}title")]
    assert "mot_help: <script>alert('x')</script> & <img src=x> (Motivations); 1 codings" in titles
    assert any(t.startswith("H1 H1 <b onmouseover=alert(1)>: not tested") for t in titles)


@pytest.fixture()
def coded(tmp_path, mini_codebook, monkeypatch):
    """Six participants: registry talk and helping others in the same segment, credit elsewhere."""
    files = []
    for k in range(6):
        f = tmp_path / "files" / f"p{k:02d}.txt"
        f.parent.mkdir(exist_ok=True)
        f.write_text(TALK.format(p=f"P{k:02d}"), encoding="utf-8")
        files.append(f)
    project = Project.init(tmp_path / "proj", mini_codebook)
    list(import_paths(project, files))
    spans = []
    for seg in project.segments(codable_only=True).itertuples():
        codes = ["mot_credit"] if "credit" in seg.text else ["ppi_registry", "mot_help"]
        spans += [(seg.document, seg.start, seg.end, code) for code in codes]
    project.add_codings(spans, coder="ana")
    monkeypatch.setenv("CLHS_PROJECT", str(project.directory))
    yield project
    project.close()


def test_quotes_behind_an_arrow_are_the_units_with_both_sides(coded, mini_codebook):
    f = Frames.from_project(coded)
    h = mini_codebook.hypotheses[0]
    table = evaluate_hypotheses(f.codings, f.segments, f.documents, [h], codebook=mini_codebook)
    quotes = hypothesis_quotes(f.codings, f.segments, f.documents, h, codebook=mini_codebook)
    assert len(quotes) == table["n_both"].iloc[0] == 12
    row = quotes.iloc[0]
    assert (row["mechanism"], row["outcome"]) == ("ppi_registry", "mot_help") and "registry" in row["text"]
    assert row["mechanism_quotes"] == row["outcome_quotes"] and row["coders"] == ["ana"]


def test_page_loads_and_shows_a_hypothesis(coded):
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["coder"] = "ana"
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Mechanism map"
    chart = at.get("vega_lite_chart")[0].proto
    assert list(chart.selection_mode) == ["pick"]  # clicking an arrow reruns the page with its hypothesis
    assert json.loads(chart.spec)["params"][0]["select"]["fields"] == ["hypothesis"]
    assert {b.label for b in at.get("download_button")} >= {"Download SVG", "Download GraphML"}
    next(s for s in at.selectbox if s.label == "Hypothesis").set_value("H1").run()
    assert not at.exception, at.exception
    assert len(at.dataframe[-1].value) == 12  # the quotes behind the arrow


def test_page_without_codings_draws_the_hypotheses_untested(project, monkeypatch):
    monkeypatch.setenv("CLHS_PROJECT", str(project.directory))
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("No codings yet" in i.value for i in at.info)
    assert any("Not tested" in i.value for i in at.info)


def test_cli_writes_svg_and_graphml_and_refuses_an_unwritable_dir(coded, tmp_path, monkeypatch):
    runner = CliRunner()
    out = tmp_path / "results"
    result = runner.invoke(
        main, ["mechanism-map", "--output-dir", str(out), "--project", str(coded.directory)]
    )
    assert result.exit_code == 0, result.output
    assert "H1 Help follows infrastructure:" in result.output and "no PNG" in result.output
    ET.parse(out / "mechanism_map.svg")
    assert len(list(ET.parse(out / "mechanism_map.graphml").getroot().iter(f"{GRAPHML}node"))) == 4
    assert not (out / "mechanism_map.png").exists()

    monkeypatch.setitem(sys.modules, "cairosvg", types.SimpleNamespace(svg2png=lambda bytestring: b"PNG"))
    result = runner.invoke(
        main, ["mechanism-map", "--output-dir", str(out), "--project", str(coded.directory)]
    )
    assert result.exit_code == 0 and (out / "mechanism_map.png").read_bytes() == b"PNG"

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = runner.invoke(
        main, ["mechanism-map", "--output-dir", str(blocker / "maps"), "--project", str(coded.directory)]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
