/* raceapp service worker: a versioned app shell, an offline page, and push alerts.
   Served from the site root (/sw.js) so its scope covers every page. The offline race kit
   (cached pages, queued ticks, push) builds on this. */
const VERSION = "v1";
const SHELL_CACHE = `raceapp-shell-${VERSION}`;
const SHELL = ["/offline", "/static/app.css", "/static/app.js",
               "/static/vendor/htmx/htmx-2.0.11.min.js"];

self.addEventListener("install", (event) => {
  // addAll inside waitUntil: install only completes once the shell is cached.
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("raceapp-shell-") && k !== SHELL_CACHE)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline")));
    return;
  }
  if (SHELL.includes(new URL(request.url).pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});

/* Push: show the alert even when the app is closed. The payload is the JSON the server
   encrypts for this device (raceapp/push/message.py). */
self.addEventListener("push", (event) => {
  let alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch (error) {
    alert = { title: "Race alert", body: event.data ? event.data.text() : "" };
  }
  const urgent = ["cancellation", "course_change", "start_delay"].includes(alert.kind);
  const lines = [alert.event, alert.body].filter(Boolean);
  event.waitUntil(self.registration.showNotification(alert.title || "Race alert", {
    body: lines.join("\n"),
    // The same alert sent twice replaces itself instead of stacking.
    tag: alert.tag || (alert.id ? `alert-${alert.id}` : undefined),
    renotify: urgent,
    requireInteraction: urgent,
    timestamp: alert.at ? Date.parse(alert.at) : Date.now(),
    data: { url: alert.url || "/me/alerts", id: alert.id },
  }));
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
