"""``clhs mechanism-map``: the framework's mechanism map as SVG and GraphML (and PNG with a renderer)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import hypothesis_test_options, main, open_project, project_option, user_errors


@main.command("mechanism-map")
@click.option(
    "--output-dir",
    metavar="DIR",
    required=True,
    help="Write mechanism_map.svg and mechanism_map.graphml (and mechanism_map.png) to DIR.",
)
@hypothesis_test_options
@project_option
@user_errors
def mechanism_map(
    output_dir: str,
    coders: tuple[str, ...],
    permutations: int,
    n_boot: int,
    seed: int,
    project_dir: str | None,
) -> None:
    """Draw the codebook's hypotheses on the framework: domains as columns, each hypothesis an arrow
    coloured by its verdict (as `clhs hypotheses` gives it) and as wide as its risk difference, each
    code a node sized by its codings."""
    from ..analysis.hypotheses import evaluate_hypotheses
    from ..analysis.mechanism_map import mechanism_map as draw
    from ..analysis.mechanism_map import to_graphml, to_png, to_svg
    from ..analysis.units import Frames

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)  # an unwritable DIR fails here, before any work
    with open_project(project_dir) as project:
        frames = Frames.from_project(project, coders=list(coders) or None)
        codebook = project.codebook
    table = None
    if frames.codings.empty:
        click.echo("note: no codings yet: the hypotheses are drawn untested", err=True)
    else:
        table = evaluate_hypotheses(
            frames.codings,
            frames.segments,
            frames.documents,
            codebook.hypotheses,
            codebook=codebook,
            permutations=permutations,
            n_boot=n_boot,
            seed=seed,
        )
    nodes, edges = draw(frames.codings, table, codebook)
    for r in edges.itertuples():
        click.echo(f"{r.hypothesis} {r.label}: {r.verdict}; {r.effect_text}")
    svg = to_svg(nodes, edges)
    written = [out / "mechanism_map.svg", out / "mechanism_map.graphml"]
    written[0].write_text(svg, encoding="utf-8")
    written[1].write_text(to_graphml(nodes, edges), encoding="utf-8")
    png = to_png(svg)
    if png is not None:
        written.append(out / "mechanism_map.png")
        written[-1].write_bytes(png)
    click.echo("wrote " + ", ".join(map(str, written)), err=True)
    if png is None:
        click.echo(
            "note: no PNG: install cairosvg or vl-convert-python, or use Download as PNG on the app's "
            "Mechanism map",
            err=True,
        )
