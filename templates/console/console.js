// gopy console: the only script, and optional. While an official types an announcement,
// it updates the per-channel length counters the server rendered (data-limit on each);
// without it the "Xem trước / Preview" button shows the same counts.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var text = document.querySelector("textarea[data-counted]");
  var counters = document.querySelectorAll("[data-limit]");
  if (!text || counters.length === 0) return;
  function update() {
    var n = Array.from(text.value.trim().normalize("NFC")).length;
    counters.forEach(function (c) {
      var limit = parseInt(c.getAttribute("data-limit"), 10);
      var count = c.querySelector(".count");
      if (count) count.textContent = n.toLocaleString(document.documentElement.lang === "en" ? "en" : "vi");
      c.classList.toggle("over", n > limit);
    });
  }
  text.addEventListener("input", update);
  update();
});
