// The "Interval" panel: the selected interval's product, typed start/end (only a changed field
// is sent), the action buttons and the searchable relabel picker (combobox + listbox).
import {S, on, addLane} from "./store.js";
import {$, fmt, parseTime, clamp, showAlert, announce} from "./util.js";
import {el, fitInterval} from "./geometry.js";
import {update, splitIv, mergeIv, deleteIv} from "./edits.js";

export function renderInspector() {
  const iv = S.intervals.get(S.selected);
  $("rv-none").hidden = !!iv; $("rv-form").hidden = !iv;
  if (!iv) return;
  const p = S.productById.get(iv.product);
  $("rv-sel-title").textContent = p.title;
  $("rv-sel-meta").textContent = p.product_id + " · " + iv.status + " · score " + iv.score.toFixed(2) + " · " + iv.origin + " · v" + iv.version;
  const img = $("rv-sel-thumb"); if (p.thumbnail) { img.src = p.thumbnail; img.hidden = false; } else img.hidden = true;
  if (document.activeElement !== $("rv-start")) $("rv-start").value = fmt(iv.start_s);
  if (document.activeElement !== $("rv-end")) $("rv-end").value = fmt(iv.end_s);
  ["rv-accept", "rv-reject", "rv-split", "rv-merge", "rv-delete", "rv-start", "rv-end", "rv-relabel"].forEach((id) => { $(id).disabled = !S.canReview; });
}
on("change", renderInspector);

function selected() { return S.intervals.get(S.selected); }

// Only the field whose text changed is sent: a stale copy's other time never overwrites anyone's.
function commitTimes() {
  const iv = selected(); if (!iv) return;
  const a = parseTime($("rv-start").value), b = parseTime($("rv-end").value);
  if (isNaN(a) || isNaN(b)) { showAlert("Type times as m:ss.s, h:mm:ss.s or seconds."); renderInspector(); return; }
  if (b <= a) { showAlert("The end must be after the start."); renderInspector(); return; }
  const changes = {};
  if ($("rv-start").value.trim() !== fmt(iv.start_s) && Math.abs(a - iv.start_s) >= 1e-3) changes.start_s = clamp(a, 0, S.duration);
  if ($("rv-end").value.trim() !== fmt(iv.end_s) && Math.abs(b - iv.end_s) >= 1e-3) changes.end_s = clamp(b, 0, S.duration);
  update(iv, changes, "times");
}
["rv-start", "rv-end"].forEach((id) => {
  $(id).addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); commitTimes(); }
    if (e.key === "Escape") { renderInspector(); el.lanes.focus(); }
  });
  $(id).addEventListener("change", commitTimes);
});
$("rv-form").addEventListener("submit", (e) => e.preventDefault());
$("rv-accept").addEventListener("click", () => { const iv = selected(); if (iv) update(iv, {status: "accepted"}, "accept"); });
$("rv-reject").addEventListener("click", () => { const iv = selected(); if (iv) update(iv, {status: "rejected"}, "reject"); });
$("rv-split").addEventListener("click", () => splitIv(selected(), S.t));
$("rv-merge").addEventListener("click", () => mergeIv(selected()));
$("rv-delete").addEventListener("click", () => deleteIv(selected()));
$("rv-fit").addEventListener("click", () => fitInterval());

// ------------------------------------------------------------------ relabel picker
const picker = {items: [], active: -1};
const input = $("rv-relabel"), list = $("rv-picker-list");
function renderPicker() {
  const q = input.value.trim().toLowerCase();
  picker.items = S.products.filter((p) => !q || p.title.toLowerCase().indexOf(q) >= 0 || p.product_id.toLowerCase().indexOf(q) >= 0).slice(0, 30);
  picker.active = picker.items.length ? clamp(picker.active, 0, picker.items.length - 1) : -1;
  list.textContent = "";
  picker.items.forEach((p, i) => {
    const li = document.createElement("li");
    li.id = "rv-opt-" + p.id; li.setAttribute("role", "option"); li.setAttribute("aria-selected", String(i === picker.active));
    li.textContent = p.title + " (" + p.product_id + ")";
    li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(p); });
    list.appendChild(li);
  });
  list.hidden = false; input.setAttribute("aria-expanded", "true");
  input.setAttribute("aria-activedescendant", picker.active >= 0 ? "rv-opt-" + picker.items[picker.active].id : "");
}
function closePicker() { list.hidden = true; input.setAttribute("aria-expanded", "false"); }
function pick(p) {
  const iv = selected();
  closePicker(); input.value = "";
  if (!iv || p.id === iv.product) return;
  addLane(p.id);
  update(iv, {product: p.id}, "relabel");
  announce("Relabelled as " + p.title);
  el.lanes.focus();
}
input.addEventListener("input", () => { picker.active = 0; renderPicker(); });
input.addEventListener("focus", renderPicker);
input.addEventListener("blur", closePicker);
input.addEventListener("keydown", (e) => {
  if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); picker.active += e.key === "ArrowDown" ? 1 : -1; renderPicker(); }
  else if (e.key === "Enter") { e.preventDefault(); if (picker.items[picker.active]) pick(picker.items[picker.active]); }
  else if (e.key === "Escape") { closePicker(); el.lanes.focus(); }
});
