// Live job status on the video page: polls the job's JSON every 2 s while it is queued or running.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var url = box.dataset.statusUrl;
  var labels = {queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled"};

  function fmt(seconds) {
    if (seconds == null) return "";
    seconds = Math.round(seconds);
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m ? m + " min " + s + " s" : s + " s";
  }

  // A long video runs as parts on several workers: one line per part, with its own progress.
  function renderSegments(segments) {
    var list = document.getElementById("job-segments");
    if (!list) return;
    list.hidden = !segments.length;
    list.textContent = "";
    segments.forEach(function (s) {
      var li = document.createElement("li");
      li.className = "segment segment-" + s.status;
      var text = "Part " + (s.index + 1) + " (" + s.span + "): " + s.label;
      if (s.status === "running") text += (s.stage ? ", " + s.stage : "") + " " + Math.round(s.progress * 100) + "%";
      if (s.status === "done" && s.seconds != null) text += " in " + fmt(s.seconds);
      if (s.worker) text += " · " + s.worker.split(":")[0];
      li.textContent = text;
      if (s.status === "running") {
        var bar = document.createElement("progress");
        bar.max = 1; bar.value = s.progress;
        bar.setAttribute("aria-label", "Part " + (s.index + 1) + " progress");
        li.appendChild(document.createTextNode(" "));
        li.appendChild(bar);
      }
      list.appendChild(li);
    });
  }

  function render(job) {
    var status = document.getElementById("job-status");
    status.textContent = labels[job.status] || job.status;
    status.className = "status status-" + job.status;
    document.getElementById("job-stage").textContent = job.stage || "";
    document.getElementById("job-progress").value = job.progress;
    document.getElementById("job-progress-text").textContent = Math.round(job.progress * 100) + "%";
    document.getElementById("job-eta").textContent = job.eta_s != null ? "About " + fmt(job.eta_s) + " left" : "";
    renderSegments(job.segments || []);
    var msg = document.getElementById("job-message");
    msg.textContent = job.message || "";
    if (job.status === "failed") { msg.className = "error"; msg.setAttribute("role", "alert"); }
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        var was = box.dataset.status;
        render(job);
        box.dataset.status = job.status;
        if (job.status === "queued" || job.status === "running") setTimeout(poll, 2000);
        else if (was === "queued" || was === "running") window.location.reload();  // show results and buttons
      })
      .catch(function () { setTimeout(poll, 5000); });
  }

  if (box.dataset.status === "queued" || box.dataset.status === "running") setTimeout(poll, 2000);
})();
