/* The scripts' catalogue (static/messages.js): every sentence in every language, with the same
   {fields}; the language of a page or a tag such as "ja-JP" picks the table. Run: node --test tests/js/ */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const text = require(path.join(__dirname, "..", "..", "static", "messages.js"));

test("every language has every sentence, with the same fields", () => {
  const english = text.MESSAGES.en;
  for (const [lang, table] of Object.entries(text.MESSAGES)) {
    assert.deepEqual(Object.keys(table).sort(), Object.keys(english).sort(), lang);
    const forms = (s) => (typeof s === "string" ? [s] : Object.values(s));
    const fields = (s) => (s.match(/\{\w+\}/g) || []).sort();
    for (const [key, sentence] of Object.entries(table)) {
      for (const form of forms(sentence)) {
        assert.deepEqual(fields(form), fields(forms(english[key])[0]), `${lang} ${key}`);
      }
    }
  }
});

test("a tag picks the language; anything else is English", () => {
  assert.equal(text.language("ja-JP"), "ja");
  assert.equal(text.language("JA"), "ja");
  assert.equal(text.language("en-GB"), "en");
  assert.equal(text.language("fr"), "en");
  assert.equal(text.language(undefined), "en");
});

test("fields are filled, in the language asked for", () => {
  assert.equal(text.t("minutes_ago", { n: 5 }, "ja"), "5分前");
  assert.equal(text.t("updated", { ago: text.t("just_now", {}, "en") }, "en"), "Updated just now");
  assert.equal(text.t("new_alerts", { n: 2 }, "ja-JP"), "大会本部から新しいお知らせが2件あります");
  assert.throws(() => text.t("no-such-sentence"));
});

test("an error reads as a sentence a runner can act on, never as raw text", () => {
  const fromServer = Object.assign(new Error("x"), { sentence: "That phone is not yours." });
  assert.equal(text.reason(fromServer, "en"), "That phone is not yours.");
  assert.equal(text.reason(new TypeError("Failed to fetch"), "en"), text.t("no_connection", {}, "en"));
  const denied = Object.assign(new Error("Registration failed - permission denied"), {
    name: "NotAllowedError",
  });
  assert.equal(text.reason(denied, "ja"), text.t("push_not_allowed", {}, "ja"));
  for (const raw of [new Error("AbortError: push service error"), undefined, { name: "InvalidStateError" }]) {
    const sentence = text.reason(raw, "en");
    assert.equal(sentence, text.t("push_service_failed", {}, "en"));
    assert.ok(!/AbortError|undefined|Invalid/.test(sentence));
  }
});

test("counts take the plural form of the language", () => {
  assert.equal(text.t("days_ago", { n: 1 }, "en"), "1 day ago");
  assert.equal(text.t("days_ago", { n: 3 }, "en"), "3 days ago");
  assert.equal(text.t("days_ago", { n: 1 }, "ja"), "1日前");
  assert.equal(text.t("new_alerts", { n: 1 }, "en"), "1 new alert from the organizers");
  assert.equal(text.t("new_alerts", { n: 2 }, "en"), "2 new alerts from the organizers");
  assert.equal(text.t("countdown_days", { n: 1, h: 2, m: "05" }, "en"), "1 day 2 h 05 min");
  assert.equal(text.t("packed_count", { done: 1, n: 1 }, "en"), "1 of 1 mandatory item packed");
});

test("a failed request never shows its status code", () => {
  for (const lang of ["en", "ja"]) {
    assert.ok(!/\d{3}|\{status\}/.test(text.t("request_failed", { status: 500 }, lang)), lang);
  }
});
