/* Offline behaviour of every page: when its data was fetched, an offline badge, the whole kit
   cached after a visit to the kit home, gear ticks queued while offline and sent when the
   connection returns, alerts missed while offline, and a logout that leaves nothing behind. */
(function () {
  "use strict";
  var PAGES_CACHE = "raceapp-pages";
  var fetched = document.querySelector("[data-fetched]");
  var badge = document.querySelector("[data-offline-badge]");
  var fetchedAt = new Date();
  var sw = "serviceWorker" in navigator ? navigator.serviceWorker : null;

  var t = RaceText.t;
  function ago(date) {
    var minutes = Math.floor((Date.now() - date.getTime()) / 60000);
    if (minutes < 1) return t("just_now");
    if (minutes < 60) return t("minutes_ago", { n: minutes });
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return t("hours_ago", { n: hours });
    return t("days_ago", { n: Math.floor(hours / 24) });
  }
  function render() {
    if (fetched) fetched.textContent = t("updated", { ago: ago(fetchedAt) });
    if (badge) badge.hidden = navigator.onLine;
    // Screen readers hear the connection change once, not the minute-by-minute age.
    var announcer = document.querySelector("[data-announce]");
    var wasOffline = document.documentElement.classList.contains("is-offline");
    if (announcer && wasOffline === navigator.onLine) {
      announcer.textContent = t(navigator.onLine ? "back_online" : "went_offline");
    }
    document.documentElement.classList.toggle("is-offline", !navigator.onLine);
  }
  // The service worker stamps each copy it keeps; a page shown from that copy says its age.
  if ("caches" in window) {
    caches.open(PAGES_CACHE).then(function (cache) { return cache.match(location.href); })
      .then(function (response) {
        var stamp = response && response.headers.get("X-Raceapp-Fetched");
        if (stamp) fetchedAt = new Date(stamp);
        render();
      }).catch(render);
  }
  render();
  setInterval(render, 30000);
  // The service worker keeps the reader's language: its offline page and notifications follow
  // it, and a change refreshes the pages it keeps.
  if (sw) {
    sw.ready.then(function (registration) {
      if (registration.active) {
        registration.active.postMessage({ type: "language", lang: RaceText.pageLanguage() });
      }
    }).catch(function () {});
  }

  /* --- no race any more (left, or withdrawn by the organizer): the kit the phone kept goes -- */
  if (sw && document.body.hasAttribute("data-no-race")) {
    sw.ready.then(function (registration) {
      if (registration.active) registration.active.postMessage({ type: "forget-kit" });
    }).catch(function () {});
  }

  /* --- the kit, cached ahead -------------------------------------------------------------- */
  var REFRESH_KIT_MS = 10 * 60 * 1000;
  function cacheKit(force) {
    var list = document.body.getAttribute("data-kit-urls");
    if (!list || !sw || !navigator.onLine) return;
    // Each copy revalidates (mostly 304s), but on a slow link that is still a dozen requests:
    // refresh at most every ten minutes, or at once when the kit or its language changed or
    // signal came back.
    var key = "raceapp-kit-cached", stamp = RaceText.pageLanguage() + ":" + list.length + ":" + list;
    var last = JSON.parse(localStorage.getItem(key) || "{}");
    if (!force && last.stamp === stamp && Date.now() - last.at < REFRESH_KIT_MS) return;
    localStorage.setItem(key, JSON.stringify({ stamp: stamp, at: Date.now() }));
    sw.ready.then(function (registration) {
      registration.active.postMessage({ type: "cache-kit", urls: JSON.parse(list) });
    });
    // Ask the phone not to evict the kit when storage runs low.
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
  }

  /* --- a drop-out report (static/help.js keeps it until the server has it) ---------------- */
  // Kept on the phone from the moment it is made; sent now or when signal returns; dropped only
  // once the server took it. A refusal (an expired page, another race) stays, marked, so the
  // runner is told to call rather than believe it went.
  var DROP_OUT = "raceapp-drop-out";
  function keptDropOut() {
    try { return JSON.parse(localStorage.getItem(DROP_OUT) || "null"); } catch (error) { return null; }
  }
  function sendDropOut() {
    var queued = keptDropOut();
    if (!queued || queued.refused || !navigator.onLine) return Promise.resolve(null);
    return fetch(queued.url, {
      method: "POST", body: new URLSearchParams(queued.fields), credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": queued.fields.csrf_token, "X-Raceapp-Queued": "1" }
    }).then(function (response) {
      if (response.ok) {
        localStorage.removeItem(DROP_OUT);
        // The kit's copies kept for offline must say the runner stopped.
        if (sw) sw.ready.then(function (r) {
          if (r.active) r.active.postMessage({ type: "cache-kit", urls: ["/me", "/me/help"] });
        });
      } else if (response.status >= 400 && response.status < 500) {
        queued.refused = response.status;
        localStorage.setItem(DROP_OUT, JSON.stringify(queued));
      }
      return response.status;
    }).catch(function () { return null; });
  }
  window.RaceDropOut = { send: sendDropOut, kept: keptDropOut, KEY: DROP_OUT };
  window.addEventListener("online", sendDropOut);
  sendDropOut();

  /* --- gear ticks while offline ----------------------------------------------------------- */
  var TICK_FORMS = ".gear-row > form:not(.remove)";

  function showTick(form, packed, queued) {
    var row = form.closest(".gear-row");
    row.classList.toggle("packed", packed);
    row.classList.toggle("queued", queued);
    form.querySelector("button.tick").setAttribute("aria-pressed", packed ? "true" : "false");
    form.querySelector("input[name=packed]").value = packed ? "0" : "1";
    var label = row.querySelector(".visually-hidden");
    if (label) label.textContent = packed ? t("packed") : t("not_packed");
    var list = document.querySelector("[data-mandatory]"), card = document.getElementById("progress");
    if (list && card && card.querySelector("progress")) {
      var total = list.querySelectorAll(".gear-row").length;
      var done = list.querySelectorAll(".gear-row.packed").length;
      card.querySelector("strong").textContent = t("packed_count", { done: done, n: total });
      card.querySelector("progress").value = done;
    }
  }
  function queueTick(form) {
    var packed = form.querySelector("input[name=packed]").value === "1";
    var tick = { url: new URL(form.action, location.href).pathname, packed: packed,
                 made_at: new Date().toISOString(),
                 csrf: form.querySelector("input[name=csrf_token]").value };
    showTick(form, packed, true);
    return TickQueue.add(tick).then(function () {
      if (sw) sw.ready.then(function (r) { if (r.sync) return r.sync.register(TickQueue.SYNC_TAG); })
        .catch(function () {});
    });
  }
  function formFor(url) {
    return Array.prototype.find.call(document.querySelectorAll(TICK_FORMS), function (form) {
      return new URL(form.action, location.href).pathname === url;
    });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!navigator.onLine && form.matches && form.matches(TICK_FORMS)) {
      event.preventDefault();
      queueTick(form);
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt;
    if (form.matches && form.matches(TICK_FORMS)) {
      queueTick(form);
      document.getElementById("request-error").hidden = true;
    }
  });
  // A page reopened from the cache shows the ticks still waiting to be sent.
  function showQueued() {
    if (!document.querySelector(TICK_FORMS)) return Promise.resolve();
    return TickQueue.all().then(function (ticks) {
      ticks.forEach(function (tick) {
        var form = formFor(tick.url);
        if (form) showTick(form, tick.packed, true);
      });
    });
  }
  function flushTicks() {
    if (!navigator.onLine) return Promise.resolve();
    return TickQueue.flush().then(function (sent) {
      if (!sent) return;
      Array.prototype.forEach.call(document.querySelectorAll(".gear-row.queued"), function (row) {
        row.classList.remove("queued");
      });
    }).catch(function () {});
  }

  /* --- alerts missed while offline -------------------------------------------------------- */
  var known = JSON.parse(document.body.getAttribute("data-known-alerts") || "null");
  function newAlerts(alerts) {
    var box = document.querySelector("[data-new-alerts]");
    if (!box || !alerts.length) return;
    box.textContent = "";
    var text = document.createElement("strong");
    text.textContent = alerts.length === 1 ? t("new_alert", { title: alerts[0].title })
      : t("new_alerts", { n: alerts.length });
    var link = document.createElement("a");
    link.href = alerts.length === 1 ? "/me/alerts/" + alerts[0].id : "/me/alerts";
    link.textContent = t("open");
    box.append(text, " ", link);
    box.hidden = false;
  }
  function checkAlerts(tries) {
    if (!known || !navigator.onLine) return;
    tries = tries || 0;
    fetch("/api/kit", { credentials: "same-origin" }).then(function (response) {
      // On a slow link the service worker may answer with the copy it kept (it is stamped):
      // that copy cannot hold what was missed, so ask again a little later.
      if (response.headers.get("X-Raceapp-Fetched") && tries < 5) {
        setTimeout(function () { checkAlerts(tries + 1); }, 5000);
        return null;
      }
      return response.ok ? response.json() : null;
    }).then(function (kit) {
      if (!kit) return;
      newAlerts(kit.alerts.filter(function (a) { return !a.read && known.indexOf(a.id) < 0; }));
    }).catch(function () {});
  }
  if (sw) {
    sw.addEventListener("message", function (event) {
      if (event.data && event.data.type === "alert" && event.data.alert.id) {
        if (known && known.indexOf(event.data.alert.id) < 0) newAlerts([event.data.alert]);
      }
    });
  }

  /* --- logout: the runner's cached pages and queue go with the session -------------------- */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-logout]") || form.dataset.cleared) return;
    event.preventDefault();
    localStorage.removeItem("raceapp-kit-cached");
    // What this runner kept on the phone is not for the next one to see or send.
    localStorage.removeItem("raceapp-last-position");
    localStorage.removeItem(DROP_OUT);
    var sendFirst = Promise.race([flushTicks(), new Promise(function (r) { setTimeout(r, 3000); })]);
    sendFirst.then(function () {
      // The worker forgets too: a page still on its way is not kept after this.
      if (sw && sw.controller) sw.controller.postMessage({ type: "logout" });
      return "caches" in window ? caches.delete(PAGES_CACHE) : null;
    }).catch(function () {}).then(function () {
      form.dataset.cleared = "1";
      form.submit();
    });
  });

  window.addEventListener("online", function () {
    render();
    flushTicks().then(function () { checkAlerts(); });
    cacheKit(true);
  });
  window.addEventListener("offline", render);
  showQueued().then(flushTicks).then(function () { checkAlerts(); });
  cacheKit();
})();
