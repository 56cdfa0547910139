// Live progress without reloading: every element with data-progress-url is refreshed every 2 seconds
// until its campaign is no longer sending.
(function () {
  "use strict";
  function refresh(box) {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var bar = box.querySelector("progress");
        var label = box.querySelector("[data-progress-label]");
        var status = box.querySelector("[data-progress-status]");
        if (bar) { bar.max = 100; bar.value = data.percent; }
        if (label) { label.textContent = data.percent + " % (" + data.done + " / " + data.total + ")"; }
        if (status) { status.textContent = data.status_label || data.status; }
        if (data.status === "sending" || data.status === "scheduled") {
          window.setTimeout(function () { refresh(box); }, 2000);
        }
      })
      .catch(function () { window.setTimeout(function () { refresh(box); }, 5000); });
  }
  document.querySelectorAll("[data-progress-url]").forEach(function (box) { refresh(box); });
})();
