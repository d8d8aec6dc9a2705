// Carillon console: the contact search updates its list as one types (the
// server renders the list; the form works without this script).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-live]");
  var box = document.getElementById("results");
  if (!form || !box) { return; }
  var hint = form.querySelector(".phone-live-hint");
  if (hint) { hint.classList.add("on"); }
  var timer = null, seq = 0;
  var refresh = function () {
    var params = new URLSearchParams(new FormData(form));
    var mine = ++seq;
    var page = form.dataset.live + "?" + params.toString();
    params.set("fragment", "1");
    fetch(form.dataset.live + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (mine !== seq) { return; } // an older answer than the last asked
        box.innerHTML = html;
        history.replaceState(null, "", page);
      })
      .catch(function () {});
  };
  var later = function () { clearTimeout(timer); timer = setTimeout(refresh, 300); };
  form.querySelectorAll("input, select").forEach(function (el) {
    el.addEventListener("input", later);
    el.addEventListener("change", later);
  });
});
