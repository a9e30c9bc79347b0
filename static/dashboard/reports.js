/* Reports: GET /reports/summary drawn as SVG bar charts by this file (no chart library) —
 * sign-offs per group split 本人 / 他人代收, the signer-relation share, anomaly rates — and
 * the same numbers as a table, downloadable as CSV; from GET /reports/consent, the drops by
 * place and the consent they relied on, and the assisted sign-offs (issue 14). A language switch redraws it with the
 * same dates and grouping (handed back by the clean-up as the memo). */
(function () {
  "use strict";
  var el = DSB.el, svg = DSB.svg, t = DSB.t;
  var GROUPS = ["day", "org_unit", "courier", "doc_type", "relation"];
  var DONE = ["signed", "partially_signed", "refused", "dropped"];
  var KINDS = ["one_off", "standing", "none"];
  var W = 760, H = 280, LEFT = 44, RIGHT = 10, TOP = 16, BOTTOM = 64;
  var FORMULA = /(^|;)(?=[\t\r\n]|[\s\u0000-\u001f\u007f]*[=+\-@\uff1d\uff0b\uff0d\uff20])/g;

  var known = null;        // DSB.loadNames(): org unit, courier and doc type names
  var NAMED = { org_unit: "unit", courier: "user", doc_type: "docType" };

  function keyLabel(group, key) {
    if (key === null || key === undefined) return group === "relation" ? t("rep.notSigned") : t("unassigned");
    if (group === "relation") return DSB.label("relation", key);
    return NAMED[group] ? DSB.name(NAMED[group], key, known) : String(key);
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    var step = Math.pow(10, Math.floor(Math.log10(value)));
    var n = Math.ceil(value / step);
    n = n <= 2 ? 2 : n <= 4 ? 4 : n <= 5 ? 5 : 10;
    return n * step;
  }

  /** bars: [{key, label, parts: [{value, cls, name}]}] → <svg> with one <g class="bar"> per bar. */
  function barChart(bars, opts) {
    var total = function (b) { return b.parts.reduce(function (s, p) { return s + p.value; }, 0); };
    var max = opts.max || niceMax(Math.max.apply(null, bars.map(total).concat([1])));
    var plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
    var slot = plotW / Math.max(bars.length, 1), barW = Math.max(2, Math.min(48, slot * 0.7));
    var every = Math.ceil(bars.length / 16);
    var chart = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": opts.title,
                             dataset: { testid: opts.testid, bars: String(bars.length) } }, svg("title", { text: opts.title }));
    for (var i = 0; i <= 4; i++) {
      var y = TOP + plotH - (plotH * i) / 4;
      chart.appendChild(svg("line", { class: "grid-line", x1: LEFT, x2: W - RIGHT, y1: y, y2: y }));
      chart.appendChild(svg("text", { class: "axis", x: LEFT - 6, y: y + 4, "text-anchor": "end",
                                      text: opts.format ? opts.format((max * i) / 4) : String(Math.round((max * i) / 4)) }));
    }
    bars.forEach(function (bar, n) {
      var x = LEFT + slot * n + (slot - barW) / 2, base = TOP + plotH;
      var g = svg("g", { class: "bar", dataset: { key: bar.key === null ? "" : String(bar.key), total: String(total(bar)) } });
      bar.parts.forEach(function (part) {
        var h = max ? (plotH * part.value) / max : 0;
        base -= h;
        g.appendChild(svg("rect", { class: "part " + part.cls, x: x, y: base, width: barW, height: Math.max(0, h) },
                          svg("title", { text: bar.label + " · " + part.name + t("sep.field") + (opts.format ? opts.format(part.value) : part.value) })));
      });
      if (bars.length <= 31) {
        g.appendChild(svg("text", { class: "value", x: x + barW / 2, y: base - 4, "text-anchor": "middle",
                                    text: opts.format ? opts.format(total(bar)) : String(total(bar)) }));
      }
      if (n % every === 0) {
        var lx = x + barW / 2, ly = TOP + plotH + 14;
        g.appendChild(svg("text", { class: "axis", x: lx, y: ly, "text-anchor": "end", transform: "rotate(-35 " + lx + " " + ly + ")",
                                    text: bar.label.length > 14 ? bar.label.slice(0, 13) + "…" : bar.label }));
      }
      chart.appendChild(g);
    });
    return chart;
  }

  function legend(parts) {
    return el("p", { class: "legend" }, parts.map(function (p) {
      return el("span", null, el("i", { class: "swatch " + p[0] }), p[1]);
    }));
  }

  function pct(n, d) { return d ? (100 * n) / d : 0; }

  DSB.views.reports = function (root, args, memo) {
    root.appendChild(el("h1", { class: "visually-hidden", text: t("nav.reports") }));
    var today = new Date();
    memo = memo || {};
    var from = el("input", { type: "date", value: memo.from || DSB.dateInput(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29)),
                             dataset: { testid: "report-from" } });
    var to = el("input", { type: "date", value: memo.to || DSB.dateInput(today), dataset: { testid: "report-to" } });
    var group = el("select", { dataset: { testid: "report-group" } },
                   GROUPS.map(function (g) { return el("option", { value: g, text: t("rep." + g), selected: g === memo.group }); }));
    var exportButton = el("button", { type: "button", class: "btn", text: t("rep.export"), dataset: { testid: "report-export" }, disabled: true });
    var out = el("div", { class: "report" });
    var rows = [];
    root.appendChild(el("form", { class: "filters card", on: { submit: function (e) { e.preventDefault(); load(); } } },
      el("label", { class: "filter" }, el("span", { text: t("rep.from") }), from),
      el("label", { class: "filter" }, el("span", { text: t("rep.to") }), to),
      el("label", { class: "filter" }, el("span", { text: t("rep.group") }), group),
      el("button", { type: "submit", class: "btn primary", text: t("rep.run"), dataset: { testid: "report-run" } }), exportButton));
    root.appendChild(out);
    [from, to, group].forEach(function (c) { c.addEventListener("change", load); });
    exportButton.addEventListener("click", function () { exportCsv(); });
    load();

    function load() {
      var q = DSB.query({ group_by: group.value, from: DSB.dayStart(from.value), to: DSB.dayStart(to.value, 1) });
      load.last = q;
      var range = DSB.query({ from: DSB.dayStart(from.value), to: DSB.dayStart(to.value, 1) });
      Promise.all([DSB.api("GET", "/reports/summary" + q), DSB.loadNames(), DSB.api("GET", "/reports/consent" + range)]).then(function (found) {
        var summary = found[0];
        known = found[1];
        if (load.last !== q) return;
        rows = summary.rows;
        exportButton.disabled = !rows.length;
        draw(summary.group_by);
        out.appendChild(consentCard(found[2]));
      }).catch(function (e) { DSB.clear(out).appendChild(el("p", { class: "error", text: e.message })); });
    }

    function draw(by) {
      DSB.clear(out);
      var name = t("rep." + by);
      if (!rows.length) { out.appendChild(el("p", { class: "meta", dataset: { testid: "report-empty" }, text: t("rep.empty") })); return; }
      var bars = rows.map(function (r) {
        var done = DONE.reduce(function (s, k) { return s + (r.by_status[k] || 0); }, 0);
        var other = Math.max(0, done - r.signed_by_consignee - r.signed_by_others);
        return { key: r.key, label: keyLabel(by, r.key), parts: [
          { value: r.signed_by_consignee, cls: "self", name: t("rep.self") },
          { value: r.signed_by_others, cls: "others", name: t("rep.others") },
          { value: other, cls: "other", name: t("rep.other") },
          { value: r.total - done, cls: "open", name: t("rep.notSigned") }] };
      });
      out.appendChild(el("section", { class: "card wide" }, el("h2", { text: t("rep.volume", { group: name }) }),
        barChart(bars, { title: t("rep.volumeTitle", { group: name }), testid: "report-chart" }),
        legend([["self", t("rep.self")], ["others", t("rep.others")], ["other", t("rep.other")], ["open", t("rep.notSigned")]])));

      var self = 0, others = 0;
      rows.forEach(function (r) { self += r.signed_by_consignee; others += r.signed_by_others; });
      out.appendChild(el("section", { class: "card" }, el("h2", { text: t("rep.who") }),
        barChart([{ key: "self", label: t("rep.consignee"), parts: [{ value: self, cls: "self", name: t("rep.self") }] },
                  { key: "others", label: t("rep.others"), parts: [{ value: others, cls: "others", name: t("rep.others") }] }],
                 { title: t("rep.whoTitle"), testid: "report-relation-chart" }),
        el("p", { class: "meta", text: t("rep.share", { self: self, selfPct: pct(self, self + others).toFixed(1),
                                                        others: others, othersPct: pct(others, self + others).toFixed(1) }) })));

      out.appendChild(el("section", { class: "card" }, el("h2", { text: t("rep.rate", { group: name }) }),
        barChart(rows.map(function (r) {
          return { key: r.key, label: keyLabel(by, r.key), parts: [{ value: pct(r.with_anomalies, r.total), cls: "anomaly", name: t("rep.rateName") }] };
        }), { title: t("rep.rateTitle", { group: name }), testid: "report-anomaly-chart", max: 100, format: function (v) { return Math.round(v) + "%"; } })));

      out.appendChild(el("section", { class: "card wide" }, el("h2", { text: t("rep.details") }), el("div", { class: "table-wrap", tabindex: 0 },
        el("table", { class: "grid", dataset: { testid: "report-table" } },
          el("thead", null, el("tr", null, tableHead().map(function (h) { return el("th", { text: h }); }))),
          el("tbody", null, tableRows(by).map(function (cells) {
            return el("tr", { dataset: { testid: "report-row" } }, cells.map(function (c, i) { return el("td", { class: i ? "num" : "", text: String(c) }); }));
          }))))));
    }

    /** Drops: one row per place, one column per kind of consent; then the assisted count. */
    function consentCard(report) {
      var places = [], n = {};
      report.drops.forEach(function (d) {
        if (places.indexOf(d.place) < 0) places.push(d.place);
        n[d.place + "/" + d.consent] = d.n;
      });
      return el("section", { class: "card wide", dataset: { testid: "report-consent" } }, el("h2", { text: t("rep.consent") }),
        el("h3", { text: t("rep.drops") }),
        places.length ? el("div", { class: "table-wrap", tabindex: 0 }, el("table", { class: "grid", dataset: { testid: "report-drops" } },
          el("thead", null, el("tr", null, el("th", { scope: "col", text: t("column.drop_place") }), KINDS.map(function (k) {
            return el("th", { scope: "col", class: "num", text: DSB.label("consent_kind", k) }); }))),
          el("tbody", null, places.map(function (p) {
            return el("tr", { dataset: { testid: "drop-row", place: p } }, el("th", { scope: "row", text: DSB.label("drop_place", p) }),
              KINDS.map(function (k) { return el("td", { class: "num", dataset: { kind: k }, text: String(n[p + "/" + k] || 0) }); }));
          })))) : el("p", { class: "meta", text: t("rep.noDrops") }),
        el("p", { dataset: { testid: "report-assisted", n: String(report.assisted_sign_offs) },
                  text: t("rep.assisted", { n: report.assisted_sign_offs }) }));
    }

    function tableHead() {
      return [t("rep.group"), t("col.waybills")].concat(DSB.CODES.status.map(function (s) { return DSB.label("status", s); }))
        .concat([t("rep.self"), t("rep.others"), t("rep.withAnomalies"), t("rep.rateName"), t("rep.median")]);
    }

    function tableRows(by) {
      return rows.map(function (r) {
        return [keyLabel(by, r.key), r.total].concat(DSB.CODES.status.map(function (s) { return r.by_status[s] || 0; }))
          .concat([r.signed_by_consignee, r.signed_by_others, r.with_anomalies, pct(r.with_anomalies, r.total).toFixed(1) + "%",
                   r.median_minutes_to_signoff === null ? "" : r.median_minutes_to_signoff]);
      });
    }

    function exportCsv() {
      var cell = function (v) {
        if (typeof v === "number") return String(v);
        // CSV injection, the rules of reports/export.py: text that a spreadsheet would run
        // (= + - @ or their full-width forms, after any blanks or controls; also after a ";",
        // where semicolon-locale Excel splits) gets an apostrophe; every cell is quoted.
        v = String(v).replace(FORMULA, "$1'");
        return '"' + v.replace(/"/g, '""') + '"';
      };
      var lines = [tableHead()].concat(tableRows(group.value)).map(function (r) { return r.map(cell).join(","); });
      var url = URL.createObjectURL(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" }));
      var a = el("a", { href: url, download: "report-" + group.value + "-" + from.value + "-" + to.value + ".csv", hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    }

    return function () { load.last = null; return { from: from.value, to: to.value, group: group.value }; };
  };
})();
