/* Registers the service worker; everything else on the page works without JavaScript. */
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  });
}

/* An htmx request that failed (4xx/5xx, or no network) says so instead of doing nothing. */
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("request-error");
  var status = event.detail.xhr.status;
  box.textContent = status === 404 ? "That item is no longer on your list. Reload the page."
    : status === 400 ? "This page has expired. Reload it and try again."
    : status === 429 ? "Too many attempts. Wait " + (event.detail.xhr.getResponseHeader("Retry-After") || "60")
      + " seconds and try again."
    : "That did not work (error " + status + "). Try again.";
  box.hidden = false;
});
document.addEventListener("htmx:sendError", function () {
  var box = document.getElementById("request-error");
  box.textContent = "No connection. Try again when you have signal.";
  box.hidden = false;
});
document.addEventListener("htmx:afterRequest", function (event) {
  if (event.detail.successful) document.getElementById("request-error").hidden = true;
});
