// Segment form: as filters change, the server counts the members of the unsaved rules (with the same SQL
// that plans a campaign) and shows the first few, before anyone saves.
(function () {
  "use strict";
  var form = document.getElementById("segment");
  var target = document.getElementById("segment-preview");
  if (!form || !target || !form.dataset.previewUrl) { return; }
  var timer = null;
  var latest = 0;
  function refresh() {
    var asked = ++latest;
    fetch(form.dataset.previewUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { if (asked === latest) { target.innerHTML = html; } })
      .catch(function () { target.textContent = ""; });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();
