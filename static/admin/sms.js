// SMS composer: choosing a text-only channel (the form's data-text-only, from the channel registry) hides
// the email-only fields (subject, HTML, email preview); on SMS the segment counter follows the text as one
// types; the server counts it, mentions included, exactly as the API's preview does.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form || !form.dataset.segmentsUrl) { return; }
  var channel = form.elements.namedItem("channel");
  var timer = null;
  var textOnly = (form.dataset.textOnly || "").split(" ");
  function isSms() { return channel && channel.value === "sms"; }
  function text(id, value) { document.getElementById(id).textContent = value; }
  function toggle() {
    var sms = isSms();
    var bare = channel && textOnly.indexOf(channel.value) >= 0;
    document.querySelectorAll(".email-only").forEach(function (el) { el.hidden = bare; });
    document.querySelectorAll(".sms-only").forEach(function (el) { el.hidden = !sms; });
  }
  function show(data) {
    var errors = data.errors || {};
    text("sms-error", Object.keys(errors).map(function (n) { return n + ": " + errors[n]; }).join("; "));
    if (data.errors) { return; }
    text("sms-characters", data.characters);
    text("sms-encoding", data.encoding);
    text("sms-segments", data.segments);
    text("sms-messages", data.messages);
  }
  function count() {
    if (!isSms()) { return; }
    var body = new FormData();
    body.append("csrf_token", form.elements.namedItem("csrf_token").value);
    body.append("kind", form.elements.namedItem("kind").value);
    body.append("body_text", form.elements.namedItem("body_text").value);
    fetch(form.dataset.segmentsUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(show)
      .catch(function () { text("sms-error", "counter unavailable"); });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 300);
  });
  form.addEventListener("change", function (event) {
    if (event.target === channel) { toggle(); count(); }
  });
  toggle();
  count();
})();
