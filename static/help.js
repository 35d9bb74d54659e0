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

/* The drop-out report: sent at once with signal; with none, kept on this phone and sent when
   there is (on the next opening of the app, or when the connection returns). The key makes a
   report sent twice one report. */
(function () {
  "use strict";
  var KEY = "raceapp-drop-out";
  var form = document.querySelector("[data-drop-out]");
  var state = document.querySelector("[data-drop-out-state]");

  function key() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }
  // Sending a kept report is offline.js's job (every page of the app runs it).
  if (!form) return;
  try {
    if (localStorage.getItem(KEY) && state) state.textContent = RaceText.t("drop_out_waiting");
  } catch (error) { /* nothing kept */ }
  form.addEventListener("submit", function (event) {
    form.elements.key.value = form.elements.key.value || key();
    form.elements.made_at.value = new Date().toISOString();
    try {
      var last = JSON.parse(localStorage.getItem("raceapp-last-position") || "null");
      if (last && form.elements.attach_position.checked) {
        form.elements.latitude.value = last.lat;
        form.elements.longitude.value = last.lon;
        form.elements.accuracy.value = last.accuracy;
      }
    } catch (error) { /* no position kept */ }
    if (navigator.onLine) return;  // the form goes as it is
    event.preventDefault();
    var fields = {};
    new FormData(form).forEach(function (value, name) { fields[name] = String(value); });
    localStorage.setItem(KEY, JSON.stringify({ url: form.action, fields: fields }));
    if (state) state.textContent = RaceText.t("drop_out_waiting");
  });
})();
