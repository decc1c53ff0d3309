// The live "now showing" card: long polls now.json (the server answers when the product on
// screen changes, or after its long-poll timeout); when the server says poll_ms > 0 (it holds
// too many long polls) or a request fails, it polls instead. No product: no card.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("lv-config").textContent);
  var box = document.getElementById("lv-card"), badge = document.getElementById("lv-badge");
  var version = -1, shown = null, failures = 0;

  function render(s) {
    badge.hidden = s.state !== "live";
    var p = s.product, key = p ? p.product_id : null;
    if (key === shown) return;
    shown = key;
    box.textContent = "";
    if (!p) { document.body.dataset.product = ""; window.dispatchEvent(new CustomEvent("lv-change", {detail: null})); return; }
    var card = document.createElement("article"); card.className = "nv-card"; card.dataset.product = p.product_id;
    if (p.thumbnail) { var img = document.createElement("img"); img.src = p.thumbnail; img.alt = ""; card.appendChild(img); }
    var text = document.createElement("div");
    var h = document.createElement("h2"); h.textContent = p.title; text.appendChild(h);
    var id_ = document.createElement("div"); id_.className = "nv-id"; id_.textContent = p.product_id; text.appendChild(id_);
    if (p.description) { var d = document.createElement("p"); d.textContent = p.description; text.appendChild(d); }
    card.appendChild(text); box.appendChild(card);
    document.body.dataset.product = p.product_id;
    window.dispatchEvent(new CustomEvent("lv-change", {detail: p.product_id}));
  }

  function next(s) {
    version = s.version; render(s);
    if (!s.live) {  // ended: nothing more is coming (a restart is a new session)
      if (s.video_viewer && !box.dataset.ended) {
        box.dataset.ended = "1";
        var a = document.createElement("a"); a.href = s.video_viewer; a.className = "lv-ended";
        a.textContent = "The live stream has ended: watch the recording"; box.appendChild(a);
      }
      return;
    }
    setTimeout(poll, s.poll_ms || 0);
  }

  function poll() {
    var url = cfg.now + (cfg.now.indexOf("?") < 0 ? "?" : "&") + "after=" + version;
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (s) { failures = 0; next(s); },
            function () { failures++; setTimeout(poll, Math.min(15000, cfg.poll_ms * failures)); });
  }

  next(Object.assign({}, cfg.state, {poll_ms: 0}));
})();
