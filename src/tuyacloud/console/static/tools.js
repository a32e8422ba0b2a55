// API Explorer: filter the catalogue of APIs as one types (the page works without it).
(function () {
  "use strict";
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var list = document.querySelector(input.getAttribute("data-filter"));
    if (!list) return;
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      list.querySelectorAll("details.area").forEach(function (area) {
        var shown = 0;
        area.querySelectorAll("li[data-text]").forEach(function (li) {
          var text = li.getAttribute("data-text");
          var match = words.every(function (w) { return text.indexOf(w) !== -1; });
          li.classList.toggle("hidden", !match);
          if (match) shown += 1;
        });
        area.classList.toggle("hidden", shown === 0);
        if (words.length) area.open = true;
      });
    });
  });
})();
