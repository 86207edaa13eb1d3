"""Analysis commands: cooccur, hypotheses, saturation; and the table, CSV and JSON output they share
with ``clhs agreement`` (in :mod:`.agreement`)."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import click

from .common import hypothesis_test_options, main, open_project, project_option, user_errors

FORMATS = click.Choice(["table", "csv", "json"])
DEFAULT_MEASURES = ("jaccard", "overlap", "lift", "npmi")


class Vocabulary(click.Choice):
    """A choice among one of the analysis package's vocabularies (``UNITS``, ``MEASURES``, ...).

    Read when a command first parses or shows the option, not when ``clhs`` starts: importing
    the analysis package (pandas, SciPy) would add a second to every command.
    """

    def __init__(self, name: str, *, without: tuple[str, ...] = ()) -> None:  # noqa: D107  (no super(): lazy)
        self.vocabulary, self.without, self.case_sensitive = name, without, True

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        from .. import analysis

        return tuple(c for c in getattr(analysis, self.vocabulary) if c not in self.without)


def format_number(value: Any, digits: int = 3) -> str:
    """One table cell: ``digits`` decimals (scientific when tiny), '-' for NaN, 'yes'/'' for flags."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and abs(value) < 10**-digits:
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    return str(value)


def print_table(df: Any, columns: list[str], headers: list[str] | None = None) -> None:
    """Print ``columns`` of ``df`` as a plain aligned table under ``headers`` (default: the column names)."""
    headers = headers or columns
    cells = [[format_number(v) for v in row] for row in df[columns].itertuples(index=False, name=None)]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _records(df: Any) -> list[dict]:
    return json.loads(df.to_json(orient="records", default_handler=str))


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def write_data(
    df: Any, fmt: str, output: str | None, meta: dict | None = None, key: str | None = None, csv: Any = None
) -> bool:
    """Write ``df`` as CSV (``csv`` instead, if given) or JSON and say so; False for the table format.

    JSON is ``{**meta, key: rows}`` with a ``key``, else the list of rows."""
    if fmt == "csv":
        _emit((df if csv is None else csv).to_csv(index=False), output)
    elif fmt == "json":
        data = (
            json.dumps(_records(df), indent=2, ensure_ascii=False)
            if key is None
            else json.dumps({**(meta or {}), key: _records(df)}, indent=2, default=_json_default)
        )
        _emit(data + "\n", output)
    return fmt != "table"


# -- cooccur ------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--unit",
    type=Vocabulary("COOCCURRENCE_UNITS"),
    default="segment",
    show_default=True,
    help="Co-occurrence in the same unit; window: within --window segments; span: codings whose spans "
    "are related (--relation).",
)
@click.option(
    "--relation",
    type=Vocabulary("SPAN_RELATIONS"),
    default="overlap",
    show_default=True,
    help="Span relation for --unit span.",
)
@click.option(
    "--window", type=click.IntRange(0), default=1, show_default=True, help="Segments apart for --unit window."
)
@click.option(
    "--measure",
    "measures",
    multiple=True,
    type=Vocabulary("MEASURES"),
    help=f"Measures to show (repeatable; the first sorts the table). Default: {', '.join(DEFAULT_MEASURES)}.",
)
@click.option(
    "--by",
    "by",
    metavar="ATTRIBUTE",
    default=None,
    help="Compare strata of a document attribute (e.g. role), with bootstrap intervals of the difference.",
)
@click.option("--code", "codes", multiple=True, metavar="CODE", help="Only these codes (repeatable).")
@click.option(
    "--coder", "coders", multiple=True, metavar="NAME", help="Only these coders' codings (repeatable)."
)
@click.option(
    "--permutations",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Permutation test with this many shuffles (each code's units within each document).",
)
@click.option("--alternative", type=Vocabulary("ALTERNATIVES"), default="two-sided", show_default=True)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for --by.",
)
@click.option(
    "--min-count",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Flag pairs where a code is in fewer units as too small.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--quotes",
    nargs=2,
    metavar="CODE_A CODE_B",
    default=None,
    help="Instead of the table: the places where these two codes co-occur, with their quotes.",
)
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=40,
    show_default=True,
    help="Rows shown in table format (0: all).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "--output", "-o", metavar="FILE", default=None, help="Write to FILE instead of standard output."
)
@project_option
@user_errors
def cooccur(
    unit: str,
    relation: str,
    window: int,
    measures: tuple[str, ...],
    by: str | None,
    codes: tuple[str, ...],
    coders: tuple[str, ...],
    permutations: int,
    alternative: str,
    n_boot: int,
    min_count: int,
    seed: int,
    quotes: tuple[str, str] | None,
    limit: int,
    fmt: str,
    output: str | None,
    project_dir: str | None,
) -> None:
    """Which codes occur together: counts, normalised measures and tests, per pair of codes."""
    from ..analysis.cooccurrence import cooccurrence, cooccurrence_by, cooccurrence_quotes
    from ..analysis.units import Frames

    measures = measures or DEFAULT_MEASURES
    with open_project(project_dir) as project:
        frames = Frames.from_project(project)
    kw = {"coders": list(coders) or None}
    if quotes:
        places = cooccurrence_quotes(
            frames.codings,
            frames.segments,
            quotes[0],
            quotes[1],
            unit=unit,
            documents=frames.documents,
            relation=relation,
            window=window,
            **kw,
        )
        if not write_data(places, fmt, output):
            _emit(_quotes_text(places, quotes, unit), output)
        return
    if by:
        res = cooccurrence_by(
            frames.codings,
            frames.segments,
            frames.documents,
            by,
            unit=unit,
            window=window,
            measure_name=measures[0],
            codes=list(codes) or None,
            n_boot=n_boot,
            seed=seed,
            min_count=min_count,
            **kw,
        )
        if not write_data(
            res.differences, fmt, output, {**res.strata.attrs, "strata": _records(res.strata)}, "differences"
        ):
            _print_strata(res, by, unit, measures[0], n_boot, limit)
        return
    table = cooccurrence(
        frames.codings,
        frames.segments,
        frames.documents,
        unit=unit,
        relation=relation,
        window=window,
        codes=list(codes) or None,
        alternative=alternative,
        permutations=permutations,
        seed=seed,
        min_count=min_count,
        **kw,
    )
    if not write_data(table, fmt, output, dict(table.attrs), "pairs"):
        _print_cooccurrence(table, measures, limit)


def _quotes_text(places: Any, quotes: tuple[str, str], unit: str) -> str:
    """The places where two codes co-occur, each with its text and the two codes' quotes."""
    lines = [f"{len(places)} places where {quotes[0]} and {quotes[1]} co-occur ({unit})"]
    for r in places.to_dict("records"):
        where = r.get("unit") or f"{r['document']} {r['overlap_start']}-{r['overlap_end']}"
        lines.append(f"\n{where}")
        if r.get("text"):
            lines.append(f"  {r['text']}")
        for suffix, code in (("a", quotes[0]), ("b", quotes[1])):
            for one in r.get(f"quotes_{suffix}", [r.get(f"quote_{suffix}")]):
                lines.append(f"  [{code}] {one}")
    return "\n".join(lines) + "\n"


def _print_strata(res: Any, by: str, unit: str, measure: str, n_boot: int, limit: int) -> None:
    """Differences between strata, largest first (pairs too small to compare last)."""
    from ..analysis import FORMULAS

    diff = res.differences
    order = (
        diff.assign(_size=diff["difference"].abs())
        .sort_values(["too_small", "_size"], ascending=[True, False])
        .index
    )
    shown = diff.loc[order]
    shown = shown.head(limit) if limit else shown
    click.echo(
        f"{measure} by {by} ({unit} units); difference = stratum S - stratum T, "
        f"{int(res.strata.attrs['ci'] * 100)}% bootstrap interval ({n_boot} resamples of documents "
        "within each stratum)"
    )
    cols = ["stratum_s", "stratum_t", "code_a", "code_b", "value_s", "value_t", "difference"]
    if "ci_low" in diff.columns:
        cols += ["ci_low", "ci_high"]
    print_table(shown, cols + ["too_small"])
    click.echo(f"\n{measure} = {FORMULAS[measure]}")
    if res.strata.attrs.get("documents_without"):
        click.echo(f"left out (no {by}): {', '.join(res.strata.attrs['documents_without'])}")


def _print_cooccurrence(table: Any, measures: tuple[str, ...], limit: int) -> None:
    """The pairs sorted by the first measure, then each column's formula."""
    table = table.sort_values(measures[0], ascending=False, na_position="last")
    shown = table.head(limit) if limit else table
    cols = ["code_a", "code_b", "n1", "n2", "n12", *measures]
    cols += [c for c in ("fisher_q", "perm_q", "too_small") if c in table.columns and table[c].notna().any()]
    attrs = table.attrs
    n_text = f"N = {attrs['N']} units" if attrs.get("N") else "no unit count (span relation)"
    click.echo(
        f"co-occurrence by {attrs['unit']}: {len(table)} pairs of {len(attrs['frequencies'])} codes; {n_text}"
        + (f"; showing the top {len(shown)} by {measures[0]}" if len(shown) < len(table) else "")
    )
    print_table(shown, cols)
    click.echo("")
    for c in cols[2:] + ([] if attrs.get("N") else ["N"]):
        click.echo(f"{c}: {attrs['formulas'].get(c, '')}")
    if attrs.get("codings_outside"):
        click.echo(f"{attrs['codings_outside']} codings touch no unit in scope and are not counted")


# -- hypotheses ---------------------------------------------------------------------------------


@main.command()
@click.option(
    "--output-dir",
    metavar="DIR",
    default=None,
    help="Write hypotheses.csv, hypotheses.md, hypothesis_pairs.csv (and hypothesis_robustness.csv) to DIR.",
)
@click.option(
    "--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True
)
@click.option(
    "--min-count",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Units needed on each side of a test.",
)
@hypothesis_test_options
@click.option("--hypothesis", "only", multiple=True, metavar="ID", help="Only these hypotheses (repeatable).")
@click.option(
    "--robustness",
    is_flag=True,
    help="Also test each coder alone, each stratum (--by), without each case, and the machine's suggestions.",
)
@click.option(
    "--by",
    multiple=True,
    metavar="ATTRIBUTE[=VALUE]",
    help="Strata for --robustness (repeatable; default: network, site and role).",
)
@project_option
@user_errors
def hypotheses(
    output_dir: str | None,
    alpha: float,
    min_count: int,
    coders: tuple[str, ...],
    only: tuple[str, ...],
    permutations: int,
    n_boot: int,
    seed: int,
    robustness: bool,
    by: tuple[str, ...],
    project_dir: str | None,
) -> None:
    """Test the codebook's mechanism hypotheses on the project's codings: numbers and a verdict each."""
    from ..analysis.hypotheses import Options, evaluate_prepared, prepare, prepared_pairs
    from ..analysis.robustness import hypothesis_robustness, with_robustness
    from ..analysis.units import Frames
    from ..errors import ClhsError

    robustness = robustness or bool(by)
    with open_project(project_dir) as project:
        frames = Frames.from_project(project)
        codebook = project.codebook
        suggestions = project.suggestions(status=None) if robustness else None
    hyps = list(codebook.hypotheses)
    known = {h.id for h in hyps}
    for h in only:
        if h not in known:
            raise ClhsError(f"no hypothesis '{h}' in the codebook (hypotheses: {', '.join(sorted(known))})")
    hyps = [h for h in hyps if h.id in only] if only else hyps
    data = (frames.codings, frames.segments, frames.documents, hyps)
    kw = {
        "alpha": alpha,
        "min_count": min_count,
        "coders": list(coders) or None,
        "permutations": permutations,
    }
    o = Options(alpha=alpha, min_count=min_count, permutations=permutations, n_boot=n_boot, seed=seed)
    prep = prepare(*data, codebook=codebook, coders=kw["coders"])
    table, pairs = evaluate_prepared(prep, o), prepared_pairs(prep, o)
    robust = None
    if robustness:
        robust = hypothesis_robustness(
            *data,
            codebook=codebook,
            by=list(by) or None,
            suggestions=suggestions,
            n_boot=n_boot,
            seed=seed,
            **kw,
        )
        table = with_robustness(table, robust)
    _print_hypotheses(table)
    if output_dir:
        _write_hypotheses(Path(output_dir), table, pairs, robust)


def _print_hypotheses(table: Any) -> None:
    """The verdict table, each verdict's reason (and robustness), and the methods."""

    def ci(name: str, digits: int) -> list[str]:
        return [
            f"{format_number(x, digits)} [{format_number(lo, digits)}, {format_number(hi, digits)}]"
            for x, lo, hi in zip(table[name], table[f"{name}_low"], table[f"{name}_high"])
        ]

    shown = table.assign(rd=ci("effect_rd", 3), odds=ci("effect_or", 2))
    print_table(
        shown,
        "hypothesis unit N clusters n_mechanism n_outcome n_both rd odds fisher_p cluster_p cluster_q "
        "contrast_cluster_q verdict".split(),
        "id unit N cases mech outc both".split()
        + ["RD [95%]", "OR [95%]", "Fisher p", "case p", "q", "contrast q", "verdict"],
    )
    click.echo("")
    for r in table.to_dict("records"):
        click.echo(f"{r['hypothesis']} {r['label']}: {r['verdict']}: {r['reason']}")
        if r["caveat"]:
            click.echo(f"    caveat: {r['caveat']}")
        for key, name in (("coders", "coders"), ("strata", "strata"), ("leave_one_out", "without one case")):
            if r.get(f"robust_{key}"):
                click.echo(f"    {name}: {r[f'robust_{key}']}")
        if r.get("robust_machine"):
            click.echo(f"    machine's suggestions as codings: {r['robust_machine']}")
    a = table.attrs
    click.echo(
        f"\nverdict and case p: {a['test']}; Fisher p: {a['plain_test']}; q: {a['adjust']}; "
        f"alpha {a['alpha']}"
        f"\nRD, OR: {a['effect']} ({a['n_boot']} samples, seed {a['seed']}); cases: {a['clusters']}"
    )


def _write_hypotheses(out: Path, table: Any, pairs: Any, robust: Any) -> None:
    """Save the verdicts (CSV and Markdown), the per-pair numbers behind them and the robustness table."""
    from ..analysis.hypotheses import hypotheses_markdown

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "hypotheses.csv", out / "hypotheses.md", out / "hypothesis_pairs.csv"]
    table.to_csv(written[0], index=False)
    written[1].write_text(hypotheses_markdown(table), encoding="utf-8")
    pairs.to_csv(written[2], index=False)
    if robust is not None:
        written.append(out / "hypothesis_robustness.csv")
        robust.to_csv(written[-1], index=False)
    click.echo("wrote " + ", ".join(map(str, written)), err=True)


# -- saturation ---------------------------------------------------------------------------------


@main.command()
@click.option(
    "--consecutive",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Saturation: this many documents in a row adding nothing new.",
)
@click.option(
    "--order-by",
    metavar="ATTRIBUTE",
    default=None,
    help="Interview order: a document attribute (e.g. interview_date), 'imported' or 'name' "
    "(default: interview_date/date if every document has one, else import order).",
)
@click.option(
    "--kind",
    type=click.Choice(["interview", "literature"]),
    default=None,
    help="Only documents of this kind.",
)
@click.option(
    "--pair-unit",
    type=Vocabulary("PAIR_UNITS"),
    default="segment",
    show_default=True,
    help="Where two codes count as a pair.",
)
@click.option(
    "--coder", "coders", multiple=True, metavar="NAME", help="Only these coders' codings (repeatable)."
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "--output", "-o", metavar="FILE", default=None, help="Write to FILE instead of standard output."
)
@project_option
@user_errors
def saturation(
    consecutive: int,
    order_by: str | None,
    kind: str | None,
    pair_unit: str,
    coders: tuple[str, ...],
    fmt: str,
    output: str | None,
    project_dir: str | None,
) -> None:
    """Thematic saturation: new codes and code pairs per document, in interview order."""
    from ..analysis.saturation import saturation as saturation_curve
    from ..analysis.saturation import saturation_summary
    from ..analysis.units import Frames

    with open_project(project_dir) as project:
        frames = Frames.from_project(project)
    curve = saturation_curve(
        frames.codings,
        frames.segments,
        frames.documents,
        order_by=order_by,
        consecutive=consecutive,
        pair_unit=pair_unit,
        coders=list(coders) or None,
        kind=kind,
    )
    joined = curve.assign(
        new_codes=curve["new_codes"].map("; ".join), new_pairs=curve["new_pairs"].map("; ".join)
    )
    if write_data(curve, fmt, output, dict(curve.attrs), "curve", csv=joined):
        return
    shown = curve.assign(
        new_codes=curve["new_codes"].map(
            lambda c: ", ".join(c) if len(c) <= 4 else ", ".join(c[:4]) + f", +{len(c) - 4}"
        )
    )
    click.echo(
        f"documents in order of {curve.attrs['order_by']}; pairs: two codes in one {curve.attrs['pair_unit']}"
    )
    print_table(
        shown,
        ["position", "document", "n_new_codes", "total_codes", "n_new_pairs", "total_pairs", "new_codes"],
        ["#", "document", "new codes", "codes", "new pairs", "pairs", "which codes"],
    )
    click.echo("")
    click.echo(saturation_summary(curve))
