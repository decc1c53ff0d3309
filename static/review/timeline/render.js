// Drawing: the ruler (with the whole-video overview), the filmstrip, the product lanes (header,
// score curve, bars) and the tracklet boxes over the video. Only the visible lanes are drawn, so
// a 2 h video with 300 products and 1,000 intervals stays smooth.
import {S, cfg, on, hidden} from "./store.js";
import {$, fmt, clamp, bsearch} from "./util.js";
import {el, view, t2x, x2t, setupCanvas, LANE_H, BAR_Y, BAR_H, CURVE_Y, CURVE_H} from "./geometry.js";

export const COLORS = {proposed: "#d99a00", accepted: "#1e9e4a", edited: "#2f6fde", rejected: "#9aa1ad"};

let drawPending = false;
export function requestDraw() { if (!drawPending) { drawPending = true; requestAnimationFrame(draw); } }
export function draw() {
  drawPending = false;
  const t0 = performance.now();
  drawRuler(); drawStrip(); drawLanes(); drawBoxes();
  const dt = performance.now() - t0, p = S.perf;
  p.draws++; p.total += dt; p.last = dt; p.max = Math.max(p.max, dt);
  if (p.first === null && $("rv").dataset.loaded) p.first = performance.now();
}
on("draw", requestDraw);
on("change", requestDraw);
on("resize", resizeBoxes);

function tickStep(span, px) {
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  for (const s of steps) if (s / span * px >= 90) return s;
  return steps[steps.length - 1];
}

function drawRuler() {
  const ctx = el.ruler.getContext("2d"), W = view.W, HW = view.headW, ow = W - HW;
  ctx.clearRect(0, 0, W, 34);
  ctx.fillStyle = "#eef0f4"; ctx.fillRect(0, 0, W, 34);
  // Overview: the whole video, the window on screen, the playhead.
  ctx.fillStyle = "#d5d9e2"; ctx.fillRect(HW, 2, ow, 8);
  S.intervals.forEach((iv) => {
    if (hidden(iv)) return;
    ctx.fillStyle = COLORS[iv.status];
    ctx.fillRect(HW + iv.start_s / S.duration * ow, 4, Math.max(1, (iv.end_s - iv.start_s) / S.duration * ow), 4);
  });
  ctx.strokeStyle = "#1f5fd1"; ctx.lineWidth = 2;
  ctx.strokeRect(HW + S.vs / S.duration * ow, 1, Math.max(4, (S.ve - S.vs) / S.duration * ow), 10);
  ctx.fillStyle = "#c62828"; ctx.fillRect(HW + S.t / S.duration * ow - 1, 0, 2, 12);
  ctx.fillStyle = "#5b6475"; ctx.font = "11px system-ui, sans-serif";
  ctx.fillText("overview", 8, 10);
  ctx.fillText(fmt(S.vs) + " – " + fmt(S.ve), 8, 28);
  const step = tickStep(S.ve - S.vs, ow);
  ctx.strokeStyle = "#9aa1ad"; ctx.lineWidth = 1; ctx.beginPath();
  for (let t = Math.ceil(S.vs / step) * step; t <= S.ve; t += step) {
    const x = Math.round(t2x(t)) + 0.5;
    ctx.moveTo(x, 16); ctx.lineTo(x, 34);
    ctx.fillText(step < 1 ? fmt(t) : fmt(t).replace(/\.0$/, ""), x + 3, 27);
  }
  ctx.stroke();
  const px = t2x(S.t);
  if (px >= HW) { ctx.fillStyle = "#c62828"; ctx.fillRect(px - 1, 14, 2, 20); }
}

function drawStrip() {
  const ctx = el.strip.getContext("2d"), L = cfg.filmstrip, W = view.W, HW = view.headW;
  ctx.fillStyle = "#161a21"; ctx.fillRect(0, 0, W, 54);
  ctx.fillStyle = "#c9cfdb"; ctx.font = "12px system-ui, sans-serif"; ctx.fillText("Filmstrip", 10, 31);
  if (!S.strip || !S.strip.complete || !S.strip.naturalWidth) return;
  const h = 50, w = Math.round(h * L.tile_w / L.tile_h), ow = W - HW;
  const slots = Math.max(1, Math.ceil(ow / w));
  for (let i = 0; i < slots; i++) {
    const x = HW + i * w, t = x2t(x + w / 2);
    if (t < 0 || t > S.duration) continue;
    const k = clamp(Math.floor(t / L.step_s), 0, L.count - 1);
    ctx.drawImage(S.strip, (k % L.columns) * L.tile_w, Math.floor(k / L.columns) * L.tile_h, L.tile_w, L.tile_h,
                  x, 2, Math.min(w, HW + ow - x), h);
  }
  const px = t2x(S.t);
  if (px >= HW) { ctx.fillStyle = "#ff5252"; ctx.fillRect(px - 1, 0, 2, 54); }
}

function thumb(p) {
  if (!p.thumbnail) return null;
  let img = S.thumbs.get(p.id);
  if (!img) { img = new Image(); img.onload = requestDraw; img.src = p.thumbnail; S.thumbs.set(p.id, img); }
  return img.complete && img.naturalWidth ? img : null;
}

// The text cut to `width` with an ellipsis (the whole title is the lane header's tooltip).
function fitText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (ctx.measureText(text.slice(0, mid) + "…").width <= width) lo = mid; else hi = mid - 1; }
  return text.slice(0, lo) + "…";
}

function drawCurve(ctx, curve, y, i0, i1) {
  const times = S.curves.times, W = view.W, HW = view.headW, base = y + CURVE_Y + CURVE_H;
  ctx.save(); ctx.beginPath(); ctx.rect(HW, y, W - HW, LANE_H); ctx.clip();
  ctx.beginPath(); ctx.moveTo(t2x(times[i0]), base);
  if ((W - HW) / Math.max(1, i1 - i0) >= 1) {
    for (let k = i0; k < i1; k++) ctx.lineTo(t2x(times[k]), base - curve[k] * CURVE_H);
  } else {  // more samples than pixels: one max per pixel column keeps the peaks
    let col = -1, mx = 0;
    for (let k = i0; k < i1; k++) {
      const cx = Math.floor(t2x(times[k]));
      if (cx !== col && col >= 0) { ctx.lineTo(col, base - mx * CURVE_H); mx = 0; }
      col = cx; mx = Math.max(mx, curve[k]);
    }
    if (col >= 0) ctx.lineTo(col, base - mx * CURVE_H);
  }
  ctx.lineTo(t2x(times[i1 - 1]), base); ctx.closePath();
  ctx.fillStyle = "rgba(120,90,200,0.22)"; ctx.fill();
  ctx.strokeStyle = "rgba(100,70,190,0.8)"; ctx.lineWidth = 1; ctx.stroke();
  ctx.restore();
}

function drawBars(ctx, pid, y) {
  const W = view.W, HW = view.headW, list = S.byProduct.get(pid) || [];
  ctx.save(); ctx.beginPath(); ctx.rect(HW, y, W - HW, LANE_H); ctx.clip();
  for (const iv of list) {
    if (iv.end_s < S.vs || iv.start_s > S.ve || (hidden(iv) && iv.id !== S.selected)) continue;
    const xa = t2x(iv.start_s), xb = Math.max(xa + 2, t2x(iv.end_s));
    ctx.globalAlpha = iv.status === "proposed" ? 0.35 + 0.65 * clamp(iv.score, 0, 1) : (iv.status === "rejected" ? 0.45 : 1);
    ctx.fillStyle = COLORS[iv.status] || "#777";
    ctx.fillRect(xa, y + BAR_Y, xb - xa, BAR_H);
    if (iv.status === "rejected") {
      ctx.strokeStyle = "#5b6475"; ctx.beginPath();
      for (let hx = xa - BAR_H; hx < xb; hx += 8) { ctx.moveTo(hx, y + BAR_Y + BAR_H); ctx.lineTo(hx + BAR_H, y + BAR_Y); }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    if (iv.id === S.selected) {
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.strokeRect(xa + 1, y + BAR_Y - 1, xb - xa - 2, BAR_H + 2);
      ctx.fillStyle = "#111"; ctx.fillRect(xa, y + BAR_Y - 2, 4, BAR_H + 4); ctx.fillRect(xb - 4, y + BAR_Y - 2, 4, BAR_H + 4);
      ctx.lineWidth = 1;
    }
    if (xb - xa > 46) {
      ctx.fillStyle = iv.status === "proposed" ? "#1d2330" : "#fff"; ctx.font = "11px system-ui, sans-serif";
      ctx.fillText((iv.status === "proposed" ? "" : iv.status[0].toUpperCase() + " ") + iv.score.toFixed(2), xa + 6, y + BAR_Y + 15);
    }
  }
  const d = S.drag;
  if (d && d.kind === "create" && d.pid === pid) {
    const ca = t2x(Math.min(d.t0, d.t1)), cb = t2x(Math.max(d.t0, d.t1));
    ctx.fillStyle = "rgba(31,95,209,0.35)"; ctx.fillRect(ca, y + BAR_Y, cb - ca, BAR_H);
    ctx.strokeStyle = "#1f5fd1"; ctx.setLineDash([4, 3]); ctx.strokeRect(ca, y + BAR_Y, cb - ca, BAR_H); ctx.setLineDash([]);
  }
  ctx.restore();
}

function drawLanes() {
  const ctx = el.lanes.getContext("2d"), W = view.W, H = view.H, HW = view.headW, top = el.wrap.scrollTop;
  ctx.clearRect(0, 0, W, H);
  const first = Math.floor(top / LANE_H), last = Math.min(S.lanes.length - 1, Math.floor((top + H) / LANE_H));
  const sel = S.intervals.get(S.selected), times = S.curves.times || [];
  const i0 = Math.max(0, bsearch(times, S.vs) - 1), i1 = Math.min(times.length, bsearch(times, S.ve) + 1);
  for (let li = first; li <= last; li++) {
    const pid = S.lanes[li], p = S.productById.get(pid), y = li * LANE_H - top;
    ctx.fillStyle = li % 2 ? "#fafbfc" : "#ffffff"; ctx.fillRect(0, y, W, LANE_H);
    if (sel && sel.product === pid) { ctx.fillStyle = "#eef4ff"; ctx.fillRect(0, y, W, LANE_H); }
    const img = thumb(p);
    if (img) ctx.drawImage(img, 6, y + 5, 36, 36); else { ctx.fillStyle = "#e3e6ec"; ctx.fillRect(6, y + 5, 36, 36); }
    const n = (S.byProduct.get(pid) || []).length;
    ctx.fillStyle = "#1d2330"; ctx.font = "600 12.5px system-ui, sans-serif";
    ctx.fillText(fitText(ctx, p.title, HW - 54), 48, y + 19);
    ctx.fillStyle = "#5b6475"; ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(fitText(ctx, p.product_id + " · " + n + " interval" + (n === 1 ? "" : "s"), HW - 54), 48, y + 35);
    const curve = S.curves.fused && S.curves.fused[p.product_id];
    if (curve && i1 > i0) drawCurve(ctx, curve, y, i0, i1);
    drawBars(ctx, pid, y);
    ctx.fillStyle = "#e1e4ea"; ctx.fillRect(0, y + LANE_H - 1, W, 1);
  }
  ctx.fillStyle = "#d9dde5"; ctx.fillRect(HW - 1, 0, 1, H);
  if (!S.lanes.length) {
    ctx.fillStyle = "#5b6475"; ctx.font = "14px system-ui, sans-serif";
    ctx.fillText(S.products.length ? "No lane matches: see the hint above the timeline." : "This shop has no products yet.", HW + 16, 28);
  }
  const px = t2x(S.t);
  if (px >= HW && px <= W) { ctx.fillStyle = "#c62828"; ctx.fillRect(px - 1, 0, 2, H); }
}

// ------------------------------------------------------------------ tracklet boxes over the video
function resizeBoxes() {
  const r = el.video.getBoundingClientRect();
  setupCanvas(el.boxes, Math.max(1, r.width), Math.max(1, r.height));
}
function drawBoxes() {
  const c = el.boxes, ctx = c.getContext("2d"), w = c.clientWidth, h = c.clientHeight, ev = S.evidence;
  ctx.clearRect(0, 0, w, h);
  if (!ev || !ev.boxes.length || !$("rv-show-boxes").checked) { c.dataset.shown = "0"; return; }
  // the picture inside the element (object-fit: contain)
  const vw = el.video.videoWidth || 16, vh = el.video.videoHeight || 9, k = Math.min(w / vw, h / vh);
  const pw = vw * k, ph = vh * k, ox = (w - pw) / 2, oy = (h - ph) / 2;
  const times = ev.boxTimes, i = bsearch(times, S.t - 0.5);
  let near = Infinity, shown = 0;
  for (let j = i; j < times.length && times[j] <= S.t + 0.5; j++) near = Math.min(near, Math.abs(times[j] - S.t));
  for (let j = i; j < times.length && times[j] <= S.t + 0.5; j++) {
    if (Math.abs(Math.abs(times[j] - S.t) - near) > 1e-3) continue;
    const b = ev.boxes[j], hue = ((b[5] * 67) % 360 + 360) % 360;
    ctx.strokeStyle = "hsl(" + hue + ",90%,55%)"; ctx.lineWidth = 2;
    ctx.strokeRect(ox + b[1] * pw, oy + b[2] * ph, (b[3] - b[1]) * pw, (b[4] - b[2]) * ph);
    ctx.fillStyle = "hsl(" + hue + ",90%,35%)"; ctx.font = "11px system-ui, sans-serif";
    if (b[5] >= 0) { ctx.fillRect(ox + b[1] * pw, oy + b[2] * ph - 14, 48, 14); ctx.fillStyle = "#fff"; ctx.fillText("track " + b[5], ox + b[1] * pw + 3, oy + b[2] * ph - 3); }
    shown++;
  }
  c.dataset.shown = String(shown);
}
$("rv-show-boxes").addEventListener("change", requestDraw);
