/* The few sentences the scripts in static/ and the service worker write themselves, in each
   language the app speaks. Everything else a person reads comes from the server, already in
   their language (Flask-Babel); the units of the countdown and the pace are also in the
   server's catalogue, and tests/vectors/race-rules.json checks that both write the same.

   RaceText.t("key", {name: value}, lang) fills {name} placeholders; the language is the
   page's (<html lang>), or the one given. Loaded by pages as a plain script (global
   RaceText), by the service worker with importScripts, and by the JavaScript tests as a
   module. */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.RaceText = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var MESSAGES = {
    en: {
      // Countdown and pace (static/race-rules.js)
      countdown: "{h} h {m} min {s} s",
      countdown_days: { one: "{n} day {h} h {m} min", other: "{n} days {h} h {m} min" },
      pace: "{m}:{s} min/km",
      pace_hours: "{h}:{m} h/km",
      // How old the page on screen is (static/offline.js)
      updated: "Updated {ago}",
      just_now: "just now",
      minutes_ago: "{n} min ago",
      hours_ago: "{n} h ago",
      days_ago: { one: "{n} day ago", other: "{n} days ago" },
      // Gear ticks kept on the phone until there is signal
      packed: "packed",
      not_packed: "not packed",
      packed_count: { one: "{done} of {n} mandatory item packed", other: "{done} of {n} mandatory items packed" },
      // Alerts that came in while the page was open or offline
      new_alert: "New alert: {title}",
      new_alerts: { one: "{n} new alert from the organizers", other: "{n} new alerts from the organizers" },
      open: "Open",
      // Requests that failed (static/app.js)
      page_expired: "This page has expired. Reload it and try again.",
      request_failed: "That did not work on our side. Try again in a moment; if it keeps failing, reload the page.",
      no_connection: "No connection. Try again when you have signal.",
      // Said to screen readers when the connection changes (static/offline.js)
      went_offline: "Offline: the kit saved on this phone is shown.",
      back_online: "Back online.",
      // Installing the app (static/install.js)
      installed: "raceapp is on this phone's home screen.",
      // Alerts on this phone (static/push.js)
      push_unsupported: "This browser cannot receive push alerts. On an iPhone, add raceapp to the Home Screen (Share, then Add to Home Screen) and open it from there. Alerts still show on this page.",
      push_on: "Alerts are on for this phone.",
      push_off: "Alerts are off for this phone.",
      push_blocked: "Notifications are blocked for this site in your browser settings.",
      push_check_failed: "Could not check alerts. {error}",
      push_asking: "Asking for permission…",
      push_not_allowed: "Notifications were not allowed: you can allow them in the browser's settings for this site.",
      push_service_failed: "The phone's push service did not answer. Try again in a moment; alerts still show on this page.",
      push_failed: "Alerts are not on. {error}",
      push_off_failed: "Could not turn alerts off. {error}",
      // A push whose message cannot be read (service_worker/sw.js)
      race_alert: "Race alert",
      // The Help page (static/help.js)
      position: "{lat}, {lon} (within {accuracy} m, at {time})",
      last_position: "Last found: {lat}, {lon} (within {accuracy} m, at {time})",
      course_km: "· km {km} of the course",
      off_course_km: "· off the course, {distance} m from its km {km}",
      position_finding: "Finding your position…",
      position_denied: "The phone was not allowed to tell your position: allow it in the settings, or read out the nearest checkpoint.",
      position_failed: "The phone could not find your position. Try again in the open, or read out the nearest checkpoint.",
      position_unsupported: "This browser cannot find your position: read out the nearest checkpoint.",
      drop_out_waiting: "No signal: your report is kept on this phone and goes to headquarters as soon as there is signal. If you can, also call them.",
      drop_out_refused: "Your report could not be delivered. Send it again with the form, and call headquarters to tell them you stopped."
    },
    ja: {
      countdown: "{h}時間{m}分{s}秒",
      countdown_days: "{n}日{h}時間{m}分",
      pace: "{m}分{s}秒/km",
      pace_hours: "{h}時間{m}分/km",
      updated: "更新：{ago}",
      just_now: "たった今",
      minutes_ago: "{n}分前",
      hours_ago: "{n}時間前",
      days_ago: "{n}日前",
      packed: "準備済み",
      not_packed: "未準備",
      packed_count: "必携品 {n}点中{done}点 準備済み",
      new_alert: "新しいお知らせ：{title}",
      new_alerts: "大会本部から新しいお知らせが{n}件あります",
      open: "開く",
      page_expired: "ページの有効期限が切れました。再読み込みしてからもう一度お試しください。",
      request_failed: "サーバー側の問題で処理できませんでした。少し待ってからもう一度お試しください。続く場合はページを再読み込みしてください。",
      no_connection: "通信できません。電波の届く場所でもう一度お試しください。",
      went_offline: "オフラインです。この端末に保存したキットを表示しています。",
      back_online: "オンラインに戻りました。",
      installed: "raceappはこの端末のホーム画面に追加されています。",
      push_unsupported: "このブラウザはプッシュ通知を受け取れません。iPhoneの場合は、共有メニューの「ホーム画面に追加」でraceappを追加し、ホーム画面から開いてください。お知らせはこのページでも確認できます。",
      push_on: "この端末で通知を受け取ります。",
      push_off: "この端末の通知をオフにしました。",
      push_blocked: "ブラウザの設定で、このサイトの通知がブロックされています。",
      push_check_failed: "通知の状態を確認できませんでした。{error}",
      push_asking: "通知の許可を確認しています…",
      push_not_allowed: "通知が許可されませんでした。ブラウザのサイト設定で許可できます。",
      push_service_failed: "端末のプッシュ通知サービスから応答がありませんでした。しばらくしてからもう一度お試しください。お知らせはこのページでも確認できます。",
      push_failed: "通知をオンにできませんでした。{error}",
      push_off_failed: "通知をオフにできませんでした。{error}",
      race_alert: "大会からのお知らせ",
      position: "緯度・経度 {lat}, {lon}（誤差 約{accuracy}m、{time}時点）",
      last_position: "最後に取得した位置：{lat}, {lon}（誤差 約{accuracy}m、{time}時点）",
      course_km: "・コース上の{km}km地点",
      off_course_km: "・コースから約{distance}m外れています（最寄りは{km}km地点）",
      position_finding: "現在地を取得しています…",
      position_denied: "位置情報の利用が許可されていません。設定で許可するか、最寄りの関門・エイドを伝えてください。",
      position_failed: "現在地を取得できませんでした。空の見える場所でもう一度試すか、最寄りの関門・エイドを伝えてください。",
      position_unsupported: "このブラウザでは現在地を取得できません。最寄りの関門・エイドを伝えてください。",
      drop_out_waiting: "電波がありません。報告はこの端末に保存され、電波が届きしだい大会本部に送られます。可能なら電話でも伝えてください。",
      drop_out_refused: "報告を送信できませんでした。フォームからもう一度送り、大会本部にも電話でリタイアを伝えてください。"
    }
  };
  var FALLBACK = "en";

  /* The app's language for a tag such as "ja-JP" (anything else: English). */
  function language(tag) {
    var base = String(tag || "").toLowerCase().split(/[-_]/)[0];
    return Object.prototype.hasOwnProperty.call(MESSAGES, base) ? base : FALLBACK;
  }
  function pageLanguage() {
    if (typeof document !== "undefined" && document.documentElement) {
      return language(document.documentElement.lang);
    }
    if (typeof navigator !== "undefined") return language(navigator.language);
    return FALLBACK;
  }
  // A sentence with a count has a form per plural category ({one, other} in English; Japanese
  // has one form): the count {n} picks it, by the language's own rules.
  function plural(text, params, lang) {
    if (typeof text === "string") return text;
    var n = params && params.n !== undefined ? Number(params.n) : NaN;
    var category = isNaN(n) ? "other" : new Intl.PluralRules(lang).select(n);
    return text[category] !== undefined ? text[category] : text.other;
  }
  function t(key, params, lang) {
    var code = lang ? language(lang) : pageLanguage();
    var table = MESSAGES[code];
    var text = table[key] !== undefined ? table[key] : MESSAGES[FALLBACK][key];
    if (text === undefined) throw new Error("no message " + key);
    return plural(text, params, code).replace(/\{(\w+)\}/g, function (whole, name) {
      return params && params[name] !== undefined ? String(params[name]) : whole;
    });
  }

  // What went wrong, as a sentence a runner can act on: the server's own sentence when it gave
  // one (error.sentence), else one of ours; never a browser's or a server's raw error text.
  function reason(error, lang) {
    if (error && typeof error.sentence === "string" && error.sentence) return error.sentence;
    if (error && error.name === "TypeError") return t("no_connection", {}, lang);
    if (error && error.name === "NotAllowedError") return t("push_not_allowed", {}, lang);
    return t("push_service_failed", {}, lang);
  }

  return {
    MESSAGES: MESSAGES, language: language, pageLanguage: pageLanguage, t: t, reason: reason
  };
});
