/* Installing raceapp. On an iPhone or iPad, Safari has no install prompt and gives push only to
   the app added to the Home Screen: the steps (with their picture) replace "Turn on alerts"
   until the app runs from the Home Screen. Where the browser offers an install prompt
   (Android, desktop Chromium), a button opens it. Runs before push.js on the same card. */
(function () {
  "use strict";
  var root = document.documentElement;
  var installed = (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches) ||
    navigator.standalone === true;
  root.classList.toggle("is-installed", installed);
  var control = document.querySelector("[data-push-control]");
  if (!control) return;
  var steps = control.querySelector("[data-install-ios]");
  var button = control.querySelector("[data-install]");

  var ios = /iPhone|iPad|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  if (ios && !installed && steps) {
    steps.hidden = false;
    control.dataset.installFirst = "ios";
  }

  var deferred = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();  // our button asks, at the moment the runner chooses
    deferred = event;
    if (button) button.hidden = false;
  });
  if (button) {
    button.addEventListener("click", function () {
      if (!deferred) return;
      var prompt = deferred;
      deferred = null;
      button.hidden = true;
      prompt.prompt();
    });
  }
  window.addEventListener("appinstalled", function () {
    if (button) button.hidden = true;
    var status = control.querySelector("[data-push-status]");
    if (status) status.textContent = RaceText.t("installed");
  });
})();
