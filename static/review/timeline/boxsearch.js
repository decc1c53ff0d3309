// Box search: the reviewer draws a box on the paused video and gets the shop's nearest products
// (POST /api/videos/{id}/box-search/, webapp/search/api.py), for a product the stream's list
// missed; "Add lane" puts the chosen one on the timeline (then drag on its lane to add an interval).
import {S, cfg, emit, addLane} from "./store.js";
import {$, fmt, clamp, announce} from "./util.js";
import {api, errText} from "./api.js";
import {el, revealLane} from "./geometry.js";
import {showTab} from "./panels.js";

const layer = $("rv-draw"), rect = $("rv-draw-box"), btn = $("rv-box-btn");
let start = null;

// the picture inside the video element (object-fit: contain), in layer pixels
function picture() {
  const w = layer.clientWidth, h = layer.clientHeight;
  const vw = el.video.videoWidth || 16, vh = el.video.videoHeight || 9, k = Math.min(w / vw, h / vh);
  return {x: (w - vw * k) / 2, y: (h - vh * k) / 2, w: vw * k, h: vh * k};
}
function at(e) {
  const r = layer.getBoundingClientRect(), p = picture();
  return {x: clamp(e.clientX - r.left, p.x, p.x + p.w), y: clamp(e.clientY - r.top, p.y, p.y + p.h)};
}

export function setDrawing(on_) {
  layer.hidden = !on_; btn.setAttribute("aria-pressed", String(on_));
  btn.textContent = on_ ? "Cancel box" : "Find by box";
  if (on_) { el.video.pause(); rect.hidden = true; announce("Draw a box around the product on the video; Escape cancels"); }
  start = null;
}
btn.addEventListener("click", () => setDrawing(layer.hidden));
layer.addEventListener("keydown", (e) => { if (e.key === "Escape") setDrawing(false); });

function place(a, b) {
  rect.hidden = false;
  rect.style.left = Math.min(a.x, b.x) + "px"; rect.style.top = Math.min(a.y, b.y) + "px";
  rect.style.width = Math.abs(b.x - a.x) + "px"; rect.style.height = Math.abs(b.y - a.y) + "px";
}
layer.addEventListener("pointerdown", (e) => {
  e.preventDefault(); start = at(e); layer.setPointerCapture(e.pointerId); place(start, start);
});
layer.addEventListener("pointermove", (e) => { if (start) place(start, at(e)); });
layer.addEventListener("pointerup", (e) => {
  if (!start) return;
  const a = start, b = at(e), p = picture();
  start = null;
  if (Math.abs(b.x - a.x) < 6 || Math.abs(b.y - a.y) < 6) { rect.hidden = true; announce("The box is too small: drag across the product"); return; }
  const box = [(Math.min(a.x, b.x) - p.x) / p.w, (Math.min(a.y, b.y) - p.y) / p.h,
               (Math.max(a.x, b.x) - p.x) / p.w, (Math.max(a.y, b.y) - p.y) / p.h].map((v) => clamp(v, 0, 1));
  search(S.t, box);
});

export async function search(t, box) {
  setDrawing(false);
  showTab("find");
  const list = $("rv-find-results"), hint = $("rv-find-hint");
  list.textContent = ""; hint.textContent = "Searching the shop's products at " + fmt(t) + "…";
  $("panel-find").dataset.state = "searching";
  const r = await api("POST", cfg.urls.boxSearch, {t, box});
  $("panel-find").dataset.state = r.ok ? "done" : "error";
  if (!r.ok) { hint.textContent = errText(r); return; }
  const found = r.data.results;
  hint.textContent = found.length
    ? found.length + " nearest product" + (found.length === 1 ? "" : "s") + " of the shop at " + fmt(t) + " (" +
      r.data.index.n_products + " indexed):"
    : "The shop's index has no product yet.";
  found.forEach((p) => list.appendChild(row(p)));
  announce(found.length ? "Found " + found.length + " products; the nearest is " + found[0].title : hint.textContent);
}

function row(p) {
  const li = document.createElement("li"); li.className = "rv-find-item"; li.dataset.product = String(p.id);
  const img = document.createElement("img"); img.alt = ""; img.width = 40; img.height = 40;
  if (p.thumbnail) img.src = p.thumbnail;
  const text = document.createElement("div");
  const title = document.createElement("strong"); title.textContent = p.title;
  const meta = document.createElement("span"); meta.className = "muted"; meta.textContent = p.product_id + " · score " + p.score.toFixed(2);
  text.appendChild(title); text.appendChild(document.createElement("br")); text.appendChild(meta);
  const add = document.createElement("button"); add.type = "button"; add.className = "rv-find-add";
  const shown = S.lanes.indexOf(p.id) >= 0;
  add.textContent = shown ? "Show lane" : "Add lane"; add.setAttribute("aria-label", (shown ? "Show the lane of " : "Add a lane for ") + p.title);
  add.addEventListener("click", () => addProductLane(p));
  li.appendChild(img); li.appendChild(text); li.appendChild(add);
  return li;
}

// A product from the shop's whole catalog may be outside the stream's list: it joins the lanes.
export function addProductLane(p) {
  if (!S.productById.has(p.id)) {
    const lane = {id: p.id, product_id: p.product_id, title: p.title, description: p.description || "",
                  category: p.category || "", thumbnail: p.thumbnail};
    S.products.push(lane); S.productById.set(p.id, lane);
  }
  addLane(p.id); revealLane(p.id); emit("draw");
  const b = document.querySelector("#rv-find-results li[data-product='" + p.id + "'] .rv-find-add");
  if (b) { b.textContent = "Show lane"; b.setAttribute("aria-label", "Show the lane of " + p.title); }
  announce("Added a lane for " + p.title + ": drag on it to add an interval");
  el.lanes.focus({preventScroll: true});
}
