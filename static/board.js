/* Staff mode at the bus door. A ticket's code comes from the field, or from its QR code:
   the live camera (or a photo, where the page cannot open the camera) read by the browser's
   BarcodeDetector where there is one, else by the vendored jsQR. Each scan carries the moment it was made. With signal it goes straight to
   the server; without, it is kept on this phone and sent, oldest first, when signal returns
   (the server keeps the earliest scan of a ticket, so two phones offline give one boarding). */
(function () {
  "use strict";
  var form = document.querySelector("[data-board-form]");
  if (!form) return;
  var data = JSON.parse(document.getElementById("board-data").textContent);
  var KEY = "raceapp-board-queue-" + data.departure;
  var result = function () { return document.getElementById("board-result"); };
  var input = form.querySelector("[name=reference]");
  var photo = document.querySelector("[data-board-photo]");

  function kept() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (error) { return []; }
  }
  function keep(queue) { localStorage.setItem(KEY, JSON.stringify(queue)); }
  function say(text, kind) {
    var box = result();
    box.innerHTML = "";
    var p = document.createElement("p");
    p.className = "card board-verdict " + (kind || "board-other");
    p.setAttribute("role", "alert");
    p.textContent = text;
    box.appendChild(p);
    var waiting = document.createElement("p");
    waiting.className = "muted";
    waiting.textContent = data.messages.waiting.replace("{n}", kept().length);
    if (kept().length) box.appendChild(waiting);
  }
  // A ticket's QR code holds the address of its check page: the code is its last part.
  function referenceOf(text) {
    var match = /([A-Z0-9]{3}-[A-Z0-9]{3})\s*$/i.exec(String(text || "").trim());
    return match ? match[1].toUpperCase() : String(text || "").trim().toUpperCase();
  }
  function send(scan) {
    var body = new FormData();
    body.append("csrf_token", form.querySelector("[name=csrf_token]").value);
    body.append("reference", scan.reference);
    body.append("scanned_at", scan.scanned_at);
    return fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                                headers: { "HX-Request": "true" } });
  }
  function show(response) {
    return response.text().then(function (html) {
      var box = result();
      box.outerHTML = html;
    });
  }
  var flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) return;
    var queue = kept();
    if (!queue.length) return;
    flushing = true;
    send(queue[0]).then(function (response) {
      // Answered (boarded, or refused with a reason): it leaves the phone either way.
      keep(kept().slice(1));
      flushing = false;
      return show(response).then(flush);
    }, function () { flushing = false; });
  }
  function scan(reference) {
    var entry = { reference: referenceOf(reference), scanned_at: new Date().toISOString() };
    if (!entry.reference) return;
    var queue = kept();
    var earlier = queue.filter(function (s) { return s.reference === entry.reference; })[0];
    if (earlier) {
      say(data.messages.scanned_here.replace("{time}", new Date(earlier.scanned_at)
        .toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit", hour12: false })), "board-no");
      return;
    }
    if (!navigator.onLine) {
      queue.push(entry);
      keep(queue);
      say(data.messages.kept.replace("{reference}", entry.reference));
      return;
    }
    send(entry).then(show, function () {
      queue.push(entry);
      keep(queue);
      say(data.messages.kept.replace("{reference}", entry.reference));
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    scan(input.value);
    input.value = "";
    input.focus();
  });
  var detector = null;
  var canvas = document.createElement("canvas");
  // The QR code in an image, a bitmap or the current video frame; null when there is none.
  function read(source, width, height) {
    if (window.BarcodeDetector) {
      detector = detector || new BarcodeDetector({ formats: ["qr_code"] });
      return detector.detect(source).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      });
    }
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, width, height);
    var pixels = context.getImageData(0, 0, width, height);
    var code = jsQR(pixels.data, width, height, { inversionAttempts: "dontInvert" });
    return Promise.resolve(code ? code.data : null);
  }
  function decode(file) {
    return createImageBitmap(file).then(function (bitmap) {
      return read(bitmap, bitmap.width, bitmap.height);
    });
  }

  /* The live camera: frames are read a few times a second; a ticket held in front of it
     is one scan (the same code again only after a pause). Nothing here needs signal. */
  var cameraButton = document.querySelector("[data-board-camera]");
  var video = document.querySelector("[data-board-video]");
  var stream = null;
  var starting = false;
  var last = { text: "", at: 0 };
  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    document.body.classList.remove("board-camera-on");
    cameraButton.textContent = data.messages.camera_start;
    cameraButton.setAttribute("aria-pressed", "false");
  }
  function watch() {
    if (!stream) return;
    var ready = video.readyState >= 2 && video.videoWidth > 0;
    var frame;
    try {
      frame = ready ? read(video, video.videoWidth, video.videoHeight) : Promise.resolve(null);
    } catch (error) {
      frame = Promise.resolve(null);  // one unreadable frame: try the next
    }
    frame.then(function (text) {
      var now = Date.now();
      // A ticket held in view is one scan: it counts again only once it has been out of
      // sight for a few seconds.
      if (text && (text !== last.text || now - last.at > 4000)) scan(text);
      if (text) last = { text: text, at: now };
    }, function () { return null; }).then(function () {
      if (stream) setTimeout(watch, 200);
    });
  }
  if (cameraButton && video && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    cameraButton.hidden = false;
    cameraButton.addEventListener("click", function () {
      if (stream) { stopCamera(); return; }
      if (starting) return;  // the permission prompt is still open
      starting = true;
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (opened) {
          starting = false;
          stream = opened;
          // The camera taken by another app, or unplugged: say so instead of a frozen frame.
          opened.getVideoTracks().forEach(function (track) {
            track.addEventListener("ended", function () { if (stream === opened) stopCamera(); });
          });
          video.srcObject = opened;
          video.hidden = false;
          // The verdict then stays in view at the foot of the screen, under the camera.
          document.body.classList.add("board-camera-on");
          cameraButton.textContent = data.messages.camera_stop;
          cameraButton.setAttribute("aria-pressed", "true");
          return video.play();
        })
        .then(watch, function () {
          starting = false;
          stopCamera();
          say(data.messages.no_camera, "board-no");
        });
    });
    window.addEventListener("pagehide", stopCamera);
  }
  if (photo) {
    photo.addEventListener("change", function () {
      var file = photo.files && photo.files[0];
      if (!file) return;
      decode(file).then(function (text) {
        if (text) scan(text);
        else say(data.messages.no_code, "board-no");
      }, function () { say(data.messages.no_code, "board-no"); });
      photo.value = "";
    });
  }
  window.addEventListener("online", flush);
  flush();
  // The manifest goes on the phone too, so the door can still see who is booked offline.
  if (navigator.onLine && navigator.serviceWorker) {
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) {
        registration.active.postMessage({ type: "cache-kit", urls: [data.manifest] });
      }
    });
  }
})();
