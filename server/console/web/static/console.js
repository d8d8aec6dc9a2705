// Carillon console: small progressive enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Live segment count on the campaign form: the server renders the count
  // partial; the form still works without it.
  var box = document.getElementById("segment-count");
  var expr = document.getElementById("segment-expr");
  if (box && expr) {
    var timer = null;
    var refresh = function () {
      var body = new URLSearchParams();
      body.set("expr", expr.value);
      body.set("csrf", box.dataset.csrf);
      fetch(box.dataset.url, { method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRF-Token": box.dataset.csrf } })
        .then(function (r) { return r.text(); })
        .then(function (html) { box.innerHTML = html; })
        .catch(function () {});
    };
    expr.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });
  }
  // Confirm buttons that ask for it.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (e) { if (!window.confirm(el.dataset.confirm)) { e.preventDefault(); } });
  });
});
