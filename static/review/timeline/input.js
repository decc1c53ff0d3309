// Pointer and keyboard. One drag helper (like wavesurfer.js's makeDraggable) serves the lanes,
// the ruler and the filmstrip: it reports start / move / end (or a click when the pointer did not
// move past the threshold) and returns its own cleanup.
import {S, changed} from "./store.js";
import {$, clamp, announce, showAlert} from "./util.js";
import {el, view, x2t, t2x, overviewT, pos, laneAt, setView, zoom, fitInterval, EDGE_PX} from "./geometry.js";
import {seek, togglePlay, pause, faster} from "./player.js";
import {select, unselect, step} from "./nav.js";
import {update, createIv, deleteIv, splitIv, mergeIv, undo, redo} from "./edits.js";

export function makeDraggable(element, {onStart, onMove, onEnd, onClick, onCancel, threshold = 3}) {
  function down(e) {
    if (e.button !== 0 || onStart(e) === false) return;
    element.setPointerCapture(e.pointerId);
    const x0 = e.clientX;
    let moved = threshold <= 0;
    const move = (ev) => { if (!moved && Math.abs(ev.clientX - x0) <= threshold) return; moved = true; onMove(ev); };
    const stop = () => { element.removeEventListener("pointermove", move); element.removeEventListener("pointerup", up); element.removeEventListener("pointercancel", cancel); };
    const up = (ev) => { stop(); if (moved) (onEnd || (() => {}))(ev); else if (onClick) onClick(ev); };
    const cancel = () => { stop(); if (onCancel) onCancel(); };
    element.addEventListener("pointermove", move);
    element.addEventListener("pointerup", up);
    element.addEventListener("pointercancel", cancel);
  }
  element.addEventListener("pointerdown", down);
  return () => element.removeEventListener("pointerdown", down);
}

// ------------------------------------------------------------------ lanes
// What is under (x, y): a lane header, an interval's start or end edge, its body, or empty lane.
function hit(x, y) {
  const li = laneAt(y);
  if (li < 0) return null;
  const pid = S.lanes[li], list = S.byProduct.get(pid) || [];
  if (x < view.headW) return {pid, kind: "header"};
  let best = null;
  for (let j = list.length - 1; j >= 0; j--) {
    const iv = list[j]; if (iv.status === "proposed" && iv.score < S.conf && iv.id !== S.selected) continue;
    const xa = t2x(iv.start_s), xb = Math.max(xa + 2, t2x(iv.end_s));
    if (S.canReview && Math.abs(x - xa) <= EDGE_PX && (!best || iv.id === S.selected)) best = {pid, iv, kind: "start"};
    else if (S.canReview && Math.abs(x - xb) <= EDGE_PX && (!best || iv.id === S.selected)) best = {pid, iv, kind: "end"};
    else if (!best && x > xa && x < xb) best = {pid, iv, kind: "move"};
  }
  return best || {pid, kind: "create"};
}
const SNAP_PX = 6;
function snapT(t) { return Math.abs(t2x(t) - t2x(S.t)) <= SNAP_PX ? S.t : t; }

makeDraggable(el.lanes, {
  onStart(e) {
    const p = pos(e, el.lanes), h = hit(p.x, p.y);
    el.lanes.focus({preventScroll: true});  // scrolling now would move the lane under the pointer
    if (!h) return false;
    if (h.kind === "header") { const l = S.byProduct.get(h.pid); if (l && l.length) select(l[0].id, {seek: true}); return false; }
    const t = x2t(p.x);
    S.drag = {kind: h.kind, pid: h.pid, x0: p.x, t0: t, t1: t, iv: h.iv ? {start_s: h.iv.start_s, end_s: h.iv.end_s} : null, id: h.iv ? h.iv.id : null};
    if (h.iv && h.iv.id !== S.selected) { S.selected = h.iv.id; changed(); }
    if (h.kind === "create" && !S.canReview) S.drag.kind = "seek";
  },
  onMove(e) {
    const d = S.drag, p = pos(e, el.lanes), iv = S.intervals.get(d.id), minLen = 0.1;
    const t = clamp(x2t(p.x), 0, S.duration);
    d.t1 = snapT(t);
    if (d.kind === "start" && iv) iv.start_s = clamp(d.t1, 0, iv.end_s - minLen);
    else if (d.kind === "end" && iv) iv.end_s = clamp(d.t1, iv.start_s + minLen, S.duration);
    else if (d.kind === "move" && iv && S.canReview) {
      const len = d.iv.end_s - d.iv.start_s, s = clamp(d.iv.start_s + (t - d.t0), 0, S.duration - len);
      iv.start_s = s; iv.end_s = s + len; el.lanes.style.cursor = "grabbing";
    }
    changed();
  },
  onEnd() {
    const d = S.drag, iv = S.intervals.get(d.id);
    S.drag = null;
    if ((d.kind === "start" || d.kind === "end" || d.kind === "move") && iv && S.canReview) {
      // only the edge that was dragged is sent (both for a move)
      const changes = {};
      if (d.kind !== "end" && Math.abs(iv.start_s - d.iv.start_s) > 1e-3) changes.start_s = +iv.start_s.toFixed(3);
      if (d.kind !== "start" && Math.abs(iv.end_s - d.iv.end_s) > 1e-3) changes.end_s = +iv.end_s.toFixed(3);
      Object.assign(iv, d.iv);  // update() records the old state
      update(iv, changes, d.kind === "move" ? "move" : "trim");
    } else if (d.kind === "create") {
      const a = Math.min(d.t0, d.t1), b = Math.max(d.t0, d.t1);
      if (b - a >= 0.1) createIv(d.pid, a, b);
    } else if (d.kind === "seek") seek(d.t1);
    changed();
  },
  onClick() {
    const d = S.drag; S.drag = null;
    if (d.id) { select(d.id); seek(x2t(d.x0)); } else { unselect(); seek(x2t(d.x0)); }
  },
  onCancel() { S.drag = null; changed(); },
});

// Hover: the cursor says what a drag would do; a lane header's tooltip is the whole title.
el.lanes.addEventListener("pointermove", (e) => {
  if (S.drag) return;
  const p = pos(e, el.lanes), h = hit(p.x, p.y);
  el.lanes.style.cursor = !h || h.kind === "header" ? "pointer" : h.kind === "start" || h.kind === "end" ? "ew-resize"
    : h.kind === "move" ? (S.canReview ? "grab" : "pointer") : (S.canReview ? "crosshair" : "pointer");
  const prod = h && h.kind === "header" ? S.productById.get(h.pid) : null;
  el.lanes.title = prod ? prod.title + " (" + prod.product_id + ")" : "";
});
el.wrap.addEventListener("scroll", () => changed(), {passive: true});

function onWheel(e, zoomAlways) {
  const p = pos(e, e.currentTarget), span = S.ve - S.vs, w = view.W - view.headW;
  if (e.ctrlKey || e.metaKey || zoomAlways) {
    e.preventDefault(); zoom(Math.exp(e.deltaY * 0.0015), p.x >= view.headW ? x2t(p.x) : null);
  } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
    e.preventDefault(); const dx = e.shiftKey ? e.deltaY : e.deltaX; setView(S.vs + dx / w * span, S.ve + dx / w * span);
  }
}
el.lanes.addEventListener("wheel", (e) => onWheel(e, false), {passive: false});
el.ruler.addEventListener("wheel", (e) => onWheel(e, true), {passive: false});
el.strip.addEventListener("wheel", (e) => onWheel(e, true), {passive: false});

// ruler: drag the overview window (top band) to pan; click or drag below it to seek
let rulerDrag = null;
makeDraggable(el.ruler, {
  threshold: 0,
  onStart(e) {
    const p = pos(e, el.ruler); if (p.x < view.headW) return false;
    if (p.y <= 12) {
      const ot = overviewT(p.x);
      if (ot < S.vs || ot > S.ve) { const span = S.ve - S.vs; setView(ot - span / 2, ot + span / 2); }
      rulerDrag = {kind: "pan", x0: p.x, vs: S.vs};
    } else { rulerDrag = {kind: "seek"}; seek(x2t(p.x)); }
  },
  onMove(e) {
    const p = pos(e, el.ruler);
    if (rulerDrag.kind === "pan") { const dt = (p.x - rulerDrag.x0) / (view.W - view.headW) * S.duration, span = S.ve - S.vs; setView(rulerDrag.vs + dt, rulerDrag.vs + dt + span); }
    else seek(x2t(p.x));
  },
  onEnd() { rulerDrag = null; },
});
makeDraggable(el.strip, {threshold: 0, onStart(e) { const p = pos(e, el.strip); if (p.x < view.headW) return false; seek(x2t(p.x)); }, onMove(e) { seek(x2t(pos(e, el.strip).x)); }});
el.strip.addEventListener("keydown", (e) => {
  if (e.key === "ArrowLeft" || e.key === "ArrowRight") { e.preventDefault(); e.stopPropagation(); seek(S.t + (e.key === "ArrowRight" ? 1 : -1) * (e.shiftKey ? 10 : 1)); }
});

// ------------------------------------------------------------------ keyboard
function setEdge(iv, which) {
  if (which === "start") { if (S.t < iv.end_s - 0.05) update(iv, {start_s: +S.t.toFixed(3)}, "set start"); else showAlert("The start must be before the end."); }
  else if (S.t > iv.start_s + 0.05) update(iv, {end_s: +S.t.toFixed(3)}, "set end"); else showAlert("The end must be after the start.");
}
const KEYS = {
  " ": () => togglePlay(), "k": () => pause(), "l": () => faster(), "j": () => seek(S.t - 5),
  "ArrowLeft": (e) => { pause(); seek(S.t - (e.shiftKey ? 1 : 1 / S.fps)); },
  "ArrowRight": (e) => { pause(); seek(S.t + (e.shiftKey ? 1 : 1 / S.fps)); },
  "[": (e, iv) => iv && setEdge(iv, "start"), "]": (e, iv) => iv && setEdge(iv, "end"),
  "a": (e, iv) => iv && update(iv, {status: "accepted"}, "accept"), "r": (e, iv) => iv && update(iv, {status: "rejected"}, "reject"),
  "s": (e, iv) => iv && splitIv(iv, S.t), "m": (e, iv) => iv && mergeIv(iv),
  "n": () => step(1), "p": () => step(-1),
  "o": () => { $("rv-loop").checked = !$("rv-loop").checked; announce($("rv-loop").checked ? "Loop on" : "Loop off"); },
  "f": () => fitInterval(), "0": () => setView(0, S.duration),
  "+": () => zoom(0.5), "=": () => zoom(0.5), "-": () => zoom(2), "_": () => zoom(2),
  "Delete": (e, iv) => iv && deleteIv(iv), "Backspace": (e, iv) => iv && deleteIv(iv),
  "Escape": () => unselect(), "?": () => $("rv-help").showModal(),
};
document.addEventListener("keydown", (e) => {
  const tag = (e.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select" || e.target.isContentEditable) return;
  if (document.querySelector("dialog[open]")) return;
  const ctrl = e.ctrlKey || e.metaKey, key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (ctrl && key === "z") { e.preventDefault(); if (e.shiftKey) redo(); else undo(); return; }
  if (ctrl && key === "y") { e.preventDefault(); redo(); return; }
  if (ctrl || e.altKey) return;
  if (key === " " && (tag === "button" || tag === "a")) return;
  const fn = KEYS[key];
  if (!fn) return;
  e.preventDefault();
  fn(e, S.intervals.get(S.selected));
});
