/* Sign page, confirm screen: the goods of each waybill, and "有问题?" — short or damaged
 * items (received and damaged per line) or a refusal with its reason. */
(function (R) {
  "use strict";
  if (!R.usable) return;
  var $ = DS.$, el = DS.el, t = R.t;

  function lineKey(number, line) { return number + "#" + line; }

  function renderItems() {
    var view = R.view, state = R.state;
    var box = $("#waybills");
    box.textContent = "";
    var detail = state.outcome === "partial";
    $("#delivery-meta").textContent = t("items.meta", { tenant: view.tenant.name, doc: (view.doc_type || {}).name || "" });
    view.waybills.forEach(function (w) {
      var list = el("ul", { class: "items" });
      w.items.forEach(function (item) {
        var key = lineKey(w.number, item.line);
        var entry = state.lines[key] || { received: item.qty, damaged: 0, note: "" };
        var row = el("li", { class: "item", dataset: { testid: "item-row", number: w.number, line: item.line } },
          el("div", { class: "item-head" },
            el("span", { class: "item-name", text: item.name }),
            el("span", { class: "item-qty", text: t("items.qty", { qty: item.qty, unit: item.unit || "" }) })));
        if (detail) {
          row.appendChild(el("div", { class: "item-edit" },
            qtyField("items.received", "item-received", entry.received, item.qty, function (v) { update(key, "received", v); }),
            qtyField("items.damaged", "item-damaged", entry.damaged, item.qty, function (v) { update(key, "damaged", v); }),
            el("label", { class: "field note" }, el("span", { text: t("items.note") }),
              el("input", { value: entry.note, maxLength: 500, dataset: { testid: "item-note" },
                            on: { input: function (e) { update(key, "note", e.target.value); } } }))));
        }
        list.appendChild(row);
      });
      box.appendChild(el("div", { class: "waybill" },
        el("h2", { text: t("items.waybill", { number: w.number }) }),
        el("p", { class: "meta", text: t("items.to", { name: w.consignee.name_masked, phone: w.consignee.phone_masked }) }),
        list));
    });
    // Under photos_by: courier the person at the door should know early that the courier
    // still has to take them (the submit would say so too).
    var courier = $("#courier-photos");
    var missing = R.courierPhotosMissing();
    courier.hidden = !view.courier_photos && !missing;
    courier.classList.toggle("warn", missing);
    courier.textContent = missing ? t("courier.photos.none") : view.courier_photos ? t("courier.photos", { n: view.courier_photos }) : "";
  }

  function qtyField(labelKey, testid, value, max, onChange) {
    var input = el("input", { type: "number", inputMode: "decimal", min: 0, max: max, step: "any", value: value,
                              dataset: { testid: testid } });
    input.addEventListener("input", function () {
      onChange(input.value === "" ? null : Number(input.value));
      if (R.shownErrors.items) R.showError("items", checkItems()[0]);
    });
    return el("label", { class: "field qty" }, el("span", { text: t(labelKey) }), input);
  }

  function update(key, field, value) {
    var parts = key.split("#");
    var item = findItem(parts[0], Number(parts[1]));
    var lines = R.state.lines;
    lines[key] = lines[key] || { received: item.qty, damaged: 0, note: "" };
    lines[key][field] = value;
    R.save();
  }

  function findItem(number, line) {
    var waybills = R.view.waybills;
    for (var i = 0; i < waybills.length; i++) {
      if (waybills[i].number !== number) continue;
      for (var j = 0; j < waybills[i].items.length; j++) {
        if (waybills[i].items[j].line === line) return waybills[i].items[j];
      }
    }
    return null;
  }

  function reportedItems() {
    var out = [];
    R.view.waybills.forEach(function (w) {
      w.items.forEach(function (item) {
        var e = R.state.lines[lineKey(w.number, item.line)];
        if (!e) return;
        out.push({ number: w.number, line: item.line, sku: item.sku || null,
                   received_qty: e.received === null ? 0 : e.received, damaged_qty: e.damaged || 0, note: e.note || "" });
      });
    });
    return out;
  }

  function itemsComplete() {
    return reportedItems().every(function (e) {
      return e.received_qty === findItem(e.number, e.line).qty && !e.damaged_qty;
    });
  }

  // --- "有问题?" -----------------------------------------------------------------------

  function renderProblem() {
    var state = R.state, policy = R.view.policy;
    var open = state.problemOpen;
    $("#problem").hidden = open || (!policy.allow_partial && !policy.allow_refuse);
    $("#problem").setAttribute("aria-expanded", open ? "true" : "false");
    $("#problem-panel").hidden = !open;
    $("#report-short").hidden = !policy.allow_partial;
    $("#refuse").hidden = !policy.allow_refuse;
    $("#report-short").setAttribute("aria-pressed", state.outcome === "partial" ? "true" : "false");
    $("#refuse").setAttribute("aria-pressed", state.outcome === "refused" ? "true" : "false");
    $("#refuse-panel").hidden = state.outcome !== "refused";
    var hint = state.outcome === "partial" ? t("problem.partial.hint") : state.outcome === "refused" ? t("problem.refused.hint") : "";
    $("#problem-hint").textContent = hint;
    $("#problem-hint").hidden = !hint;
  }

  function setOutcome(outcome) {
    R.state.outcome = outcome;
    if (outcome !== "partial") R.state.lines = {};
    R.showError("items", null);
    renderItems(); renderProblem(); R.renderPhotos(); R.save();
  }

  $("#problem").addEventListener("click", function () {
    R.state.problemOpen = true;
    setOutcome(R.view.policy.allow_partial ? "partial" : "refused");
  });
  $("#report-short").addEventListener("click", function () { setOutcome("partial"); });
  $("#refuse").addEventListener("click", function () { setOutcome("refused"); $("#refuse-reason").focus(); });
  $("#problem-cancel").addEventListener("click", function () { R.state.problemOpen = false; setOutcome("signed"); });
  $("#refuse-reason").addEventListener("input", function (e) {
    R.state.refuseReason = e.target.value; R.save();
    if (R.shownErrors.items) R.showError("items", checkItems()[0]);
  });

  function checkItems() {
    var state = R.state;
    if (state.outcome === "refused" && !state.refuseReason.trim()) return [{ code: "refuse_reason_required" }];
    if (state.outcome === "partial") {
      var bad = reportedItems().some(function (e) {
        var qty = findItem(e.number, e.line).qty;
        return !(e.received_qty >= 0 && e.received_qty <= qty && e.damaged_qty >= 0 && e.damaged_qty <= e.received_qty);
      });
      if (bad) return [{ code: "items_invalid" }];
      if (itemsComplete()) return [{ code: "_", message: t("items.report.none") }];
    }
    return [];
  }

  R.renderItems = renderItems;
  R.reportedItems = reportedItems;
  R.checkItems = checkItems;
  R.renderers.push(renderItems, renderProblem);
})(window.DSR);
