// Campaign form without code: the variables' inputs kept in sync with the
// JSON box under "Advanced", the fields of a newly chosen template, the
// schedule's next firings; and the campaign page's funnel refreshed while
// the campaign runs. Every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("campaign-form");
  var post = function (url, body, csrf) {
    body.set("csrf", csrf);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); });
  };
  if (form) {
    var csrf = form.elements.csrf.value;
    var box = document.getElementById("var-fields");
    var json = document.getElementById("vars-json");
    var typed = function (el) {
      var v = el.value.trim();
      if (v === "") { return undefined; }
      if (el.dataset.type === "number") { var n = Number(v.replace(/,/g, "")); return isNaN(n) ? v : n; }
      if (el.dataset.type === "bool") { return v === "true"; }
      return v;
    };
    var parse = function () { try { var o = JSON.parse(json.value || "{}"); return (o && typeof o === "object" && !Array.isArray(o)) ? o : null; } catch (e) { return null; } };
    var toJSON = function () {
      var o = parse() || {};
      box.querySelectorAll("[data-var]").forEach(function (el) {
        var v = typed(el);
        if (v === undefined) { delete o[el.dataset.var]; } else { o[el.dataset.var] = v; }
      });
      json.value = Object.keys(o).length ? JSON.stringify(o, null, 2) : "";
      var shown = document.getElementById("vars-shown");
      if (shown) { shown.value = json.value; }
      json.dispatchEvent(new Event("input"));
    };
    var fromJSON = function () {
      var o = parse();
      if (!o) { return; }
      box.querySelectorAll("[data-var]").forEach(function (el) {
        var v = o[el.dataset.var];
        el.value = (v === undefined || v === null) ? "" : String(v);
      });
    };
    if (box && json) {
      box.addEventListener("input", toJSON);
      box.addEventListener("change", toJSON);
      json.addEventListener("change", fromJSON);
      json.addEventListener("keyup", fromJSON);
      var tpl = form.elements.template;
      if (tpl) {
        // Only the answer to the latest choice is shown, and the fields it brings
        // take what was typed meanwhile (kept in the JSON box): a late answer
        // must not empty a field the user has filled.
        var asked = 0;
        tpl.addEventListener("change", function () {
          var body = new URLSearchParams();
          body.set("template", tpl.value);
          body.set("vars", json.value);
          var n = ++asked;
          post(box.dataset.url, body, csrf).then(function (html) {
            if (n !== asked) { return; }
            box.innerHTML = html;
            var o = parse() || {};
            box.querySelectorAll("[data-var]").forEach(function (el) {
              var v = o[el.dataset.var];
              if (v !== undefined && v !== null && el.value === "") { el.value = String(v); }
            });
          }).catch(function () {});
        });
      }
    }
    var repeat = document.getElementById("repeat");
    var firings = document.getElementById("firings");
    if (repeat && firings) {
      var names = ["kind", "every", "rtime", "dom", "dow", "cron"];
      var show = function () {
        repeat.dataset.every = form.elements.every.value;
        repeat.hidden = !(document.getElementById("kind-cron") || {}).checked;
      };
      var timer = null;
      var refresh = function () {
        show();
        var body = new URLSearchParams(new FormData(form));
        var keep = new URLSearchParams();
        body.forEach(function (v, k) { if (names.indexOf(k) >= 0) { keep.append(k, v); } });
        post(firings.dataset.url, keep, csrf).then(function (html) { firings.innerHTML = html; }).catch(function () {});
      };
      form.addEventListener("change", function (e) { if (names.indexOf(e.target.name) >= 0) { clearTimeout(timer); timer = setTimeout(refresh, 200); } });
      form.addEventListener("input", function (e) { if (names.indexOf(e.target.name) >= 0) { clearTimeout(timer); timer = setTimeout(refresh, 300); } });
      show();
    }
  }
  // The funnel of a running campaign, every 8 seconds while the page is shown.
  var funnel = document.querySelector("[data-funnel-url]");
  if (funnel) {
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(funnel.dataset.funnelUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { funnel.innerHTML = html; })
        .catch(function () {});
    }, 8000);
  }
  // Template authoring: the draft rendered for the chosen customer while it is
  // typed (a pause of 400 ms, then one POST; only the latest answer is shown).
  var tform = document.getElementById("template-form");
  var live = document.getElementById("live-preview");
  if (tform && tform.dataset.preview && live) {
    var tcsrf = tform.elements.csrf.value;
    var tasked = 0, ttimer = null;
    var render = function () {
      var body = new URLSearchParams(new FormData(tform));
      body.delete("step");
      var n = ++tasked;
      post(tform.dataset.preview, body, tcsrf).then(function (html) {
        if (n === tasked) { live.innerHTML = html; }
      }).catch(function () {});
    };
    var later = function () { clearTimeout(ttimer); ttimer = setTimeout(render, 400); };
    tform.addEventListener("input", later);
    tform.addEventListener("change", later);
    render();
  }
});
