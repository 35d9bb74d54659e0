/* The rules a phone must apply with no signal, the same as the server's:
   - the pace helper (raceapp/services/pace.py): where the runner is, the pace per flat km to
     each cut-off (km plus 100 m of climb per km) and the arrival at the pace so far;
   - the course (raceapp/services/course.py): the climb between two km, a position matched to
     the course track;
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

  /* A clock time in the race's zone, as the server writes it (raceapp/i18n.py, "day_time"):
     "Sat 14:05" / "8日(土) 14:05". */
  var CLOCK = { en: "{weekday} {h}:{m}", ja: "{day}日({weekday}) {h}:{m}" };
  function formatClock(ms, zone, lang) {
    lang = RaceText.language(lang || RaceText.pageLanguage());
    var parts = {};
    new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : "en-US", {
      timeZone: zone, weekday: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23" }).formatToParts(new Date(ms)).forEach(function (part) {
      parts[part.type] = part.value;
    });
    return CLOCK[lang].replace(/\{(\w+)\}/g, function (whole, name) {
      return { weekday: parts.weekday, day: parts.day, h: pad(parts.hour), m: parts.minute }[name];
    });
  }

  var METRES_UP_PER_FLAT_KM = 100;
  function effortKm(distance, climb) { return distance + climb / METRES_UP_PER_FLAT_KM; }

  /* The climb so far at km along a profile [[km, metres], ...] (interpolated), and between two
     km. An empty profile: no climb known. */
  function climbAt(profile, km) {
    if (!profile || !profile.length) return 0;
    var i = 0;
    while (i < profile.length && profile[i][0] < km) i++;  // first point at or beyond km
    if (i <= 0) return profile[0][1];
    if (i >= profile.length) return profile[profile.length - 1][1];
    var a = profile[i - 1], b = profile[i];
    return b[0] === a[0] ? a[1] : a[1] + (km - a[0]) / (b[0] - a[0]) * (b[1] - a[1]);
  }
  function climbBetween(profile, fromKm, toKm) {
    return Math.max(0, climbAt(profile, toKm) - climbAt(profile, fromKm));
  }

  /* For every cut-off {km, cutoff (ISO instant)} beyond atKm, the pace per flat km needed from
     now, and the arrival (ms) at the pace so far once the runner has covered ground. */
  function legs(startIso, nowMs, atKm, cutoffs, comfortable, outOfReach, climb) {
    climb = climb || [];
    var start = Date.parse(startIso), from = Math.max(nowMs, start), soFar = null;
    if (nowMs > start && atKm > 0) {
      soFar = (nowMs - start) / 60000 / effortKm(atKm, climbBetween(climb, 0, atKm));
    }
    return cutoffs.filter(function (c) { return c.km > atKm; }).map(function (c) {
      var distance = c.km - atKm, up = climbBetween(climb, atKm, c.km), effort = effortKm(distance, up);
      var at = Date.parse(c.cutoff), minutes = (at - from) / 60000;
      var arrival = soFar === null ? null : nowMs + effort * soFar * 60000;
      var leg = { km: c.km, distance: distance, climb: up, effort: effort, minutes: minutes,
                  pace: null, grade: "passed", arrival: arrival,
                  margin: arrival === null ? null : (at - arrival) / 60000 };
      if (minutes > 0) {
        leg.pace = minutes / effort;
        leg.grade = gradeFor(leg.pace, comfortable, outOfReach);
      }
      return leg;
    });
  }

  /* Where a position falls on the course track [[lat, lon, km, ...], ...]: the nearest point,
     or, where the course passes near twice, the pass just ahead of previousKm. */
  var EARTH_RADIUS_M = 6371000, OFF_COURSE_M = 100, PASS_GAP_KM = 1;
  function matchPosition(points, lat, lon, accuracy, previousKm) {
    var scale = Math.PI / 180 * EARTH_RADIUS_M, cos0 = Math.cos(lat * Math.PI / 180);
    var xy = points.map(function (p) { return [(p[1] - lon) * scale * cos0, (p[0] - lat) * scale]; });
    var found = [], best = null;
    for (var i = 0; i < points.length - 1; i++) {
      var ax = xy[i][0], ay = xy[i][1], dx = xy[i + 1][0] - ax, dy = xy[i + 1][1] - ay;
      var length2 = dx * dx + dy * dy;
      var t = length2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / length2));
      var f = { km: points[i][2] + t * (points[i + 1][2] - points[i][2]),
                off: Math.hypot(ax + t * dx, ay + t * dy) };
      found.push(f);
      if (best === null || f.off < best.off) best = f;
    }
    if (best.off > Math.max(OFF_COURSE_M, accuracy)) {
      return { km: best.km, off: best.off, offCourse: true, alternatives: [] };
    }
    var windowM = best.off + Math.max(accuracy, 25), passes = [], lastKm = null;
    found.forEach(function (f) {
      if (f.off > windowM) return;
      if (lastKm === null || f.km - lastKm > PASS_GAP_KM) passes.push(f);
      else if (f.off < passes[passes.length - 1].off) passes[passes.length - 1] = f;
      lastKm = f.km;
    });
    var chosen = passes.reduce(function (a, b) { return b.off < a.off ? b : a; });
    if (previousKm !== null && previousKm !== undefined && passes.length > 1) {
      var ahead = passes.filter(function (f) { return f.km >= previousKm - PASS_GAP_KM / 2; });
      chosen = ahead.length ? ahead.reduce(function (a, b) { return b.km < a.km ? b : a; })
        : passes.reduce(function (a, b) {
          return Math.abs(b.km - previousKm) < Math.abs(a.km - previousKm) ? b : a;
        });
    }
    return { km: chosen.km, off: chosen.off, offCourse: false,
             alternatives: passes.filter(function (f) { return f !== chosen; })
               .map(function (f) { return f.km; }) };
  }

  /* Time left as the countdown shows it: "5 h 30 min 00 s" / "5時間30分00秒"; from two days
     on, "3 days 4 h 05 min" / "3日4時間05分". */
  function formatCountdown(seconds, lang) {
    var total = Math.max(Math.floor(seconds), 0);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    if (h >= 48) return RaceText.t("countdown_days", { n: Math.floor(h / 24), h: h % 24, m: pad(m) }, lang);
    return RaceText.t("countdown", { h: h, m: pad(m), s: pad(s) }, lang);
  }

  return { gradeFor: gradeFor, formatPace: formatPace, parsePosition: parsePosition,
           legs: legs, formatCountdown: formatCountdown, effortKm: effortKm, climbAt: climbAt,
           climbBetween: climbBetween, matchPosition: matchPosition,
           formatClock: formatClock };
});
