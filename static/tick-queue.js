/* Gear ticks made without a connection, kept on the phone (IndexedDB) until the server has
   them. Shared by the pages and the service worker (importScripts). Only the newest tick of
   an item is kept; each carries the moment it was made, and the server keeps the newest per
   item, so replaying a tick, or a late one, never undoes a newer change. */
var TickQueue = (function () {
  "use strict";
  var DB = "raceapp", STORE = "ticks", SYNC_TAG = "raceapp-ticks";

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "url" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), store = tx.objectStore(STORE), result;
        Promise.resolve(work(store)).then(function (value) { result = value; });
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }
  function all() {
    return run("readonly", function (store) {
      return new Promise(function (resolve) {
        var request = store.getAll();
        request.onsuccess = function () { resolve(request.result); };
      });
    });
  }
  function add(tick) {
    return run("readwrite", function (store) {
      var request = store.get(tick.url);
      request.onsuccess = function () {
        var queued = request.result;
        if (!queued || queued.made_at <= tick.made_at) store.put(tick);
      };
    });
  }
  function remove(tick) {
    return run("readwrite", function (store) {
      var request = store.get(tick.url);
      request.onsuccess = function () {
        // Only if no newer tick of the same item was queued while this one was on its way.
        if (request.result && request.result.made_at === tick.made_at) store.delete(tick.url);
      };
    });
  }
  function send(tick) {
    var body = new URLSearchParams({ packed: tick.packed ? "1" : "0", made_at: tick.made_at,
                                     csrf_token: tick.csrf });
    return fetch(tick.url, { method: "POST", body: body, credentials: "same-origin",
                             redirect: "manual", headers: { "X-CSRFToken": tick.csrf } });
  }
  var flushing = null;
  function flush() {
    // One flush at a time; ticks go in the order they were made.
    if (flushing) return flushing;
    flushing = all().then(function (ticks) {
      ticks.sort(function (a, b) { return a.made_at < b.made_at ? -1 : 1; });
      return ticks.reduce(function (previous, tick) {
        return previous.then(function () {
          return send(tick).then(function (response) {
            // Done, or refused for good (item removed, no longer in the race): drop it.
            if (response.type === "opaqueredirect" || response.ok ||
                (response.status >= 400 && response.status < 500 && response.status !== 429)) {
              return remove(tick);
            }
            throw new Error("server error " + response.status);
          });
        });
      }, Promise.resolve()).then(function () { return ticks.length; });
    }).finally(function () { flushing = null; });
    return flushing;
  }
  return { add: add, all: all, flush: flush, SYNC_TAG: SYNC_TAG };
})();
