// Carillon console: small progressive enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Live segment count, sample and template preview on the campaign form:
  // the server renders the fragment; the form works without it.
  var box = document.getElementById("segment-count");
  var form = document.getElementById("campaign-form");
  if (box && form) {
    var timer = null;
    var refresh = function () {
      var body = new URLSearchParams();
      ["expr", "segment_name", "template", "vars", "ch1", "ch2", "ch3"].forEach(function (n) {
        if (form.elements[n]) { body.set(n, form.elements[n].value); }
      });
      body.set("csrf", box.dataset.csrf);
      fetch(box.dataset.url, { method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRF-Token": box.dataset.csrf } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { box.innerHTML = html; })
        .catch(function () {});
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(refresh, 350); };
    ["expr", "segment_name", "template", "vars", "ch1", "ch2", "ch3"].forEach(function (n) {
      var el = form.elements[n];
      if (el) { el.addEventListener("input", later); el.addEventListener("change", later); }
    });
    refresh();
  }
  // Confirm buttons that ask for it.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (e) { if (!window.confirm(el.dataset.confirm)) { e.preventDefault(); } });
  });
});
