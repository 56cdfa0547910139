// The composer's body: a Quill editor over the body's textarea when the body is rich text, the notice of
// what switching formats keeps and loses, the insert menus of contact fields and images, and the
// derived-text switch.
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
  var fallback = document.getElementById("insert-fallback");
  var image = document.getElementById("insert-image");
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

  function defang(html) {
    // Drops scripts, styles, event handlers and style attributes before any parser sees them: the editor
    // keeps none of them, and Chrome reports each one it parses as a CSP violation, even in an inert
    // document. The server sanitises the result again, as every format.
    return html
      .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, "")
      .replace(/\s(on[a-z]+|style)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, "");
  }

  function paste(event) {
    var html = event.clipboardData && event.clipboardData.getData("text/html");
    if (!html) { return; }
    event.preventDefault();
    event.stopPropagation();
    var range = editor.getSelection(true);
    editor.clipboard.onPaste(range, { html: defang(html), text: event.clipboardData.getData("text/plain") });
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
    // What the editor cannot hold (scripts, handlers, styles it does not know) is dropped as it loads.
    editor.setContents(editor.clipboard.convert({ html: defang(source.value) }), "silent");
    // Before the editor's own paste handler (capture phase on its container).
    box.addEventListener("paste", paste, true);
    editor.on("text-change", function () {
      source.value = editorHtml();
      changed();
    });
  }

  if (format.value === "richtext" && written.value === "richtext" && typeof Quill !== "undefined") {
    startEditor();
  }

  function stopEditor() {
    var toolbar = editor.getModule("toolbar").container;
    toolbar.parentNode.removeChild(toolbar);
    editor.container.parentNode.removeChild(editor.container);
    editor = null;
    source.hidden = false;
  }

  format.addEventListener("change", function () {
    var target = format.value;
    if (!source.value.trim()) {
      // Nothing written yet: nothing to convert, the new format applies at once.
      if (editor && target !== "richtext") { stopEditor(); }
      if (!editor && target === "richtext" && typeof Quill !== "undefined") { startEditor(); }
      written.value = target;
    }
    notice.hidden = target === written.value;
    notice.textContent = target === written.value ? "" : (notices[target] || "");
  });

  insert.addEventListener("change", function () {
    var expression = insert.value;
    var option = insert.options[insert.selectedIndex];
    insert.value = "";
    if (!expression) { return; }
    // The fallback typed by the author replaces the menu's; what would end the string or the tag goes.
    var typed = fallback ? fallback.value.replace(/[{}%"\\]/g, "").trim() : "";
    if (typed && option && option.dataset.field) {
      expression = "{{ contact." + option.dataset.field + ' | default("' + typed + '") }}';
    }
    if (editor) {
      var range = editor.getSelection(true);
      var at = range ? range.index : editor.getLength() - 1;
      editor.insertText(at, expression, "user");
      editor.setSelection(at + expression.length, 0, "user");
      return;
    }
    typeAt(expression);
  });

  function typeAt(inserted) {
    // Into the text area at its cursor (Markdown, HTML, MJML, or rich text without the editor).
    var start = source.selectionStart, end = source.selectionEnd;
    source.value = source.value.slice(0, start) + inserted + source.value.slice(end);
    source.selectionStart = source.selectionEnd = start + inserted.length;
    source.focus();
    changed();
  }

  if (image) {
    image.addEventListener("change", function () {
      var option = image.options[image.selectedIndex];
      var markup = image.value;
      image.value = "";
      if (!markup) { return; }
      if (editor) {
        // The editor's image keeps its source, alt text and width.
        var range = editor.getSelection(true);
        var at = range ? range.index : editor.getLength() - 1;
        editor.clipboard.dangerouslyPasteHTML(at, defang(markup), "user");
        return;
      }
      // Markdown shows raw HTML as text: it gets the image as Markdown.
      typeAt(written.value === "markdown" ? option.dataset.markdown : markup);
    });
  }

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
