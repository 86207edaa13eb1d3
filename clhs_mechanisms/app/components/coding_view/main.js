// The coding view: a transcript's turns with their codings; reports the reader's text selection.
// Every string from Python becomes a text node or a property (textContent, title, a CSS variable set
// through the CSSOM); nothing is parsed as HTML. The layout comes from model.layout in Python.

const STRIPES = 4; // underlines stacked under a piece of text, one per coding covering it
const DOUBLE_CLICK_MS = 400;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function piece(p, marks) {
  const span = el("span", "piece", p.text);
  if (p.marks.length) {
    span.dataset.marks = ` ${p.marks.join(" ")} `;
    span.title = p.marks.map((i) => marks[i].title).join("\n");
    const coded = p.marks.filter((i) => !marks[i].suggested);
    const suggested = p.marks.filter((i) => marks[i].suggested);
    if (coded.length) {
      span.classList.add("coded");
      span.style.setProperty("--tint", `${marks[coded[0]].colour}33`);
      const shadows = coded.slice(0, STRIPES).map((i, k) => `0 ${3 * (k + 1)}px 0 ${marks[i].colour}`);
      span.style.boxShadow = shadows.join(", ");
    }
    if (suggested.length) {
      span.classList.add("suggested");
      span.style.textDecorationColor = marks[suggested[0]].colour;
    }
  }
  if (p.selected) span.classList.add("selected");
  return span;
}

function chip(i, mark) {
  const node = el("div", mark.suggested ? "chip suggested" : "chip");
  node.dataset.mark = String(i);
  node.title = mark.title;
  node.style.setProperty("--domain", mark.domain_colour);
  const swatch = el("span", "swatch");
  swatch.style.background = mark.colour;
  node.append(swatch, el("span", "label", mark.label), el("span", "note", mark.note));
  return node;
}

function turnRow(t, marks) {
  const row = el("div", t.codable ? "turn" : "turn uncodable");
  const stripe = el("div", "stripe");
  for (const d of t.domains) {
    const bar = el("span", "bar");
    bar.style.background = d.colour;
    bar.title = d.label;
    stripe.append(bar);
  }
  const body = el("div", "body");
  if (t.speaker) body.append(el("span", "speaker", t.speaker), " ");
  const text = el("span", "text");
  text.dataset.turn = String(t.turn);
  text.append(...t.pieces.map((p) => piece(p, marks)));
  body.append(text);
  const margin = el("div", "margin");
  margin.append(...t.marks.map((i) => chip(i, marks[i])));
  row.append(stripe, body, margin);
  return row;
}

function render(root, data) {
  const rows = data.turns.map((t) => turnRow(t, data.marks));
  root.replaceChildren(...(rows.length ? rows : [el("p", "empty", "No turns to show.")]));
}

// The selection as a live Range, also when it lies in this component's shadow root.
function currentRange(root) {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0) return null;
  const scope = root.getRootNode();
  if (!(scope instanceof ShadowRoot)) return sel.getRangeAt(0);
  if (typeof sel.getComposedRanges === "function") {
    const [found] = sel.getComposedRanges({ shadowRoots: [scope] });
    if (!found) return null;
    const range = document.createRange();
    range.setStart(found.startContainer, found.startOffset);
    range.setEnd(found.endContainer, found.endOffset);
    return range;
  }
  const inner = typeof scope.getSelection === "function" ? scope.getSelection() : sel;
  return inner && inner.rangeCount ? inner.getRangeAt(0) : null;
}

// UTF-16 units of `text` before the boundary point (node, offset), which lies inside `text`.
function unitsBefore(text, node, offset) {
  const range = document.createRange();
  range.setStart(text, 0);
  range.setEnd(node, offset);
  return range.toString().length;
}

// One part per turn whose text the selection covers: {turn, start, end} in UTF-16 units within the
// turn's text. A selection that covers no character gives its (empty) part in the first turn it
// touches; one outside every turn's text gives null.
function selectedParts(root) {
  const range = currentRange(root);
  if (!range) return null;
  const parts = [];
  let touched = null;
  for (const text of root.querySelectorAll(".text")) {
    if (!range.intersectsNode(text)) continue;
    const whole = document.createRange();
    whole.selectNodeContents(text);
    const before = range.compareBoundaryPoints(Range.START_TO_START, whole) <= 0;
    const after = range.compareBoundaryPoints(Range.END_TO_END, whole) >= 0;
    const start = before ? 0 : unitsBefore(text, range.startContainer, range.startOffset);
    const end = after ? text.textContent.length : unitsBefore(text, range.endContainer, range.endOffset);
    const part = { turn: Number(text.dataset.turn), start, end };
    if (end > start) parts.push(part);
    else touched = touched || part;
  }
  if (parts.length) return parts;
  return touched ? [touched] : null;
}

function focusMark(root, chipNode, on) {
  const needle = ` ${chipNode.dataset.mark} `;
  for (const p of root.querySelectorAll(".piece[data-marks]")) {
    if (p.dataset.marks.includes(needle)) p.classList.toggle("focus", on);
  }
}

function listen(root) {
  const onDown = (event) => {
    clearTimeout(root.timer);
    root.pressed = Boolean(event.target.closest && event.target.closest(".body"));
  };
  const onUp = () => {
    if (!root.pressed) return;
    root.pressed = false;
    const parts = selectedParts(root);
    if (!parts) return;
    const empty = parts.length === 1 && parts[0].start === parts[0].end;
    // a click reports "nothing selected" only if no second click follows to select a word
    root.timer = setTimeout(() => root.send("select", { parts }), empty ? DOUBLE_CLICK_MS : 0);
  };
  const onHover = (event) => {
    const node = event.target.closest && event.target.closest(".chip");
    if (node) focusMark(root, node, event.type === "mouseover");
  };
  root.addEventListener("mousedown", onDown);
  root.addEventListener("mouseover", onHover);
  root.addEventListener("mouseout", onHover);
  document.addEventListener("mouseup", onUp); // a drag may end outside the component
  root.stopListening = () => {
    clearTimeout(root.timer);
    document.removeEventListener("mouseup", onUp);
  };
}

export default function ({ data, parentElement, setTriggerValue }) {
  let root = parentElement.querySelector(".coding-view");
  if (!root) {
    root = el("div", "coding-view");
    parentElement.append(root);
    listen(root);
  }
  root.send = setTriggerValue;
  const json = JSON.stringify(data);
  if (root.rendered !== json) {
    render(root, data);
    root.rendered = json;
  }
  return () => root.stopListening();
}
