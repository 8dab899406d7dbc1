/* The intake desk's keyboard: Ctrl+Enter (⌘+Enter) submits the form the cursor is in; after an htmx swap the
   cursor goes where the next keystroke belongs. Without this file every form still works (plain POST). */
(function () {
  "use strict";

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey) || e.altKey) return;
    var form = e.target && e.target.closest ? e.target.closest("form[data-ctrl-enter]") : null;
    if (!form) return;
    e.preventDefault();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });

  function focusFirst(root) {
    var el = root.querySelector("[autofocus], [data-autofocus] textarea, [data-autofocus] input:not([type=hidden])");
    if (el && el !== document.activeElement) el.focus();
  }

  function enhance(root) {
    // with JavaScript the earlier demands appear as the number is typed: the lookup button is not needed
    root.querySelectorAll(".nojs").forEach(function (el) { el.hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    focusFirst(document);
  });

  document.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || !target.id) return;
    var root = document.getElementById(target.id) || target;
    enhance(root);
    // a saved or refused form: the cursor to the phone field (next call) or to the first field to correct;
    // never when only the list of earlier demands was refreshed (the operator is typing elsewhere)
    if (target.id === "intake-desk" || target.id === "visit" || target.id === "group-open") focusFirst(root);
  });
})();
