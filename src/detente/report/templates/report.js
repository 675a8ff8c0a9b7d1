/* detente: render every figure of the page with vega-embed (inline, no network). */
(function () {
  "use strict";
  // vega-lite's compile warnings (faceted independent scales) are noise for readers
  var QUIET = {
    level: function () { return QUIET; },
    error: function () { console.error.apply(console, arguments); return QUIET; },
    warn: function () { return QUIET; },
    info: function () { return QUIET; },
    debug: function () { return QUIET; },
  };
  var options = {
    renderer: "svg",
    logLevel: 1, // errors only
    logger: QUIET,
    ast: true, // the CSP-safe expression interpreter: no eval
    actions: { export: true, source: false, compiled: false, editor: false },
  };
  var nodes = document.querySelectorAll("[data-spec]");
  var pending = nodes.length;
  function done() {
    pending -= 1;
    if (pending <= 0) document.body.setAttribute("data-figures", "ready");
  }
  if (!pending) document.body.setAttribute("data-figures", "ready");
  nodes.forEach(function (el) {
    var block = document.getElementById("spec:" + el.getAttribute("data-spec"));
    if (!block || typeof window.vegaEmbed !== "function") {
      el.textContent = "(figure unavailable: the charting script did not load)";
      done();
      return;
    }
    window
      .vegaEmbed(el, JSON.parse(block.textContent), options)
      .catch(function (err) {
        el.textContent = "(figure failed: " + err + ")";
        el.classList.add("failed");
      })
      .then(done);
  });
})();
