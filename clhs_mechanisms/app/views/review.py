"""Review: the active-learning queue, one suggestion at a time."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clhs_mechanisms.app import state
from clhs_mechanisms.app.trainer import trainer
from clhs_mechanisms.assist import current_model_info, load_current_model, model_path
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.explain import explain, readable_components
from clhs_mechanisms.markdown import escape_markdown
from clhs_mechanisms.modifiers import applicable
from clhs_mechanisms.queue import review_queue
from clhs_mechanisms.review import ReviewItem, ReviewSession
from clhs_mechanisms.suggest import FLOOR, read_metadata

project = state.project()
codebook = project.codebook
colours = state.domain_colours(project)
st.title("Review suggestions")

left, right = st.columns([3, 1])
with right:
    mode = st.selectbox(
        "Order",
        ["uncertain", "code", "document", "confident"],
        key="review_mode",
        format_func={
            "uncertain": "Most informative first",
            "code": "By code",
            "document": "By document",
            "confident": "Highest confidence first",
        }.get,
    )
    only_code = st.selectbox(
        "Only code",
        codebook.code_ids,
        index=None,
        key="review_code",
        placeholder="all codes",
        format_func=lambda c: codebook.code(c).label,
    )
    every = st.number_input("Retrain after N decisions", 5, 500, 25, step=5, key="retrain_every")
    floor = st.number_input(
        "Suggest down to (x threshold)",
        0.0,
        1.0,
        FLOOR,
        step=0.1,
        key="suggest_floor",
        help="After each retrain, pending suggestions are re-made for the documents under "
        "review down to this fraction of each code's threshold. Lower finds more of what "
        "the model under-scores, with more to review; 0 suggests every code.",
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _progress(path: str, change: int):
    """Decided and pending suggestions, overall and per code."""
    return state.frame("suggestion_progress")


@st.cache_resource(max_entries=2, show_spinner="Loading the model")
def _model(path: str, version: str):
    """The project's model ``version``, loaded once per server (only to explain suggestions when
    the live scores, which hold it too, are not built yet)."""
    return load_current_model(state.project())[0]


@st.cache_data(max_entries=16, show_spinner=False)
def _queue(path: str, change: int, live_updates: int, mode: str, code: str | None, coder: str | None):
    """The whole review order for these choices, by the live scores (see ``Trainer``); recomputed
    only when the project or the live scores change. With blind coding, what ``coder`` has not decided."""
    pending = state.frame("suggestions", for_coder=coder) if coder else state.frame("suggestions")
    return review_queue(trainer().apply(pending, path), mode=mode, limit=None, code=code)


per_code = _progress(state.project_dir(), state.version())
decided, waiting = int(per_code["decided"].sum()), int(per_code["pending"].sum())
with right:
    st.progress(
        decided / (decided + waiting) if decided + waiting else 0.0,
        text=f"{decided} decided / {waiting} pending",
    )
    with st.expander("Per code"):
        st.dataframe(per_code, width="stretch")
    info = current_model_info(project)
    job = trainer()
    if info:
        meta = read_metadata(model_path(state.project(), info["version"]))
        st.caption(
            f"Model: {info['version']} · trained on {meta['metrics'].get('n_training', '?')} texts for "
            f"codebook {meta['codebook']['version']}"
        )
    else:
        st.caption("Model: none yet (cue and similarity suggestions only)")
    if job.message:
        st.caption(escape_markdown(job.message))


def context(near) -> None:
    """A neighbouring segment, greyed out, escaped."""
    line = f"{near['speaker'] or '—'}: {near['text']}"
    st.markdown(f"<div style='color:#777'>{state.highlight(line, [])}</div>", unsafe_allow_html=True)


def session() -> ReviewSession | None:
    """This browser session's review session for the chosen coder (a new one when the coder changes)."""
    who = state.coder()
    current = st.session_state.get("review_session")
    if who and (current is None or current.coder != who):
        current = st.session_state["review_session"] = ReviewSession(project, who)
    return current if who else None


review = session()
if review is not None:
    review.retrain_every = int(every)
skipped = review.skipped if review else st.session_state.setdefault("skipped", set())
trainer().ensure_live(state.project_dir(), info, state.frame("documents_under_review"))
items = _queue(state.project_dir(), state.version(), trainer().updates, mode, only_code, state.coder())
items = items[~items["id"].isin(skipped)] if skipped else items


def undo() -> None:
    try:
        st.session_state["undone"] = review.undo().message
    except ClhsError as exc:
        st.session_state["undone"] = str(exc)
    st.session_state.pop("conflict", None)


def undo_button(column) -> None:
    column.button(
        "Undo",
        shortcut="U",
        disabled=review is None,
        width="stretch",
        on_click=undo,
        help="Take back your last decision or coding",
    )
    if st.session_state.get("undone"):
        st.toast(escape_markdown(st.session_state.pop("undone")))


with left:
    if items.empty:
        st.info("No pending suggestions. Run `clhs suggest` (or wait for the next retrain) to get more.")
        undo_button(st)
        st.stop()
    item: ReviewItem = (review or ReviewSession(project, "viewer")).item(items.iloc[0])
    row = item.suggestion
    code = codebook.code(item.code)
    attrs = state.frame("documents").set_index("name").loc[item.document, "attributes"]
    who_said = "source" if row.get("kind") == "literature" else "speaker"  # a citation is not a speaker
    st.caption(
        f"**{escape_markdown(item.document)}** · {who_said} "
        f"**{escape_markdown(row['speaker'] or '—')}** · "
        + " · ".join(
            f"{k}: {escape_markdown(str(v))}" for k, v in attrs.items() if k in ("role", "site", "network")
        )
    )
    for near in item.before:
        context(near)
    spans = [(e["start"], e["end"], colours[code.id], e["why"]) for e in row["evidence"]]
    st.markdown(
        f"<div style='font-size:1.1em;padding:.6em;border-left:4px solid {colours[code.id]}'>"
        f"{state.highlight(row['text'], spans)}</div>",
        unsafe_allow_html=True,
    )
    for near in item.after:
        context(near)

    threshold = row["components"].get("threshold", 0.5)
    st.subheader(f"{escape_markdown(code.label)} (`{code.id}`)")
    for modifier in applicable(codebook, code.id):  # one click each; they go on the coding Accept makes
        st.pills(
            escape_markdown(modifier.label),
            modifier.values,
            key=f"mod:{modifier.id}:{item.id}",
            help=escape_markdown(modifier.description) or None,
        )
    live = "stored_score" in row and pd.notna(row["stored_score"]) and row["stored_score"] != row["score"]
    st.caption(
        f"score {row['score']:.2f}"
        + (f" (live, after your latest decisions; {row['stored_score']:.2f} when suggested)" if live else "")
        + f" · threshold {threshold:.2f} · {row['method']} · "
        + " · ".join(f"{k} {v:.2f}" for k, v in readable_components(row["components"]).items())
    )
    version = (info or {}).get("version")
    model = trainer().model(state.project_dir(), version)  # the live scores' model, already loaded
    if model is None and version and st.session_state.get("show_similar"):
        model = _model(state.project_dir(), version)
    why = explain(pd.Series(row), model=model, role=attrs.get("role"))
    st.caption(why.context)
    if why.evidence:
        st.caption(
            "Evidence: " + "; ".join(escape_markdown(f"'{e['text']}' ({e['why']})") for e in why.evidence)
        )
    else:
        st.caption(
            "Evidence: no cue phrase or material term; the score rests on the wording as a whole or on "
            "the context."
        )
    with st.expander("Similar coded passages", expanded=bool(st.session_state.get("show_similar"))):
        if model is None:
            st.toggle(
                "Find the coded passages most like this one (loads the model)",
                key="show_similar",
                disabled=not version,
            )
        elif not why.exemplars:
            st.caption("No coded passage of this code to compare with.")
        for ex in why.exemplars:
            st.caption(escape_markdown(f"{ex.similarity:.2f} · {ex.source}"))
            st.text(ex.text)
    with st.expander("Definition"):
        st.markdown(escape_markdown(code.definition))
        st.markdown("**Include:** " + "; ".join(escape_markdown(i) for i in code.include))
        st.markdown(
            "**Exclude:** " + "; ".join(f"{escape_markdown(e.text)} (→ `{e.code}`)" for e in code.exclude)
        )

    who = state.coder()
    # Every control is keyed by the item: a choice made here can never carry over to the next one.
    widen = st.radio(
        "Span",
        ["segment", "previous", "next"],
        format_func={
            "segment": "this segment",
            "previous": "+ previous segment",
            "next": "+ next segment",
        }.get,
        horizontal=True,
        key=f"span:{item.id}",
        disabled=not who,
    )

    # Actions are callbacks bound to the item shown: a rerun after someone else's decision
    # must never apply this click to a different suggestion.
    def act(shown: ReviewItem, action: str, widen: str, code: str | None = None) -> None:
        chosen = {
            m.id: st.session_state.get(f"mod:{m.id}:{shown.id}")
            for m in applicable(codebook, code or shown.code)
            if st.session_state.get(f"mod:{m.id}:{shown.id}")
        }
        outcome = review.decide(shown, action, widen=widen, code=code, modifiers=chosen)
        if outcome.refused:
            st.session_state["conflict"] = (shown, outcome.refused, action, widen, code)
            return
        st.session_state.pop("conflict", None)
        if outcome.retrain_due:
            trainer().start(state.project_dir(), floor=st.session_state.get("suggest_floor", floor))
        else:
            trainer().after_decision(project)

    def delete(coding_id: str) -> None:
        try:
            project.delete_coding(coding_id, coder=who)
        except ClhsError as exc:
            st.session_state["undone"] = str(exc)

    def disagree(conflict: tuple) -> None:
        shown, message, action, widen, code = conflict
        review.disagree(shown, action, message, code=code, widen=widen)
        st.session_state.pop("conflict", None)

    b1, b2, b3, b4 = st.columns(4)
    b1.button(
        "Accept",
        type="primary",
        shortcut="A",
        disabled=not who,
        width="stretch",
        on_click=act,
        args=(item, "accept", widen),
    )
    b2.button(
        "Reject",
        shortcut="X",
        disabled=not who,
        width="stretch",
        on_click=act,
        args=(item, "reject", "segment"),
    )
    b3.button("Skip", shortcut="N", width="stretch", on_click=skipped.add, args=(item.id,))
    undo_button(b4)

    conflict = st.session_state.get("conflict")
    if conflict:  # about the item the click was made on, which may have left the queue since
        st.warning(escape_markdown(conflict[1]))
        c_yes, c_no = st.columns(2)
        c_yes.button("Record my disagreement", disabled=not who, on_click=disagree, args=(conflict,))
        c_no.button("Dismiss", on_click=lambda: st.session_state.pop("conflict", None))

    with st.expander("Different code / add another code", expanded=False):
        other = st.selectbox(
            "Code",
            codebook.code_ids,
            index=None,
            key=f"other:{item.id}",
            placeholder="search codes by label",
            format_func=lambda c: f"{codebook.code(c).label} ({c})",
        )
        c1, c2 = st.columns(2)
        c1.button(
            "Apply this code instead",
            disabled=not (who and other),
            on_click=act,
            args=(item, "recode", widen, other),
        )
        if c2.button("Add as another code", disabled=not (who and other)):
            try:
                project.add_coding(item.document, *item.span(widen), other, coder=who)
                st.toast(f"Added {escape_markdown(codebook.code(other).label)}")
            except ClhsError as exc:
                st.warning(escape_markdown(str(exc)))
    with st.expander("Memo on this segment"):
        memo = st.text_area("Memo", key=f"memo:{item.id}")
        if st.button("Save memo", disabled=not (who and memo.strip())):
            project.add_memo(memo, coder=who, target_type="segment", target_id=str(row["segment_id"]))
            st.toast("Memo saved")
    if review is not None:
        # read only when asked for: it reads every coding, which a review step should not wait for
        if st.toggle("Show my recent work", key="show_recent"):
            recent = review.recent(10)
            if recent.empty:
                st.caption("Nothing coded yet.")
            for work in recent.itertuples():
                w1, w2 = st.columns([5, 1])
                w1.caption(
                    escape_markdown(
                        f"{codebook.code(work.code).label} · {work.document} · “{work.quote[:80]}”"
                    )
                )
                w2.button("Delete", key=f"delete:{work.id}", on_click=delete, args=(work.id,))
