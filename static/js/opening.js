/*
 * The countdown to a tranche's opening on the server's clock, and the submit buttons shown at the opening without
 * a reload. The clock is the server's (GET data-server-time-url), not this computer's: the server decides by the
 * moment a submission reaches it, and refuses one that arrives before the opening whatever this page shows.
 */
(function () {
  "use strict";

  var box = document.querySelector("[data-opening]");
  if (!box) {
    return;
  }
  var opensAt = Date.parse(box.getAttribute("data-opens-at"));
  var countdown = box.querySelector("[data-opening-countdown]");
  var clock = box.querySelector("[data-server-clock]");
  var status = document.querySelector("[data-opening-status]");
  var clockFormat = new Intl.DateTimeFormat("nl-NL", {
    timeZone: "Europe/Amsterdam",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  // The server's clock minus this browser's, in milliseconds. Until it is measured: the moment the page was made.
  var offset = Date.parse(clock.getAttribute("datetime")) - Date.now();
  var resyncEvery = 5 * 60 * 1000;
  var timer = null;

  function pad(number) {
    return number < 10 ? "0" + number : String(number);
  }

  function serverNow() {
    return Date.now() + offset;
  }

  function open() {
    box.hidden = true;
    document.querySelectorAll("[data-opening-reveal]").forEach(function (element) {
      element.hidden = false;
    });
    if (status) {
      status.textContent = box.getAttribute("data-open-message");
    }
  }

  function tick() {
    clearTimeout(timer);
    var now = serverNow();
    var left = opensAt - now;
    if (left <= 0) {
      open();
      return;
    }
    var seconds = Math.ceil(left / 1000);
    countdown.textContent =
      Math.floor(seconds / 3600) + ":" + pad(Math.floor((seconds % 3600) / 60)) + ":" + pad(seconds % 60);
    clock.textContent = clockFormat.format(new Date(now));
    clock.setAttribute("datetime", new Date(now).toISOString());
    // Wake when the countdown drops a second, and so exactly at the opening.
    timer = setTimeout(tick, left % 1000 || 1000);
  }

  function measure() {
    var sent = Date.now();
    fetch(box.getAttribute("data-server-time-url"), { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (answer) {
        // The server read its clock about halfway through the round trip.
        offset = answer.epoch_ms - (sent + Date.now()) / 2;
      })
      .catch(function () {
        // Keep the estimate from the page; the next measurement may succeed.
      });
  }

  measure();
  setInterval(measure, resyncEvery);
  tick();
  // Browsers slow down timers in a hidden tab: look again as soon as the page is shown.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      measure();
      tick();
    }
  });
})();
