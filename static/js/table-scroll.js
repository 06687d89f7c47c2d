/*
 * A table wider than the screen scrolls sideways inside its container (.thuisfonds-table-container). To be scrolled
 * with the keyboard such a container must take the focus (WCAG 2.1.1): while it overflows it is a region in the tab
 * order, named after its table's caption. Without this script the table still scrolls with a pointer.
 */
(function () {
  "use strict";

  var containers = document.querySelectorAll(".thuisfonds-table-container");

  function update() {
    Array.prototype.forEach.call(containers, function (container) {
      var caption = container.querySelector("caption");
      if (container.scrollWidth > container.clientWidth) {
        container.tabIndex = 0;
        if (caption) {
          container.setAttribute("role", "region");
          container.setAttribute("aria-label", caption.textContent.trim());
        }
      } else {
        container.removeAttribute("tabindex");
        container.removeAttribute("role");
        container.removeAttribute("aria-label");
      }
    });
  }

  if (containers.length) {
    update();
    window.addEventListener("resize", update);
  }
})();
