// "Now showing": the cards of the products whose accepted intervals contain the current time.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("nv-data").textContent);
  var video = document.getElementById("nv-video"), box = document.getElementById("nv-cards"), empty = document.getElementById("nv-empty");
  var shown = "";
  function update() {
    var t = video.currentTime, ids = [];
    data.intervals.forEach(function (iv) { if (iv.start_s <= t && t < iv.end_s && ids.indexOf(iv.product) < 0) ids.push(iv.product); });
    var key = ids.join(",");
    if (key === shown) return;
    shown = key; box.textContent = "";
    ids.forEach(function (id) {
      var p = data.products[id]; if (!p) return;
      var card = document.createElement("article"); card.className = "nv-card"; card.dataset.product = p.product_id;
      if (p.thumbnail) { var img = document.createElement("img"); img.src = p.thumbnail; img.alt = ""; card.appendChild(img); }
      var text = document.createElement("div");
      var h = document.createElement("h2"); h.textContent = p.title; text.appendChild(h);
      var id_ = document.createElement("div"); id_.className = "nv-id"; id_.textContent = p.product_id; text.appendChild(id_);
      if (p.description) { var d = document.createElement("p"); d.textContent = p.description; text.appendChild(d); }
      card.appendChild(text); box.appendChild(card);
    });
    empty.hidden = ids.length > 0;
    empty.textContent = video.currentTime > 0 ? "No product is being presented right now." : "Play the video: the products presented appear here.";
  }
  ["timeupdate", "seeked", "play", "loadedmetadata"].forEach(function (e) { video.addEventListener(e, update); });
  update();
})();
