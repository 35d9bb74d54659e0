/* The Help page: the phone's position, found only when the runner taps (never in the
   background), shown to be read out over the phone, and kept on this phone only so the
   page shows the last one found even with no signal. */
(function () {
  "use strict";
  var KEY = "raceapp-last-position";
  var shown = document.querySelector("[data-position]");
  var button = document.querySelector("[data-find-position]");
  if (!shown || !button) return;

  function time(ms) {
    return new Date(ms).toLocaleTimeString(RaceText.pageLanguage(), { hour: "2-digit", minute: "2-digit", hour12: false });
  }
  function show(position, last) {
    shown.textContent = RaceText.t(last ? "last_position" : "position", {
      lat: position.lat.toFixed(5),
      lon: position.lon.toFixed(5),
      accuracy: Math.round(position.accuracy),
      time: time(position.at)
    });
  }
  try {
    var kept = JSON.parse(localStorage.getItem(KEY) || "null");
    if (kept && typeof kept.lat === "number") show(kept, true);
  } catch (error) {
    // Nothing kept, or something unreadable: nothing to show.
  }
  button.addEventListener("click", function () {
    if (!navigator.geolocation) {
      shown.textContent = RaceText.t("position_unsupported");
      return;
    }
    shown.textContent = RaceText.t("position_finding");
    navigator.geolocation.getCurrentPosition(function (found) {
      var position = {
        lat: found.coords.latitude, lon: found.coords.longitude,
        accuracy: found.coords.accuracy, at: found.timestamp || Date.now()
      };
      localStorage.setItem(KEY, JSON.stringify(position));
      show(position, false);
    }, function (error) {
      shown.textContent = RaceText.t(error && error.code === 1 ? "position_denied" : "position_failed");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  });
})();
