/* The agreement-zone page: demand toggles that re-run POST /api/zone. */
(function () {
  "use strict";
  var caseSel = document.getElementById("zone-case");
  var box = document.getElementById("zone-demands");
  var statusEl = document.getElementById("zone-status");
  var message = document.getElementById("zone-message");
  var conflict = document.getElementById("zone-conflict");
  var figure = document.getElementById("zone-figure");

  function post(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (Array.isArray(v)) v.forEach(function (item) { q.append(k, item); });
      else if (v !== null && v !== undefined) q.append(k, String(v));
    });
    return fetch("/api/zone?" + q.toString(), { method: "POST", credentials: "same-origin" }).then(function (res) {
      return res.json().then(function (data) { return { ok: res.ok, data: data }; });
    });
  }

  function held() {
    return Array.prototype.slice.call(box.querySelectorAll("input:checked")).map(function (i) { return i.value; });
  }

  function toggles(demands) {
    box.querySelectorAll("label").forEach(function (n) { n.remove(); });
    demands.forEach(function (d) {
      var label = document.createElement("label");
      var input = document.createElement("input");
      input.type = "checkbox";
      input.value = d.id;
      input.checked = d.on;
      input.addEventListener("change", function () { run(held(), false); });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + d.party + ": " + d.id + (d.text ? " (" + d.text + ")" : "")));
      box.appendChild(label);
      box.appendChild(document.createElement("br"));
    });
  }

  function run(demands, all) {
    statusEl.textContent = "solving...";
    post({ case: caseSel.value, demand: demands, all_demands: all }).then(function (res) {
      if (!res.ok) { statusEl.textContent = "error: " + JSON.stringify(res.data.detail); return; }
      var z = res.data;
      statusEl.textContent = (z.empty ? "empty" : "open") + " (" + z.solve_time.toFixed(2) + " s)";
      if (all) toggles(z.available_demands);
      message.textContent = z.message;
      conflict.innerHTML = "";
      z.conflict.forEach(function (c) {
        var li = document.createElement("li");
        li.textContent = c.text;
        conflict.appendChild(li);
      });
      figure.innerHTML = "";
      if (z.figure && typeof window.vegaEmbed === "function") {
        window.vegaEmbed(figure, z.figure, { actions: false, renderer: "svg" });
      }
    });
  }

  fetch("/api/cases", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
    data.cases.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c.name;
      o.textContent = c.name;
      caseSel.appendChild(o);
    });
    caseSel.value = "hanoi-2019";
    caseSel.addEventListener("change", function () { run([], true); });
    run([], true);
  });
})();
