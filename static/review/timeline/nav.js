// Selecting intervals: by click, by N / P (next / previous shown interval), from the history.
import {S, changed, hidden} from "./store.js";
import {fmt, announce} from "./util.js";
import {revealLane, setView} from "./geometry.js";
import {seek} from "./player.js";

export function select(id, opts) {
  S.selected = id;
  const iv = S.intervals.get(id);
  if (iv) {
    revealLane(iv.product);
    if (iv.end_s < S.vs || iv.start_s > S.ve) { const span = S.ve - S.vs; setView(iv.start_s - span * 0.2, iv.start_s + span * 0.8); }
    const p = S.productById.get(iv.product);
    announce("Selected " + p.title + ", " + fmt(iv.start_s) + " to " + fmt(iv.end_s) + ", " + iv.status);
    if (opts && opts.seek) seek(iv.start_s);
  }
  changed();
}

export function unselect() { S.selected = null; changed(); }

function visibleSorted() {
  const out = [];
  S.lanes.forEach((pid) => (S.byProduct.get(pid) || []).forEach((iv) => { if (!hidden(iv)) out.push(iv); }));
  return out.sort((a, b) => a.start_s - b.start_s || a.product - b.product || a.id - b.id);
}

export function step(dir) {
  const list = visibleSorted();
  if (!list.length) return;
  const cur = S.intervals.get(S.selected);
  let k;
  if (cur) k = list.indexOf(cur) + dir;
  else if (dir > 0) k = list.findIndex((iv) => iv.start_s >= S.t - 1e-3);
  else { k = -1; for (let i = list.length - 1; i >= 0; i--) if (list[i].start_s < S.t) { k = i; break; } }
  if (k < 0 || k >= list.length) { announce(dir > 0 ? "Last interval" : "First interval"); return; }
  select(list[k].id, {seek: true});
}

export function nextOfProduct(iv) {
  const list = S.byProduct.get(iv.product) || [], k = list.indexOf(iv);
  for (let i = k + 1; i < list.length; i++) if (list[i].start_s >= iv.start_s) return list[i];
  return null;
}
