// The composer's body: a Quill editor over the body's textarea when the body is rich text, the notice of
// what switching formats keeps and loses, the insert menu of contact fields, and the derived-text switch.
// Without JavaScript the textarea, the "Convert" button and the checkbox do the same work.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  var area = document.getElementById("body-area");
  if (!form || !area) { return; }
  var source = document.getElementById("body_source");
  var format = document.getElementById("body_format");
  var written = document.getElementById("source_format");
  var notice = document.getElementById("format-notice");
  var insert = document.getElementById("insert-field");
  var text = document.getElementById("body_text");
  var derived = document.getElementById("body_text_derived");
  var sample = document.getElementById("preview-sample");
  var notices = JSON.parse(area.dataset.notices || "{}");
  var editor = null;

  function changed() {
    // The live preview (compose.js) listens for input events on the form.
    form.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function editorHtml() {
    // Quill writes spaces as &nbsp;, which would break a {{ … }} expression: plain spaces are sent.
    return editor.getSemanticHTML().replace(/&nbsp;/g, " ");
  }

  function startEditor() {
    var box = document.createElement("div");
    box.id = "richtext-editor";
    source.parentNode.insertBefore(box, source);
    source.hidden = true;
    editor = new Quill(box, {
      theme: "snow",
      modules: {
        toolbar: [
          [{ header: [1, 2, 3, false] }],
          ["bold", "italic", "underline", "link"],
          [{ list: "ordered" }, { list: "bullet" }],
          [{ align: [] }],
          ["clean"]
        ]
      }
    });
    // What the editor cannot hold (scripts, handlers, styles it does not know) is dropped as it loads;
    // the server sanitises the result again, as every format.
    editor.setContents(editor.clipboard.convert({ html: source.value }), "silent");
    editor.on("text-change", function () {
      source.value = editorHtml();
      changed();
    });
  }

  if (format.value === "richtext" && written.value === "richtext" && typeof Quill !== "undefined") {
    startEditor();
  }

  format.addEventListener("change", function () {
    var target = format.value;
    notice.hidden = target === written.value;
    notice.textContent = target === written.value ? "" : (notices[target] || "");
  });

  insert.addEventListener("change", function () {
    var expression = insert.value;
    insert.value = "";
    if (!expression) { return; }
    if (editor) {
      var range = editor.getSelection(true);
      editor.insertText(range ? range.index : editor.getLength() - 1, expression, "user");
      return;
    }
    var start = source.selectionStart, end = source.selectionEnd;
    source.value = source.value.slice(0, start) + expression + source.value.slice(end);
    source.selectionStart = source.selectionEnd = start + expression.length;
    source.focus();
    changed();
  });

  if (text && derived) {
    // A text written by hand is kept: editing it stops deriving it (tick the box to derive it again).
    text.addEventListener("input", function () {
      if (!area.hidden) { derived.checked = false; }
    });
  }
  if (sample) {
    sample.addEventListener("input", changed);
  }
})();
