/* The rules a phone must apply with no signal, the same as the server's:
   - the pace helper (raceapp/services/pace.py): where the runner is, the pace to each cut-off;
   - the countdown and pace texts (raceapp/i18n.py format_countdown, format_pace), in the
     page's language, with the units of the shared catalogue (static/messages.js).
   Both sides are tested from one file of vectors (tests/vectors/race-rules.json).
   Loaded by pages as a plain script (global RaceRules, after RaceText) and by the JavaScript
   tests as a module. */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory(require("./messages.js"));
  else root.RaceRules = factory(root.RaceText);
})(typeof self !== "undefined" ? self : this, function (RaceText) {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function gradeFor(pace, comfortable, outOfReach) {
    if (pace >= comfortable) return "comfortable";
    if (pace >= outOfReach) return "tight";
    return "out of reach";
  }

  /* 12.5 -> "12:30 min/km" / "12分30秒/km"; from an hour per km on, "1:05 h/km". Rounds half
     to even, as Python's round() does, so both sides agree to the second. */
  function roundHalfEven(x) {
    var r = Math.round(x);
    if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1;
    return r;
  }
  function formatPace(pace, lang) {
    if (pace === null || pace === undefined) return "";
    var total = roundHalfEven(pace * 60);
    if (total >= 3600) {
      var minutes = roundHalfEven(total / 60);
      return RaceText.t("pace_hours", { h: Math.floor(minutes / 60), m: pad(minutes % 60) }, lang);
    }
    return RaceText.t("pace", { m: Math.floor(total / 60), s: pad(total % 60) }, lang);
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

  /* Time left as the countdown shows it: "5 h 30 min 00 s" / "5時間30分00秒"; from two days
     on, "3 days 4 h 05 min" / "3日4時間05分". */
  function formatCountdown(seconds, lang) {
    var total = Math.max(Math.floor(seconds), 0);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    if (h >= 48) return RaceText.t("countdown_days", { d: Math.floor(h / 24), h: h % 24, m: pad(m) }, lang);
    return RaceText.t("countdown", { h: h, m: pad(m), s: pad(s) }, lang);
  }

  return { gradeFor: gradeFor, formatPace: formatPace, parsePosition: parsePosition,
           legs: legs, formatCountdown: formatCountdown };
});
