// The review timeline: player + one canvas lane per product, edits saved with `version`.
// ES modules, no build step: store (state, events), api, geometry, render, player, nav, edits,
// input (pointer, keyboard), inspector, panels, toolbar. This module loads the data and starts.
// No audio waveform lane: wavesurfer.js (BSD-3, on npm) draws into its own scrolling container
// with its own zoom, and decodes the whole file's audio in the browser unless given peaks; fitting
// it under these canvases' time window means server-side peaks plus syncing two zoom models,
// which is not the simple vendoring it would have to be. Its drag helper's shape is in input.js.
import {S, cfg, on, emit, indexProduct, computeLanes, setIntervalState} from "./store.js";
import {$, fmt, showAlert} from "./util.js";
import {api, errText} from "./api.js";
import {el, view, t2x, x2t, laneTop, resize, setView, LANE_H, BAR_Y, BAR_H} from "./geometry.js";
import {draw, requestDraw} from "./render.js";
import {seek} from "./player.js";
import {select} from "./nav.js";
import {setSaveState} from "./edits.js";
import {renderInspector} from "./inspector.js";
import {showTab, renderJob} from "./panels.js";
import {setConfidence} from "./toolbar.js";
import "./input.js";
import "./boxsearch.js";

let firstLoad = true;
async function load() {
  const r = await api("GET", cfg.urls.data);
  if (!r.ok) { showAlert("Could not load the timeline: " + errText(r)); return; }
  const d = r.data;
  S.fps = d.video.fps || 25;
  S.duration = Math.max(0.1, d.video.duration_s || el.video.duration || 0.1);
  if (S.ve > S.duration || S.ve <= S.vs) { S.vs = 0; S.ve = S.duration; }
  S.canReview = d.can_review;
  S.threshold = d.threshold;
  S.products = d.products;
  S.productById = new Map(d.products.map((p) => [p.id, p]));
  S.intervals = new Map(); S.byProduct = new Map();
  d.intervals.forEach((iv) => S.intervals.set(iv.id, iv));
  S.products.forEach((p) => indexProduct(p.id));
  $("rv-dur").textContent = fmt(S.duration);
  $("rv").dataset.loaded = "1";
  $("rv").classList.toggle("readonly", !S.canReview);
  computeLanes();
  if (firstLoad) { firstLoad = false; setConfidence(S.threshold); } else setConfidence(S.conf);
  renderInspector();
  if (d.job) renderJob(d.job);
}

async function loadCurves() {
  const r = await api("GET", cfg.urls.curves);
  if (!r.ok) return;
  const c = {times: r.data.times || [], fused: {}};
  Object.keys(r.data.fused_pct || {}).forEach((pid) => {
    const src = r.data.fused_pct[pid], arr = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) arr[i] = src[i] / 100;
    c.fused[pid] = arr;
  });
  S.curves = c; $("rv").dataset.curves = "1"; requestDraw();
}

async function loadEvidence() {
  const r = await api("GET", cfg.urls.evidence);
  if (!r.ok) return;
  S.evidence = r.data;
  S.evidence.boxTimes = r.data.boxes.map((b) => b[0]);
  requestDraw(); emit("evidence");
}

on("reload", () => load().then(loadCurves).then(loadEvidence));
on("grow", () => { if (!S.pending && !S.drag) load(); });

// For the browser tests and the console: the state, and a few actions and measures.
S.geom = {t2x, x2t, laneH: LANE_H, barY: BAR_Y, barH: BAR_H, laneTop, get headW() { return view.headW; }};
S.seek = seek; S.select = select; S.setView = setView; S.draw = draw; S.setInterval = setIntervalState;
window.__rv = S;

S.strip = new Image(); S.strip.onload = requestDraw; S.strip.src = cfg.urls.filmstrip;
setSaveState(); $("rv-save").textContent = "";
showTab("inspector");
resize();
// Lanes first, then curves, then the evidence: one request at a time, so the first draw of a
// long video with many products never waits behind the heavy ones.
load().then(() => { el.lanes.focus({preventScroll: true}); return loadCurves(); }).then(loadEvidence);
