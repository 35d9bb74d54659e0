/* The rules a phone must apply with no signal, the same as the server's:
   - the pace helper (raceapp/services/pace.py): where the runner is, the pace to each cut-off;
   - the countdown text (raceapp/services/timing.py format_countdown).
   Both sides are tested from one file of vectors (tests/vectors/race-rules.json).
   Loaded by pages as a plain script (global RaceRules) and by the JavaScript tests as a module. */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.RaceRules = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function gradeFor(pace, comfortable, outOfReach) {
    if (pace >= comfortable) return "comfortable";
    if (pace >= outOfReach) return "tight";
    return "out of reach";
  }

  /* 12.5 -> "12:30 min/km"; from an hour per km on, "1:05 h/km". Rounds half to even, as
     Python's round() does, so both sides agree to the second. */
  function roundHalfEven(x) {
    var r = Math.round(x);
    if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1;
    return r;
  }
  function formatPace(pace) {
    if (pace === null || pace === undefined) return "";
    var total = roundHalfEven(pace * 60);
    if (total >= 3600) {
      var minutes = roundHalfEven(total / 60);
      return Math.floor(minutes / 60) + ":" + pad(minutes % 60) + " h/km";
    }
    return Math.floor(total / 60) + ":" + pad(total % 60) + " min/km";
  }

  /* Where the runner says they are. Throws {code} for what cannot be used; the page shows the
     server's sentence for that code. */
  function parsePosition(rawKm, rawCheckpoint, distanceKm, checkpoints) {
    rawKm = (rawKm || "").trim();
    rawCheckpoint = (rawCheckpoint || "").trim();
    var atKm;
    if (rawKm) {
      var text = rawKm.replace(",", ".");
      // Python's float(): an optional sign, digits with an optional point, an exponent.
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) throw { code: "not_a_number" };
      atKm = Number(text);
      if (!isFinite(atKm)) throw { code: "not_a_number" };
    } else if (rawCheckpoint === "start") {
      atKm = 0;
    } else if (rawCheckpoint) {
      if (!Object.prototype.hasOwnProperty.call(checkpoints, rawCheckpoint)) {
        throw { code: "unknown_checkpoint" };
      }
      atKm = checkpoints[rawCheckpoint];
    } else {
      throw { code: "empty" };
    }
    if (atKm < 0) throw { code: "negative" };
    if (distanceKm !== null && distanceKm !== undefined && atKm > distanceKm) throw { code: "beyond" };
    return atKm;
  }

  /* For every cut-off {km, cutoff (ISO instant)} beyond atKm, the pace needed from now. */
  function legs(startIso, nowMs, atKm, cutoffs, comfortable, outOfReach) {
    var from = Math.max(nowMs, Date.parse(startIso));
    return cutoffs.filter(function (c) { return c.km > atKm; }).map(function (c) {
      var distance = c.km - atKm, minutes = (Date.parse(c.cutoff) - from) / 60000;
      if (minutes <= 0) return { km: c.km, distance: distance, minutes: minutes, pace: null, grade: "passed" };
      var pace = minutes / distance;
      return { km: c.km, distance: distance, minutes: minutes, pace: pace,
               grade: gradeFor(pace, comfortable, outOfReach) };
    });
  }

  /* Time left as the countdown shows it: "5 h 30 min 00 s"; from two days on, "3 days 4 h 05 min". */
  function formatCountdown(seconds) {
    if (seconds <= 0) return "0 h 00 min 00 s";
    var total = Math.floor(seconds);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    if (h >= 48) return Math.floor(h / 24) + " days " + (h % 24) + " h " + pad(m) + " min";
    return h + " h " + pad(m) + " min " + pad(s) + " s";
  }

  return { gradeFor: gradeFor, formatPace: formatPace, parsePosition: parsePosition,
           legs: legs, formatCountdown: formatCountdown };
});
