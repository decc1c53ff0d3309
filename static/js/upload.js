// Video upload with a progress bar: XMLHttpRequest reports upload progress, fetch() does not.
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

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    button.disabled = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("id_file").files[0];
    errorBox.hidden = true;
    if (file && maxBytes && file.size > maxBytes) {
      showError(file.name + " is larger than the upload limit of " + Math.round(maxBytes / 1048576) + " MB");
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      text.textContent = pct + "% (" + (e.loaded / 1048576).toFixed(1) + " of " + (e.total / 1048576).toFixed(1) + " MB)";
    });
    xhr.upload.addEventListener("load", function () { text.textContent = "Checking the video…"; });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (ignored) {}
      if (xhr.status === 201 && body.redirect) { window.location.assign(body.redirect); return; }
      wrap.hidden = true;
      showError(body.error || ("Upload failed (HTTP " + xhr.status + ")."));
    });
    xhr.addEventListener("error", function () { wrap.hidden = true; showError("The connection was lost during the upload; try again."); });
    wrap.hidden = false;
    bar.value = 0;
    button.disabled = true;
    xhr.send(new FormData(form));
  });
})();
