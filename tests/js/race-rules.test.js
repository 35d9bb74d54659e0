/* The offline rules (static/race-rules.js) against the vectors the server is tested with too
   (tests/test_race_rules_vectors.py reads the same file). Run: node --test tests/js/ */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const fs = require("node:fs");

const rules = require(path.join(__dirname, "..", "..", "static", "race-rules.js"));
const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "vectors", "race-rules.json"), "utf8"));
const { comfortable, out_of_reach: outOfReach } = vectors.limits;

test("grade", () => {
  for (const [value, grade] of vectors.grade) {
    assert.equal(rules.gradeFor(value, comfortable, outOfReach), grade, String(value));
  }
});

test("format pace, in each language", () => {
  for (const [lang, cases] of Object.entries(vectors.format_pace)) {
    for (const [value, text] of cases) {
      assert.equal(rules.formatPace(value, lang), text, `${lang} ${value}`);
    }
  }
});

test("position", () => {
  for (const c of vectors.position) {
    const call = () => rules.parsePosition(c.km, c.checkpoint, c.distance, c.checkpoints);
    if (c.error) {
      assert.throws(call, (error) => error.code === c.error, JSON.stringify(c));
    } else {
      assert.equal(call(), c.expect, JSON.stringify(c));
    }
  }
});

test("legs", () => {
  for (const c of vectors.legs) {
    const legs = rules.legs(c.start, Date.parse(c.now), c.at_km, c.cutoffs,
                            comfortable, outOfReach, c.climb);
    const got = legs.map((leg) => ({ km: leg.km, distance: leg.distance, climb: round(leg.climb, 3),
                                     effort: round(leg.effort, 3), minutes: leg.minutes,
                                     pace: rules.formatPace(leg.pace, "en"), grade: leg.grade,
                                     margin: leg.margin === null ? null : round(leg.margin, 1) }));
    assert.deepEqual(got, c.expect, c.about);
  }
});

// Python's round(): half to even, on the value as written in decimal (enough for these).
function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

test("effort", () => {
  for (const [distance, climb, effort] of vectors.effort) {
    assert.ok(Math.abs(rules.effortKm(distance, climb) - effort) < 1e-9, `${distance} ${climb}`);
  }
});

test("climb between two km", () => {
  for (const c of vectors.climb) {
    for (const [from, to, metres] of c.cases) {
      assert.ok(Math.abs(rules.climbBetween(c.profile, from, to) - metres) < 1e-9, `${c.about} ${from}-${to}`);
    }
  }
});

test("a position matched to the course", () => {
  for (const c of vectors.match) {
    const found = rules.matchPosition(vectors.tracks[c.track], c.lat, c.lon, c.accuracy, c.previous);
    assert.deepEqual({ km: round(found.km, 3), off: round(found.off, 1), off_course: found.offCourse,
                       alternatives: found.alternatives.map((km) => round(km, 3)) }, c.expect, c.about);
  }
});

test("countdown, in each language", () => {
  for (const [lang, cases] of Object.entries(vectors.countdown)) {
    for (const [seconds, text] of cases) {
      assert.equal(rules.formatCountdown(seconds, lang), text, `${lang} ${seconds}`);
    }
  }
});

test("a clock time in the race's zone, in each language", () => {
  for (const [instant, zone, lang, text] of vectors.clock) {
    assert.equal(rules.formatClock(Date.parse(instant), zone, lang), text, `${instant} ${zone} ${lang}`);
  }
});
