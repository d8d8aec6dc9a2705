// Carillon console: the segment builder. Rows of field, operator and value in
// and/or groups; the server turns rows into the filter's text and text back
// into rows (POST /console/segments/rows), so no value is ever pasted into
// the filter here. The page works without it: the filter is then written
// under "Advanced".
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("seg-builder");
  if (!root) { return; }
  var mode = document.getElementById("seg-mode");
  var rowsIn = document.getElementById("seg-rows");
  var expr = document.getElementById("seg-expr");
  var complexNote = document.getElementById("seg-complex");
  var rowErr = document.getElementById("seg-row-error");
  var count = document.getElementById("seg-count");
  var csrf = root.dataset.csrf;
  var meta = null;
  var state = null;
  var complex = false;
  var textBroken = false; // the text under Advanced does not compile: the rows wait
  var noValue = { yes: true, no: true, exists: true };
  var many = { "in": true, not_in: true };

  function post(url, params) {
    var body = new URLSearchParams(params);
    body.set("csrf", csrf);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
      .then(function (r) { return r.ok ? r : Promise.reject(r.status); });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function keyOf(r) { return r.field === "attrs" ? "attrs:" + r.key : r.field; }
  function fieldOf(r) {
    var k = keyOf(r);
    for (var i = 0; i < meta.fields.length; i++) {
      var f = meta.fields[i];
      if ((f.name === "attrs" ? "attrs:" + f.key : f.name) === k) { return f; }
    }
    if (r.field === "attrs") { // an attribute the data's sample did not show
      var t = r.type || "string";
      var nf = { name: "attrs", key: r.key, label: "attrs." + r.key, type: t, ops: meta.attr_ops[t] };
      meta.fields.push(nf);
      return nf;
    }
    return meta.fields[0];
  }
  function complete(r) {
    if (noValue[r.op]) { return true; }
    return (r.values || []).some(function (v) { return v.trim() !== ""; });
  }
  function newRow() { var f = meta.fields[0]; return { field: f.name, op: f.ops[0], values: [] }; }
  function select(cls, options, value, label) {
    var s = el("select", { "class": cls, "aria-label": label });
    options.forEach(function (o) {
      var opt = el("option", { value: o[0] }, o[1]);
      if (o[0] === value) { opt.selected = true; }
      s.appendChild(opt);
    });
    return s;
  }
  function joinSelect(cls, value, label) {
    var wrap = el("label", { "class": "seg-join" }, label + " ");
    wrap.appendChild(select(cls, [["and", meta.texts.and], ["or", meta.texts.or]], value || "and", label));
    return wrap;
  }

  // valueControl is the row's value input: checkboxes for a choice of several,
  // a select for one, a text box otherwise.
  function valueControl(r, f, changed) {
    var wrap = el("span", { "class": "seg-value" });
    if (noValue[r.op]) { return wrap; }
    var vals = r.values || [];
    if (f.choices && f.choices.length && many[r.op]) {
      var box = el("span", { "class": "seg-choices", role: "group", "aria-label": meta.texts.value });
      f.choices.forEach(function (c) {
        var lab = el("label", { "class": "seg-choice" });
        var cb = el("input", { type: "checkbox", value: c.value });
        cb.checked = vals.indexOf(c.value) >= 0;
        cb.addEventListener("change", function () {
          r.values = Array.prototype.filter.call(box.querySelectorAll("input:checked"), function () { return true; })
            .map(function (x) { return x.value; });
          changed(false);
        });
        lab.appendChild(cb);
        lab.appendChild(document.createTextNode(" " + c.label));
        box.appendChild(lab);
      });
      wrap.appendChild(box);
      return wrap;
    }
    if (f.choices && f.choices.length && r.op !== "starts" && r.op !== "ends" && r.op !== "contains") {
      var opts = [["", "–"]].concat(f.choices.map(function (c) { return [c.value, c.label]; }));
      if (vals[0] && !f.choices.some(function (c) { return c.value === vals[0]; })) { opts.push([vals[0], vals[0]]); }
      var s = select("seg-input", opts, vals[0] || "", meta.texts.value);
      s.addEventListener("change", function () { r.values = s.value ? [s.value] : []; changed(false); });
      wrap.appendChild(s);
      return wrap;
    }
    var inp = el("input", { "class": "seg-input", "aria-label": meta.texts.value, placeholder: many[r.op] ? "a; b" : "" });
    if (f.type === "number") { inp.setAttribute("inputmode", "decimal"); }
    inp.value = many[r.op] ? vals.join("; ") : (vals[0] || "");
    inp.addEventListener("input", function () {
      r.values = many[r.op] ? inp.value.split(/[;；]/).map(function (v) { return v.trim(); }).filter(Boolean) : (inp.value.trim() ? [inp.value] : []);
      changed(false);
    });
    wrap.appendChild(inp);
    return wrap;
  }

  function rowEl(g, r, gi, ri) {
    var f = fieldOf(r);
    var div = el("div", { "class": "seg-row", id: "seg-g" + gi + "-r" + ri });
    var changed = function (redraw) { if (redraw) { draw(); } sync(); };
    var fs = select("seg-field", meta.fields.map(function (x) {
      return [x.name === "attrs" ? "attrs:" + x.key : x.name, x.label];
    }), keyOf(r), meta.texts.field);
    fs.addEventListener("change", function () {
      var v = fs.value;
      if (v.indexOf("attrs:") === 0) { r.field = "attrs"; r.key = v.slice(6); } else { r.field = v; delete r.key; }
      var nf = fieldOf(r);
      r.type = nf.name === "attrs" ? nf.type : undefined;
      r.op = nf.ops[0];
      r.values = [];
      changed(true);
    });
    var os = select("seg-op", f.ops.map(function (o) { return [o, meta.ops[o] || o]; }), r.op, meta.texts.op);
    os.addEventListener("change", function () {
      var was = r.op;
      r.op = os.value;
      if (noValue[r.op]) { r.values = []; } else if (!many[r.op] && !noValue[was]) { r.values = (r.values || []).slice(0, 1); }
      changed(true);
    });
    var rm = el("button", { type: "button", "class": "link seg-remove", "aria-label": meta.texts.remove }, "×");
    rm.addEventListener("click", function () { g.rows.splice(ri, 1); changed(true); });
    div.appendChild(fs);
    div.appendChild(os);
    div.appendChild(valueControl(r, f, changed));
    div.appendChild(rm);
    return div;
  }

  function draw() {
    root.textContent = "";
    rowsIn.value = JSON.stringify(state);
    if (complex) {
      root.appendChild(el("p", { "class": "muted", id: "seg-too-complex" }, meta.texts.complex));
      return;
    }
    if (textBroken) {
      root.appendChild(el("p", { "class": "muted", id: "seg-text-broken" }, meta.texts.text_error));
    }
    if (state.groups.length > 1) {
      var top = joinSelect("seg-top-join", state.join, meta.texts.match_groups);
      top.querySelector("select").addEventListener("change", function (e) { state.join = e.target.value; sync(); });
      root.appendChild(top);
    }
    state.groups.forEach(function (g, gi) {
      var box = el("div", { "class": "seg-group", id: "seg-g" + gi });
      if (g.rows.length > 1) {
        var j = joinSelect("seg-group-join", g.join, meta.texts.group);
        j.querySelector("select").addEventListener("change", function (e) { g.join = e.target.value; sync(); });
        box.appendChild(j);
      }
      g.rows.forEach(function (r, ri) { box.appendChild(rowEl(g, r, gi, ri)); });
      var add = el("button", { type: "button", "class": "seg-add-row" }, meta.texts.add_row);
      add.addEventListener("click", function () { g.rows.push(newRow()); draw(); sync(); });
      box.appendChild(add);
      if (state.groups.length > 1) {
        var rg = el("button", { type: "button", "class": "link seg-remove-group" }, meta.texts.remove);
        rg.addEventListener("click", function () { state.groups.splice(gi, 1); draw(); sync(); });
        box.appendChild(rg);
      }
      root.appendChild(box);
    });
    var addG = el("button", { type: "button", id: "seg-add-group" }, meta.texts.add_group);
    addG.addEventListener("click", function () { state.groups.push({ join: "and", rows: [newRow()] }); draw(); sync(); });
    root.appendChild(addG);
  }

  var previewTimer = null;
  function preview(text) {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      post(count.dataset.url, { expr: text })
        .then(function (r) { return r.text(); })
        .then(function (html) { count.innerHTML = html; })
        .catch(function () {});
    }, 250);
  }

  // sync renders the complete rows into the filter's text (the server writes
  // it), then counts; a row still being filled in waits.
  var syncSeq = 0;
  function sync() {
    rowsIn.value = JSON.stringify(state);
    mode.value = "rows";
    complex = false;
    complexNote.hidden = true;
    if (textBroken) { textBroken = false; draw(); }
    var ready = { join: state.join, groups: state.groups.map(function (g) {
      return { join: g.join, rows: g.rows.filter(complete) };
    }) };
    var seq = ++syncSeq;
    post(root.dataset.rowsUrl, { rows: JSON.stringify(ready) })
      .then(function (r) { return r.json(); })
      .then(function (a) {
        if (seq !== syncSeq) { return; }
        rowErr.textContent = "";
        if (a.error) {
          rowErr.appendChild(el("div", { "class": "problem" }, a.error));
          return;
        }
        expr.value = a.expr;
        preview(a.expr);
      })
      .catch(function () {});
  }

  // fromText reads the filter typed under Advanced back into rows.
  var textTimer = null;
  function fromText() {
    clearTimeout(textTimer);
    textTimer = setTimeout(function () {
      var seq = ++syncSeq;
      mode.value = "text";
      post(root.dataset.rowsUrl, { expr: expr.value })
        .then(function (r) { return r.json(); })
        .then(function (a) {
          if (seq !== syncSeq) { return; }
          rowErr.textContent = "";
          complex = !!a.complex;
          textBroken = !!(a.problems && a.problems.length);
          complexNote.hidden = !complex;
          if (a.rows) {
            state = normal(a.rows);
            mode.value = "rows";
          }
          draw();
          preview(expr.value);
        })
        .catch(function () {});
    }, 400);
  }

  function normal(rs) {
    rs = rs || {};
    rs.join = rs.join || "and";
    rs.groups = (rs.groups || []).filter(function (g) { return g.rows && g.rows.length; });
    if (!rs.groups.length) { rs.groups = [{ join: "and", rows: [] }]; }
    return rs;
  }

  fetch(root.dataset.fields, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (m) {
      meta = m;
      var start = null;
      try { start = rowsIn.value ? JSON.parse(rowsIn.value) : null; } catch (e) { start = null; }
      complex = mode.dataset.mode === "text" && expr.value.trim() !== "";
      state = normal(start);
      mode.value = complex ? "text" : "rows";
      draw();
      if (!complex && !rowErr.textContent.trim() && !count.querySelector(".problem")) { sync(); }
      expr.addEventListener("input", fromText);
    })
    .catch(function () {});
});
