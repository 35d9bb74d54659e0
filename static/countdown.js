/* Live countdowns from the device clock: each <time data-countdown datetime="ISO instant">
   counts down every second with no network. The instant carries its offset, so the phone's
   own time zone does not matter. The text follows RaceRules.formatCountdown (race-rules.js). */
(function () {
  "use strict";
  var loaded = Date.now();
  // Screen readers hear the first countdown at these marks (seconds left), not every second.
  var MILESTONES = [3600, 1800, 900, 600, 300, 60, 0];
  var before = new Map();
  function announce(el, left) {
    var template = el.dataset.milestone;
    var previous = before.get(el);
    before.set(el, left);
    if (!template || previous === undefined) return;
    MILESTONES.forEach(function (mark) {
      if (previous > mark * 1000 && left <= mark * 1000) {
        var region = document.querySelector("[data-announce]");
        if (region) {
          region.textContent = mark ? template.replace("{left}", RaceRules.formatCountdown(mark))
            : el.dataset.done;
        }
      }
    });
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el, index) {
      // A previewed page counts from the previewed moment, not from the real time.
      var base = el.dataset.previewNow ? Date.parse(el.dataset.previewNow) + (now - loaded) : now;
      var left = Date.parse(el.getAttribute("datetime")) - base;
      el.textContent = left > 0 ? RaceRules.formatCountdown(left / 1000)
        : (el.dataset.done || RaceRules.formatCountdown(0));
      el.classList.toggle("countdown-done", left <= 0);
      if (index === 0) announce(el, left);
    });
    markNextCutoff(now);
  }
  /* The elevation profile (cut-offs page) marks the next cut-off; a page kept offline for
     hours moves the mark on by itself as cut-offs close. */
  function markNextCutoff(now) {
    var stations = document.querySelectorAll("[data-profile] [data-station][data-at]");
    if (!stations.length) return;
    var clock = document.querySelector("[data-countdown][data-preview-now]");
    var base = clock ? Date.parse(clock.dataset.previewNow) + (now - loaded) : now;
    var next = null;
    stations.forEach(function (station) {
      var passed = Date.parse(station.dataset.at) <= base;
      station.classList.toggle("passed", passed);
      station.classList.remove("next");
      if (!passed && next === null) next = station;
    });
    if (next) next.classList.add("next");
  }
  tick();
  setInterval(tick, 1000);
})();
