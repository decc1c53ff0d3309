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

  function render(job) {
    var status = document.getElementById("job-status");
    status.textContent = labels[job.status] || job.status;
    status.className = "status status-" + job.status;
    document.getElementById("job-stage").textContent = job.stage || "";
    document.getElementById("job-progress").value = job.progress;
    document.getElementById("job-progress-text").textContent = Math.round(job.progress * 100) + "%";
    document.getElementById("job-eta").textContent = job.eta_s != null ? "About " + fmt(job.eta_s) + " left" : "";
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
