// The timeline's state and its events. Modules change the state here and emit an event; the
// renderer and the panels listen. Nothing else is global (window.__rv is this object, for the
// browser tests and the console).
export const cfg = JSON.parse(document.getElementById("rv-config").textContent);

export const S = {
  duration: Math.max(0.1, cfg.duration_s || 0.1), fps: 25, threshold: 0.5,
  products: [], productById: new Map(),
  intervals: new Map(), byProduct: new Map(), lanes: [], extraLanes: new Set(),
  curves: {times: [], fused: {}}, evidence: null,
  vs: 0, ve: Math.max(0.1, cfg.duration_s || 0.1), t: 0,
  selected: null, conf: 0, filter: "", onlyUsed: true,
  undo: [], redo: [], idMap: new Map(), canReview: !!cfg.canReview, drag: null,
  pending: 0, thumbs: new Map(), strip: null, perf: {draws: 0, total: 0, last: 0, max: 0, first: null},
};

// ------------------------------------------------------------------ events
const listeners = new Map();
export function on(name, fn) {
  if (!listeners.has(name)) listeners.set(name, []);
  listeners.get(name).push(fn);
}
export function emit(name, arg) { (listeners.get(name) || []).forEach((fn) => fn(arg)); }
// "change": intervals or the selection changed (redraw, refresh the inspector).
export function changed() { emit("change"); }

// ------------------------------------------------------------------ intervals
export function setIntervalState(iv) {
  const old = S.intervals.get(iv.id);
  S.intervals.set(iv.id, iv);
  if (old && old.product !== iv.product) indexProduct(old.product);
  indexProduct(iv.product);
}
export function removeInterval(id) {
  const old = S.intervals.get(id);
  if (!old) return;
  S.intervals.delete(id);
  indexProduct(old.product);
  if (S.selected === id) S.selected = null;
}
export function indexProduct(pid) {
  const list = [];
  S.intervals.forEach((iv) => { if (iv.product === pid) list.push(iv); });
  list.sort((a, b) => a.start_s - b.start_s || a.end_s - b.end_s || a.id - b.id);
  if (list.length) S.byProduct.set(pid, list); else S.byProduct.delete(pid);
  if (list.length && S.lanes.indexOf(pid) < 0 && laneMatches(pid)) S.lanes.push(pid);
}
export function resolve(id) { while (S.idMap.has(id)) id = S.idMap.get(id); return id; }
export function snap(iv) { return {id: iv.id, product: iv.product, start_s: iv.start_s, end_s: iv.end_s, status: iv.status}; }
// Proposals under the confidence slider are hidden (never a reviewed interval).
export function hidden(iv) { return iv.status === "proposed" && iv.score < S.conf; }

// ------------------------------------------------------------------ lanes
export function matchesFilter(p, filter) {
  const f = filter.toLowerCase();
  return p.title.toLowerCase().indexOf(f) >= 0 || p.product_id.toLowerCase().indexOf(f) >= 0;
}
// A typed filter searches every product of the list; without one, "only products with
// intervals" shows those plus the lanes a reviewer added.
export function laneMatches(pid) {
  const p = S.productById.get(pid);
  if (!p) return false;
  if (S.filter) return matchesFilter(p, S.filter);
  return !S.onlyUsed || S.byProduct.has(pid) || S.extraLanes.has(pid);
}
export function computeLanes() {
  const first = (pid) => { const l = S.byProduct.get(pid); return l ? l[0].start_s : Infinity; };
  S.lanes = S.products.map((p) => p.id).filter(laneMatches);
  S.lanes.sort((a, b) => first(a) - first(b) || S.productById.get(a).product_id.localeCompare(S.productById.get(b).product_id));
  emit("lanes");
}
export function addLane(pid) {
  S.extraLanes.add(pid);
  if (S.lanes.indexOf(pid) < 0) S.lanes.push(pid);
  emit("lanes");
}

// ------------------------------------------------------------------ what the slider means
// Scores are calibrated, so the expected share of right intervals above x is the mean score of
// the machine's intervals scoring at least x.
export function expectedRight(x) {
  let n = 0, sum = 0;
  S.intervals.forEach((iv) => { if (iv.origin === "machine" && iv.score >= x) { n++; sum += iv.score; } });
  return n ? {count: n, share: sum / n} : {count: 0, share: null};
}
