/* Registers the service worker; everything else on the page works without JavaScript. */
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  });
}

/* Destructive actions ask first: any form with data-confirm="question". Runs before htmx and
   the other scripts see the submit, so "Cancel" stops all of them. */
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches || !form.matches("[data-confirm]")) return;
  if (!window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

/* An htmx request that failed says so: the server's own message (error responses to htmx are
   a short text), "page expired" only when the server says the form's token is, and a word
   about the connection when there was none. */
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("request-error");
  var xhr = event.detail.xhr;
  var kind = xhr.getResponseHeader("X-Error-Kind");
  var plain = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
  box.textContent = kind === "csrf" ? RaceText.t("page_expired")
    : plain && xhr.responseText ? xhr.responseText
    : RaceText.t("request_failed", { status: xhr.status });
  box.hidden = false;
});
document.addEventListener("htmx:sendError", function () {
  var box = document.getElementById("request-error");
  box.textContent = RaceText.t("no_connection");
  box.hidden = false;
});
/* An alert's page says it was read: a POST of its own once the page is shown (offline it
   simply waits for the next visit). */
document.addEventListener("DOMContentLoaded", function () {
  var article = document.querySelector("[data-mark-read]");
  var csrf = document.body.getAttribute("hx-headers");
  if (!article || !csrf) return;
  fetch(article.dataset.markRead, {
    method: "POST", credentials: "same-origin",
    headers: Object.assign({ "X-Raceapp-Read": "page" }, JSON.parse(csrf))
  }).catch(function () {});
});
document.addEventListener("htmx:afterRequest", function (event) {
  if (event.detail.successful) document.getElementById("request-error").hidden = true;
});

/* A print button (the manifest's A4 sheet): the browser's own print dialog. */
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});
