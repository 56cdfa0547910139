// Live preview of the campaign being composed: the form is posted (not saved) a moment after each
// change, and the server answers with the message exactly as it would be rendered, or the errors.
// The HTML part is posted into the sandboxed frame, which then holds a document of its own under the
// message's CSP: written in with srcdoc, it would inherit this page's CSP and lose its inline styles.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form) { return; }
  var timer = null;
  function text(id, value) { document.getElementById(id).textContent = value; }
  function show(data) {
    var errors = data.errors || {};
    var names = Object.keys(errors);
    text("preview-errors", names.map(function (n) { return n + ": " + errors[n]; }).join("\n"));
    var lines = document.getElementById("preview-errors-lines");
    var first = names.length && data.excerpts ? data.excerpts[names[0]] : null;
    lines.hidden = !first || !first.length;
    lines.textContent = "";
    (first || []).forEach(function (line) {
      var span = document.createElement("span");
      if (line[2]) { span.className = "bad"; }
      span.textContent = String(line[0]).padStart(3, " ") + " | " + line[1] + "\n";
      lines.appendChild(span);
    });
    if (names.length) { return; }
    text("preview-subject", data.subject);
    text("preview-headers", data.headers.map(function (h) { return h[0] + ": " + h[1]; }).join("\n"));
    text("preview-text", data.text);
    postToFrame();
  }
  function postToFrame() {
    var target = document.createElement("form");
    target.method = "post";
    target.action = form.dataset.messageUrl;
    target.target = "preview-html";
    target.hidden = true;
    new FormData(form).forEach(function (value, name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      target.appendChild(input);
    });
    document.body.appendChild(target);
    target.submit();
    target.remove();
  }
  function refresh() {
    fetch(form.dataset.previewUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(show)
      .catch(function () { text("preview-errors", "preview unavailable"); });
  }
  // The preview frame at 600 or 390 pixels wide: the message's own media queries answer to its width.
  var frame = document.getElementById("preview-html");
  document.querySelectorAll("input[name=preview-width]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      frame.classList.remove("width-600", "width-390");
      frame.classList.add("width-" + radio.value);
    });
  });
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 500);
  });
  refresh();
})();
