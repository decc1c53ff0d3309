// Video upload with a progress bar. The file goes up resumably (tus, static/vendor/tus-js-client):
// a dropped connection is retried and resumes where it stopped, and choosing the same file again
// after closing the page resumes it too. Then the form (title, comments, the upload's id) is
// posted, and the server checks and stores the video. Without tus support, one multipart POST.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;  // plain form post still works
  var wrap = document.getElementById("upload-progress-wrap");
  var bar = document.getElementById("upload-progress");
  var text = document.getElementById("upload-progress-text");
  var errorBox = document.getElementById("upload-error");
  var button = form.querySelector("button[type=submit]");
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var finished = null;  // {file, id} of the last upload that went up whole

  function showError(message) {
    wrap.hidden = true;
    errorBox.textContent = message;
    errorBox.hidden = false;
    button.disabled = false;
  }

  function showProgress(loaded, total) {
    var pct = total ? Math.round((loaded / total) * 100) : 0;
    bar.value = pct;
    text.textContent = pct + "% (" + (loaded / 1048576).toFixed(1) + " of " + (total / 1048576).toFixed(1) + " MB)";
  }

  function errorOf(xhr) {
    var body = {};
    try { body = JSON.parse(xhr.responseText); } catch (ignored) {}
    return body;
  }

  // The form itself, with the finished upload's id instead of the file (or the file, without tus).
  function postForm(uploadId) {
    var data = new FormData(form);
    if (uploadId) { data.delete("file"); data.append("upload", uploadId); }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    if (!uploadId) {
      xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) showProgress(e.loaded, e.total); });
    }
    xhr.addEventListener("load", function () {
      var body = errorOf(xhr);
      if (xhr.status === 201 && body.redirect) { window.location.assign(body.redirect); return; }
      if (xhr.status === 503 && body.redirect) {  // saved; the job starts when the queue is back
        showError(body.error);
        var link = document.createElement("a");
        link.href = body.redirect; link.textContent = " Open the video.";
        errorBox.appendChild(link);
        return;
      }
      showError(body.error || ("Upload failed (HTTP " + xhr.status + ")."));
    });
    xhr.addEventListener("error", function () { showError("The connection was lost; try again."); });
    text.textContent = "Checking the video…";
    xhr.send(data);
  }

  function tusError(err) {
    var response = err && err.originalResponse;
    if (response) {
      try {
        var body = JSON.parse(response.getBody());
        if (body.error) return body.error;
      } catch (ignored) {}
    }
    return "The upload stopped (" + (err && err.message ? err.message.split("\n")[0] : "connection lost") +
      "); choose the same file again to resume where it stopped.";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("id_file").files[0];
    errorBox.hidden = true;
    if (file && maxBytes && file.size > maxBytes) {
      showError(file.name + " is larger than the upload limit of " + Math.round(maxBytes / 1048576) + " MB");
      return;
    }
    wrap.hidden = false;
    bar.value = 0;
    button.disabled = true;
    if (!file || !window.tus || !window.tus.isSupported) { postForm(null); return; }
    // Sent already (the form was refused for its comments file, say): only the form again.
    if (finished && finished.file === file) { postForm(finished.id); return; }
    var upload = new window.tus.Upload(file, {
      endpoint: form.dataset.tusEndpoint,
      chunkSize: parseInt(form.dataset.chunkBytes, 10) || 64 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      metadata: { filename: file.name, shop: form.dataset.shop },
      headers: { "X-CSRFToken": csrf },
      removeFingerprintOnSuccess: true,
      onProgress: showProgress,
      onError: function (err) { showError(tusError(err)); },
      onSuccess: function () {
        finished = { file: file, id: upload.url.replace(/\/+$/, "").split("/").pop() };
        postForm(finished.id);
      }
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
})();
