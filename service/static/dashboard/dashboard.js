// Live updates: the elements marked data-poll refresh themselves (htmx, every few
// seconds) unless the pause button stopped them; the choice is kept across pages.
(function () {
  "use strict";
  var KEY = "dashboard-paused";

  function paused() {
    return window.localStorage.getItem(KEY) === "1";
  }

  function show() {
    var button = document.getElementById("pause");
    if (!button) {
      return;
    }
    button.textContent = paused() ? "Resume live updates" : "Pause live updates";
    button.setAttribute("aria-pressed", paused() ? "true" : "false");
    document.body.classList.toggle("paused", paused());
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (paused() && event.detail.elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("pause");
    if (button) {
      button.addEventListener("click", function () {
        window.localStorage.setItem(KEY, paused() ? "0" : "1");
        show();
      });
    }
    show();
  });
})();
