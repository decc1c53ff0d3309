// Where things are: the visible time window (S.vs..S.ve), the canvases' size, and the
// time <-> pixel mapping. Lane headers shrink on a narrow (phone) screen so the bars keep room.
import {S, emit} from "./store.js";
import {$, clamp} from "./util.js";

export const LANE_H = 46, BAR_Y = 5, BAR_H = 22, CURVE_Y = 29, CURVE_H = 14, EDGE_PX = 6;
const WIDE_HEAD_W = 230, NARROW_HEAD_W = 104, NARROW_BELOW = 640;

export const el = {lanes: $("rv-lanes"), ruler: $("rv-ruler"), strip: $("rv-strip"), wrap: $("rv-lanes-wrap"),
                   boxes: $("rv-boxes"), video: $("rv-video")};
export const view = {W: 800, H: 300, headW: WIDE_HEAD_W, dpr: window.devicePixelRatio || 1};

export function x2t(x) { return S.vs + (x - view.headW) / Math.max(1, view.W - view.headW) * (S.ve - S.vs); }
export function t2x(t) { return view.headW + (t - S.vs) / (S.ve - S.vs) * (view.W - view.headW); }
// x over the whole-video overview (the ruler's top band) -> time
export function overviewT(x) { return (x - view.headW) / Math.max(1, view.W - view.headW) * S.duration; }
export function laneTop(pid) { return S.lanes.indexOf(pid) * LANE_H - el.wrap.scrollTop; }
export function laneAt(y) { const li = Math.floor((y + el.wrap.scrollTop) / LANE_H); return li >= 0 && li < S.lanes.length ? li : -1; }
export function pos(e, node) { const r = node.getBoundingClientRect(); return {x: e.clientX - r.left, y: e.clientY - r.top}; }

export function setupCanvas(c, w, h) {
  c.style.width = w + "px"; c.style.height = h + "px";
  c.width = Math.round(w * view.dpr); c.height = Math.round(h * view.dpr);
  const ctx = c.getContext("2d"); ctx.setTransform(view.dpr, 0, 0, view.dpr, 0, 0); return ctx;
}

export function resize() {
  view.dpr = window.devicePixelRatio || 1;
  view.W = Math.max(200, el.wrap.clientWidth);
  view.H = Math.max(LANE_H, el.wrap.clientHeight);
  view.headW = view.W < NARROW_BELOW ? NARROW_HEAD_W : WIDE_HEAD_W;
  setupCanvas(el.lanes, view.W, view.H); setupCanvas(el.ruler, view.W, 34); setupCanvas(el.strip, view.W, 54);
  $("rv-lanes-spacer").style.height = Math.max(0, S.lanes.length * LANE_H - view.H) + "px";
  emit("resize");
  emit("draw");
}

export function setView(vs, ve) {
  const span = clamp(ve - vs, Math.min(1, S.duration), S.duration);
  vs = clamp(vs, 0, S.duration - span);
  S.vs = vs; S.ve = vs + span; emit("draw");
}
export function zoom(factor, aroundT) {
  if (aroundT == null) aroundT = (S.t >= S.vs && S.t <= S.ve) ? S.t : (S.vs + S.ve) / 2;
  const span = clamp((S.ve - S.vs) * factor, Math.min(1, S.duration), S.duration);
  const k = (aroundT - S.vs) / (S.ve - S.vs);
  setView(aroundT - k * span, aroundT - k * span + span);
}
export function fitInterval(iv) {
  iv = iv || S.intervals.get(S.selected);
  if (!iv) { setView(0, S.duration); return; }
  const pad = Math.max(0.5, (iv.end_s - iv.start_s) * 0.25);
  setView(iv.start_s - pad, iv.end_s + pad);
}
// Scroll the lanes so the product's lane is on screen.
export function revealLane(pid) {
  const li = S.lanes.indexOf(pid), wrap = el.wrap;
  if (li >= 0 && (li * LANE_H < wrap.scrollTop || (li + 1) * LANE_H > wrap.scrollTop + view.H)) wrap.scrollTop = Math.max(0, li * LANE_H - view.H / 3);
}
