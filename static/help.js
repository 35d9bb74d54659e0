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
    courseKm(position);
  }
  /* The course km of the position, from the track this phone keeps (none: nothing said). */
  function courseKm(position) {
    var place = document.querySelector("[data-course-km]");
    if (!place || !window.RaceRules) return;
    fetch(place.dataset.courseUrl, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (track) {
      if (!track || !track.points) return;
      var last = null;
      try { last = JSON.parse(localStorage.getItem("raceapp-last-course-km") || "null"); } catch (error) { /* none */ }
      var previous = last && String(last.entry) === place.dataset.entry ? last.km : null;
      var match = RaceRules.matchPosition(track.points, position.lat, position.lon, position.accuracy, previous);
      place.textContent = match.offCourse
        ? RaceText.t("off_course_km", { km: match.km.toFixed(1), distance: Math.round(match.off) })
        : RaceText.t("course_km", { km: match.km.toFixed(1) });
    }).catch(function () { /* no track on this phone: the coordinates say enough */ });
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
      document.dispatchEvent(new Event("raceapp:position"));
    }, function (error) {
      shown.textContent = RaceText.t(error && error.code === 1 ? "position_denied" : "position_failed");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });
})();

/* The drop-out report: kept on this phone first (static/offline.js sends it, now or when
   signal returns, and forgets it only once the server has it). A key makes a report sent
   twice one report; the server ignores a copy older than the report it has. */
(function () {
  "use strict";
  var form = document.querySelector("[data-drop-out]");
  var state = document.querySelector("[data-drop-out-state]");
  var attach = document.querySelector("[data-attach-position]");
  var FRESH_MS = 30 * 60 * 1000;  // an older position would send people to the wrong place
  if (!form || !window.RaceDropOut) return;

  function lastPosition() {
    try {
      var last = JSON.parse(localStorage.getItem("raceapp-last-position") || "null");
      return last && Date.now() - last.at < FRESH_MS ? last : null;
    } catch (error) { return null; }
  }
  function enableAttach() { if (attach) attach.disabled = !lastPosition(); }
  enableAttach();
  document.addEventListener("raceapp:position", enableAttach);

  function showKept() {
    var kept = RaceDropOut.kept();
    if (!kept || !state) return;
    state.textContent = RaceText.t(kept.refused ? "drop_out_refused" : "drop_out_waiting");
  }
  showKept();

  function key() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    form.elements.key.value = key();
    form.elements.made_at.value = new Date().toISOString();
    var last = lastPosition();
    if (last && attach && attach.checked) {
      form.elements.latitude.value = last.lat;
      form.elements.longitude.value = last.lon;
      form.elements.accuracy.value = last.accuracy;
      form.elements.position_at.value = new Date(last.at).toISOString();
    }
    var fields = {};
    new FormData(form).forEach(function (value, name) { fields[name] = String(value); });
    localStorage.setItem(RaceDropOut.KEY, JSON.stringify({ url: form.action, fields: fields }));
    showKept();
    RaceDropOut.send().then(function (status) {
      if (status && status >= 200 && status < 300) location.reload();
      else showKept();
    });
  });
})();
