// ShopFocus review timeline: player + one canvas lane per product, edits saved with `version`.
// Vanilla JS, no build step. Only the visible lanes are drawn (2 h video, 300 products and
// 1,000 intervals stay smooth); all edits are queued one at a time so a fast series of edits to
// one interval never conflicts with itself; every edit is undoable (undo replays through the API,
// so it is itself a versioned change with its own Correction).
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("rv-config").textContent);
  function $(id) { return document.getElementById(id); }
  var video = $("rv-video");
  var HEAD_W = 230, LANE_H = 46, BAR_Y = 5, BAR_H = 22, CURVE_Y = 29, CURVE_H = 14, EDGE_PX = 6;
  var COLORS = {proposed: "#d99a00", accepted: "#1e9e4a", edited: "#2f6fde", rejected: "#9aa1ad"};

  var S = {
    duration: Math.max(0.1, cfg.duration_s || 0.1), fps: 25, products: [], productById: new Map(),
    intervals: new Map(), byProduct: new Map(), lanes: [], curves: {times: [], fused: {}},
    vs: 0, ve: Math.max(0.1, cfg.duration_s || 0.1), selected: null, conf: 0, filter: "", onlyUsed: true,
    undo: [], redo: [], idMap: new Map(), evidence: null, canReview: !!cfg.canReview, t: 0, drag: null,
    pending: 0, thumbs: new Map(), strip: null, perf: {draws: 0, total: 0, last: 0, max: 0, first: null}
  };
  window.__rv = S;

  // ------------------------------------------------------------------ helpers
  function fmt(t) {
    t = Math.max(0, t || 0);
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t - h * 3600 - m * 60;
    var ss = s.toFixed(1); if (s < 10) ss = "0" + ss;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + ss;
  }
  function parseTime(text) {
    text = String(text).trim().replace(",", ".");
    if (!text) return NaN;
    if (/^\d+(\.\d+)?$/.test(text)) return parseFloat(text);
    var parts = text.split(":");
    if (parts.length > 3 || parts.some(function (p) { return !/^\d+(\.\d+)?$/.test(p); })) return NaN;
    return parts.reduce(function (acc, p) { return acc * 60 + parseFloat(p); }, 0);
  }
  function errText(r) {
    var d = r.data || {};
    if (d.detail) return d.detail;
    var k = Object.keys(d)[0];
    return k ? k + ": " + [].concat(d[k]).join(" ") : "error " + r.status;
  }
  function clamp(v, a, b) { return Math.max(a, Math.min(b, v)); }
  function csrf() { var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/); return m ? decodeURIComponent(m[1]) : ""; }
  function urlFor(name, id) { return cfg.urls[name].replace("/intervals/0/", "/intervals/" + id + "/"); }
  function announce(text) { $("rv-live").textContent = text; }
  function showAlert(text) {
    var a = $("rv-alert"); a.textContent = text; a.hidden = false;
    clearTimeout(showAlert.timer); showAlert.timer = setTimeout(function () { a.hidden = true; }, 8000);
  }
  function resolve(id) { while (S.idMap.has(id)) id = S.idMap.get(id); return id; }
  function bsearch(arr, t) { var lo = 0, hi = arr.length; while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < t) lo = mid + 1; else hi = mid; } return lo; }

  function api(method, url, body) {
    var opts = {method: method, credentials: "same-origin", headers: {"Accept": "application/json", "X-CSRFToken": csrf()}};
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (t) {
        var data = {}; try { data = t ? JSON.parse(t) : {}; } catch (e) { data = {message: t.slice(0, 200)}; }
        return {status: r.status, ok: r.ok, data: data};
      });
    });
  }

  // ------------------------------------------------------------------ state
  function setInterval_(iv) {
    var old = S.intervals.get(iv.id);
    S.intervals.set(iv.id, iv);
    if (old && old.product !== iv.product) indexProduct(old.product);
    indexProduct(iv.product);
  }
  function removeInterval(id) {
    var old = S.intervals.get(id);
    if (!old) return;
    S.intervals.delete(id);
    indexProduct(old.product);
    if (S.selected === id) S.selected = null;
  }
  function indexProduct(pid) {
    var list = [];
    S.intervals.forEach(function (iv) { if (iv.product === pid) list.push(iv); });
    list.sort(function (a, b) { return a.start_s - b.start_s || a.end_s - b.end_s || a.id - b.id; });
    if (list.length) S.byProduct.set(pid, list); else S.byProduct.delete(pid);
    if (list.length && S.lanes.indexOf(pid) < 0 && laneMatches(pid)) S.lanes.push(pid);
  }
  function laneMatches(pid) {
    var p = S.productById.get(pid);
    if (!p) return false;
    if (S.onlyUsed && !S.byProduct.has(pid)) return false;
    if (!S.filter) return true;
    var f = S.filter.toLowerCase();
    return p.title.toLowerCase().indexOf(f) >= 0 || p.product_id.toLowerCase().indexOf(f) >= 0;
  }
  function computeLanes() {
    var first = function (pid) { var l = S.byProduct.get(pid); return l ? l[0].start_s : Infinity; };
    S.lanes = S.products.map(function (p) { return p.id; }).filter(laneMatches);
    S.lanes.sort(function (a, b) {
      return first(a) - first(b) || S.productById.get(a).product_id.localeCompare(S.productById.get(b).product_id);
    });
  }
  function hidden(iv) { return iv.status === "proposed" && iv.score < S.conf; }
  function snap(iv) { return {id: iv.id, product: iv.product, start_s: iv.start_s, end_s: iv.end_s, status: iv.status}; }

  function loadCurves() {
    return api("GET", cfg.urls.curves).then(function (r) {
      if (!r.ok) return;
      var c = {times: r.data.times || [], fused: {}};
      Object.keys(r.data.fused_pct || {}).forEach(function (pid) {
        var src = r.data.fused_pct[pid], arr = new Float32Array(src.length);
        for (var i = 0; i < src.length; i++) arr[i] = src[i] / 100;
        c.fused[pid] = arr;
      });
      S.curves = c; $("rv").dataset.curves = "1"; requestDraw(); renderEvidence();
    });
  }
  function load() {
    return api("GET", cfg.urls.data).then(function (r) {
      if (!r.ok) { showAlert("Could not load the timeline: " + errText(r)); return; }
      var d = r.data;
      S.fps = d.video.fps || 25;
      S.duration = Math.max(0.1, d.video.duration_s || video.duration || 0.1);
      if (S.ve > S.duration || S.ve <= S.vs) { S.vs = 0; S.ve = S.duration; }
      S.canReview = d.can_review;
      S.products = d.products;
      S.productById = new Map(d.products.map(function (p) { return [p.id, p]; }));
      S.intervals = new Map(); S.byProduct = new Map();
      d.intervals.forEach(function (iv) { S.intervals.set(iv.id, iv); });
      S.products.forEach(function (p) { indexProduct(p.id); });
      computeLanes();
      $("rv-dur").textContent = fmt(S.duration);
      $("rv").dataset.loaded = "1";
      $("rv").classList.toggle("readonly", !S.canReview);
      resize();
      renderInspector();
      if (d.job) renderJob(d.job);
    });
  }

  // ------------------------------------------------------------------ geometry
  var lanesCanvas = $("rv-lanes"), rulerCanvas = $("rv-ruler"), stripCanvas = $("rv-strip"), wrap = $("rv-lanes-wrap");
  var W = 800, H = 300, dpr = window.devicePixelRatio || 1;
  function x2t(x) { return S.vs + (x - HEAD_W) / Math.max(1, W - HEAD_W) * (S.ve - S.vs); }
  function t2x(t) { return HEAD_W + (t - S.vs) / (S.ve - S.vs) * (W - HEAD_W); }
  function setupCanvas(c, w, h) {
    c.style.width = w + "px"; c.style.height = h + "px";
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    var ctx = c.getContext("2d"); ctx.setTransform(dpr, 0, 0, dpr, 0, 0); return ctx;
  }
  function resize() {
    dpr = window.devicePixelRatio || 1;
    W = Math.max(400, wrap.clientWidth);
    H = Math.max(LANE_H, wrap.clientHeight);
    setupCanvas(lanesCanvas, W, H); setupCanvas(rulerCanvas, W, 34); setupCanvas(stripCanvas, W, 54);
    $("rv-lanes-spacer").style.height = Math.max(0, S.lanes.length * LANE_H - H) + "px";
    resizeBoxes();
    requestDraw();
  }
  function setView(vs, ve) {
    var span = clamp(ve - vs, Math.min(1, S.duration), S.duration);
    vs = clamp(vs, 0, S.duration - span);
    S.vs = vs; S.ve = vs + span; requestDraw();
  }
  function zoom(factor, aroundT) {
    if (aroundT == null) aroundT = (S.t >= S.vs && S.t <= S.ve) ? S.t : (S.vs + S.ve) / 2;
    var span = clamp((S.ve - S.vs) * factor, Math.min(1, S.duration), S.duration);
    var k = (aroundT - S.vs) / (S.ve - S.vs);
    setView(aroundT - k * span, aroundT - k * span + span);
  }
  function fitInterval(iv) {
    iv = iv || S.intervals.get(S.selected);
    if (!iv) { setView(0, S.duration); return; }
    var pad = Math.max(0.5, (iv.end_s - iv.start_s) * 0.25);
    setView(iv.start_s - pad, iv.end_s + pad);
  }

  // ------------------------------------------------------------------ drawing
  var drawPending = false;
  function requestDraw() { if (!drawPending) { drawPending = true; requestAnimationFrame(draw); } }
  function draw() {
    drawPending = false;
    var t0 = performance.now();
    drawRuler(); drawStrip(); drawLanes();
    var dt = performance.now() - t0;
    var p = S.perf; p.draws++; p.total += dt; p.last = dt; p.max = Math.max(p.max, dt);
    if (p.first === null && $("rv").dataset.loaded) p.first = performance.now();
  }

  function tickStep(span, px) {
    var steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    for (var i = 0; i < steps.length; i++) if (steps[i] / span * px >= 90) return steps[i];
    return steps[steps.length - 1];
  }
  function drawRuler() {
    var ctx = rulerCanvas.getContext("2d");
    ctx.clearRect(0, 0, W, 34);
    ctx.fillStyle = "#eef0f4"; ctx.fillRect(0, 0, W, 34);
    // Overview: the whole video, the window on screen, the playhead.
    var ow = W - HEAD_W;
    ctx.fillStyle = "#d5d9e2"; ctx.fillRect(HEAD_W, 2, ow, 8);
    S.intervals.forEach(function (iv) {
      if (hidden(iv)) return;
      ctx.fillStyle = COLORS[iv.status];
      ctx.fillRect(HEAD_W + iv.start_s / S.duration * ow, 4, Math.max(1, (iv.end_s - iv.start_s) / S.duration * ow), 4);
    });
    ctx.strokeStyle = "#1f5fd1"; ctx.lineWidth = 2;
    ctx.strokeRect(HEAD_W + S.vs / S.duration * ow, 1, Math.max(4, (S.ve - S.vs) / S.duration * ow), 10);
    ctx.fillStyle = "#c62828"; ctx.fillRect(HEAD_W + S.t / S.duration * ow - 1, 0, 2, 12);
    ctx.fillStyle = "#5b6475"; ctx.font = "11px system-ui, sans-serif";
    ctx.fillText("overview", 8, 10);
    ctx.fillText(fmt(S.vs) + " – " + fmt(S.ve), 8, 28);
    var step = tickStep(S.ve - S.vs, ow);
    ctx.strokeStyle = "#9aa1ad"; ctx.lineWidth = 1; ctx.beginPath();
    for (var t = Math.ceil(S.vs / step) * step; t <= S.ve; t += step) {
      var x = Math.round(t2x(t)) + 0.5;
      ctx.moveTo(x, 16); ctx.lineTo(x, 34);
      ctx.fillText(step < 1 ? fmt(t) : fmt(t).replace(/\.0$/, ""), x + 3, 27);
    }
    ctx.stroke();
    var px = t2x(S.t);
    if (px >= HEAD_W) { ctx.fillStyle = "#c62828"; ctx.fillRect(px - 1, 14, 2, 20); }
  }

  function drawStrip() {
    var ctx = stripCanvas.getContext("2d"), L = cfg.filmstrip;
    ctx.fillStyle = "#161a21"; ctx.fillRect(0, 0, W, 54);
    ctx.fillStyle = "#c9cfdb"; ctx.font = "12px system-ui, sans-serif"; ctx.fillText("Filmstrip", 10, 31);
    if (!S.strip || !S.strip.complete || !S.strip.naturalWidth) return;
    var h = 50, w = Math.round(h * L.tile_w / L.tile_h), ow = W - HEAD_W;
    var slots = Math.max(1, Math.ceil(ow / w));
    for (var i = 0; i < slots; i++) {
      var x = HEAD_W + i * w, t = x2t(x + w / 2);
      if (t < 0 || t > S.duration) continue;
      var k = clamp(Math.floor(t / L.step_s), 0, L.count - 1);
      ctx.drawImage(S.strip, (k % L.columns) * L.tile_w, Math.floor(k / L.columns) * L.tile_h, L.tile_w, L.tile_h,
                    x, 2, Math.min(w, HEAD_W + ow - x), h);
    }
    var px = t2x(S.t);
    if (px >= HEAD_W) { ctx.fillStyle = "#ff5252"; ctx.fillRect(px - 1, 0, 2, 54); }
  }

  function thumb(p) {
    if (!p.thumbnail) return null;
    var img = S.thumbs.get(p.id);
    if (!img) { img = new Image(); img.onload = requestDraw; img.src = p.thumbnail; S.thumbs.set(p.id, img); }
    return img.complete && img.naturalWidth ? img : null;
  }

  function drawLanes() {
    var ctx = lanesCanvas.getContext("2d");
    var top = wrap.scrollTop;
    ctx.clearRect(0, 0, W, H);
    var first = Math.floor(top / LANE_H), last = Math.min(S.lanes.length - 1, Math.floor((top + H) / LANE_H));
    var sel = S.intervals.get(S.selected);
    var times = S.curves.times || [];
    var i0 = Math.max(0, bsearch(times, S.vs) - 1), i1 = Math.min(times.length, bsearch(times, S.ve) + 1);
    for (var li = first; li <= last; li++) {
      var pid = S.lanes[li], p = S.productById.get(pid), y = li * LANE_H - top;
      ctx.fillStyle = li % 2 ? "#fafbfc" : "#ffffff"; ctx.fillRect(0, y, W, LANE_H);
      if (sel && sel.product === pid) { ctx.fillStyle = "#eef4ff"; ctx.fillRect(0, y, W, LANE_H); }
      // header: thumbnail, title, id
      var img = thumb(p);
      if (img) ctx.drawImage(img, 6, y + 5, 36, 36); else { ctx.fillStyle = "#e3e6ec"; ctx.fillRect(6, y + 5, 36, 36); }
      ctx.fillStyle = "#1d2330"; ctx.font = "600 12.5px system-ui, sans-serif";
      ctx.save(); ctx.beginPath(); ctx.rect(48, y, HEAD_W - 54, LANE_H); ctx.clip();
      ctx.fillText(p.title, 48, y + 19);
      ctx.fillStyle = "#5b6475"; ctx.font = "11px system-ui, sans-serif";
      var n = (S.byProduct.get(pid) || []).length;
      ctx.fillText(p.product_id + " · " + n + " interval" + (n === 1 ? "" : "s"), 48, y + 35);
      ctx.restore();
      // score curve under the lane
      var curve = S.curves.fused && S.curves.fused[p.product_id];
      if (curve && i1 > i0) {
        ctx.save(); ctx.beginPath(); ctx.rect(HEAD_W, y, W - HEAD_W, LANE_H); ctx.clip();
        var base = y + CURVE_Y + CURVE_H;
        ctx.beginPath(); ctx.moveTo(t2x(times[i0]), base);
        var stepPx = (W - HEAD_W) / Math.max(1, i1 - i0);
        if (stepPx >= 1) {
          for (var k = i0; k < i1; k++) ctx.lineTo(t2x(times[k]), base - curve[k] * CURVE_H);
        } else {  // more samples than pixels: one max per pixel column keeps the peaks
          var col = -1, mx = 0;
          for (k = i0; k < i1; k++) {
            var cx = Math.floor(t2x(times[k]));
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
      // bars
      var list = S.byProduct.get(pid) || [];
      ctx.save(); ctx.beginPath(); ctx.rect(HEAD_W, y, W - HEAD_W, LANE_H); ctx.clip();
      for (var j = 0; j < list.length; j++) {
        var iv = list[j];
        if (iv.end_s < S.vs || iv.start_s > S.ve || (hidden(iv) && iv.id !== S.selected)) continue;
        var xa = t2x(iv.start_s), xb = Math.max(xa + 2, t2x(iv.end_s));
        ctx.globalAlpha = iv.status === "proposed" ? 0.35 + 0.65 * clamp(iv.score, 0, 1) : (iv.status === "rejected" ? 0.45 : 1);
        ctx.fillStyle = COLORS[iv.status] || "#777";
        ctx.fillRect(xa, y + BAR_Y, xb - xa, BAR_H);
        if (iv.status === "rejected") {
          ctx.strokeStyle = "#5b6475"; ctx.beginPath();
          for (var hx = xa - BAR_H; hx < xb; hx += 8) { ctx.moveTo(hx, y + BAR_Y + BAR_H); ctx.lineTo(hx + BAR_H, y + BAR_Y); }
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
      if (S.drag && S.drag.kind === "create" && S.drag.pid === pid) {
        var ca = t2x(Math.min(S.drag.t0, S.drag.t1)), cb = t2x(Math.max(S.drag.t0, S.drag.t1));
        ctx.fillStyle = "rgba(31,95,209,0.35)"; ctx.fillRect(ca, y + BAR_Y, cb - ca, BAR_H);
        ctx.strokeStyle = "#1f5fd1"; ctx.setLineDash([4, 3]); ctx.strokeRect(ca, y + BAR_Y, cb - ca, BAR_H); ctx.setLineDash([]);
      }
      ctx.restore();
      ctx.fillStyle = "#e1e4ea"; ctx.fillRect(0, y + LANE_H - 1, W, 1);
    }
    ctx.fillStyle = "#d9dde5"; ctx.fillRect(HEAD_W - 1, 0, 1, H);
    if (!S.lanes.length) {
      ctx.fillStyle = "#5b6475"; ctx.font = "14px system-ui, sans-serif";
      ctx.fillText(S.products.length ? "No lane matches: clear the filter or untick \u201cOnly products with intervals\u201d."
                                     : "This shop has no products yet.", HEAD_W + 16, 28);
    }
    var px = t2x(S.t);
    if (px >= HEAD_W && px <= W) { ctx.fillStyle = "#c62828"; ctx.fillRect(px - 1, 0, 2, H); }
  }

  // ------------------------------------------------------------------ player
  function seek(t) {
    t = clamp(t, 0, S.duration);
    S.t = t;
    try { video.currentTime = t; } catch (e) { /* not ready yet */ }
    onTime();
  }
  function onTime() {
    S.t = video.currentTime || S.t;
    var sel = S.intervals.get(S.selected);
    if ($("rv-loop").checked && sel && !video.paused && (S.t >= sel.end_s || S.t < sel.start_s - 0.25)) {
      video.currentTime = S.t = sel.start_s;
    }
    $("rv-time").textContent = fmt(S.t);
    stripCanvas.setAttribute("aria-valuenow", S.t.toFixed(1));
    stripCanvas.setAttribute("aria-valuetext", fmt(S.t));
    if (!video.paused && (S.t > S.ve || S.t < S.vs)) {  // follow the playhead page by page
      var span = S.ve - S.vs; setView(S.t - span * 0.1, S.t + span * 0.9);
    }
    requestDraw(); scheduleEvidence();
  }
  function tick() { if (!video.paused) { onTime(); requestAnimationFrame(tick); } }
  video.addEventListener("play", function () { $("rv-play").textContent = "Pause"; requestAnimationFrame(tick); });
  video.addEventListener("pause", function () { $("rv-play").textContent = "Play"; onTime(); });
  video.addEventListener("seeked", onTime);
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("loadedmetadata", function () { if (!cfg.duration_s && video.duration) { S.duration = video.duration; setView(0, S.duration); } resizeBoxes(); });
  function togglePlay() { if (video.paused) video.play().catch(function () {}); else video.pause(); }
  $("rv-play").addEventListener("click", togglePlay);
  $("rv-rate").addEventListener("change", function () { video.playbackRate = parseFloat(this.value); });
  $("rv-loop").addEventListener("change", function () { announce(this.checked ? "Looping the selected interval" : "Loop off"); });

  // ------------------------------------------------------------------ saving, undo, conflicts
  var chain = Promise.resolve();
  function queue(fn) {
    S.pending++; setSaveState();
    chain = chain.then(fn).catch(function (e) { showAlert("Could not save: " + (e && e.message || e)); })
      .then(function () { S.pending--; setSaveState(); scheduleHistory(); });
    return chain;
  }
  function setSaveState() {
    $("rv-save").textContent = S.pending ? "Saving…" : "All changes saved";
    $("rv").dataset.pending = String(S.pending);
  }
  function record(label, before, after) {
    S.undo.push({label: label, before: before, after: after}); S.redo = [];
    if (S.undo.length > 200) S.undo.shift();
  }

  function conflictDialog(current, mine) {
    return new Promise(function (done) {
      var dlg = $("rv-conflict");
      var p = function (id) { var x = S.productById.get(id); return x ? x.title : "?"; };
      $("rv-conflict-text").textContent = current
        ? "Your change was not saved because the interval was edited elsewhere after you loaded it (now version " + current.version + "). Nothing is lost: choose which one to keep."
        : "This interval was deleted elsewhere. Your change cannot be applied to it.";
      var rows = [["Product", current ? p(current.product) : "deleted", p(mine.product)],
                  ["Start", current ? fmt(current.start_s) : "", fmt(mine.start_s)],
                  ["End", current ? fmt(current.end_s) : "", fmt(mine.end_s)],
                  ["Status", current ? current.status : "", mine.status]];
      var tb = $("rv-conflict-rows"); tb.textContent = "";
      rows.forEach(function (r) {
        var tr = document.createElement("tr");
        r.forEach(function (c, i) { var td = document.createElement(i ? "td" : "th"); td.textContent = c; if (!i) td.scope = "row"; tr.appendChild(td); });
        tb.appendChild(tr);
      });
      $("rv-conflict-mine").disabled = !current;
      function close(choice) {
        $("rv-conflict-mine").onclick = $("rv-conflict-theirs").onclick = null; dlg.onclose = null;
        if (dlg.open) dlg.close();
        done(choice);
      }
      $("rv-conflict-mine").onclick = function () { close("mine"); };
      $("rv-conflict-theirs").onclick = function () { close("theirs"); };
      dlg.onclose = function () { close("theirs"); };
      dlg.showModal();
      (current ? $("rv-conflict-mine") : $("rv-conflict-theirs")).focus();
    });
  }

  // PATCH one interval; on a stale version ask the reviewer, then retry on top of theirs or adopt theirs.
  function patch(id, changes) {
    var iv = S.intervals.get(id);
    if (!iv) return Promise.reject(new Error("that interval is gone"));
    var body = Object.assign({version: iv.version}, changes);
    return api("PATCH", urlFor("interval", id), body).then(function (r) {
      if (r.ok) { setInterval_(r.data); return r.data; }
      if (r.status === 409) {
        var current = r.data.current;
        var mine = Object.assign({}, snap(iv), changes);
        return conflictDialog(current, mine).then(function (choice) {
          if (!current) { removeInterval(id); requestDraw(); renderInspector(); throw new Error("the interval was deleted elsewhere"); }
          setInterval_(current);
          if (choice === "mine") return patch(id, changes);
          requestDraw(); renderInspector(); announce("Kept the other change");
          return null;
        });
      }
      throw new Error(errText(r));
    });
  }

  function revertTo(before) {
    before.forEach(function (b) { var iv = S.intervals.get(b.id); if (iv) setInterval_(Object.assign({}, iv, b)); });
    requestDraw(); renderInspector();
  }

  function update(iv, changes, label) {
    if (!S.canReview) return;
    var before = [snap(iv)];
    setInterval_(Object.assign({}, iv, changes, changes.status ? {} : (iv.status === "proposed" && (changes.start_s != null || changes.end_s != null || changes.product != null) ? {status: "edited"} : {})));
    requestDraw(); renderInspector();
    return queue(function () {
      return patch(iv.id, changes).then(function (saved) {
        if (saved) record(label, before, [snap(saved)]);
        requestDraw(); renderInspector();
      }, function (e) { revertTo(before); throw e; });
    });
  }

  function createIv(pid, a, b) {
    if (!S.canReview) return;
    return queue(function () {
      return api("POST", cfg.urls.create, {video: cfg.video, product: pid, start_s: +a.toFixed(3), end_s: +b.toFixed(3), status: "accepted"}).then(function (r) {
        if (!r.ok) throw new Error(errText(r));
        setInterval_(r.data); select(r.data.id);
        record("add", [], [snap(r.data)]);
        announce("Added an interval for " + S.productById.get(pid).title);
      });
    });
  }
  function deleteIv(iv) {
    if (!S.canReview || !iv) return;
    var before = [snap(iv)];
    return queue(function () {
      var cur = S.intervals.get(iv.id);
      return api("DELETE", urlFor("interval", iv.id) + "?version=" + cur.version).then(function (r) {
        if (r.status === 409) { if (r.data.current) setInterval_(r.data.current); else removeInterval(iv.id); requestDraw(); throw new Error("the interval changed elsewhere; look again and retry"); }
        if (!r.ok) throw new Error(errText(r));
        removeInterval(iv.id); record("delete", before, []); requestDraw(); renderInspector();
      });
    });
  }
  function splitIv(iv, at) {
    if (!S.canReview || !iv) return;
    if (!(at > iv.start_s + 0.05 && at < iv.end_s - 0.05)) { showAlert("Move the playhead inside the selected interval to split it."); return; }
    var before = [snap(iv)];
    return queue(function () {
      return api("POST", urlFor("split", iv.id), {version: S.intervals.get(iv.id).version, at: +at.toFixed(3)}).then(function (r) {
        if (r.status === 409) { if (r.data.current) setInterval_(r.data.current); requestDraw(); throw new Error("the interval changed elsewhere; look again and retry"); }
        if (!r.ok) throw new Error(errText(r));
        r.data.intervals.forEach(setInterval_);
        record("split", before, r.data.intervals.map(snap)); requestDraw(); renderInspector();
        announce("Split at " + fmt(at));
      });
    });
  }
  function nextOfProduct(iv) {
    var list = S.byProduct.get(iv.product) || [], k = list.indexOf(iv);
    for (var i = k + 1; i < list.length; i++) if (list[i].start_s >= iv.start_s) return list[i];
    return null;
  }
  function mergeIv(iv) {
    if (!S.canReview || !iv) return;
    var other = nextOfProduct(iv);
    if (!other) { showAlert("There is no later interval of this product to merge with."); return; }
    var before = [snap(iv), snap(other)];
    return queue(function () {
      var a = S.intervals.get(iv.id), b = S.intervals.get(other.id);
      return api("POST", urlFor("merge", iv.id), {version: a.version, other: b.id, other_version: b.version}).then(function (r) {
        if (r.status === 409) { throw new Error("one of the two intervals changed elsewhere; reload and retry"); }
        if (!r.ok) throw new Error(errText(r));
        removeInterval(other.id); setInterval_(r.data.interval); select(r.data.interval.id);
        record("merge", before, [snap(r.data.interval)]); requestDraw();
        announce("Merged");
      });
    });
  }

  // Move the server from the states in `from` to the states in `to` (undo and redo).
  function transition(from, to) {
    var fromIds = new Set(from.map(function (s) { return s.id; })), toIds = new Set(to.map(function (s) { return s.id; }));
    var steps = [];
    to.forEach(function (s) {
      if (fromIds.has(s.id)) steps.push(function () {
        var id = resolve(s.id);
        return patch(id, {product: s.product, start_s: s.start_s, end_s: s.end_s, status: s.status});
      });
      else steps.push(function () {
        return api("POST", cfg.urls.create, {video: cfg.video, product: s.product, start_s: s.start_s, end_s: s.end_s, status: s.status}).then(function (r) {
          if (!r.ok) throw new Error(errText(r));
          S.idMap.set(s.id, r.data.id); setInterval_(r.data);
        });
      });
    });
    from.forEach(function (s) {
      if (!toIds.has(s.id)) steps.push(function () {
        var id = resolve(s.id), cur = S.intervals.get(id);
        if (!cur) return null;
        return api("DELETE", urlFor("interval", id) + "?version=" + cur.version).then(function (r) {
          if (!r.ok && r.status !== 409) throw new Error(errText(r));
          if (r.status === 409) throw new Error("the interval changed elsewhere; undo stopped");
          removeInterval(id);
        });
      });
    });
    return steps.reduce(function (p, f) { return p.then(f); }, Promise.resolve());
  }
  function undo() {
    if (!S.canReview) return;
    var e = S.undo.pop();
    if (!e) { announce("Nothing to undo"); return; }
    queue(function () {
      return transition(e.after, e.before).then(function () {
        S.redo.push(e); requestDraw(); renderInspector(); announce("Undid " + e.label);
      });
    });
  }
  function redo() {
    if (!S.canReview) return;
    var e = S.redo.pop();
    if (!e) { announce("Nothing to redo"); return; }
    queue(function () {
      return transition(e.before, e.after).then(function () {
        S.undo.push(e); requestDraw(); renderInspector(); announce("Redid " + e.label);
      });
    });
  }

  function bulkAccept() {
    if (!S.canReview) return;
    var ids = [];
    S.lanes.forEach(function (pid) { (S.byProduct.get(pid) || []).forEach(function (iv) { if (iv.status === "proposed" && iv.score >= S.conf) ids.push(iv.id); }); });
    if (!ids.length) { showAlert("No proposal at or above " + S.conf.toFixed(2) + " in the lanes shown."); return; }
    var before = ids.map(function (id) { return snap(S.intervals.get(id)); });
    queue(function () {
      return api("POST", cfg.urls.bulkAccept, {video: cfg.video, min_score: S.conf, ids: ids}).then(function (r) {
        if (!r.ok) throw new Error(errText(r));
        r.data.intervals.forEach(setInterval_);
        var done = new Set(r.data.intervals.map(function (iv) { return iv.id; }));
        record("bulk accept", before.filter(function (b) { return done.has(b.id); }), r.data.intervals.map(snap));
        requestDraw(); renderInspector();
        announce("Accepted " + r.data.intervals.length + " proposal(s)" + (r.data.skipped.length ? "; " + r.data.skipped.length + " changed elsewhere and were skipped" : ""));
        $("rv-save").textContent = "Accepted " + r.data.intervals.length;
      });
    });
  }

  // ------------------------------------------------------------------ selection & inspector
  function select(id, opts) {
    S.selected = id;
    var iv = S.intervals.get(id);
    if (iv) {
      var li = S.lanes.indexOf(iv.product);
      if (li >= 0 && (li * LANE_H < wrap.scrollTop || (li + 1) * LANE_H > wrap.scrollTop + H)) wrap.scrollTop = Math.max(0, li * LANE_H - H / 3);
      if (iv.end_s < S.vs || iv.start_s > S.ve) { var span = S.ve - S.vs; setView(iv.start_s - span * 0.2, iv.start_s + span * 0.8); }
      var p = S.productById.get(iv.product);
      announce("Selected " + p.title + ", " + fmt(iv.start_s) + " to " + fmt(iv.end_s) + ", " + iv.status);
      if (opts && opts.seek) seek(iv.start_s);
    }
    requestDraw(); renderInspector();
  }
  function visibleSorted() {
    var out = [];
    S.lanes.forEach(function (pid) { (S.byProduct.get(pid) || []).forEach(function (iv) { if (!hidden(iv)) out.push(iv); }); });
    return out.sort(function (a, b) { return a.start_s - b.start_s || a.product - b.product || a.id - b.id; });
  }
  function step(dir) {
    var list = visibleSorted();
    if (!list.length) return;
    var cur = S.intervals.get(S.selected), k;
    if (cur) { k = list.indexOf(cur) + dir; }
    else { k = dir > 0 ? list.findIndex(function (iv) { return iv.start_s >= S.t - 1e-3; }) : -1; if (dir < 0) for (var i = list.length - 1; i >= 0; i--) if (list[i].start_s < S.t) { k = i; break; } }
    if (k < 0 || k >= list.length) { announce(dir > 0 ? "Last interval" : "First interval"); return; }
    select(list[k].id, {seek: true});
  }
  function renderInspector() {
    var iv = S.intervals.get(S.selected);
    $("rv-none").hidden = !!iv; $("rv-form").hidden = !iv;
    if (!iv) return;
    var p = S.productById.get(iv.product);
    $("rv-sel-title").textContent = p.title;
    $("rv-sel-meta").textContent = p.product_id + " · " + iv.status + " · score " + iv.score.toFixed(2) + " · " + iv.origin + " · v" + iv.version;
    var img = $("rv-sel-thumb"); if (p.thumbnail) { img.src = p.thumbnail; img.hidden = false; } else img.hidden = true;
    if (document.activeElement !== $("rv-start")) $("rv-start").value = fmt(iv.start_s);
    if (document.activeElement !== $("rv-end")) $("rv-end").value = fmt(iv.end_s);
    ["rv-accept", "rv-reject", "rv-split", "rv-merge", "rv-delete", "rv-start", "rv-end", "rv-relabel"].forEach(function (id) { $(id).disabled = !S.canReview; });
  }
  function commitTimes() {
    var iv = S.intervals.get(S.selected); if (!iv) return;
    var a = parseTime($("rv-start").value), b = parseTime($("rv-end").value);
    if (isNaN(a) || isNaN(b)) { showAlert("Type times as m:ss.s, h:mm:ss.s or seconds."); renderInspector(); return; }
    if (b <= a) { showAlert("The end must be after the start."); renderInspector(); return; }
    if (Math.abs(a - iv.start_s) < 1e-3 && Math.abs(b - iv.end_s) < 1e-3) return;
    update(iv, {start_s: clamp(a, 0, S.duration), end_s: clamp(b, 0, S.duration)}, "times");
  }
  ["rv-start", "rv-end"].forEach(function (id) {
    $(id).addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); commitTimes(); } if (e.key === "Escape") { renderInspector(); lanesCanvas.focus(); } });
    $(id).addEventListener("change", commitTimes);
  });
  $("rv-form").addEventListener("submit", function (e) { e.preventDefault(); });
  $("rv-accept").addEventListener("click", function () { var iv = S.intervals.get(S.selected); if (iv) update(iv, {status: "accepted"}, "accept"); });
  $("rv-reject").addEventListener("click", function () { var iv = S.intervals.get(S.selected); if (iv) update(iv, {status: "rejected"}, "reject"); });
  $("rv-split").addEventListener("click", function () { splitIv(S.intervals.get(S.selected), S.t); });
  $("rv-merge").addEventListener("click", function () { mergeIv(S.intervals.get(S.selected)); });
  $("rv-delete").addEventListener("click", function () { deleteIv(S.intervals.get(S.selected)); });
  $("rv-fit").addEventListener("click", function () { fitInterval(); });

  // searchable relabel picker (combobox + listbox)
  var picker = {items: [], active: -1};
  function renderPicker() {
    var q = $("rv-relabel").value.trim().toLowerCase(), list = $("rv-picker-list");
    picker.items = S.products.filter(function (p) { return !q || p.title.toLowerCase().indexOf(q) >= 0 || p.product_id.toLowerCase().indexOf(q) >= 0; }).slice(0, 30);
    picker.active = picker.items.length ? clamp(picker.active, 0, picker.items.length - 1) : -1;
    list.textContent = "";
    picker.items.forEach(function (p, i) {
      var li = document.createElement("li");
      li.id = "rv-opt-" + p.id; li.setAttribute("role", "option"); li.setAttribute("aria-selected", String(i === picker.active));
      li.textContent = p.title + " (" + p.product_id + ")";
      li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(p); });
      list.appendChild(li);
    });
    list.hidden = false; $("rv-relabel").setAttribute("aria-expanded", "true");
    $("rv-relabel").setAttribute("aria-activedescendant", picker.active >= 0 ? "rv-opt-" + picker.items[picker.active].id : "");
  }
  function closePicker() { $("rv-picker-list").hidden = true; $("rv-relabel").setAttribute("aria-expanded", "false"); }
  function pick(p) {
    var iv = S.intervals.get(S.selected);
    closePicker(); $("rv-relabel").value = "";
    if (!iv || p.id === iv.product) return;
    if (S.lanes.indexOf(p.id) < 0) S.lanes.push(p.id);
    update(iv, {product: p.id}, "relabel");
    announce("Relabelled as " + p.title);
    lanesCanvas.focus();
  }
  $("rv-relabel").addEventListener("input", function () { picker.active = 0; renderPicker(); });
  $("rv-relabel").addEventListener("focus", renderPicker);
  $("rv-relabel").addEventListener("blur", closePicker);
  $("rv-relabel").addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); picker.active += e.key === "ArrowDown" ? 1 : -1; renderPicker(); }
    else if (e.key === "Enter") { e.preventDefault(); if (picker.items[picker.active]) pick(picker.items[picker.active]); }
    else if (e.key === "Escape") { closePicker(); lanesCanvas.focus(); }
  });

  // ------------------------------------------------------------------ pointer on the timeline
  function laneAt(y) { var li = Math.floor((y + wrap.scrollTop) / LANE_H); return li >= 0 && li < S.lanes.length ? li : -1; }
  function hit(x, y) {
    var li = laneAt(y);
    if (li < 0) return null;
    var pid = S.lanes[li], list = S.byProduct.get(pid) || [], best = null;
    if (x < HEAD_W) return {pid: pid, kind: "header"};
    for (var j = list.length - 1; j >= 0; j--) {
      var iv = list[j]; if (hidden(iv) && iv.id !== S.selected) continue;
      var xa = t2x(iv.start_s), xb = Math.max(xa + 2, t2x(iv.end_s));
      if (S.canReview && Math.abs(x - xa) <= EDGE_PX && (!best || iv.id === S.selected)) best = {pid: pid, iv: iv, kind: "start"};
      else if (S.canReview && Math.abs(x - xb) <= EDGE_PX && (!best || iv.id === S.selected)) best = {pid: pid, iv: iv, kind: "end"};
      else if (!best && x > xa && x < xb) best = {pid: pid, iv: iv, kind: "move"};
    }
    return best || {pid: pid, kind: "create"};
  }
  function pos(e, el) { var r = el.getBoundingClientRect(); return {x: e.clientX - r.left, y: e.clientY - r.top}; }
  var SNAP_PX = 6;
  function snapT(t) { return Math.abs(t2x(t) - t2x(S.t)) <= SNAP_PX ? S.t : t; }

  lanesCanvas.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    var p = pos(e, lanesCanvas), h = hit(p.x, p.y);
    lanesCanvas.focus();
    if (!h) return;
    if (h.kind === "header") { var l = S.byProduct.get(h.pid); if (l && l.length) select(l[0].id, {seek: true}); return; }
    lanesCanvas.setPointerCapture(e.pointerId);
    var t = x2t(p.x);
    S.drag = {kind: h.kind, pid: h.pid, x0: p.x, t0: t, t1: t, moved: false, iv: h.iv ? snap(h.iv) : null, id: h.iv ? h.iv.id : null};
    if (h.iv && h.iv.id !== S.selected) { S.selected = h.iv.id; renderInspector(); }
    if (h.kind === "create" && !S.canReview) S.drag.kind = "seek";
    requestDraw();
  });
  lanesCanvas.addEventListener("pointermove", function (e) {
    var p = pos(e, lanesCanvas), d = S.drag;
    if (!d) {
      var h = hit(p.x, p.y);
      lanesCanvas.style.cursor = !h || h.kind === "header" ? "pointer" : h.kind === "start" || h.kind === "end" ? "ew-resize" : h.kind === "move" ? (S.canReview ? "grab" : "pointer") : (S.canReview ? "crosshair" : "pointer");
      return;
    }
    if (Math.abs(p.x - d.x0) > 3) d.moved = true;
    if (!d.moved) return;
    var t = clamp(x2t(p.x), 0, S.duration), iv = S.intervals.get(d.id), minLen = 0.1;
    d.t1 = snapT(t);
    if (d.kind === "start" && iv) iv.start_s = clamp(d.t1, 0, iv.end_s - minLen);
    else if (d.kind === "end" && iv) iv.end_s = clamp(d.t1, iv.start_s + minLen, S.duration);
    else if (d.kind === "move" && iv && S.canReview) {
      var len = d.iv.end_s - d.iv.start_s, s = clamp(d.iv.start_s + (t - d.t0), 0, S.duration - len);
      iv.start_s = s; iv.end_s = s + len; lanesCanvas.style.cursor = "grabbing";
    }
    requestDraw();
  });
  function endDrag(e) {
    var d = S.drag; if (!d) return;
    S.drag = null;
    var iv = S.intervals.get(d.id);
    if (!d.moved) {
      if (iv) { select(iv.id); seek(x2t(d.x0)); } else { S.selected = null; renderInspector(); seek(x2t(d.x0)); }
      return;
    }
    if ((d.kind === "start" || d.kind === "end" || d.kind === "move") && iv && S.canReview) {
      var changes = {start_s: +iv.start_s.toFixed(3), end_s: +iv.end_s.toFixed(3)};
      Object.assign(iv, {start_s: d.iv.start_s, end_s: d.iv.end_s});  // update() records the old state
      if (Math.abs(changes.start_s - d.iv.start_s) > 1e-3 || Math.abs(changes.end_s - d.iv.end_s) > 1e-3) update(iv, changes, d.kind === "move" ? "move" : "trim");
    } else if (d.kind === "create") {
      var a = Math.min(d.t0, d.t1), b = Math.max(d.t0, d.t1);
      if (b - a >= 0.1) createIv(d.pid, a, b);
    } else if (d.kind === "seek") seek(d.t1);
    requestDraw();
  }
  lanesCanvas.addEventListener("pointerup", endDrag);
  lanesCanvas.addEventListener("pointercancel", function () { S.drag = null; load(); });
  wrap.addEventListener("scroll", requestDraw, {passive: true});

  function onWheel(e, zoomAlways) {
    var p = pos(e, e.currentTarget);
    if (e.ctrlKey || e.metaKey || zoomAlways) {
      e.preventDefault();
      zoom(Math.exp(e.deltaY * 0.0015), p.x >= HEAD_W ? x2t(p.x) : null);
    } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      e.preventDefault();
      var dx = e.shiftKey ? e.deltaY : e.deltaX;
      setView(S.vs + dx / (W - HEAD_W) * (S.ve - S.vs), S.ve + dx / (W - HEAD_W) * (S.ve - S.vs));
    }
  }
  lanesCanvas.addEventListener("wheel", function (e) { onWheel(e, false); }, {passive: false});
  rulerCanvas.addEventListener("wheel", function (e) { onWheel(e, true); }, {passive: false});
  stripCanvas.addEventListener("wheel", function (e) { onWheel(e, true); }, {passive: false});

  // ruler: drag the overview window to pan; click/drag below it to seek
  var rulerDrag = null;
  rulerCanvas.addEventListener("pointerdown", function (e) {
    var p = pos(e, rulerCanvas); if (p.x < HEAD_W) return;
    rulerCanvas.setPointerCapture(e.pointerId);
    var ot = (p.x - HEAD_W) / (W - HEAD_W) * S.duration;
    if (p.y <= 12) {
      if (ot < S.vs || ot > S.ve) { var span = S.ve - S.vs; setView(ot - span / 2, ot + span / 2); }
      rulerDrag = {kind: "pan", x0: p.x, vs: S.vs};
    } else { rulerDrag = {kind: "seek"}; seek(x2t(p.x)); }
  });
  rulerCanvas.addEventListener("pointermove", function (e) {
    if (!rulerDrag) return; var p = pos(e, rulerCanvas);
    if (rulerDrag.kind === "pan") { var dt = (p.x - rulerDrag.x0) / (W - HEAD_W) * S.duration, span = S.ve - S.vs; setView(rulerDrag.vs + dt, rulerDrag.vs + dt + span); }
    else seek(x2t(p.x));
  });
  rulerCanvas.addEventListener("pointerup", function () { rulerDrag = null; });
  stripCanvas.addEventListener("pointerdown", function (e) { var p = pos(e, stripCanvas); if (p.x >= HEAD_W) seek(x2t(p.x)); });
  stripCanvas.addEventListener("keydown", function (e) {
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") { e.preventDefault(); e.stopPropagation(); seek(S.t + (e.key === "ArrowRight" ? 1 : -1) * (e.shiftKey ? 10 : 1)); }
  });

  // ------------------------------------------------------------------ toolbar
  $("rv-zoom-in").addEventListener("click", function () { zoom(0.5); });
  $("rv-zoom-out").addEventListener("click", function () { zoom(2); });
  $("rv-zoom-fit").addEventListener("click", function () { fitInterval(); });
  $("rv-zoom-all").addEventListener("click", function () { setView(0, S.duration); });
  $("rv-conf").addEventListener("input", function () { S.conf = parseFloat(this.value); $("rv-conf-val").textContent = S.conf.toFixed(2); requestDraw(); });
  $("rv-bulk").addEventListener("click", bulkAccept);
  $("rv-filter").addEventListener("input", function () { S.filter = this.value.trim(); computeLanes(); resize(); });
  $("rv-only-used").addEventListener("change", function () { S.onlyUsed = this.checked; computeLanes(); resize(); });
  $("rv-help-btn").addEventListener("click", function () { $("rv-help").showModal(); });
  window.addEventListener("resize", resize);

  // tabs
  var tabs = ["inspector", "evidence", "history"];
  tabs.forEach(function (name, i) {
    var tab = $("tab-" + name);
    tab.addEventListener("click", function () { showTab(name); });
    tab.addEventListener("keydown", function (e) {
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") { e.preventDefault(); var n = tabs[(i + (e.key === "ArrowRight" ? 1 : 2)) % 3]; showTab(n); $("tab-" + n).focus(); }
    });
  });
  function showTab(name) {
    tabs.forEach(function (n) {
      var on = n === name; $("tab-" + n).setAttribute("aria-selected", String(on)); $("tab-" + n).tabIndex = on ? 0 : -1; $("panel-" + n).hidden = !on;
    });
    if (name === "history") loadHistory();
    if (name === "evidence") renderEvidence();
  }

  // ------------------------------------------------------------------ keyboard
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.target.isContentEditable) return;
    if (document.querySelector("dialog[open]")) return;
    var key = e.key, iv = S.intervals.get(S.selected), ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && (key === "z" || key === "Z")) { e.preventDefault(); if (e.shiftKey) redo(); else undo(); return; }
    if (ctrl && (key === "y" || key === "Y")) { e.preventDefault(); redo(); return; }
    if (ctrl || e.altKey) return;
    var handled = true;
    switch (key) {
      case " ": if (tag === "button" || tag === "a") { handled = false; break; } togglePlay(); break;
      case "k": case "K": video.pause(); break;
      case "l": case "L":
        if (video.paused) { video.playbackRate = 1; video.play().catch(function () {}); }
        else video.playbackRate = Math.min(8, video.playbackRate * 2);
        $("rv-rate").value = String(video.playbackRate); break;
      case "j": case "J": seek(S.t - 5); break;
      case "ArrowLeft": video.pause(); seek(S.t - (e.shiftKey ? 1 : 1 / S.fps)); break;
      case "ArrowRight": video.pause(); seek(S.t + (e.shiftKey ? 1 : 1 / S.fps)); break;
      case "[": if (iv) { if (S.t < iv.end_s - 0.05) update(iv, {start_s: +S.t.toFixed(3)}, "set start"); else showAlert("The start must be before the end."); } break;
      case "]": if (iv) { if (S.t > iv.start_s + 0.05) update(iv, {end_s: +S.t.toFixed(3)}, "set end"); else showAlert("The end must be after the start."); } break;
      case "a": case "A": if (iv) update(iv, {status: "accepted"}, "accept"); break;
      case "r": case "R": if (iv) update(iv, {status: "rejected"}, "reject"); break;
      case "s": case "S": if (iv) splitIv(iv, S.t); break;
      case "m": case "M": if (iv) mergeIv(iv); break;
      case "n": case "N": step(1); break;
      case "p": case "P": step(-1); break;
      case "o": case "O": $("rv-loop").checked = !$("rv-loop").checked; announce($("rv-loop").checked ? "Loop on" : "Loop off"); break;
      case "f": case "F": fitInterval(); break;
      case "0": setView(0, S.duration); break;
      case "+": case "=": zoom(0.5); break;
      case "-": case "_": zoom(2); break;
      case "Delete": case "Backspace": if (iv) deleteIv(iv); break;
      case "Escape": S.selected = null; renderInspector(); requestDraw(); break;
      case "?": $("rv-help").showModal(); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });

  // ------------------------------------------------------------------ evidence & boxes
  var boxesCanvas = $("rv-boxes");
  function resizeBoxes() {
    var r = video.getBoundingClientRect();
    setupCanvas(boxesCanvas, Math.max(1, r.width), Math.max(1, r.height));
    drawBoxes();
  }
  function drawBoxes() {
    var ctx = boxesCanvas.getContext("2d"), w = boxesCanvas.clientWidth, h = boxesCanvas.clientHeight;
    ctx.clearRect(0, 0, w, h);
    var ev = S.evidence;
    if (!ev || !ev.boxes.length || !$("rv-show-boxes").checked) return;
    // the picture inside the element (object-fit: contain)
    var vw = video.videoWidth || 16, vh = video.videoHeight || 9, k = Math.min(w / vw, h / vh);
    var pw = vw * k, ph = vh * k, ox = (w - pw) / 2, oy = (h - ph) / 2;
    var times = ev.boxTimes, i = bsearch(times, S.t - 0.5), shown = 0;
    var near = Infinity;
    for (var j = i; j < times.length && times[j] <= S.t + 0.5; j++) near = Math.min(near, Math.abs(times[j] - S.t));
    for (j = i; j < times.length && times[j] <= S.t + 0.5; j++) {
      if (Math.abs(Math.abs(times[j] - S.t) - near) > 1e-3) continue;
      var b = ev.boxes[j], hue = ((b[5] * 67) % 360 + 360) % 360;
      ctx.strokeStyle = "hsl(" + hue + ",90%,55%)"; ctx.lineWidth = 2;
      ctx.strokeRect(ox + b[1] * pw, oy + b[2] * ph, (b[3] - b[1]) * pw, (b[4] - b[2]) * ph);
      ctx.fillStyle = "hsl(" + hue + ",90%,35%)"; ctx.font = "11px system-ui, sans-serif";
      if (b[5] >= 0) { ctx.fillRect(ox + b[1] * pw, oy + b[2] * ph - 14, 48, 14); ctx.fillStyle = "#fff"; ctx.fillText("track " + b[5], ox + b[1] * pw + 3, oy + b[2] * ph - 3); }
      shown++;
    }
    boxesCanvas.dataset.shown = String(shown);
  }
  $("rv-show-boxes").addEventListener("change", drawBoxes);
  function loadEvidence() {
    return api("GET", cfg.urls.evidence).then(function (r) {
      if (!r.ok) return;
      S.evidence = r.data;
      S.evidence.boxTimes = r.data.boxes.map(function (b) { return b[0]; });
      renderEvidence(); drawBoxes();
    });
  }
  var evTimer = null;
  function scheduleEvidence() { if (!evTimer) evTimer = setTimeout(function () { evTimer = null; renderEvidence(); drawBoxes(); }, 150); }
  function renderEvidence() {
    var ev = S.evidence, t = S.t;
    $("ev-time").textContent = fmt(t);
    if (!ev || $("panel-evidence").hidden) return;
    // modalities: the selected product, then the best fused scores here
    var times = ev.times || [], idx = clamp(bsearch(times, t), 0, Math.max(0, times.length - 1));
    var box = $("ev-modalities"); box.textContent = "";
    if (times.length) {
      var scored = S.products.map(function (p) { var c = S.curves.fused[p.product_id]; return {p: p, s: c ? c[idx] || 0 : 0}; })
        .sort(function (a, b) { return b.s - a.s; }).slice(0, 3);
      var sel = S.intervals.get(S.selected);
      if (sel && !scored.some(function (x) { return x.p.id === sel.product; })) {
        var sp = S.productById.get(sel.product), c0 = S.curves.fused[sp.product_id]; scored.unshift({p: sp, s: c0 ? c0[idx] || 0 : 0});
      }
      scored.forEach(function (x) {
        var div = document.createElement("div"); div.className = "ev-product";
        var title = document.createElement("div"); title.className = "ev-title"; title.textContent = x.p.title + " — fused " + x.s.toFixed(2);
        div.appendChild(title);
        Object.keys(ev.modalities || {}).forEach(function (m) {
          var arr = ev.modalities[m][x.p.product_id]; var v = arr ? arr[idx] || 0 : 0;
          var row = document.createElement("div"); row.className = "ev-row" + (v >= 0.5 ? " fired" : "");
          row.innerHTML = "<span class='ev-name'></span><span class='ev-bar'><span></span></span><span class='ev-val'></span>";
          row.children[0].textContent = m.replace("_", " ");
          row.children[1].firstChild.style.width = Math.round(clamp(v, 0, 1) * 100) + "%";
          row.children[2].textContent = v.toFixed(2);
          row.setAttribute("aria-label", m + " " + v.toFixed(2) + (v >= 0.5 ? ", fired" : ""));
          div.appendChild(row);
        });
        box.appendChild(div);
      });
    } else box.textContent = "No score curves for this video yet.";
    var words = (ev.transcript || []).filter(function (w) { return w[1] >= t - 4 && w[0] <= t + 4; });
    var sp2 = $("ev-speech"); sp2.textContent = "";
    if (!words.length) sp2.textContent = "No speech here.";
    words.forEach(function (w) {
      var el = document.createElement(w[0] <= t && w[1] >= t ? "mark" : "span"); el.textContent = w[2] + " "; el.title = fmt(w[0]); sp2.appendChild(el);
    });
    fillList($("ev-screen"), (ev.screen_text || []).filter(function (s) { return Math.abs(s[0] - t) <= 5; }).map(function (s) { return fmt(s[0]) + "  " + s[1]; }), "No screen text here.");
    fillList($("ev-comments"), (ev.comments || []).filter(function (c) { return Math.abs(c[0] - t) <= 15; }).map(function (c) { return fmt(c[0]) + "  " + c[1] + ": " + c[2]; }), "No comments here.");
  }
  function fillList(ul, items, empty) {
    ul.textContent = "";
    (items.length ? items.slice(0, 12) : [empty]).forEach(function (s) { var li = document.createElement("li"); li.textContent = s; if (!items.length) li.className = "muted"; ul.appendChild(li); });
  }

  // ------------------------------------------------------------------ history
  var histTimer = null;
  function scheduleHistory() { clearTimeout(histTimer); histTimer = setTimeout(function () { if (!$("panel-history").hidden) loadHistory(); }, 400); }
  function describe(s) {
    if (!s) return "—";
    return s.product_id + " " + fmt(s.start_s) + "–" + fmt(s.end_s) + " " + s.status;
  }
  function loadHistory() {
    return api("GET", cfg.urls.history + "&limit=100").then(function (r) {
      if (!r.ok) return;
      var ol = $("rv-history"); ol.textContent = "";
      if (!r.data.length) { var li0 = document.createElement("li"); li0.className = "muted"; li0.textContent = "No corrections yet."; ol.appendChild(li0); }
      r.data.forEach(function (c) {
        var li = document.createElement("li");
        var when = new Date(c.created);
        var head = document.createElement("div"); head.className = "h-head";
        head.innerHTML = "<strong></strong> <span class='muted'></span>";
        head.children[0].textContent = c.action; head.children[1].textContent = (c.user || "someone") + " · " + when.toLocaleTimeString();
        var body = document.createElement("div"); body.className = "h-body";
        body.textContent = describe(c.before) + " → " + describe(c.after);
        li.appendChild(head); li.appendChild(body);
        if (c.interval && S.intervals.has(c.interval)) {
          var b = document.createElement("button"); b.type = "button"; b.className = "link"; b.textContent = "Show";
          b.setAttribute("aria-label", "Show interval of this " + c.action);
          b.addEventListener("click", function () { select(c.interval, {seek: true}); });
          li.appendChild(b);
        }
        ol.appendChild(li);
      });
    });
  }

  // ------------------------------------------------------------------ job progress
  function renderJob(job) {
    var box = $("rv-job"), active = job.status === "queued" || job.status === "running";
    box.hidden = !(active || job.status === "failed");
    $("rv-job-status").textContent = job.status; $("rv-job-status").className = "status status-" + job.status;
    $("rv-job-stage").textContent = job.stage ? "· " + job.stage : "";
    $("rv-job-progress").value = job.progress || 0;
    $("rv-job-pct").textContent = Math.round((job.progress || 0) * 100) + "%";
    $("rv-job-eta").textContent = job.eta_s != null ? "about " + Math.max(1, Math.round(job.eta_s)) + " s left" : "";
    $("rv-job-msg").textContent = job.status === "failed" ? job.message : "";
    if (active && cfg.urls.job && !renderJob.polling) {
      renderJob.polling = true;
      var poll = function () {
        api("GET", cfg.urls.job).then(function (r) {
          if (!r.ok) { setTimeout(poll, 4000); return; }
          renderJob.polling = false;
          var still = r.data.status === "queued" || r.data.status === "running";
          renderJob(r.data);
          if (still && cfg.live && !S.pending && !S.drag) load();  // a live stream: its intervals so far
          if (!still) { load().then(loadCurves).then(loadEvidence); $("rv-job").hidden = r.data.status !== "failed"; }
        });
      };
      setTimeout(poll, 1500);
    }
  }

  // ------------------------------------------------------------------ start
  // Geometry and a few actions for tests and for the console.
  S.geom = {t2x: function (t) { return t2x(t); }, x2t: function (x) { return x2t(x); }, headW: HEAD_W, laneH: LANE_H,
            barY: BAR_Y, barH: BAR_H, laneTop: function (pid) { return S.lanes.indexOf(pid) * LANE_H - wrap.scrollTop; }};
  S.seek = seek; S.select = select; S.setView = setView; S.draw = draw;
  S.strip = new Image(); S.strip.onload = requestDraw; S.strip.src = cfg.urls.filmstrip;
  setSaveState(); $("rv-save").textContent = "";
  showTab("inspector");
  // Lanes first, then curves, then the evidence: one request at a time, so the first draw of a
  // long video with many products never waits behind the heavy ones.
  load().then(function () { lanesCanvas.focus({preventScroll: true}); return loadCurves(); }).then(loadEvidence);
})();
