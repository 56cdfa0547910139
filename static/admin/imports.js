// Live progress of a running import: poll its JSON status, move the bar, and reload the page (to show the
// report) once the run is over.
(function () {
  "use strict";
  function refresh(box) {
    fetch(box.dataset.importProgressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var bar = box.querySelector("progress");
        var label = box.querySelector("[data-progress-label]");
        if (bar) { bar.value = data.percent; }
        if (label) { label.textContent = data.percent + " %"; }
        if (data.status === "analysing" || data.status === "committing") {
          window.setTimeout(function () { refresh(box); }, 1500);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(function () { refresh(box); }, 5000); });
  }
  document.querySelectorAll("[data-import-progress-url]").forEach(function (box) { refresh(box); });
})();
