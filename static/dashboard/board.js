/* The day board: today's waybills by status and by org unit, and the anomalies that still
 * need a dispatcher's review (not yet reconciled), oldest first in the API's order. */
(function () {
  "use strict";
  var el = DSB.el, t = DSB.t;
  var STATUSES = DSB.CODES.status;

  DSB.views.board = function (root) {
    var today = DSB.dateInput(new Date());
    var counts = el("section", { class: "card", dataset: { testid: "board-status" } }, el("h2", { text: t("board.today") }),
                    el("p", { class: "meta", text: t("loading") }));
    var units = el("section", { class: "card", dataset: { testid: "board-units" } }, el("h2", { text: t("board.units") }));
    var review = el("section", { class: "card wide", dataset: { testid: "board-review" } },
                    el("h2", { text: t("board.review") }));
    root.appendChild(el("div", { class: "board" }, counts, units, review));

    var range = DSB.query({ group_by: "org_unit", from: DSB.dayStart(today), to: DSB.dayStart(today, 1) });
    DSB.api("GET", "/reports/summary" + range).then(function (summary) {
      var totals = { total: 0 };
      STATUSES.forEach(function (s) { totals[s] = 0; });
      summary.rows.forEach(function (row) {
        totals.total += row.total;
        STATUSES.forEach(function (s) { totals[s] += row.by_status[s] || 0; });
      });
      DSB.clear(counts).appendChild(el("h2", { text: t("board.todayN", { n: totals.total }) }));
      counts.appendChild(el("div", { class: "tiles" }, STATUSES.map(function (s) {
        return el("a", { class: "tile st-" + s, href: "#/waybills/status=" + s + "&created_from=" + today + "&created_to=" + today, dataset: { testid: "count-" + s } },
                  el("strong", { text: String(totals[s]) }), el("span", { text: DSB.label("status", s) }));
      })));
      if (!summary.rows.length) { units.appendChild(el("p", { class: "meta", text: t("board.empty") })); return; }
      units.appendChild(el("table", { class: "grid" },
        el("thead", null, el("tr", null, ["col.unit", "col.waybills", "col.signed", "col.out", "col.anomalies"].map(function (h) {
                                   return el("th", { text: t(h) }); }))),
        el("tbody", null, summary.rows.map(function (row) {
          var done = (row.by_status.signed || 0) + (row.by_status.partially_signed || 0) + (row.by_status.refused || 0);
          return el("tr", { dataset: { testid: "unit-row" } }, el("td", { text: row.key || t("unassigned") }),
                    el("td", { class: "num", text: String(row.total) }), el("td", { class: "num", text: String(done) }),
                    el("td", { class: "num", text: String(row.by_status.out_for_delivery || 0) }),
                    el("td", { class: "num", text: String(row.with_anomalies) }));
        }))));
    }).catch(function (e) { DSB.clear(counts).appendChild(el("p", { class: "error", text: e.message })); });

    DSB.api("GET", "/waybills" + DSB.query({ anomaly: "any", reconciled: "false", limit: 50 })).then(function (page) {
      if (!page.items.length) { review.appendChild(el("p", { class: "meta", text: t("board.noReview") })); return; }
      review.appendChild(el("ul", { class: "review" }, page.items.map(function (w) {
        return el("li", { dataset: { testid: "review-item", number: w.number } },
                  el("a", { href: "#/waybill/" + encodeURIComponent(w.number), text: w.number }), " ",
                  DSB.statusBadge(w.status), " ", el("span", { text: w.consignee.name }), " ",
                  el("span", { class: "anomalies", text: w.anomalies.map(function (c) { return DSB.label("anomaly", c); })
                    .join(t("sep.items")) }));
      })));
      if (page.next_cursor) {
        review.appendChild(el("a", { href: "#/waybills/anomaly=any&reconciled=false", text: t("board.all") }));
      }
    }).catch(function (e) { review.appendChild(el("p", { class: "error", text: e.message })); });
  };
})();
