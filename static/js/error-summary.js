/*
 * The error summary of a form that came back with errors (applications/templates/portal/_form_errors.html): it
 * takes the focus when the page loads, so that keyboard and screen reader users start at what went wrong, and each
 * of its links puts the focus in the field it names. Without this script the summary and its links still work.
 */
(function () {
  "use strict";

  var summary = document.querySelector("[data-error-summary]");
  if (!summary) {
    return;
  }

  // Scrolls the field's whole block into view, so that its label and message are seen with it.
  function focusField(target) {
    var block = target.closest(".utrecht-form-fieldset, .utrecht-form-field") || target;
    block.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  }

  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) {
      return;
    }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) {
      return;
    }
    event.preventDefault();
    // A fieldset (a radio group, a unit line) is not focusable itself: its first control is.
    if (target.matches("fieldset")) {
      target = target.querySelector("input, select, textarea") || target;
    }
    focusField(target);
  });

  summary.focus();
})();
