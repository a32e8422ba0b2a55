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

  // Range controls: a slider (coarse steps on a long range) and a number field (the exact value, the one sent)
  // follow each other; <output data-for="id" data-scale="1" data-unit="°C" data-duration="s|min"> shows the value.
  function duration(seconds) {  // 5400 -> "1 h 30 min", as controls.human_duration says it
    var parts = [], left = Math.max(0, Math.round(seconds));
    [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]].forEach(function (u) {
      var n = Math.floor(left / u[0]);
      left -= n * u[0];
      if (n) parts.push(n + " " + u[1]);
    });
    return parts.join(" ") || "0 s";
  }
  function showRange(input, raw) {
    var out = document.querySelector('output[data-for="' + input.id + '"]');
    if (!out) return;
    var value = Number(raw === undefined ? input.value : raw);
    var unit = out.getAttribute("data-duration");
    if (unit) { out.textContent = duration(value * (unit === "min" ? 60 : 1)); return; }
    var scale = parseInt(out.getAttribute("data-scale") || "0", 10);
    // Grouped like every number of the console ("1,000"; Control.shown says it the same way).
    var shown = (value / Math.pow(10, scale)).toLocaleString("en-US", { minimumFractionDigits: scale, maximumFractionDigits: scale });
    out.textContent = shown + (out.getAttribute("data-unit") || "");
  }

  // Colour controls: <input type=color data-hsv="s_max,v_max"> and number fields data-hsv-field="h|s|v".
  function hsvToHex(h, s, v) {  // h in degrees, s and v in 0..1
    var f = function (n) {
      var k = (n + h / 60) % 6;
      var c = v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
      return ("0" + Math.round(c * 255).toString(16)).slice(-2);
    };
    return "#" + f(5) + f(3) + f(1);
  }
  function hexToHsv(hex) {  // -> [h degrees, s 0..1, v 0..1]
    var r = parseInt(hex.substr(1, 2), 16) / 255, g = parseInt(hex.substr(3, 2), 16) / 255, b = parseInt(hex.substr(5, 2), 16) / 255;
    var max = Math.max(r, g, b), d = max - Math.min(r, g, b), h = 0;
    if (d) h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    return [(h * 60 + 360) % 360, max ? d / max : 0, max];
  }
  function colourParts(el) {
    var row = el.closest(".colour-row"), picker = row.querySelector('input[type="color"]');
    var max = picker.getAttribute("data-hsv").split(",").map(Number);
    var field = function (k) { return row.querySelector('[data-hsv-field="' + k + '"]'); };
    return { picker: picker, sMax: max[0], vMax: max[1], field: field };
  }
  function pickerChanged(picker) {
    var p = colourParts(picker), hsv = hexToHsv(picker.value);
    p.field("h").value = Math.round(hsv[0]) % 360;
    p.field("s").value = Math.round(hsv[1] * p.sMax);
    p.field("v").value = Math.round(hsv[2] * p.vMax);
  }
  function hsvChanged(input) {
    var p = colourParts(input);
    var h = Number(p.field("h").value), s = Number(p.field("s").value) / p.sMax, v = Number(p.field("v").value) / p.vMax;
    if ([h, s, v].every(isFinite)) p.picker.value = hsvToHex(((h % 360) + 360) % 360, Math.min(Math.max(s, 0), 1), Math.min(Math.max(v, 0), 1));
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el.matches('input[type="range"]')) {
      showRange(el);
      var exact = el.getAttribute("data-number") && document.getElementById(el.getAttribute("data-number"));
      if (exact) exact.value = el.value;
    } else if (el.matches("input[data-range]")) {
      var slider = document.getElementById(el.getAttribute("data-range"));
      if (slider) { slider.value = el.value; showRange(slider, el.value); }
    } else if (el.matches('input[type="color"][data-hsv]')) {
      pickerChanged(el);
    } else if (el.matches("input[data-hsv-field]")) {
      hsvChanged(el);
    }
  });
  document.querySelectorAll("input[data-range]").forEach(function (el) {
    var slider = document.getElementById(el.getAttribute("data-range"));
    if (slider) showRange(slider, el.value);
  });

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
