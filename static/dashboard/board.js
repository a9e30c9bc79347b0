/* The day board: today's waybills by status and by org unit, today's sign-offs as they come
 * in, the anomalies that still need a dispatcher's review (not yet reconciled), and the
 * waybills whose consignee was asked how to deliver and has not answered. Each part
 * keeps itself current (DSB.poll: If-None-Match every few seconds, 304 while unchanged). */
(function () {
  "use strict";
  var el = DSB.el, t = DSB.t;
  var STATUSES = DSB.CODES.status;
  var POLL_S = 5;

  DSB.views.board = function (root) {
    var today = DSB.dateInput(new Date());
    var known = null;
    var counts = el("section", { class: "card", dataset: { testid: "board-status" }, "aria-labelledby": "board-status-title" },
                    el("h2", { id: "board-status-title", text: t("board.today") }), el("p", { class: "meta", text: t("loading") }));
    var units = el("section", { class: "card", dataset: { testid: "board-units" }, "aria-labelledby": "board-units-title" },
                   el("h2", { id: "board-units-title", text: t("board.units") }));
    var latest = el("section", { class: "card wide", dataset: { testid: "board-latest" }, "aria-labelledby": "board-latest-title" },
                    el("h2", { id: "board-latest-title", text: t("board.latest") }));
    var review = el("section", { class: "card wide", dataset: { testid: "board-review" }, "aria-labelledby": "board-review-title" },
                    el("h2", { id: "board-review-title", text: t("board.review") }));
    var waiting = el("section", { class: "card wide", dataset: { testid: "board-waiting" }, "aria-labelledby": "board-waiting-title" },
                     el("h2", { id: "board-waiting-title", text: t("board.waiting") }));
    root.appendChild(el("h1", { class: "visually-hidden", text: t("nav.board") }));
    root.appendChild(el("p", { class: "meta live", text: t("board.live", { s: POLL_S }) }));
    root.appendChild(el("div", { class: "board" }, counts, units, latest, review, waiting));

    function body(section) {       // everything of a card but its heading
      while (section.children.length > 1) section.removeChild(section.lastChild);
      return section;
    }

    function showSummary(summary) {
      var totals = { total: 0 };
      STATUSES.forEach(function (s) { totals[s] = 0; });
      summary.rows.forEach(function (row) {
        totals.total += row.total;
        STATUSES.forEach(function (s) { totals[s] += row.by_status[s] || 0; });
      });
      body(counts).firstChild.textContent = t("board.todayN", { n: totals.total });
      counts.appendChild(el("div", { class: "tiles" }, STATUSES.map(function (s) {
        return el("a", { class: "tile st-" + s, href: "#/waybills/status=" + s + "&created_from=" + today + "&created_to=" + today, dataset: { testid: "count-" + s } },
                  el("strong", { text: String(totals[s]) }), el("span", { text: DSB.label("status", s) }));
      })));
      body(units);
      if (!summary.rows.length) { units.appendChild(el("p", { class: "meta", text: t("board.empty") })); return; }
      units.appendChild(el("div", { class: "table-wrap", tabindex: 0 }, el("table", { class: "grid" },
        el("thead", null, el("tr", null,
          el("th", { scope: "col", text: t("col.unit") }),
          ["col.waybills", "col.signed", "col.out", "col.anomalies"].map(function (h) { return el("th", { scope: "col", class: "num", text: t(h) }); }))),
        el("tbody", null, summary.rows.map(function (row) {
          var done = (row.by_status.signed || 0) + (row.by_status.partially_signed || 0) + (row.by_status.refused || 0);
          return el("tr", { dataset: { testid: "unit-row", unit: row.key || "" } },
                    el("td", { text: row.key ? DSB.name("unit", row.key, known) : t("unassigned") }),
                    el("td", { class: "num", text: String(row.total) }), el("td", { class: "num", text: String(done) }),
                    el("td", { class: "num", text: String(row.by_status.out_for_delivery || 0) }),
                    el("td", { class: "num", text: String(row.with_anomalies) }));
        })))));
    }

    function waybillLine(w, testid) {
      return el("li", { dataset: { testid: testid, number: w.number } },
                el("a", { href: "#/waybill/" + encodeURIComponent(w.number), text: w.number }), " ",
                DSB.statusBadge(w.status), " ", el("span", { text: w.consignee.name }),
                w.signed_at ? el("span", { class: "meta", text: " " + DSB.localTime(w.signed_at) }) : null,
                w.courier ? el("span", { class: "meta", text: " · " + DSB.name("user", w.courier, known) }) : null,
                w.anomalies.length ? el("span", { class: "anomalies", text: " " + w.anomalies.map(function (c) {
                  return DSB.label("anomaly", c); }).join(t("sep.items")) }) : null);
    }

    function showLatest(page) {
      body(latest);
      if (!page.items.length) { latest.appendChild(el("p", { class: "meta", text: t("board.noLatest") })); return; }
      latest.appendChild(el("ul", { class: "review" }, page.items.map(function (w) { return waybillLine(w, "latest-item"); })));
    }

    function showReview(page) {
      body(review);
      if (!page.items.length) { review.appendChild(el("p", { class: "meta", text: t("board.noReview") })); return; }
      review.appendChild(el("ul", { class: "review" }, page.items.map(function (w) { return waybillLine(w, "review-item"); })));
      if (page.next_cursor) review.appendChild(el("a", { href: "#/waybills/anomaly=any&reconciled=false", text: t("board.all") }));
    }

    function showWaiting(report) {
      body(waiting);
      var rows = report.waiting_for_answer;
      if (!rows.length) { waiting.appendChild(el("p", { class: "meta", text: t("board.noWaiting") })); return; }
      waiting.appendChild(el("ul", { class: "review" }, rows.map(function (w) {
        return el("li", { dataset: { testid: "waiting-item", number: w.number } },
                  el("a", { href: "#/waybill/" + encodeURIComponent(w.number), text: w.number }),
                  el("span", { class: "meta", text: " " + t("board.asked", { at: DSB.localTime(w.asked_at) }) + " · " +
                                                t("board.expires", { at: DSB.localTime(w.expires_at) }) }));
      })));
    }

    function failed(section) {
      return function (e) { body(section).appendChild(el("p", { class: "error", role: "alert", text: e.message })); };
    }

    var stops = [];
    DSB.loadNames().then(function (n) {
      if (!stops) return;          // left before the names came
      known = n;
      var range = DSB.query({ group_by: "org_unit", from: DSB.dayStart(today), to: DSB.dayStart(today, 1) });
      stops.push(DSB.poll("/reports/summary" + range, POLL_S, showSummary, failed(counts)));
      stops.push(DSB.poll("/waybills" + DSB.query({ signed_from: DSB.dayStart(today), status: "signed,partially_signed,refused",
                                                    limit: 10 }), POLL_S, showLatest, failed(latest)));
      stops.push(DSB.poll("/waybills" + DSB.query({ anomaly: "any", reconciled: "false", limit: 50 }), POLL_S, showReview,
                          failed(review)));
      // A fixed window: the report's default one ends now, so its ETag would change on every poll.
      stops.push(DSB.poll("/reports/consent" + DSB.query({ from: DSB.dayStart(today), to: DSB.dayStart(today, 1) }),
                          POLL_S, showWaiting, failed(waiting)));
    });
    return function () { stops.forEach(function (stop) { stop(); }); stops = null; };
  };
})();
