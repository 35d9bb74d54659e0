/* The pace helper without a connection: the same plan as the server's (RaceRules, from
   race-rules.js), computed on the phone from the cut-offs in the page and written into the
   page's own <template> markup, when the server cannot be asked. */
(function () {
  "use strict";
  var dataEl = document.getElementById("pace-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var loaded = Date.now();

  function now() {
    // In preview the helper counts from the previewed moment, as the server does.
    return data.preview_now ? Date.parse(data.preview_now) + (Date.now() - loaded) : Date.now();
  }
  function fill(templateId, values) {
    var node = document.getElementById(templateId).content.cloneNode(true);
    Object.keys(values).forEach(function (key) {
      var el = node.querySelector("[data-" + key + "]");
      if (el) el.textContent = values[key];
    });
    return node;
  }
  // The server hands over its own sentences in the page's language: {km}, {pace} to fill in.
  function say(key, values) {
    return data.messages[key].replace(/\{(\w+)\}/g, function (whole, name) {
      return values[name] !== undefined ? values[name] : whole;
    });
  }
  function paceCell(leg) {
    var cell;
    if (leg.pace === null) cell = fill("pace-passed", {});
    else if (leg.grade === "out of reach") {
      cell = fill("pace-unreachable", { value: say("needs", { pace: RaceRules.formatPace(leg.pace) }) });
    } else {
      cell = fill("pace-grade", { value: RaceRules.formatPace(leg.pace), grade: data.grades[leg.grade] });
    }
    if (leg.arrival !== null) {
      var time = RaceRules.formatClock(leg.arrival, data.time_zone);
      var arrival = fill("pace-arrival", { value: say(leg.margin < 0 ? "arrival_late" : "arrival", { time: time }) });
      if (leg.margin < 0) arrival.querySelector(".arrival").classList.add("late");
      cell.appendChild(arrival);
    }
    return cell;
  }
  function show(form) {
    var section = document.getElementById("pace");
    var message = form.querySelector("[data-pace-message]");
    var input = form.querySelector("[name=km]");
    section.querySelectorAll("table, .pace-none").forEach(function (el) { el.remove(); });
    var note = section.querySelector(".muted");
    var checkpoints = {}, cutoffs = [];
    data.checkpoints.forEach(function (cp) {
      checkpoints[String(cp.id)] = cp.km;
      if (cp.cutoff) cutoffs.push(cp);
    });
    var atKm;
    try {
      atKm = RaceRules.parsePosition(input.value, form.querySelector("[name=checkpoint]").value,
                                     data.distance_km, checkpoints);
    } catch (error) {
      message.textContent = (data.messages[error.code] || data.messages.not_a_number);
      input.setAttribute("aria-invalid", "true");
      input.closest(".field").classList.add("has-error");
      return;
    }
    message.textContent = "";
    input.removeAttribute("aria-invalid");
    input.closest(".field").classList.remove("has-error");
    var legs = RaceRules.legs(data.start, now(), atKm, cutoffs, data.comfortable, data.out_of_reach,
                              data.climb);
    if (!legs.length) {
      var none = document.createElement("p");
      none.className = "pace-none";
      none.textContent = say("none_ahead", { km: atKm });
      section.insertBefore(none, note);
      return;
    }
    var table = document.createElement("table");
    table.className = "cutoffs pace";
    var head = table.createTHead().insertRow();
    data.headings.forEach(function (text) {
      var th = document.createElement("th");
      th.textContent = text;
      head.appendChild(th);
    });
    var body = table.createTBody();
    legs.forEach(function (leg) {
      var cp = cutoffs.find(function (c) { return c.km === leg.km; });
      var row = fill("pace-row", { name: cp.name, detail: say("detail", { km: cp.km, time: cp.cutoff_label }),
                                   distance: leg.distance.toFixed(1),
                                   climb: leg.climb >= 1 ? say("climb", { metres: Math.round(leg.climb).toLocaleString("en-US") }) : "" });
      row.querySelector("tr").className = "grade-" + leg.grade.replace(/ /g, "-");
      row.querySelector("[data-pace]").appendChild(paceCell(leg));
      body.appendChild(row);
    });
    section.insertBefore(table, note);
  }
  function offlinePlan(event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches(".pace-form")) return false;
    if (event.preventDefault) event.preventDefault();
    show(form);
    return true;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!navigator.onLine) offlinePlan(event);
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (offlinePlan(event)) document.getElementById("request-error").hidden = true;
  });
})();
