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
from clhs_mechanisms.queue import review_queue
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
        "Only code", codebook.code_ids, index=None, key="review_code", placeholder="all codes"
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
    rows = state.frame("suggestions", status=None)
    rows = rows[rows["status"].isin(["pending", "decided"])]
    table = rows.groupby(["code", "status"]).size().unstack(fill_value=0)
    return table.reindex(columns=["decided", "pending"], fill_value=0)


@st.cache_resource(max_entries=2, show_spinner="Loading the model")
def _model(path: str, version: str):
    """The project's model ``version``, loaded once per server (only to explain suggestions when
    the live scores, which hold it too, are not built yet)."""
    return load_current_model(state.project())[0]


@st.cache_data(max_entries=16, show_spinner=False)
def _queue(path: str, change: int, live_updates: int, mode: str, code: str | None):
    """The whole review order for these choices, by the live scores (see ``Trainer``); recomputed
    only when the project or the live scores change."""
    return review_queue(trainer().apply(state.frame("suggestions"), path), mode=mode, limit=None, code=code)


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


def context(row) -> None:
    """A neighbouring segment, greyed out, escaped."""
    line = f"{row.speaker or '—'}: {row.text}"
    st.markdown(f"<div style='color:#777'>{state.highlight(line, [])}</div>", unsafe_allow_html=True)


skipped: set[str] = st.session_state.setdefault("skipped", set())
trainer().ensure_live(state.project_dir(), info, state.frame("documents_under_review"))
items = _queue(state.project_dir(), state.version(), trainer().updates, mode, only_code)
items = items[~items["id"].isin(skipped)] if skipped else items

with left:
    if items.empty:
        st.info("No pending suggestions. Run `clhs suggest` (or wait for the next retrain) to get more.")
        st.stop()
    item = items.iloc[0]
    code = codebook.code(item["code"])
    segs = project.segments(document=item["document"])
    pos = segs.index[segs["id"] == item["segment_id"]][0]
    before = segs.loc[max(segs.index[0], pos - 2) : pos - 1]
    after = segs.loc[pos + 1 : pos + 2]
    attrs = state.frame("documents").set_index("name").loc[item["document"], "attributes"]
    st.caption(
        f"**{escape_markdown(item['document'])}** · speaker **{escape_markdown(item['speaker'] or '—')}** · "
        + " · ".join(
            f"{k}: {escape_markdown(str(v))}" for k, v in attrs.items() if k in ("role", "site", "network")
        )
    )
    for row in before.itertuples():
        context(row)
    spans = [(e["start"], e["end"], colours[code.id], e["why"]) for e in item["evidence"]]
    st.markdown(
        f"<div style='font-size:1.1em;padding:.6em;border-left:4px solid {colours[code.id]}'>"
        f"{state.highlight(item['text'], spans)}</div>",
        unsafe_allow_html=True,
    )
    for row in after.itertuples():
        context(row)

    threshold = item["components"].get("threshold", 0.5)
    st.subheader(f"{escape_markdown(code.label)} (`{code.id}`)")
    live = "stored_score" in item and pd.notna(item["stored_score"]) and item["stored_score"] != item["score"]
    st.caption(
        f"score {item['score']:.2f}"
        + (f" (live, after your latest decisions; {item['stored_score']:.2f} when suggested)" if live else "")
        + f" · threshold {threshold:.2f} · {item['method']} · "
        + " · ".join(f"{k} {v:.2f}" for k, v in readable_components(item["components"]).items())
    )
    version = (info or {}).get("version")
    model = trainer().model(state.project_dir(), version)  # the live scores' model, already loaded
    if model is None and version and st.session_state.get("show_similar"):
        model = _model(state.project_dir(), version)
    why = explain(item, model=model, role=attrs.get("role"))
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
    span_choice = st.radio(
        "Span",
        ["this segment", "+ previous segment", "+ next segment"],
        horizontal=True,
        key="span_choice",
        disabled=not who,
    )
    start, end = int(item["start"]), int(item["end"])
    if span_choice == "+ previous segment" and len(before):
        start = int(before.iloc[-1]["start"])
    if span_choice == "+ next segment" and len(after):
        end = int(after.iloc[0]["end"])
    span = None if (start, end) == (int(item["start"]), int(item["end"])) else (start, end)

    # Actions are callbacks bound to the item shown: a rerun after someone else's decision
    # must never apply this click to a different suggestion.
    target = (item["id"], item["code"], item["document"], item["segment_id"], start, end)

    def act(action: str, shown: tuple, span: tuple[int, int] | None, code: str | None = None) -> None:
        sid, suggested, document, segment_id, s_start, s_end = shown
        try:
            if action == "accept" and (span or code):
                project.decide(sid, "edit", coder=state.require_coder(), code=code, span=span)
            else:
                project.decide(sid, action, coder=state.require_coder(), code=code, span=span)
            st.session_state.pop("conflict", None)
            st.session_state["decisions_since_train"] = st.session_state.get("decisions_since_train", 0) + 1
            # callbacks run before the page: the settings' current values are in the session state
            if st.session_state["decisions_since_train"] >= st.session_state.get("retrain_every", every):
                st.session_state["decisions_since_train"] = 0
                trainer().start(state.project_dir(), floor=st.session_state.get("suggest_floor", floor))
            else:
                trainer().after_decision(project)
        except ClhsError as exc:
            st.session_state["conflict"] = (shown, str(exc), action, code or suggested)

    def skip(shown: tuple) -> None:
        skipped.add(shown[0])

    def disagree(conflict: tuple) -> None:
        (sid, suggested, document, segment_id, s_start, s_end), message, action, code = conflict
        project.add_memo(
            f"Disagreement: {who} would {action} '{code}' here. ({message})",
            coder=who,
            target_type="segment",
            target_id=segment_id,
        )
        if action != "reject":
            project.add_coding(document, s_start, s_end, code, coder=who)
        st.session_state.pop("conflict", None)

    b1, b2, b3 = st.columns(3)
    b1.button(
        "Accept",
        type="primary",
        shortcut="A",
        disabled=not who,
        width="stretch",
        on_click=act,
        args=("accept", target, span),
    )
    b2.button(
        "Reject", shortcut="X", disabled=not who, width="stretch", on_click=act, args=("reject", target, None)
    )
    b3.button("Skip", shortcut="N", width="stretch", on_click=skip, args=(target,))

    conflict = st.session_state.get("conflict")
    if conflict:
        st.warning(escape_markdown(conflict[1]))
        c_yes, c_no = st.columns(2)
        c_yes.button("Record my disagreement", disabled=not who, on_click=disagree, args=(conflict,))
        c_no.button("Dismiss", on_click=lambda: st.session_state.pop("conflict", None))

    with st.expander("Different code / add another code", expanded=False):
        other = st.selectbox(
            "Code",
            codebook.code_ids,
            index=None,
            key="other_code",
            placeholder="search codes",
            format_func=lambda c: f"{c} — {codebook.code(c).label}",
        )
        c1, c2 = st.columns(2)
        c1.button(
            "Apply this code instead",
            disabled=not (who and other),
            on_click=act,
            args=("edit", target, span, other),
        )
        if c2.button("Add as another code", disabled=not (who and other)):
            project.add_coding(item["document"], start, end, other, coder=who)
            st.toast(f"Added {other}")
    with st.expander("Memo on this segment"):
        memo = st.text_area("Memo", key="review_memo")
        if st.button("Save memo", disabled=not (who and memo.strip())):
            project.add_memo(memo, coder=who, target_type="segment", target_id=item["segment_id"])
            st.toast("Memo saved")
