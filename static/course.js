/* "Where am I" on the cut-offs page: on a tap (never in the background), the phone's position
   is matched to the course track this phone keeps (/me/course.json, cached by the service
   worker), with no signal needed: km, the next aid station, its cut-off; the runner is drawn on
   the course and on the profile. The position stays on this phone (the Help page reads it).
   The rules are the server's (RaceRules, from race-rules.js), tested from shared vectors. */
(function () {
  "use strict";
  var dataEl = document.getElementById("course-data");
  var button = document.querySelector("[data-where-button]");
  if (!dataEl || !button) return;
  var data = JSON.parse(dataEl.textContent);
  // The course is the same for every runner of the category; whose km it is, is the page's.
  var entry = Number(document.body.dataset.entry);
  var result = document.querySelector("[data-where-result]");
  var paceButton = document.querySelector("[data-where-pace]");
  var POSITION_KEY = "raceapp-last-position", KM_KEY = "raceapp-last-course-km";
  var RECENT_MS = 6 * 3600 * 1000;  // an older km says little about which pass this is

  function say(key, values) {
    return data.messages[key].replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? values[name] : whole;
    });
  }
  function line(text, className) {
    var p = document.createElement("p");
    p.textContent = text;
    if (className) p.className = className;
    result.appendChild(p);
  }
  function number(value, digits) {
    return value.toLocaleString(document.documentElement.lang || "en",
                                { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function read(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (error) { return null; }
  }
  function previousKm() {
    var last = read(KM_KEY);
    return last && last.entry === entry && Date.now() - last.at < RECENT_MS ? last.km : null;
  }
  function loadTrack() {
    return fetch(data.track_url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("no track");
      return response.json();
    });
  }
  function place(position, km, points) {
    var svg = document.querySelector("[data-shape]");
    var dot = document.querySelector("[data-shape-you]");
    if (svg && dot) {
      var d = svg.dataset;
      dot.setAttribute("cx", (position.lon - Number(d.west)) * Number(d.kx) + Number(d.pad));
      dot.setAttribute("cy", (Number(d.north) - position.lat) * Number(d.ky) + Number(d.pad));
      dot.removeAttribute("hidden");
    }
    var profile = document.querySelector("[data-profile]");
    var you = document.querySelector("[data-profile-you]");
    if (profile && you) {
      var p = profile.dataset;
      var x = Number(p.left) + (Number(p.right) - Number(p.left)) * Math.min(km / Number(p.distance), 1);
      you.setAttribute("x1", x);
      you.setAttribute("x2", x);
      you.removeAttribute("hidden");
    }
  }
  function show(position, track) {
    var match = RaceRules.matchPosition(track.points, position.lat, position.lon,
                                        position.accuracy, previousKm());
    var km = number(match.km, 1);
    result.textContent = "";
    if (match.offCourse) {
      line(say("off", { distance: Math.round(match.off), km: km }), "warning");
    } else {
      line(say("at", { km: km, accuracy: Math.round(position.accuracy) }), "big-line");
      localStorage.setItem(KM_KEY, JSON.stringify({ km: match.km, at: Date.now(), entry: entry }));
    }
    if (position.accuracy > 200) line(say("imprecise", { accuracy: Math.round(position.accuracy) }), "warning");
    if (match.alternatives.length) {
      line(say("passes", { others: match.alternatives.map(function (k) { return number(k, 1); }).join(", ") }));
    }
    var profile = track.points.map(function (p) { return [p[2], p[4]]; });
    var next = data.checkpoints.filter(function (cp) { return cp.km > match.km; })[0];
    if (next) {
      line(say("next", { name: next.name, km: number(next.km, 1), distance: number(next.km - match.km, 1),
                         climb: number(Math.round(RaceRules.climbBetween(profile, match.km, next.km)), 0) }));
      if (next.cutoff) {
        var at = Date.parse(next.cutoff), time = RaceRules.formatClock(at, data.time_zone);
        line(at > Date.now() ? say("cutoff", { time: time, left: RaceRules.formatCountdown((at - Date.now()) / 1000) })
                             : say("cutoff_passed", { time: time }));
      }
    } else {
      line(say("none_ahead", { distance: number(Math.max(track.distance_km - match.km, 0), 1) }));
    }
    place(position, match.km, track.points);
    if (paceButton) {
      paceButton.textContent = say("use_km", { km: km });
      paceButton.dataset.km = match.km.toFixed(1);
      paceButton.hidden = false;
    }
  }
  button.addEventListener("click", function () {
    if (!navigator.geolocation) {
      result.textContent = say("unsupported");
      return;
    }
    result.textContent = say("finding");
    var track = loadTrack();
    navigator.geolocation.getCurrentPosition(function (found) {
      var position = { lat: found.coords.latitude, lon: found.coords.longitude,
                       accuracy: found.coords.accuracy, at: found.timestamp || Date.now() };
      // The Help page reads it out, and a drop-out report may carry it.
      localStorage.setItem(POSITION_KEY, JSON.stringify(position));
      track.then(function (data_) { show(position, data_); },
                 function () { result.textContent = say("no_track"); });
    }, function (error) {
      result.textContent = say(error && error.code === 1 ? "denied" : "failed");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });
  if (paceButton) {
    paceButton.addEventListener("click", function () {
      var input = document.querySelector(".pace-form [name=km]");
      if (!input) return;
      input.value = paceButton.dataset.km;
      input.form.querySelector("[name=checkpoint]").value = "";
      input.form.requestSubmit();
      input.scrollIntoView({ behavior: "smooth", block: "center" });
    });
  }
})();
