/* Push alerts on this device. The browser's permission prompt appears only after a tap on
   "Turn on alerts". On every page load the current subscription is sent again, because
   browsers replace subscriptions without telling the page. */
(function () {
  "use strict";
  var keyMeta = document.querySelector('meta[name="push-key"]');
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var control = document.querySelector("[data-push-control]");
  if (!keyMeta) return;

  function say(text) {
    var status = control && control.querySelector("[data-push-status]");
    if (status) status.textContent = text;
  }
  function show(on) {
    if (!control) return;
    control.dataset.pushState = on ? "on" : "off";
    control.querySelector("[data-push-on]").hidden = on;
    control.querySelector("[data-push-off]").hidden = !on;
  }
  // On an iPhone not yet run from the Home Screen, the install steps come first (install.js).
  if (control && control.dataset.installFirst === "ios") {
    control.querySelector("[data-push-on]").hidden = true;
    return;
  }
  var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!supported) {
    if (control) control.querySelector("[data-push-on]").hidden = true;
    say(RaceText.t("push_unsupported"));
    return;
  }

  function applicationServerKey() {
    var text = keyMeta.content.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(text + "=".repeat((4 - text.length % 4) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function post(method, body) {
    return fetch("/push/subscription", {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfMeta.content },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.ok) return response.json();
      return response.json().catch(function () { return {}; }).then(function (data) {
        throw saying(data.error || RaceText.t("request_failed", { status: response.status }));
      });
    });
  }
  // An error that carries the sentence to show (RaceText.reason shows it as it is).
  function saying(sentence) {
    var error = new Error(sentence);
    error.sentence = sentence;
    return error;
  }
  function subscribe(registration) {
    return registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: applicationServerKey()
    });
  }

  // On every open: re-send the subscription, or make a new one if permission stands but the
  // browser dropped it.
  navigator.serviceWorker.ready.then(function (registration) {
    return registration.pushManager.getSubscription().then(function (subscription) {
      if (!subscription && Notification.permission === "granted") return subscribe(registration);
      return subscription;
    });
  }).then(function (subscription) {
    show(!!subscription);
    if (subscription) {
      say(RaceText.t("push_on"));
      return post("POST", subscription.toJSON());
    }
    if (Notification.permission === "denied") {
      say(RaceText.t("push_blocked"));
    }
  }).catch(function (error) { say(RaceText.t("push_check_failed", { error: RaceText.reason(error) })); });

  if (!control) return;
  control.querySelector("[data-push-on]").addEventListener("click", function () {
    say(RaceText.t("push_asking"));
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        throw saying(RaceText.t("push_not_allowed"));
      }
      return navigator.serviceWorker.ready;
    }).then(subscribe).then(function (subscription) {
      return post("POST", subscription.toJSON());
    }).then(function () {
      show(true);
      say(RaceText.t("push_on"));
    }).catch(function (error) { say(RaceText.t("push_failed", { error: RaceText.reason(error) })); });
  });
  control.querySelector("[data-push-off]").addEventListener("click", function () {
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) return null;
      return post("DELETE", { endpoint: subscription.endpoint }).then(function () {
        return subscription.unsubscribe();
      });
    }).then(function () {
      show(false);
      say(RaceText.t("push_off"));
    }).catch(function (error) { say(RaceText.t("push_off_failed", { error: RaceText.reason(error) })); });
  });
})();
