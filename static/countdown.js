/* Live countdowns from the device clock: each <time data-countdown datetime="ISO instant">
   counts down every second with no network. The instant carries its offset, so the phone's
   own time zone does not matter. */
(function () {
  function format(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    // Same as raceapp.services.timing.format_countdown.
    if (h >= 48) return Math.floor(h / 24) + " days " + (h % 24) + " h " + String(m).padStart(2, "0") + " min";
    return h + " h " + String(m).padStart(2, "0") + " min " + String(s).padStart(2, "0") + " s";
  }
  var loaded = Date.now();
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      // A previewed page counts from the previewed moment, not from the real time.
      var base = el.dataset.previewNow ? Date.parse(el.dataset.previewNow) + (now - loaded) : now;
      var left = Date.parse(el.getAttribute("datetime")) - base;
      el.textContent = left > 0 ? format(left) : (el.dataset.done || "0 h 00 min 00 s");
      el.classList.toggle("countdown-done", left <= 0);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
