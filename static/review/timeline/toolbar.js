// The toolbar under the player: zoom, the confidence slider (it starts at the job's calibrated
// threshold and says what it means), bulk accept, and the lanes: a filter over every product of
// the list (with a hint when nothing matches) and "add a product lane" for one the model missed.
import {S, on, emit, computeLanes, addLane, expectedRight, matchesFilter} from "./store.js";
import {$, announce} from "./util.js";
import {el, resize, zoom, fitInterval, setView, revealLane} from "./geometry.js";
import {bulkAccept} from "./edits.js";

$("rv-zoom-in").addEventListener("click", () => zoom(0.5));
$("rv-zoom-out").addEventListener("click", () => zoom(2));
$("rv-zoom-fit").addEventListener("click", () => fitInterval());
$("rv-zoom-all").addEventListener("click", () => setView(0, S.duration));
$("rv-bulk").addEventListener("click", bulkAccept);
$("rv-help-btn").addEventListener("click", () => $("rv-help").showModal());
window.addEventListener("resize", resize);

// ------------------------------------------------------------------ confidence
export function setConfidence(x) {
  S.conf = x;
  $("rv-conf").value = String(x);
  $("rv-conf-val").textContent = x.toFixed(2);
  const e = expectedRight(x);
  $("rv-conf-meaning").textContent = e.count
    ? "About " + Math.round(e.share * 10) + " in 10 of the " + e.count + " machine interval" + (e.count === 1 ? "" : "s") +
      " at or above " + x.toFixed(2) + " are right" + (Math.abs(x - S.threshold) < 0.005 ? " (the job's threshold)." : ".")
    : "No machine interval scores " + x.toFixed(2) + " or more.";
  emit("draw");
}
$("rv-conf").addEventListener("input", function () { setConfidence(parseFloat(this.value)); });
on("change", () => setConfidence(S.conf));

// ------------------------------------------------------------------ lanes
function laneHint() {
  const hint = $("rv-lane-hint");
  let text = "";
  if (S.filter) {
    const n = S.products.filter((p) => matchesFilter(p, S.filter)).length;
    const empty = S.lanes.filter((pid) => !S.byProduct.has(pid)).length;
    if (!n) text = "No product of this list (" + S.products.length + ") matches \u201c" + S.filter + "\u201d: check the spelling, or search by product id.";
    else if (empty) text = empty + " matching product" + (empty === 1 ? " has" : "s have") + " no interval yet: drag on its lane to add one.";
  } else if (!S.lanes.length && S.products.length) {
    text = "No product has an interval yet: untick \u201cOnly products with intervals\u201d or add a product lane.";
  }
  hint.textContent = text; hint.hidden = !text;
}
function fillAddLane() {
  const sel = $("rv-add-lane"), shown = new Set(S.lanes);
  sel.length = 1;
  S.products.filter((p) => !shown.has(p.id)).sort((a, b) => a.title.localeCompare(b.title)).forEach((p) => {
    const o = document.createElement("option"); o.value = String(p.id); o.textContent = p.title + " (" + p.product_id + ")"; sel.appendChild(o);
  });
  sel.disabled = sel.length === 1;
}
on("lanes", () => { laneHint(); fillAddLane(); resize(); });

$("rv-filter").addEventListener("input", function () { S.filter = this.value.trim(); computeLanes(); });
$("rv-only-used").addEventListener("change", function () { S.onlyUsed = this.checked; computeLanes(); });
$("rv-add-lane").addEventListener("change", function () {
  const pid = parseInt(this.value, 10);
  if (!pid) return;
  addLane(pid); this.value = "";
  revealLane(pid); emit("draw");
  announce("Added a lane for " + S.productById.get(pid).title + ": drag on it to add an interval");
  el.lanes.focus({preventScroll: true});
});
