// The side panels' tabs, the evidence at the playhead, the correction history, and the
// processing job's progress (when a job finishes, "reload" asks main.js to load everything again).
import {S, cfg, on, emit} from "./store.js";
import {$, fmt, clamp, bsearch} from "./util.js";
import {api} from "./api.js";
import {select} from "./nav.js";

const TABS = ["inspector", "evidence", "history", "find"];
TABS.forEach((name, i) => {
  const tab = $("tab-" + name);
  tab.addEventListener("click", () => showTab(name));
  tab.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault(); const n = TABS[(i + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length]; showTab(n); $("tab-" + n).focus();
    }
  });
});
export function showTab(name) {
  TABS.forEach((n) => {
    const on_ = n === name; $("tab-" + n).setAttribute("aria-selected", String(on_)); $("tab-" + n).tabIndex = on_ ? 0 : -1; $("panel-" + n).hidden = !on_;
  });
  if (name === "history") loadHistory();
  if (name === "evidence") renderEvidence();
}

// ------------------------------------------------------------------ evidence
let evTimer = null;
on("time", () => { if (!evTimer) evTimer = setTimeout(() => { evTimer = null; renderEvidence(); }, 150); });
on("evidence", renderEvidence);

function modalityRows(div, ev, p, idx) {
  Object.keys(ev.modalities || {}).forEach((m) => {
    const arr = ev.modalities[m][p.product_id], v = arr ? arr[idx] || 0 : 0;
    const row = document.createElement("div"); row.className = "ev-row" + (v >= 0.5 ? " fired" : "");
    row.innerHTML = "<span class='ev-name'></span><span class='ev-bar'><span></span></span><span class='ev-val'></span>";
    row.children[0].textContent = m.replace("_", " ");
    row.children[1].firstChild.style.width = Math.round(clamp(v, 0, 1) * 100) + "%";
    row.children[2].textContent = v.toFixed(2);
    row.setAttribute("aria-label", m + " " + v.toFixed(2) + (v >= 0.5 ? ", fired" : ""));
    div.appendChild(row);
  });
}

export function renderEvidence() {
  const ev = S.evidence, t = S.t;
  $("ev-time").textContent = fmt(t);
  if (!ev || $("panel-evidence").hidden) return;
  // modalities: the best fused scores here, and the selected product's
  const times = ev.times || [], idx = clamp(bsearch(times, t), 0, Math.max(0, times.length - 1));
  const box = $("ev-modalities"); box.textContent = "";
  if (times.length) {
    const score = (p) => { const c = S.curves.fused[p.product_id]; return c ? c[idx] || 0 : 0; };
    const scored = S.products.map((p) => ({p, s: score(p)})).sort((a, b) => b.s - a.s).slice(0, 3);
    const sel = S.intervals.get(S.selected);
    if (sel && !scored.some((x) => x.p.id === sel.product)) { const sp = S.productById.get(sel.product); scored.unshift({p: sp, s: score(sp)}); }
    scored.forEach((x) => {
      const div = document.createElement("div"); div.className = "ev-product";
      const title = document.createElement("div"); title.className = "ev-title"; title.textContent = x.p.title + " — fused " + x.s.toFixed(2);
      div.appendChild(title); modalityRows(div, ev, x.p, idx); box.appendChild(div);
    });
  } else box.textContent = "No score curves for this video yet.";
  const words = (ev.transcript || []).filter((w) => w[1] >= t - 4 && w[0] <= t + 4);
  const sp = $("ev-speech"); sp.textContent = "";
  if (!words.length) sp.textContent = "No speech here.";
  words.forEach((w) => { const e = document.createElement(w[0] <= t && w[1] >= t ? "mark" : "span"); e.textContent = w[2] + " "; e.title = fmt(w[0]); sp.appendChild(e); });
  fillList($("ev-screen"), (ev.screen_text || []).filter((s) => Math.abs(s[0] - t) <= 5).map((s) => fmt(s[0]) + "  " + s[1]), "No screen text here.");
  fillList($("ev-comments"), (ev.comments || []).filter((c) => Math.abs(c[0] - t) <= 15).map((c) => fmt(c[0]) + "  " + c[1] + ": " + c[2]), "No comments here.");
}
function fillList(ul, items, empty) {
  ul.textContent = "";
  (items.length ? items.slice(0, 12) : [empty]).forEach((s) => { const li = document.createElement("li"); li.textContent = s; if (!items.length) li.className = "muted"; ul.appendChild(li); });
}

// ------------------------------------------------------------------ history
let histTimer = null;
$("rv").addEventListener("saved", () => { clearTimeout(histTimer); histTimer = setTimeout(() => { if (!$("panel-history").hidden) loadHistory(); }, 400); });
function describe(s) { return s ? s.product_id + " " + fmt(s.start_s) + "–" + fmt(s.end_s) + " " + s.status : "—"; }
async function loadHistory() {
  const r = await api("GET", cfg.urls.history + "&limit=100");
  if (!r.ok) return;
  const ol = $("rv-history"), rows = r.data.results;  // paginated: the newest 100
  ol.textContent = "";
  if (!rows.length) { const li0 = document.createElement("li"); li0.className = "muted"; li0.textContent = "No corrections yet."; ol.appendChild(li0); }
  rows.forEach((c) => {
    const li = document.createElement("li");
    const head = document.createElement("div"); head.className = "h-head";
    head.innerHTML = "<strong></strong> <span class='muted'></span>";
    head.children[0].textContent = c.action; head.children[1].textContent = (c.user || "someone") + " · " + new Date(c.created).toLocaleTimeString();
    const body = document.createElement("div"); body.className = "h-body"; body.textContent = describe(c.before) + " → " + describe(c.after);
    li.appendChild(head); li.appendChild(body);
    if (c.interval && S.intervals.has(c.interval)) {
      const b = document.createElement("button"); b.type = "button"; b.className = "link"; b.textContent = "Show";
      b.setAttribute("aria-label", "Show interval of this " + c.action);
      b.addEventListener("click", () => select(c.interval, {seek: true}));
      li.appendChild(b);
    }
    ol.appendChild(li);
  });
}

// ------------------------------------------------------------------ job progress
let polling = false;
const isActive = (job) => job.status === "queued" || job.status === "running";
export function renderJob(job) {
  const active = isActive(job);
  $("rv-job").hidden = !(active || job.status === "failed");
  $("rv-job-status").textContent = job.status; $("rv-job-status").className = "status status-" + job.status;
  $("rv-job-stage").textContent = job.stage ? "· " + job.stage : "";
  $("rv-job-progress").value = job.progress || 0;
  $("rv-job-pct").textContent = Math.round((job.progress || 0) * 100) + "%";
  $("rv-job-eta").textContent = job.eta_s != null ? "about " + Math.max(1, Math.round(job.eta_s)) + " s left" : "";
  $("rv-job-msg").textContent = job.status === "failed" ? job.message : "";
  if (!active || !cfg.urls.job || polling) return;
  polling = true;
  const poll = async () => {
    const r = await api("GET", cfg.urls.job);
    if (!r.ok) { setTimeout(poll, 4000); return; }
    polling = false;
    renderJob(r.data);
    if (isActive(r.data) && cfg.live) emit("grow");  // a live stream (webapp.live): its intervals so far
    if (!isActive(r.data)) { emit("reload"); $("rv-job").hidden = r.data.status !== "failed"; }
  };
  setTimeout(poll, 1500);
}
