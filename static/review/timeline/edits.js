// Every edit goes through one queue (one request at a time, so a fast series of edits to one
// interval never conflicts with itself) and sends only the fields the person changed, with the
// version it was based on. A 409 opens the conflict dialog; "apply my change on top of theirs"
// re-sends just those fields on the current version, so the other person's edit survives. Every
// edit is undoable (undo replays through the API: a versioned change with its own correction).
import {S, cfg, changed, setIntervalState, removeInterval, snap, resolve} from "./store.js";
import {$, fmt, announce, showAlert} from "./util.js";
import {api, urlFor, errText} from "./api.js";
import {select, nextOfProduct} from "./nav.js";

const FIELDS = ["product", "start_s", "end_s", "status"];
let chain = Promise.resolve();

export function queue(fn) {
  S.pending++; setSaveState();
  chain = chain.then(fn).catch((e) => showAlert("Could not save: " + (e && e.message || e)))
    .then(() => { S.pending--; setSaveState(); $("rv").dispatchEvent(new Event("saved")); });
  return chain;
}
export function setSaveState() {
  $("rv-save").textContent = S.pending ? "Saving…" : "All changes saved";
  $("rv").dataset.pending = String(S.pending);
}
function record(label, before, after) {
  S.undo.push({label, before, after}); S.redo = [];
  if (S.undo.length > 200) S.undo.shift();
}
// The fields of `to` that differ from `from` (what a person changed).
export function diff(from, to) {
  const out = {};
  FIELDS.forEach((k) => { if (to[k] !== undefined && to[k] !== from[k]) out[k] = to[k]; });
  return out;
}

// ------------------------------------------------------------------ conflicts
function conflictDialog(current, changes) {
  return new Promise((done) => {
    const dlg = $("rv-conflict");
    const title = (id) => { const x = S.productById.get(id); return x ? x.title : "?"; };
    const show = {product: title, start_s: fmt, end_s: fmt, status: (s) => s};
    $("rv-conflict-text").textContent = current
      ? "Your change was not saved because the interval was edited elsewhere after you loaded it (now version " + current.version + "). Applying yours changes only what you changed: " + Object.keys(changes).filter((k) => show[k]).map((k) => k.replace("_s", "")).join(", ") + "."
      : "This interval was deleted elsewhere. Your change cannot be applied to it.";
    const tb = $("rv-conflict-rows"); tb.textContent = "";
    [["product", "Product"], ["start_s", "Start"], ["end_s", "End"], ["status", "Status"]].forEach(([k, label]) => {
      const tr = document.createElement("tr"), mine = k in changes;
      const theirs = current ? show[k](current[k]) : (k === "product" ? "deleted" : "");
      const yours = mine ? show[k](changes[k]) + " (your change)" : theirs;
      [label, theirs, yours].forEach((c, i) => {
        const td = document.createElement(i ? "td" : "th"); td.textContent = c;
        if (!i) td.scope = "row"; if (i === 2 && mine) td.className = "rv-mine";
        tr.appendChild(td);
      });
      tr.dataset.field = k; tb.appendChild(tr);
    });
    $("rv-conflict-mine").disabled = !current;
    function close(choice) {
      $("rv-conflict-mine").onclick = $("rv-conflict-theirs").onclick = null; dlg.onclose = null;
      if (dlg.open) dlg.close();
      done(choice);
    }
    $("rv-conflict-mine").onclick = () => close("mine");
    $("rv-conflict-theirs").onclick = () => close("theirs");
    dlg.onclose = () => close("theirs");
    dlg.showModal();
    (current ? $("rv-conflict-mine") : $("rv-conflict-theirs")).focus();
  });
}

// PATCH only `changes`; on a stale version ask, then re-apply them on top of theirs or keep theirs.
async function patch(id, changes) {
  const iv = S.intervals.get(id);
  if (!iv) throw new Error("that interval is gone");
  const r = await api("PATCH", urlFor("interval", id), Object.assign({version: iv.version}, changes));
  if (r.ok) { setIntervalState(r.data); return r.data; }
  if (r.status !== 409) throw new Error(errText(r));
  const current = r.data.current;
  const choice = await conflictDialog(current, changes);
  if (!current) { removeInterval(id); changed(); throw new Error("the interval was deleted elsewhere"); }
  setIntervalState(current);
  if (choice === "mine") return patch(id, changes);
  changed(); announce("Kept the other change");
  return null;
}

// ------------------------------------------------------------------ edits
export function update(iv, changes, label) {
  if (!S.canReview || !Object.keys(changes).length) return;
  const before = [snap(iv)];
  const touched = changes.start_s != null || changes.end_s != null || changes.product != null;
  setIntervalState(Object.assign({}, iv, changes, !changes.status && iv.status === "proposed" && touched ? {status: "edited"} : {}));
  changed();
  return queue(() => patch(iv.id, changes).then((saved) => {
    if (saved) record(label, before, [snap(saved)]);
    changed();
  }, (e) => { before.forEach((b) => { const cur = S.intervals.get(b.id); if (cur) setIntervalState(Object.assign({}, cur, b)); }); changed(); throw e; }));
}

export function createIv(pid, a, b) {
  if (!S.canReview) return;
  return queue(async () => {
    const r = await api("POST", cfg.urls.create, {video: cfg.video, product: pid, start_s: +a.toFixed(3), end_s: +b.toFixed(3), status: "accepted"});
    if (!r.ok) throw new Error(errText(r));
    setIntervalState(r.data); select(r.data.id);
    record("add", [], [snap(r.data)]);
    announce("Added an interval for " + S.productById.get(pid).title);
  });
}

export function deleteIv(iv) {
  if (!S.canReview || !iv) return;
  const before = [snap(iv)];
  return queue(async () => {
    const cur = S.intervals.get(iv.id);
    const r = await api("DELETE", urlFor("interval", iv.id) + "?version=" + cur.version);
    if (r.status === 409) { if (r.data.current) setIntervalState(r.data.current); else removeInterval(iv.id); changed(); throw new Error("the interval changed elsewhere; look again and retry"); }
    if (!r.ok) throw new Error(errText(r));
    removeInterval(iv.id); record("delete", before, []); changed();
  });
}

export function splitIv(iv, at) {
  if (!S.canReview || !iv) return;
  if (!(at > iv.start_s + 0.05 && at < iv.end_s - 0.05)) { showAlert("Move the playhead inside the selected interval to split it."); return; }
  const before = [snap(iv)];
  return queue(async () => {
    const r = await api("POST", urlFor("split", iv.id), {version: S.intervals.get(iv.id).version, at: +at.toFixed(3)});
    if (r.status === 409) { if (r.data.current) setIntervalState(r.data.current); changed(); throw new Error("the interval changed elsewhere; look again and retry"); }
    if (!r.ok) throw new Error(errText(r));
    r.data.intervals.forEach(setIntervalState);
    record("split", before, r.data.intervals.map(snap)); changed();
    announce("Split at " + fmt(at));
  });
}

export function mergeIv(iv) {
  if (!S.canReview || !iv) return;
  const other = nextOfProduct(iv);
  if (!other) { showAlert("There is no later interval of this product to merge with."); return; }
  const before = [snap(iv), snap(other)];
  return queue(async () => {
    const a = S.intervals.get(iv.id), b = S.intervals.get(other.id);
    const r = await api("POST", urlFor("merge", iv.id), {version: a.version, other: b.id, other_version: b.version});
    if (r.status === 409) throw new Error("one of the two intervals changed elsewhere; reload and retry");
    if (!r.ok) throw new Error(errText(r));
    removeInterval(other.id); setIntervalState(r.data.interval); select(r.data.interval.id);
    record("merge", before, [snap(r.data.interval)]);
    announce("Merged");
  });
}

// ------------------------------------------------------------------ undo / redo
// Move the server from the states in `from` to those in `to`, changing only what differs.
function transition(from, to) {
  const fromById = new Map(from.map((s) => [s.id, s])), toIds = new Set(to.map((s) => s.id));
  const steps = [];
  to.forEach((s) => {
    if (fromById.has(s.id)) steps.push(() => patch(resolve(s.id), diff(fromById.get(s.id), s)));
    else steps.push(async () => {
      const r = await api("POST", cfg.urls.create, {video: cfg.video, product: s.product, start_s: s.start_s, end_s: s.end_s, status: s.status});
      if (!r.ok) throw new Error(errText(r));
      S.idMap.set(s.id, r.data.id); setIntervalState(r.data);
    });
  });
  from.forEach((s) => {
    if (!toIds.has(s.id)) steps.push(async () => {
      const id = resolve(s.id), cur = S.intervals.get(id);
      if (!cur) return;
      const r = await api("DELETE", urlFor("interval", id) + "?version=" + cur.version);
      if (r.status === 409) throw new Error("the interval changed elsewhere; undo stopped");
      if (!r.ok) throw new Error(errText(r));
      removeInterval(id);
    });
  });
  return steps.reduce((p, f) => p.then(f), Promise.resolve());
}
function replay(fromStack, toStack, forward, verb) {
  if (!S.canReview) return;
  const e = fromStack.pop();
  if (!e) { announce("Nothing to " + verb); return; }
  queue(() => transition(forward ? e.before : e.after, forward ? e.after : e.before).then(() => {
    toStack.push(e); changed(); announce((forward ? "Redid " : "Undid ") + e.label);
  }));
}
export function undo() { replay(S.undo, S.redo, false, "undo"); }
export function redo() { replay(S.redo, S.undo, true, "redo"); }

// ------------------------------------------------------------------ bulk accept, after a confirmation
function confirmDialog(text) {
  return new Promise((done) => {
    const dlg = $("rv-bulk-confirm");
    $("rv-bulk-text").textContent = text;
    const close = (ok) => { $("rv-bulk-yes").onclick = $("rv-bulk-no").onclick = dlg.onclose = null; if (dlg.open) dlg.close(); done(ok); };
    $("rv-bulk-yes").onclick = () => close(true);
    $("rv-bulk-no").onclick = () => close(false);
    dlg.onclose = () => close(false);
    dlg.showModal();
    $("rv-bulk-no").focus();
  });
}

export async function bulkAccept() {
  if (!S.canReview) return;
  const ids = [];
  S.lanes.forEach((pid) => (S.byProduct.get(pid) || []).forEach((iv) => { if (iv.status === "proposed" && iv.score >= S.conf) ids.push(iv.id); }));
  const body = {video: cfg.video, min_score: S.conf, ids};
  const dry = await api("POST", cfg.urls.bulkAccept, Object.assign({dry_run: true}, body));
  if (!dry.ok) { showAlert("Could not count the proposals: " + errText(dry)); return; }
  const n = dry.data.count;
  if (!n) { showAlert("No proposal at or above " + S.conf.toFixed(2) + " in the lanes shown."); return; }
  const ok = await confirmDialog("This will accept " + n + " proposal" + (n === 1 ? "" : "s") + " scoring " + S.conf.toFixed(2) +
    " or more in the lanes shown: it changes " + n + " interval" + (n === 1 ? "" : "s") + " (undo with Ctrl+Z).");
  if (!ok) { announce("Nothing accepted"); return; }
  const before = ids.map((id) => snap(S.intervals.get(id)));
  return queue(async () => {
    const r = await api("POST", cfg.urls.bulkAccept, body);
    if (!r.ok) throw new Error(errText(r));
    r.data.intervals.forEach(setIntervalState);
    const done = new Set(r.data.intervals.map((iv) => iv.id));
    record("bulk accept", before.filter((b) => done.has(b.id)), r.data.intervals.map(snap));
    changed();
    announce("Accepted " + r.data.count + " proposal(s)" + (r.data.skipped.length ? "; " + r.data.skipped.length + " changed elsewhere and were skipped" : ""));
    $("rv-save").textContent = "Accepted " + r.data.count;
  });
}
