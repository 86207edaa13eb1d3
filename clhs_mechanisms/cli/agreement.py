"""The ``clhs agreement`` command: inter-coder agreement, and the machine as one more coder."""

from __future__ import annotations

from typing import Any

import click

from .analysis import FORMATS, Vocabulary, format_number, print_table, write_data
from .common import main, open_project, project_option, user_errors


class GreedyOption(click.Option):
    """An option that takes every following value up to the next option: ``--coders A B C``."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            original = opt.process

            def process(value: Any, state: Any, _original: Any = original) -> None:
                values = [value]
                while state.rargs and not state.rargs[0].startswith("-"):
                    values.append(state.rargs.pop(0))
                for v in values:
                    _original(v, state)

            opt.process = process


@main.command()
@click.option(
    "--coders",
    "coders",
    cls=GreedyOption,
    multiple=True,
    metavar="A B [C ...]",
    help="The coders to compare (two or more; with --machine one is enough).",
)
@click.option(
    "--unit",
    type=Vocabulary("AGREEMENT_UNITS"),
    default="segment",
    show_default=True,
    help="What a rating is about (character: every character, as NVivo does).",
)
@click.option("--code", "codes", multiple=True, metavar="CODE", help="Only these codes (repeatable).")
@click.option(
    "--statistic",
    "statistics",
    multiple=True,
    type=Vocabulary("STATISTICS"),
    help="Statistics to report (repeatable; default: all).",
)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the confidence intervals (0: none).",
)
@click.option(
    "--resample",
    type=Vocabulary("RESAMPLING"),
    default=None,
    help="What the bootstrap draws (default: units; documents for character units).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--machine",
    is_flag=True,
    help=(
        "Add the assisted-coding suggestions (at their thresholds) as a coder, beside the humans; "
        "codings made by accepting a suggestion are left out of the humans' ratings."
    ),
)
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="With --machine: one threshold for every suggestion instead of their own.",
)
@click.option(
    "--disagreements",
    "disagreements_file",
    metavar="FILE",
    default=None,
    help=(
        "Also write the units on which the coders disagree (CSV) for adjudication, each marked resolved "
        "(with by whom and the verdict) when an adjudication settles it."
    ),
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "--output", "-o", metavar="FILE", default=None, help="Write to FILE instead of standard output."
)
@project_option
@user_errors
def agreement(
    coders: tuple[str, ...],
    unit: str,
    codes: tuple[str, ...],
    statistics: tuple[str, ...],
    n_boot: int,
    resample: str | None,
    seed: int,
    machine: bool,
    threshold: float | None,
    disagreements_file: str | None,
    fmt: str,
    output: str | None,
    project_dir: str | None,
) -> None:
    """Inter-coder agreement per code and pooled, each statistic with its formula and a bootstrap interval."""
    from ..analysis.adjudication import adjudications
    from ..analysis.agreement import agreement as agreement_table
    from ..analysis.agreement import disagreements, machine_agreement, rating_table
    from ..analysis.units import require_codings
    from ..errors import ClhsError

    coders = tuple(dict.fromkeys(coders))
    if not machine and len(coders) < 2:
        raise ClhsError(
            f"agreement needs at least two coders (--coders A B); got {len(coders)}"
            + (f" ({coders[0]})" if coders else "")
        )
    with open_project(project_dir) as project:
        codings = project.codings()
        require_codings(codings)
        segments = project.segments()
        texts = project.document_texts() if unit == "character" or disagreements_file else None
        suggestions = project.suggestions(status=None) if machine else None
        memos, people = (project.memos(), project.coders()) if disagreements_file else (None, None)
    stats = list(statistics) or None
    if machine:
        table = machine_agreement(
            codings,
            suggestions,
            segments,
            humans=list(coders) or None,
            unit=unit,
            codes=list(codes) or None,
            statistics=stats,
            n_boot=n_boot,
            seed=seed,
            threshold=threshold,
        )
    else:
        ratings = rating_table(
            codings, segments, coders=list(coders), unit=unit, codes=list(codes) or None, texts=texts
        )
        table = agreement_table(ratings, statistics=stats, n_boot=n_boot, resample=resample, seed=seed)
        if disagreements_file:
            judges = people.loc[people["role"] == "adjudicator", "name"] if "role" in people.columns else ()
            adjudicated = adjudications(codings, memos, adjudicators=judges, compared=list(coders))
            d = disagreements(ratings, texts=texts, adjudicated=adjudicated)
            d.to_csv(disagreements_file, index=False)
            click.echo(
                f"wrote {len(d)} disagreements ({int(d['resolved'].sum())} resolved) to {disagreements_file}",
                err=True,
            )
    if not write_data(table, fmt, output, dict(table.attrs), "rows"):
        _print_agreement(table, unit, n_boot)


def _print_agreement(table: Any, unit: str, n_boot: int) -> None:
    """One row per (code, coders), one column per statistic (value [interval]), then the formulas."""
    from ..analysis import SHORT_NAMES, STATISTICS

    table = table.assign(
        estimate=[
            f"{format_number(v)} [{format_number(lo)}, {format_number(hi)}]" if n_boot else format_number(v)
            for v, lo, hi in zip(table["value"], table["ci_low"], table["ci_high"])
        ]
    )
    index = (["kind"] if "kind" in table.columns else []) + ["code", "coders", "units", "coded"]
    wide = table.pivot_table(index=index, columns="statistic", values="estimate", aggfunc="first", sort=False)
    wide = wide.reset_index().fillna("")
    order = [s for s in STATISTICS if s in wide.columns]
    unit_word = "characters" if unit == "character" else f"{unit}s"
    click.echo(
        f"agreement on {unit_word}, present/absent per code; "
        f"value [{int(100 * table.attrs.get('ci', 0.95))}% bootstrap interval]"
        if n_boot
        else f"agreement on {unit_word}, present/absent per code"
    )
    print_table(
        wide,
        index + order,
        [c if c != "units" else unit_word for c in index] + [SHORT_NAMES[s] for s in order],
    )
    click.echo("")
    for s in order:
        name, formula = STATISTICS[s]
        click.echo(f"{SHORT_NAMES[s]}: {name}: {formula}")
    if n_boot and table.attrs.get("bootstrap"):
        click.echo(f"intervals: {table.attrs['bootstrap']}")
    if table.attrs.get("unused_codes"):
        click.echo(f"not used by these coders (left out): {', '.join(table.attrs['unused_codes'])}")
