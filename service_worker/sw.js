/* raceapp service worker: a versioned app shell and an offline page.
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
