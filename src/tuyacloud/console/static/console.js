// tuyacloud console: small progressive enhancements; every page works without them except "reveal" and polling.
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Copy buttons: <button data-copy="#element-id"> copies that element's data-value (or its text).
  function copy(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var text = target.getAttribute("data-value") || target.textContent.trim();
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
    document.body.removeChild(area);
  }

  // Reveal buttons: <button data-reveal="#element-id"> toggles between the mask and the data-value.
  function reveal(button) {
    var target = document.querySelector(button.getAttribute("data-reveal"));
    if (!target) return;
    var shown = target.getAttribute("data-shown") === "1";
    target.textContent = shown ? target.getAttribute("data-mask") : target.getAttribute("data-value");
    target.setAttribute("data-shown", shown ? "0" : "1");
    button.textContent = shown ? "Show" : "Hide";
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy],[data-reveal],[data-toggle],[data-confirm]");
    if (!el) return;
    if (el.hasAttribute("data-copy")) { event.preventDefault(); copy(el); }
    else if (el.hasAttribute("data-reveal")) { event.preventDefault(); reveal(el); }
    else if (el.getAttribute("data-toggle") === "nav") { document.getElementById("sidenav").classList.toggle("open"); }
    else if (el.hasAttribute("data-confirm") && !window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  // Range inputs show their scaled value next to them: <output data-for="id" data-scale="1" data-unit="°C">.
  function showRange(input) {
    var out = document.querySelector('output[data-for="' + input.id + '"]');
    if (!out) return;
    var scale = parseInt(out.getAttribute("data-scale") || "0", 10);
    var value = Number(input.value) / Math.pow(10, scale);
    out.textContent = value.toFixed(scale) + (out.getAttribute("data-unit") || "");
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches('input[type="range"]')) showRange(event.target);
  });
  document.querySelectorAll('input[type="range"]').forEach(showRange);

  // Switch controls submit their form at once when flipped.
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) {
      var form = event.target.form;
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }
  });

  // Live status: <table data-poll="/console/.../status.json"> rows <tr data-code="switch"><td/><td data-value/>.
  function poll(table) {
    var url = table.getAttribute("data-poll");
    var every = parseInt(table.getAttribute("data-every") || "2000", 10);
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          Object.keys(data.status || {}).forEach(function (code) {
            var row = table.querySelector('tr[data-code="' + CSS.escape(code) + '"]');
            if (!row) return;
            var cell = row.querySelector("[data-value]");
            var text = typeof data.status[code] === "string" ? data.status[code] : JSON.stringify(data.status[code]);
            document.querySelectorAll('[data-control="' + CSS.escape(code) + '"] button[name="value"]').forEach(function (b) {
              b.classList.toggle("btn-primary", b.value === text);
            });
            var when = row.querySelector("[data-t]");
            var t = (data.status_t || {})[code];
            if (when && t) when.textContent = new Date(t).toISOString().replace("T", " ").slice(0, 19) + " UTC";
            if (cell.textContent !== text) {
              cell.textContent = text;
              row.classList.remove("changed"); void row.offsetWidth; row.classList.add("changed");
            }
          });
          var online = document.querySelector("[data-online]");
          if (online && typeof data.online === "boolean") {
            online.textContent = data.online ? "Online" : "Offline";
            online.className = "badge " + (data.online ? "on" : "off");
          }
        })
        .catch(function () { /* the next tick tries again */ });
    };
    setInterval(tick, every);
  }
  document.querySelectorAll("[data-poll]").forEach(poll);

  window.tuyacloud = { csrf: csrf };
})();
