/* The waybill table: every filter of GET /waybills, keyset paging ("more" follows
 * next_cursor), select many → bulk reconcile, and export of the filtered list. The filters
 * live in the URL hash (#/waybills/status=signed&q=…) so "back" from evidence keeps them. */
(function () {
  "use strict";
  var el = DSB.el, t = DSB.t, C = DSB.CODES;
  var RECONCILABLE = { signed: true, partially_signed: true, refused: true };
  var TEXT_FILTERS = ["q", "courier"];
  var DATE_FILTERS = [["created"], ["signed"]];

  function options(pairs, selected) {
    return pairs.map(function (p) { return el("option", { value: p[0], text: p[1], selected: p[0] === selected }); });
  }

  function labelled(text, control) { return el("label", { class: "filter" }, el("span", { text: text }), control); }

  DSB.views.waybills = function (root, args) {
    var state = Object.fromEntries(new URLSearchParams(args[0] || ""));
    var selected = {};
    var known = null;
    var nextCursor = null;
    var alive = true;
    var typing = null;

    // --- filters ---
    var controls = {
      q: el("input", { type: "search", placeholder: t("wb.search"), value: state.q || "", dataset: { testid: "waybill-search" } }),
      status: el("select", { dataset: { testid: "filter-status" } }, options([
        ["", t("wb.allStatuses")], ["created,assigned,out_for_delivery", t("wb.open")], ["signed,partially_signed,refused", t("wb.done")],
      ].concat(C.status.map(function (s) { return [s, DSB.label("status", s)]; })), state.status || "")),
      anomaly: el("select", { dataset: { testid: "filter-anomaly" } }, options([["", t("any")], ["any", t("wb.anyAnomaly")]]
        .concat(C.anomaly.map(function (c) { return [c, DSB.label("anomaly", c)]; })), state.anomaly || "")),
      reconciled: el("select", { dataset: { testid: "filter-reconciled" } },
                     options([["", t("any")], ["false", t("wb.unreconciled")], ["true", t("wb.reconciled")]], state.reconciled || "")),
      courier: el("input", { type: "search", placeholder: t("wb.courierName"), value: state.courier || "",
                             dataset: { testid: "filter-courier" } }),
      org_unit: el("select", { dataset: { testid: "filter-org-unit" } }, options([["", t("wb.allUnits")]], "")),
      doc_type: el("select", { dataset: { testid: "filter-doc-type" } }, options([["", t("wb.allDocTypes")]], "")),
    };
    DATE_FILTERS.forEach(function (d) {
      ["from", "to"].forEach(function (end) {
        var key = d[0] + "_" + end;
        controls[key] = el("input", { type: "date", value: state[key] || "", dataset: { testid: "filter-" + d[0] + "-" + end } });
      });
    });
    fillSelect(controls.org_unit, "/org-units", function (u) { return [u.code, u.code + " " + u.name]; }, state.org_unit);
    fillSelect(controls.doc_type, "/doc-types", function (type) { return [type.code, type.name]; }, state.doc_type);

    Object.keys(controls).forEach(function (key) {
      var control = controls[key];
      control.addEventListener(TEXT_FILTERS.indexOf(key) >= 0 ? "input" : "change", function () {
        clearTimeout(typing);
        typing = setTimeout(reload, TEXT_FILTERS.indexOf(key) >= 0 ? 300 : 0);
      });
    });

    var filters = el("form", { class: "filters card", role: "search", on: { submit: function (e) { e.preventDefault(); reload(); } } },
      labelled(t("wb.f.search"), controls.q), labelled(t("wb.f.status"), controls.status), labelled(t("wb.f.anomaly"), controls.anomaly),
      labelled(t("wb.f.reconciled"), controls.reconciled), labelled(t("wb.f.courier"), controls.courier),
      labelled(t("wb.f.unit"), controls.org_unit), labelled(t("wb.f.docType"), controls.doc_type),
      labelled(t("wb.f.created"), el("span", { class: "range" }, controls.created_from, "–", controls.created_to)),
      labelled(t("wb.f.signed"), el("span", { class: "range" }, controls.signed_from, "–", controls.signed_to)));

    // --- bulk bar and table ---
    var count = el("span", { class: "meta", dataset: { testid: "selected-count" } });
    var note = el("input", { type: "text", placeholder: t("wb.note"), maxLength: 1000, dataset: { testid: "reconcile-note" } });
    var accept = el("button", { type: "button", class: "btn primary", text: t("wb.accept"), dataset: { testid: "reconcile-accept" },
                                on: { click: function () { reconcile("accepted"); } } });
    var dispute = el("button", { type: "button", class: "btn warn", text: t("wb.dispute"), dataset: { testid: "reconcile-dispute" },
                                 on: { click: function () { reconcile("disputed"); } } });
    var bulkError = el("p", { class: "error", role: "alert", hidden: true, dataset: { testid: "reconcile-error" } });
    var exportCsv = el("button", { type: "button", class: "btn", text: t("wb.exportCsv"), dataset: { testid: "export-csv" },
                                   on: { click: function () { exportAs("csv", exportCsv); } } });
    var exportXlsx = el("button", { type: "button", class: "btn", text: t("wb.exportXlsx"), dataset: { testid: "export-xlsx" },
                                    on: { click: function () { exportAs("xlsx", exportXlsx); } } });
    var bulk = el("div", { class: "bulk card" }, count, note, accept, dispute, el("span", { class: "spacer" }), exportCsv, exportXlsx);

    var selectAll = el("input", { type: "checkbox", title: t("wb.selectAll"), "aria-label": t("wb.selectAll"), dataset: { testid: "select-all" },
                                  on: { change: function () { toggleAll(selectAll.checked); } } });
    var body = el("tbody");
    var table = el("table", { class: "grid waybills", dataset: { testid: "waybill-table" } },
      el("thead", null, el("tr", null, el("th", null, selectAll), ["number", "status", "consignee", "address", "courier", "unit",
        "created", "signedAt", "signer", "anomalies", "reconciliation"].map(function (h) { return el("th", { text: t("col." + h) }); }))), body);
    var empty = el("p", { class: "meta", text: t("wb.empty"), hidden: true, dataset: { testid: "waybill-empty" } });
    var listError = el("p", { class: "error", role: "alert", hidden: true });
    var more = el("button", { type: "button", class: "btn ghost", text: t("more"), hidden: true, dataset: { testid: "load-more" },
                              on: { click: function () { load(false); } } });
    root.appendChild(el("h1", { class: "visually-hidden", text: t("nav.waybills") }));
    root.appendChild(importCard());
    root.appendChild(filters);
    root.appendChild(bulk);
    root.appendChild(bulkError);
    root.appendChild(el("div", { class: "table-wrap", tabindex: 0 }, table));
    root.appendChild(empty);
    root.appendChild(listError);
    root.appendChild(more);
    updateCount();
    load(true);

    function fillSelect(select, path, pair, value) {
      DSB.api("GET", path).then(function (rows) {
        rows.forEach(function (row) {
          var p = pair(row);
          select.appendChild(el("option", { value: p[0], text: p[1], selected: p[0] === value }));
        });
      }).catch(function () {});
    }

    function params() {
      var p = {};
      ["q", "status", "anomaly", "reconciled", "courier", "org_unit", "doc_type"].forEach(function (key) {
        var v = controls[key].value.trim();
        if (v) p[key] = v;
      });
      return p;
    }

    function apiParams() {
      var p = params();
      DATE_FILTERS.forEach(function (d) {
        if (controls[d[0] + "_from"].value) p[d[0] + "_from"] = DSB.dayStart(controls[d[0] + "_from"].value);
        if (controls[d[0] + "_to"].value) p[d[0] + "_to"] = DSB.dayStart(controls[d[0] + "_to"].value, 1);
      });
      return p;
    }

    function reload() {
      var hash = params();
      DATE_FILTERS.forEach(function (d) {
        ["from", "to"].forEach(function (end) { var v = controls[d[0] + "_" + end].value; if (v) hash[d[0] + "_" + end] = v; });
      });
      history.replaceState(null, "", "#/waybills/" + DSB.query(hash).slice(1));
      load(true);
    }

    function load(fresh) {
      if (fresh) { nextCursor = null; selected = {}; selectAll.checked = false; updateCount(); }
      var p = apiParams();
      p.limit = 50;
      if (!fresh) p.cursor = nextCursor;
      var asked = DSB.query(p);
      load.last = asked;
      more.disabled = true;
      Promise.all([DSB.api("GET", "/waybills" + asked), DSB.loadNames()]).then(function (found) {
        var page = found[0];
        known = found[1];
        if (!alive || load.last !== asked) return;     // a newer filter answered first
        if (fresh) DSB.clear(body);
        page.items.forEach(function (w) { body.appendChild(row(w)); });
        nextCursor = page.next_cursor;
        more.hidden = !nextCursor;
        more.disabled = false;
        empty.hidden = body.children.length > 0;
        listError.hidden = true;
      }).catch(function (e) { listError.textContent = e.message; listError.hidden = false; more.disabled = false; });
    }

    function row(w) {
      var box = el("input", { type: "checkbox", disabled: !RECONCILABLE[w.status], dataset: { testid: "row-select", number: w.number },
                              title: RECONCILABLE[w.status] ? t("wb.select") : t("wb.notYet"),
                              "aria-label": w.number + " " + (RECONCILABLE[w.status] ? t("wb.select") : t("wb.notYet")),
                              on: { change: function () { if (box.checked) selected[w.number] = true; else delete selected[w.number]; updateCount(); } } });
      var rec = w.reconciliation;
      return el("tr", { dataset: { testid: "waybill-row", number: w.number, status: w.status } },
        el("td", null, box),
        el("td", null, el("a", { href: "#/waybill/" + encodeURIComponent(w.number), text: w.number, dataset: { testid: "waybill-link" } })),
        el("td", null, DSB.statusBadge(w.status)),
        el("td", { text: w.consignee.name }),
        el("td", { class: "addr", text: w.consignee.address }),
        el("td", { text: DSB.name("user", w.courier, known), title: w.courier || "" }),
        el("td", { text: DSB.name("unit", w.org_unit, known), title: w.org_unit || "" }),
        el("td", { class: "time", text: DSB.localTime(w.created_at) }),
        el("td", { class: "time", text: DSB.localTime(w.signed_at) }),
        el("td", { text: w.receipt ? DSB.label("relation", w.receipt.signer_relation) : "—" }),
        el("td", { class: "anomalies", text: w.anomalies.map(function (c) { return DSB.label("anomaly", c); }).join(t("sep.items")) }),
        el("td", { dataset: { testid: "reconciliation" }, title: rec && rec.note ? rec.note : "",
                   text: rec ? DSB.label("decision", rec.decision) : t("wb.unreconciled"), class: rec ? "dec-" + rec.decision : "meta" }));
    }

    function toggleAll(on) {
      DSB.$all("[data-testid=row-select]", body).forEach(function (box) {
        if (box.disabled) return;
        box.checked = on;
        if (on) selected[box.dataset.number] = true; else delete selected[box.dataset.number];
      });
      updateCount();
    }

    function updateCount() {
      var n = Object.keys(selected).length;
      count.textContent = n ? t("wb.selected", { n: n }) : t("wb.hint");
      accept.disabled = dispute.disabled = n === 0;
    }

    function reconcile(decision) {
      var numbers = Object.keys(selected);
      bulkError.hidden = true;
      if (decision === "disputed" && !note.value.trim()) {
        bulkError.textContent = t("wb.noteNeeded");
        bulkError.hidden = false;
        note.focus();
        return;
      }
      accept.disabled = dispute.disabled = true;
      DSB.api("POST", "/waybills/reconcile", { numbers: numbers, decision: decision, note: note.value.trim() || null })
        .then(function (result) {
          var failed = result.results.filter(function (r) { return r.status !== "reconciled"; });
          DSB.toast(t("wb.reconciledN", { n: result.results.length - failed.length }) + (failed.length ? t("wb.failedN", { n: failed.length }) : ""),
                    failed.length ? "warn" : "ok");
          if (failed.length) {
            bulkError.textContent = failed.map(function (r) { return r.number + t("sep.field") + (r.error || t("failed")); }).join(t("sep.list"));
            bulkError.hidden = false;
          }
          note.value = "";
          load(true);
        }).catch(function (e) { bulkError.textContent = e.message; bulkError.hidden = false; updateCount(); });
    }

    /** Waybill import: a CSV or XLSX file, one row per item line; what was created, what existed,
     * and each row's errors, by row number as a spreadsheet shows it. */
    function importCard() {
      var file = el("input", { type: "file", accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               dataset: { testid: "import-file" } });
      var result = el("div", { dataset: { testid: "import-result" }, role: "status" });
      var send = el("button", { type: "submit", class: "btn primary", text: t("imp.send"), dataset: { testid: "import-submit" } });
      function submit(e) {
        e.preventDefault();
        DSB.clear(result);
        if (!file.files.length) { result.appendChild(el("p", { class: "error", text: t("imp.choose") })); return; }
        var form = new FormData();
        form.append("file", file.files[0]);
        send.disabled = true;
        DSB.upload("/waybills/import", form).then(function (r) {
          result.appendChild(el("p", { class: r.errors.length ? "warn" : "ok", dataset: { testid: "import-summary" },
                                       text: t("imp.done", { created: r.created, exists: r.exists, errors: r.errors.length }) }));
          if (r.errors.length) {
            result.appendChild(el("div", { class: "table-wrap", tabindex: 0 }, el("table", { class: "grid", dataset: { testid: "import-errors" } },
              el("thead", null, el("tr", null, ["imp.row", "imp.field", "imp.message"].map(function (h) {
                return el("th", { scope: "col", text: t(h) }); }))),
              el("tbody", null, r.errors.map(function (err) {
                return el("tr", { dataset: { testid: "import-error", row: String(err.row) } },
                          el("td", { class: "num", text: String(err.row) }), el("td", { text: err.field || "" }),
                          el("td", { text: err.message }));
              })))));
          }
          if (r.created) load(true);
        }).catch(function (err) { result.appendChild(el("p", { class: "error", role: "alert", text: err.message })); })
          .then(function () { send.disabled = false; });
      }
      return el("details", { class: "card import", dataset: { testid: "import" } },
        el("summary", { text: t("imp.title") }),
        el("form", { class: "filters", on: { submit: submit } },
          el("p", { class: "meta", text: t("imp.hint") }),
          labelled(t("imp.file"), file), send),
        result);
    }

    function exportAs(format, button) {
      var p = apiParams();
      p.format = format;
      p.lang = DSB.i18n.lang;      // the export speaks the dashboard's language, times in the tenant's zone
      button.disabled = true;
      DSB.download("/waybills/export" + DSB.query(p), "waybills." + format)
        .catch(function (e) { DSB.toast(e.message, "warn"); })
        .then(function () { button.disabled = false; });
    }

    return function () { alive = false; clearTimeout(typing); };
  };
})();
