/* The pace helper without a connection: the same plan as raceapp/services/pace.py, computed on
   the phone from the cut-offs in the page, when the server cannot be asked. */
(function () {
  "use strict";
  var dataEl = document.getElementById("pace-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);

  function grade(pace) {
    if (pace >= data.comfortable) return "comfortable";
    if (pace >= data.out_of_reach) return "tight";
    return "out of reach";
  }
  function formatPace(pace) {
    var total = Math.round(pace * 60);
    return Math.floor(total / 60) + ":" + String(total % 60).padStart(2, "0") + " min/km";
  }
  function cell(row, html) {
    var td = document.createElement("td");
    td.innerHTML = html;
    row.appendChild(td);
    return td;
  }
  function escape(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }
  function plan(atKm) {
    if (data.distance_km !== null && (atKm < 0 || atKm > data.distance_km)) {
      throw new Error("Give a distance between 0 and " + data.distance_km + " km.");
    }
    var from = Math.max(Date.now(), Date.parse(data.start));
    return data.checkpoints.filter(function (cp) { return cp.cutoff && cp.km > atKm; })
      .map(function (cp) {
        var distance = cp.km - atKm, minutes = (Date.parse(cp.cutoff) - from) / 60000;
        var pace = minutes > 0 ? minutes / distance : null;
        return { cp: cp, distance: distance, pace: pace, grade: pace === null ? "passed" : grade(pace) };
      });
  }
  function show(form) {
    var section = document.getElementById("pace");
    var km = form.querySelector("[name=km]").value.trim().replace(",", ".");
    var checkpoint = form.querySelector("[name=checkpoint]").value;
    var atKm = km ? Number(km) : checkpoint === "start" ? 0
      : (data.checkpoints.find(function (cp) { return String(cp.id) === checkpoint; }) || {}).km;
    section.querySelectorAll(".alert, table, .pace-none").forEach(function (el) { el.remove(); });
    var note = section.querySelector(".muted");
    var rows;
    try {
      if (atKm === undefined || !isFinite(atKm)) throw new Error("Give your position as a number of km, e.g. 61 or 61.5.");
      rows = plan(atKm);
    } catch (error) {
      var alert = document.createElement("p");
      alert.className = "alert";
      alert.setAttribute("role", "alert");
      alert.textContent = error.message;
      section.insertBefore(alert, note);
      return;
    }
    if (!rows.length) {
      var none = document.createElement("p");
      none.className = "pace-none";
      none.textContent = "No cut-off lies ahead of km " + atKm + ".";
      section.insertBefore(none, note);
      return;
    }
    var table = document.createElement("table");
    table.className = "cutoffs pace";
    table.innerHTML = "<thead><tr><th>To</th><th>km to go</th><th>Pace needed</th></tr></thead><tbody></tbody>";
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.className = "grade-" + r.grade.replace(/ /g, "-");
      cell(tr, escape(r.cp.name) + "<br><small>" + escape(r.cp.km + " km · cut-off " + r.cp.cutoff_label) + "</small>");
      cell(tr, r.distance.toFixed(1)).className = "num";
      cell(tr, r.pace === null ? "<b>cut-off passed</b>"
        : formatPace(r.pace) + '<br><span class="pill grade">' + r.grade + "</span>").className = "num";
      table.tBodies[0].appendChild(tr);
    });
    section.insertBefore(table, note);
  }
  function offlinePlan(event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches(".pace-form")) return false;
    event.preventDefault && event.preventDefault();
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
