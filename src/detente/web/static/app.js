/* detente web page: plain JavaScript over the JSON API (no framework, no network beyond /api). */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var state = { source: "scenario.yaml", summary: null, overrides: {}, validateTimer: null, jobs: {} };
  // vega-lite's compile warnings (faceted independent scales) are noise for readers
  var QUIET = {
    level: function () { return QUIET; },
    error: function () { console.error.apply(console, arguments); return QUIET; },
    warn: function () { return QUIET; },
    info: function () { return QUIET; },
    debug: function () { return QUIET; },
  };
  var EMBED = {
    renderer: "svg",
    ast: true, // CSP-safe expression interpreter: the page allows no eval
    logLevel: 1,
    logger: QUIET,
    actions: { export: true, source: false, compiled: false, editor: false },
  };

  // ------------------------------------------------------------------ helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function fmt(x, digits) {
    if (x === null || x === undefined) return "–";
    if (typeof x !== "number") return String(x);
    return Number(x.toPrecision(digits || 4)).toString().replace("-", "−");
  }

  function query(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === null || v === undefined || v === "") return;
      if (Array.isArray(v)) v.forEach(function (item) { q.append(k, item); });
      else q.append(k, String(v));
    });
    var s = q.toString();
    return s ? "?" + s : "";
  }

  function api(method, path, params, body) {
    var init = { method: method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/yaml";
      init.body = body;
    }
    return fetch(path + query(params || {}), init).then(function (res) {
      var type = res.headers.get("content-type") || "";
      var parse = type.indexOf("json") >= 0 ? res.json() : res.text();
      return parse.then(function (data) { return { ok: res.ok, status: res.status, data: data }; });
    }, function (err) {
      return { ok: false, status: 0, data: { detail: "the server did not answer (" + err + ")" } };
    });
  }

  function detail(res) {
    var d = res.data && res.data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map(function (e) { return (e.loc || []).join(".") + ": " + e.msg; }).join("; ");
    return "error " + res.status;
  }

  function show(spec, id) {
    var node = clear($(id));
    if (!spec) return;
    if (typeof window.vegaEmbed !== "function") {
      node.textContent = "(figures need /static/vega.js, which did not load)";
      return;
    }
    window.vegaEmbed(node, spec, EMBED).catch(function (err) { node.textContent = "(figure failed: " + err + ")"; });
  }

  function yamlText() { return $("yaml").value; }

  function overrides() {
    return Object.keys(state.overrides).map(function (k) { return k + "=" + state.overrides[k]; });
  }

  // ------------------------------------------------------------------ editor

  function renderGutter(badLines) {
    var n = yamlText().split("\n").length;
    var gutter = clear($("gutter"));
    for (var i = 1; i <= n; i++) {
      var span = el("span", { text: String(i) });
      if (badLines && badLines[i]) span.className = "bad";
      gutter.appendChild(span);
      gutter.appendChild(document.createTextNode("\n"));
    }
    gutter.scrollTop = $("yaml").scrollTop;
  }

  function gotoLine(line, column) {
    var area = $("yaml");
    var lines = area.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    var end = start + (lines[line - 1] || "").length;
    area.focus();
    area.setSelectionRange(start + Math.max(0, (column || 1) - 1), end);
    var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (line - 4) * lineHeight);
  }

  function showProblems(res) {
    var box = clear($("problems"));
    var problems = (res.data && res.data.problems) || [];
    var bad = {};
    box.hidden = false;
    box.appendChild(el("p", { class: "title", text: problems.length ? problems.length + (problems.length === 1 ? " problem" : " problems") + " in the scenario" : detail(res) }));
    var list = el("ul", {});
    problems.forEach(function (p) {
      if (p.line) bad[p.line] = true;
      var where = p.line ? "line " + p.line + (p.column ? ", column " + p.column : "") : "";
      var item = el("li", { class: "problem" }, [
        el("span", { class: "where", text: where || "(file)" }),
        " ",
        el("span", { class: "field", text: p.field ? p.field + ": " : "" }),
        el("span", { class: "message", text: p.message }),
      ]);
      if (p.line) {
        item.classList.add("clickable");
        item.title = "show line " + p.line;
        item.addEventListener("click", function () { gotoLine(p.line, p.column); });
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    renderGutter(bad);
  }

  function setReady(ready) {
    ["run-check", "run-design", "run-simulate", "run-claims", "run-report"].forEach(function (id) {
      $(id).disabled = !ready;
    });
  }

  function validate() {
    $("download-scenario").disabled = !yamlText().trim();
    if (!yamlText().trim()) {
      setReady(false);
      return Promise.resolve(null);
    }
    $("scenario-status").textContent = "validating…";
    return api("POST", "/api/validate", { source: state.source }, yamlText()).then(function (res) {
      if (!res.ok) {
        state.summary = null;
        setReady(false);
        $("scenario-status").textContent = res.status === 422 ? "The scenario has problems (see below)." : detail(res);
        showProblems(res);
        return null;
      }
      $("problems").hidden = true;
      renderGutter();
      state.summary = res.data;
      setReady(true);
      var s = res.data;
      $("scenario-status").textContent =
        s.name + ": " + s.parties.length + " parties, " + s.concessions.length + " concessions, " +
        s.schedules.length + " schedules, " + s.parameters.length + " parameters";
      fillForms(s);
      return s;
    });
  }

  function scheduleOptions(select, names, keep) {
    var previous = keep ? select.value : "";
    clear(select);
    if (!names.length) select.appendChild(el("option", { value: "", text: "(no schedule)" }));
    names.forEach(function (n) { select.appendChild(el("option", { value: n, text: n })); });
    if (previous && names.indexOf(previous) >= 0) select.value = previous;
    else if (select.id === "sim-schedule" && names.indexOf("phased") >= 0) select.value = "phased";
  }

  function fillForms(s) {
    scheduleOptions($("schedule-select"), s.schedules, true);
    scheduleOptions($("sim-schedule"), s.schedules, true);
    // parameters
    var box = clear($("params"));
    var known = {};
    if (!s.parameters.length) box.appendChild(el("p", { class: "small muted", text: "This scenario has no named parameters." }));
    else {
      var table = el("table", { class: "params" });
      table.appendChild(el("tr", {}, [el("th", { text: "parameter" }), el("th", { text: "value" }), el("th", { text: "range" })]));
      s.parameters.forEach(function (p) {
        known[p.name] = true;
        var input = el("input", { type: "number", id: "param-" + p.name, "data-param": p.name, step: p.integer ? "1" : "any" });
        input.value = state.overrides[p.name] !== undefined ? state.overrides[p.name] : p.value;
        input.title = p.source || "";
        if (state.overrides[p.name] !== undefined) input.classList.add("changed");
        input.addEventListener("change", function () {
          var v = input.value.trim();
          if (v === "" || Number(v) === p.value) { delete state.overrides[p.name]; input.classList.remove("changed"); }
          else { state.overrides[p.name] = v; input.classList.add("changed"); }
        });
        var range = p.range ? "[" + fmt(p.range[0]) + ", " + fmt(p.range[1]) + "]" : "";
        table.appendChild(el("tr", {}, [
          el("td", { class: "mono", title: p.source || "", text: p.name }),
          el("td", {}, [input]),
          el("td", { class: "small muted", text: range + (p.unit ? " " + p.unit : "") }),
        ]));
      });
      box.appendChild(table);
    }
    Object.keys(state.overrides).forEach(function (k) { if (!known[k]) delete state.overrides[k]; });
    // strategies
    var strat = clear($("strategies"));
    s.parties.forEach(function (pid) {
      var select = el("select", { id: "strategy-" + pid, "data-party": pid });
      (s.strategies[pid] || ["reciprocal"]).forEach(function (name) { select.appendChild(el("option", { value: name, text: name })); });
      select.value = "reciprocal";
      strat.appendChild(el("label", { for: "strategy-" + pid, text: pid + " plays" }));
      strat.appendChild(select);
    });
    if (s.design && s.design.horizon !== null && s.design.horizon !== undefined) $("design-horizon").placeholder = String(s.design.horizon);
  }

  function loadCase(name) {
    if (!name) return;
    $("scenario-status").textContent = "loading " + name + "…";
    api("GET", "/api/cases/" + encodeURIComponent(name)).then(function (res) {
      if (!res.ok) { $("scenario-status").textContent = detail(res); return; }
      state.source = name + ".yaml";
      state.overrides = {};
      $("yaml").value = res.data.yaml;
      renderGutter();
      validate();
    });
  }

  // ------------------------------------------------------------------ check

  function runCheck() {
    var started = performance.now();
    $("run-check").disabled = true;
    var params = { source: state.source, schedule: $("schedule-select").value, leverage: true, figures: true, tipping: $("tipping").checked, set: overrides() };
    return api("POST", "/api/check", params, yamlText()).then(function (res) {
      $("run-check").disabled = false;
      var verdict = $("verdict");
      verdict.hidden = false;
      clear($("violations"));
      clear($("tipping-list"));
      if (!res.ok) {
        verdict.className = "verdict bad";
        verdict.textContent = detail(res);
        if (res.status === 422 && res.data.problems) showProblems(res);
        return;
      }
      var d = res.data.schedules ? res.data.schedules[Object.keys(res.data.schedules)[0]] : res.data;
      verdict.className = "verdict " + (d.self_enforcing ? "ok" : "bad");
      verdict.setAttribute("data-self-enforcing", String(d.self_enforcing));
      clear(verdict).appendChild(el("span", { class: "badge " + (d.self_enforcing ? "ok" : "bad"), text: d.self_enforcing ? "self-enforcing" : "not self-enforcing" }));
      verdict.appendChild(el("p", { class: "summary", text: d.summary }));
      var changed = overrides();
      if (changed.length) verdict.appendChild(el("p", { class: "small muted", text: "what-if: " + changed.join(", ") }));
      (d.violations || []).forEach(function (v) {
        $("violations").appendChild(el("p", { class: "explanation" }, [
          el("b", { text: v.party + ", " + (state.summary ? state.summary.period : "period") + " " + v.period + " (slack " + fmt(v.slack) + "): " }),
          v.explanation || "",
        ]));
      });
      (d.tipping_points || []).forEach(function (t) { $("tipping-list").appendChild(el("li", { text: t.sentence })); });
      var figs = d.figures || {};
      show(figs.timeline, "fig-timeline");
      show(figs.slack, "fig-slack");
      show(figs.leverage, "fig-leverage");
      $("leverage-box").hidden = !figs.leverage;
      var ms = Math.round(performance.now() - started);
      verdict.setAttribute("data-ms", String(ms));
      $("check-time").textContent = "answered in " + ms + " ms";
    });
  }

  // ------------------------------------------------------------------ jobs

  function startJob(kind, params, box, onDone, cancelButton) {
    var panel = $(box);
    var bar = panel.querySelector("progress");
    var status = panel.querySelector(".status");
    panel.hidden = false;
    panel.className = "job running";
    bar.value = 0;
    status.textContent = "starting…";
    params.source = state.source;
    params.set = overrides();
    return api("POST", "/api/jobs/" + kind, params, yamlText()).then(function (res) {
      if (!res.ok) {
        panel.className = "job failed";
        status.textContent = detail(res);
        if (res.status === 422 && res.data.problems) showProblems(res);
        return;
      }
      var id = res.data.id;
      state.jobs[kind] = id;
      panel.setAttribute("data-job", id);
      if (cancelButton) {
        cancelButton.hidden = false;
        cancelButton.disabled = false;
        cancelButton.onclick = function () {
          cancelButton.disabled = true;
          status.textContent = "cancelling…";
          api("DELETE", "/api/jobs/" + id);
        };
      }
      var poll = function () {
        api("GET", "/api/jobs/" + id).then(function (r) {
          if (!r.ok) { panel.className = "job failed"; status.textContent = detail(r); return; }
          var j = r.data;
          bar.value = j.progress;
          status.textContent = j.status + (j.message && j.message !== j.status ? ": " + j.message : "") + (j.error ? " — " + j.error : "");
          panel.setAttribute("data-status", j.status);
          if (j.status === "queued" || j.status === "running") { setTimeout(poll, 250); return; }
          if (cancelButton) cancelButton.hidden = true;
          panel.className = "job " + j.status;
          if (j.status === "done") onDone(j);
        });
      };
      poll();
    });
  }

  function runDesign() {
    clear($("design-result"));
    clear($("fig-design"));
    startJob("design", { horizon: $("design-horizon").value }, "design-job", function (j) {
      var r = j.result;
      var box = $("design-result");
      box.appendChild(el("div", { class: "verdict " + (r.feasible ? "ok" : "bad") }, [el("p", { text: r.message })]));
      var list = el("ol", { class: "roadmap" });
      (r.roadmap || []).slice(1).forEach(function (line) { list.appendChild(el("li", { text: line })); });
      box.appendChild(list);
      show((r.figures || {}).timeline, "fig-design");
    });
  }

  function runSimulate() {
    clear($("sim-result"));
    clear($("fig-outcomes"));
    var strategies = Array.prototype.map.call(document.querySelectorAll("#strategies select"), function (s) {
      return s.getAttribute("data-party") + "=" + s.value;
    });
    startJob("simulate", {
      schedule: $("sim-schedule").value,
      strategy: strategies,
      episodes: $("sim-episodes").value,
      seed: $("sim-seed").value,
    }, "simulate-job", function (j) {
      var r = j.result;
      var table = el("table", {}, [el("tr", {}, [el("th", { text: "party" }), el("th", { text: "strategy" }), el("th", { text: "mean value" }), el("th", { text: "95 % interval" }), el("th", { text: "package in force" })])]);
      Object.keys(r.parties).forEach(function (pid) {
        var p = r.parties[pid];
        table.appendChild(el("tr", {}, [
          el("td", { text: pid }), el("td", { text: p.strategy }), el("td", { text: fmt(p.value.mean) }),
          el("td", { text: "[" + fmt(p.value.ci95[0]) + ", " + fmt(p.value.ci95[1]) + "]" }),
          el("td", { text: fmt(p.package_in_force.mean) }),
        ]));
      });
      $("sim-result").appendChild(table);
      $("sim-result").appendChild(el("p", { class: "small muted", text: r.episodes.toLocaleString() + " episodes; crisis in " + fmt(100 * r.crisis_rate, 3) + " %, completed in " + fmt(100 * r.completed.mean, 3) + " %." }));
      show((r.figures || {}).outcomes, "fig-outcomes");
    }, $("cancel-simulate"));
  }

  function runClaims() {
    clear($("claims-result"));
    startJob("claims", { samples: $("claims-samples").value, schedule: $("sim-schedule").value }, "claims-job", function (j) {
      var r = j.result;
      var box = $("claims-result");
      if (!r.claims) box.appendChild(el("p", { class: "unavailable", text: "Claims not available: " + r.claims_reason }));
      else {
        var table = el("table", {}, [el("tr", {}, [el("th", { text: "claim" }), el("th", { text: "statement" }), el("th", { text: "holds in" }), el("th", { text: "95 %" }), el("th", { text: "fails mainly when" })])]);
        r.claims.forEach(function (c) {
          table.appendChild(el("tr", {}, [el("td", { text: c.id }), el("td", { text: c.statement }), el("td", { text: fmt(100 * c.holds_share, 3) + " %" }), el("td", { text: c.ci95 ? fmt(100 * c.ci95[0], 3) + "–" + fmt(100 * c.ci95[1], 3) + " %" : "" }), el("td", { text: c.failure_box ? c.failure_box.where + " (" + fmt(100 * c.failure_box.coverage, 2) + " % of the failures, " + fmt(100 * c.failure_box.density, 2) + " % of its points fail)" : "–" })]));
        });
        box.appendChild(table);
      }
      if (!r.sobol) box.appendChild(el("p", { class: "unavailable", text: "Sobol indices not available: " + r.sobol_reason }));
      show((r.figures || {}).claims, "fig-claims");
      show((r.figures || {}).sobol, "fig-sobol");
    });
  }

  function runReport() {
    clear($("report-result"));
    startJob("report", { schedule: $("sim-schedule").value }, "report-job", function (j) {
      var link = el("a", { href: "/api/jobs/" + j.id + "/report.html", id: "report-download", download: "" , text: "Download the report (HTML, works offline)" });
      $("report-result").appendChild(link);
    });
  }

  function downloadScenario() {
    var blob = new Blob([yamlText()], { type: "application/yaml" });
    var a = el("a", { href: URL.createObjectURL(blob), download: state.source || "scenario.yaml" });
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // ------------------------------------------------------------------ wiring

  function init() {
    api("GET", "/api/cases").then(function (res) {
      if (!res.ok) { $("scenario-status").textContent = detail(res); return; }
      res.data.cases.forEach(function (c) {
        $("case-select").appendChild(el("option", { value: c.name, text: c.name + " — " + c.title }));
      });
      document.body.setAttribute("data-ready", "true");
    });
    $("case-select").addEventListener("change", function (e) { loadCase(e.target.value); });
    $("upload").addEventListener("change", function (e) {
      var file = e.target.files[0];
      if (!file) return;
      if (file.size > 1024 * 1024) { $("scenario-status").textContent = file.name + " is over 1 MB; the server would refuse it."; return; }
      var reader = new FileReader();
      reader.onload = function () {
        state.source = file.name;
        state.overrides = {};
        $("case-select").value = "";
        $("yaml").value = String(reader.result);
        renderGutter();
        validate();
      };
      reader.readAsText(file);
    });
    $("yaml").addEventListener("input", function () {
      renderGutter();
      clearTimeout(state.validateTimer);
      state.validateTimer = setTimeout(validate, 400);
    });
    $("yaml").addEventListener("scroll", function () { $("gutter").scrollTop = $("yaml").scrollTop; });
    $("reset-params").addEventListener("click", function () { state.overrides = {}; if (state.summary) fillForms(state.summary); });
    $("run-check").addEventListener("click", runCheck);
    $("run-design").addEventListener("click", runDesign);
    $("run-simulate").addEventListener("click", runSimulate);
    $("run-claims").addEventListener("click", runClaims);
    $("run-report").addEventListener("click", runReport);
    $("download-scenario").addEventListener("click", downloadScenario);
    document.querySelectorAll(".tabs button").forEach(function (b) {
      b.addEventListener("click", function () {
        document.querySelectorAll(".tabs button").forEach(function (x) { x.classList.toggle("active", x === b); });
        document.querySelectorAll(".tab").forEach(function (t) { t.hidden = t.id !== "tab-" + b.getAttribute("data-tab"); });
      });
    });
    renderGutter();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
