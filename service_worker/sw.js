/* raceapp service worker: the race kit offline, and push alerts.

   BUILD (version, shell URLs) is written in above by the server (raceapp/web/assets.py); any
   change to this file, the shell files or the release makes a new version.
   - App shell: precached per version; old versions are deleted on activation.
   - Static files: cache-first (their URLs carry a content hash).
   - Pages, /api/kit and the course track: network-first with a short time limit, then the
     cached copy, then the offline page. htmx requests are never cached nor answered from the cache, so a fragment
     can never stand in for a page. Each cached copy records when it was fetched.
   - Logging out deletes the cached pages. A runner who has no race any more (withdrawn by the
     organizer, or they left) loses the private pages of the kit at the next sync: the kit
     home saying "no race" (a message from the page), /api/kit answering 409, or a kit page
     redirecting away, purges them.
   - The reader's language (the last page's <html lang>) is kept, so the offline page and a
     notification that cannot be read are in it; a change of language refreshes the cached
     pages, which are then in the new language. */
const SHELL_CACHE = `raceapp-shell-${BUILD.version}`;
const PAGES_CACHE = "raceapp-pages";
const PREFS_CACHE = "raceapp-prefs";
const LANGUAGE_KEY = "/__raceapp/language";
const NETWORK_TIMEOUT_MS = 3500;
const FETCHED_HEADER = "X-Raceapp-Fetched";

importScripts(BUILD.queue, BUILD.messages);

async function readerLanguage() {
  const stored = await caches.open(PREFS_CACHE).then((cache) => cache.match(LANGUAGE_KEY));
  return RaceText.language(stored ? await stored.text() : self.navigator.language);
}

async function rememberLanguage(lang) {
  const cache = await caches.open(PREFS_CACHE);
  const stored = await cache.match(LANGUAGE_KEY);
  const before = stored ? await stored.text() : null;
  await cache.put(LANGUAGE_KEY, new Response(RaceText.language(lang)));
  if (before && before !== RaceText.language(lang)) await refreshPages();
}

/* Every cached page again from the server (after a language change, or a change to the race). */
async function refreshPages(extra) {
  const requests = await caches.open(PAGES_CACHE).then((cache) => cache.keys());
  await cacheKit(requests.map((r) => r.url).concat(extra || []));
}

self.addEventListener("install", (event) => {
  // addAll inside waitUntil: install only completes once the whole shell is cached.
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(BUILD.shell))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys
      .filter((key) => key.startsWith("raceapp-shell-") && key !== SHELL_CACHE)
      .map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
});

// Data the kit's pages read with fetch(), kept like pages: the kit, the course track.
const KIT_DATA = new Set(["/api/kit", "/me/course.json"]);

function isPage(request, url) {
  return request.mode === "navigate" || KIT_DATA.has(url.pathname);
}

// When the runner last logged out: a page asked for before then, still on its way, is theirs
// and must not be kept for whoever uses the phone next.
let forgottenAt = 0;

// The runner's own pages: the kit, its JSON, bus tickets. Public race pages may stay.
function isPrivate(url) {
  // A bus manifest (names, phone numbers) kept for staff mode at the door is private too.
  return /^\/(me(\/|$)|api\/kit$|shuttles\/tickets\/|organizer\/departures\/)/
    .test(new URL(url).pathname);
}

async function purgePrivate() {
  const cache = await caches.open(PAGES_CACHE);
  const requests = await cache.keys();
  await Promise.all(requests.filter((r) => isPrivate(r.url)).map((r) => cache.delete(r)));
}

async function remember(request, response, askedAt) {
  // No race (or no place on its team) any more: what the phone kept of it goes.
  if (isPrivate(request.url) && (response.status === 403 || response.status === 409
      || response.status === 410 || (response.redirected && !isPrivate(response.url)))) {
    await purgePrivate();
    return response;
  }
  // Keep only whole, successful pages of a logged-in runner, stamped with when they came.
  if (!response.ok || response.redirected || response.type !== "basic") return response;
  // Forms tied to this moment's session (log in, sign up) and account pages say no-store.
  if (/no-store/.test(response.headers.get("Cache-Control") || "")) return response;
  if (askedAt < forgottenAt) return response;
  const headers = new Headers(response.headers);
  headers.set(FETCHED_HEADER, new Date().toISOString());
  const body = await response.clone().blob();
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(request, new Response(body, { status: response.status,
    statusText: response.statusText, headers }));
  return response;
}

async function networkFirst(event) {
  const request = event.request;
  const askedAt = Date.now();
  const network = fetch(request).then((response) => remember(request, response, askedAt));
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, null));
  event.waitUntil(network.catch(() => null));  // a slow answer still refreshes the cache
  try {
    const response = await Promise.race([network, timeout]);
    if (response) return response;
  } catch (error) {
    // No network: the cached copy below.
  }
  // One copy per address: the page varies by cookie and language, but this phone has one of each.
  const cached = await caches.match(request, { cacheName: PAGES_CACHE, ignoreVary: true });
  if (cached) return cached;
  if (request.mode === "navigate") {
    const offline = await caches.match(BUILD.offline[await readerLanguage()], { ignoreVary: true });
    if (offline) return offline;
  }
  return network;  // nothing cached: let the page see the network's own answer or error
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) (await caches.open(SHELL_CACHE)).put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.headers.get("HX-Request")) return;  // fragments: network only, never cached
  // Static files and race logos: their addresses change with their content.
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/logos/")) {
    event.respondWith(cacheFirst(request));
  } else if (isPage(request, url)) {
    event.respondWith(networkFirst(event));
  }
});

/* Pages of the kit fetched ahead, so that after one visit online all of it opens offline. */
async function cacheKit(urls) {
  const askedAt = Date.now();
  await Promise.all(urls.map((url) => fetch(url, { credentials: "same-origin" })
    .then((response) => remember(new Request(url), response, askedAt)).catch(() => null)));
  await dropWhatIsNotKept(urls);
}

// Tickets and alert pages the fresh kit does not list as the runner's (a race they were
// withdrawn from, a seat given up) leave the phone; /api/kit lists what may stay.
async function dropWhatIsNotKept(urls) {
  const cache = await caches.open(PAGES_CACHE);
  const kit = await cache.match("/api/kit", { ignoreVary: true });
  if (!kit) return;
  let keep;
  try {
    keep = (await kit.json()).keep;
  } catch (error) {
    return;
  }
  if (!Array.isArray(keep)) return;
  const kept = new Set(keep.concat(urls).map((url) => new URL(url, self.location.origin).pathname));
  const requests = await cache.keys();
  await Promise.all(requests
    .filter((r) => /^\/(shuttles\/tickets\/|me\/alerts\/\d)/.test(new URL(r.url).pathname))
    .filter((r) => !kept.has(new URL(r.url).pathname))
    .map((r) => cache.delete(r)));
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "cache-kit") event.waitUntil(cacheKit(data.urls || []));
  if (data.type === "logout") {
    forgottenAt = Date.now() + 1;
    event.waitUntil(caches.delete(PAGES_CACHE));
  }
  if (data.type === "flush-ticks") event.waitUntil(TickQueue.flush());
  if (data.type === "forget-kit") event.waitUntil(purgePrivate());
  if (data.type === "language") event.waitUntil(rememberLanguage(data.lang));
});

/* Background Sync (Chromium): queued ticks go out when the connection returns, even with the
   page closed. Other browsers flush when the app is next open or back online. */
self.addEventListener("sync", (event) => {
  if (event.tag === TickQueue.SYNC_TAG) event.waitUntil(TickQueue.flush());
});

/* Push: show the alert even when the app is closed. The payload is the JSON the server
   encrypts for this device (raceapp/push/message.py). */
self.addEventListener("push", (event) => {
  let alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch (error) {
    alert = { body: event.data ? event.data.text() : "" };
  }
  // The server writes the message in the language of this device; it says which.
  const lang = alert.lang ? Promise.resolve(alert.lang) : readerLanguage();
  // Whether it is urgent and whether the cached kit must be refreshed come with the message
  // (the server's vocabulary of alert kinds), so this file keeps no list of kinds.
  const urgent = Boolean(alert.urgent);
  const lines = [alert.event, alert.summary, alert.body].filter(Boolean);
  const shown = lang.then((language) => self.registration.showNotification(
    alert.title || RaceText.t("race_alert", {}, language), {
    body: lines.join("\n"),
    // The same alert sent twice replaces itself instead of stacking.
    tag: alert.tag || (alert.id ? `alert-${alert.id}` : undefined),
    renotify: urgent,
    requireInteraction: urgent,
    icon: BUILD.icon,
    badge: BUILD.badge,
    timestamp: alert.at ? Date.parse(alert.at) : Date.now(),
    data: { url: alert.url || "/me/alerts", id: alert.id },
  }));
  // A change to the race updates the cached kit at once, so it is right even offline later.
  const refreshed = alert.refresh ? refreshPages(alert.url ? [alert.url] : []) : Promise.resolve();
  const told = self.clients.matchAll({ type: "window" })
    .then((windows) => windows.forEach((client) => client.postMessage({ type: "alert", alert })));
  event.waitUntil(Promise.all([shown, refreshed.catch(() => null), told]));
});

/* A tap on the notification focuses an open app window on the alert, or opens one. */
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/me/alerts",
                         self.location.origin);
  // Only ever open our own pages.
  const url = target.origin === self.location.origin ? target.href : `${self.location.origin}/me/alerts`;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window" });
    const client = windows.find((c) => c.url === url) || windows[0];
    if (!client) return self.clients.openWindow(url);
    const shown = client.url === url ? client : (await client.navigate(url)) || client;
    try {
      return await shown.focus();
    } catch (error) {
      return shown; // focusing needs a real tap; the page is on the alert all the same
    }
  })());
});
