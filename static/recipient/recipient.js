/* The recipient's sign page (/s/<token>): items → signer → photos → signature → location
 * → submit → done. Everything entered is kept in sessionStorage under the token until the
 * server accepts the sign-off, so a reload or a dropped connection loses nothing. */
(function () {
  "use strict";
  var $ = DS.$, $all = DS.$all, el = DS.el;

  var STRINGS = {
    zh: {
      "app.title": "送货签收", "lang.other": "English", loading: "正在加载…", next: "下一步", back: "上一步",
      optional: "（选填）", step: "第 {n}/{total} 步",
      "state.unknown.title": "链接无效", "state.unknown.body": "找不到这次签收，请让快递员重新出示二维码。",
      "state.used.title": "已签收", "state.used.body": "这次送货已经签收过了，无需再次签收。",
      "state.expired.title": "二维码已过期", "state.expired.body": "请让快递员重新生成签收二维码。",
      "state.locked.title": "签收已锁定", "state.locked.body": "验证码错误次数过多，请让快递员重新生成签收二维码。",
      "state.offline.title": "网络不可用", "state.offline.body": "请检查网络后刷新页面。",
      "items.title": "核对货物", "items.confirm": "全部收到，完好无损", "items.report": "少件或损坏",
      "items.refuse": "拒收", "items.back": "返回重选", "items.waybill": "运单 {number}",
      "items.to": "收货人 {name} · {phone}", "items.qty": "应收 {qty} {unit}",
      "items.received": "实收", "items.damaged": "损坏", "items.note": "备注",
      "items.report.hint": "请填写每件货物的实收和损坏数量。", "items.report.none": "没有填写少件或损坏，如全部收到请返回选择“全部收到”。",
      "items.meta": "{tenant} · {doc}",
      "refuse.reason": "拒收原因", "refuse.placeholder": "例如：外包装破损、货物不符",
      "signer.title": "签收人", "signer.name": "姓名", "signer.name.placeholder": "请输入签收人姓名",
      "signer.relation": "与收货人关系", "signer.phone": "手机号",
      "relation.self": "本人", "relation.family": "家属", "relation.colleague": "同事",
      "relation.guard": "门卫保安", "relation.locker": "快递柜驿站", "relation.other": "其他",
      "otp.hint": "需验证收货人手机，验证码将发送至 {phone}", "otp.send": "发送验证码", "otp.resend": "{s} 秒后可重发",
      "otp.code": "验证码", "otp.verify": "验证", "otp.ok": "验证通过", "otp.sent": "验证码已发送至 {phone}",
      "otp.wrong": "验证码错误或已过期，请重新输入", "otp.format": "请输入 6 位数字验证码",
      "photos.title": "拍照留证", "photos.hint": "请拍摄货物照片，至少 {min} 张，最多 {max} 张。", "photos.take": "拍照",
      "photos.uploading": "上传中 {pct}%", "photos.done": "已上传", "photos.failed": "上传失败",
      "photos.retry": "重试", "photos.remove": "删除", "photos.retake": "重拍", "photos.wait": "请等待照片上传完成",
      "photos.max": "最多 {max} 张照片",
      "signature.title": "手写签名", "signature.hint": "请在下方框内用手指写下签收人全名：{name}",
      "signature.undo": "撤销", "signature.clear": "清除", "signature.full": "横屏签", "signature.done": "完成",
      "signature.rotate": "请横过手机书写", "signature.aria": "签名板，请用手指书写",
      "location.title": "签收位置", "location.why": "为证明货物送达，我们会记录本次签收的位置，仅用于签收凭证。",
      "location.allow": "允许获取位置", "location.skip": "不提供位置", "location.getting": "正在获取位置…",
      "location.got": "已获取位置（精度约 {m} 米）", "location.skipped": "未提供位置",
      "location.denied": "未获得位置权限，请在浏览器设置中允许访问位置。",
      "location.denied.optional": "未获得位置权限，可以不提供位置继续签收。",
      "location.failed": "暂时无法获取位置，请重试。",
      "summary.outcome": "签收结果", "summary.signer": "签收人", "summary.photos": "照片",
      "outcome.signed": "全部签收", "outcome.partial": "部分签收", "outcome.refused": "拒收",
      submit: "确认签收", "submit.busy": "正在提交…", "submit.retrying": "网络不稳定，正在重试…",
      "submit.offline": "网络不可用，已保存填写内容，请稍后点“确认签收”重试。",
      "submit.failed": "提交失败，请稍后重试。",
      "done.title": "签收完成", "done.title.partial": "部分签收完成", "done.title.refused": "已记录拒收",
      "done.receipt": "签收凭证编号", "done.close": "您可以关闭此页面。",
      "error.generic": "请检查填写内容",
      "err.signature_empty": "请先签名", "err.signature_too_few_points": "签名太短，请写全名",
      "err.signature_dot": "签名不能只是一个点，请写全名", "err.signature_line": "签名不能只是一条线，请写全名",
      "err.signature_too_small": "签名太小，请写大一些、写全名", "err.signature_timing_invalid": "签名数据异常，请清除后重新签名",
      "err.signature_out_of_canvas": "签名超出了签名框，请清除后重新签名", "err.signature_too_simple": "签名过于简单，请写全名",
      "err.signature_too_many_points": "签名过长，请清除后重新签名", "err.signature_invalid": "签名数据无效，请清除后重新签名",
      "err.photos_missing": "照片数量不足，请再拍 {n} 张", "err.photo_invalid": "照片无法识别，请重新拍摄",
      "err.photos_invalid": "照片数量超出上限", "err.too_many_photos": "上传次数过多，无法继续上传",
      "err.otp_required": "请先完成手机验证码验证", "err.location_required": "本次签收必须提供位置，请允许获取位置",
      "err.signer_name_required": "请填写签收人姓名", "err.relation_required": "请选择与收货人关系",
      "err.consignee_only": "本次送货须由收货人本人签收", "err.items_invalid": "货物数量填写有误，请检查",
      "err.refuse_reason_required": "请填写拒收原因", "err.partial_not_allowed": "本次送货不允许部分签收",
      "err.refuse_not_allowed": "本次送货不允许拒收",
    },
    en: {
      "app.title": "Delivery sign-off", "lang.other": "中文", loading: "Loading…", next: "Next", back: "Back",
      optional: "(optional)", step: "Step {n} of {total}",
      "state.unknown.title": "Invalid link", "state.unknown.body": "This sign-off does not exist. Ask the courier to show the QR code again.",
      "state.used.title": "Already signed", "state.used.body": "This delivery has already been signed for.",
      "state.expired.title": "QR code expired", "state.expired.body": "Ask the courier for a new QR code.",
      "state.locked.title": "Sign-off locked", "state.locked.body": "Too many wrong codes. Ask the courier for a new QR code.",
      "state.offline.title": "No connection", "state.offline.body": "Check your network and reload the page.",
      "items.title": "Check the goods", "items.confirm": "All received, undamaged", "items.report": "Short or damaged",
      "items.refuse": "Refuse", "items.back": "Choose again", "items.waybill": "Waybill {number}",
      "items.to": "Consignee {name} · {phone}", "items.qty": "{qty} {unit} shipped",
      "items.received": "Received", "items.damaged": "Damaged", "items.note": "Note",
      "items.report.hint": "Enter how many of each item arrived, and how many are damaged.",
      "items.report.none": "Nothing is short or damaged. If all arrived, go back and choose “All received”.",
      "items.meta": "{tenant} · {doc}",
      "refuse.reason": "Reason for refusal", "refuse.placeholder": "e.g. box broken, wrong goods",
      "signer.title": "Who is signing", "signer.name": "Name", "signer.name.placeholder": "Full name of the person signing",
      "signer.relation": "Relation to the consignee", "signer.phone": "Phone",
      "relation.self": "Consignee", "relation.family": "Family", "relation.colleague": "Colleague",
      "relation.guard": "Doorman / guard", "relation.locker": "Locker / parcel station", "relation.other": "Other",
      "otp.hint": "The consignee's phone must be verified; a code goes to {phone}", "otp.send": "Send code",
      "otp.resend": "Resend in {s} s", "otp.code": "Code", "otp.verify": "Verify", "otp.ok": "Verified",
      "otp.sent": "Code sent to {phone}", "otp.wrong": "Wrong or expired code; try again", "otp.format": "Enter the 6-digit code",
      "photos.title": "Photos", "photos.hint": "Take at least {min} photo(s) of the goods (up to {max}).", "photos.take": "Take photo",
      "photos.uploading": "Uploading {pct}%", "photos.done": "Uploaded", "photos.failed": "Upload failed",
      "photos.retry": "Retry", "photos.remove": "Remove", "photos.retake": "Retake", "photos.wait": "Wait for the photos to finish uploading",
      "photos.max": "At most {max} photos",
      "signature.title": "Signature", "signature.hint": "Write the full name in the box with your finger: {name}",
      "signature.undo": "Undo", "signature.clear": "Clear", "signature.full": "Landscape", "signature.done": "Done",
      "signature.rotate": "Turn your phone sideways", "signature.aria": "Signature pad, write with your finger",
      "location.title": "Location", "location.why": "To prove the goods arrived here, the place of this sign-off is recorded on the receipt only.",
      "location.allow": "Share my location", "location.skip": "Don't share", "location.getting": "Getting your location…",
      "location.got": "Location found (about {m} m)", "location.skipped": "No location shared",
      "location.denied": "Location permission was denied. Allow location access in the browser settings.",
      "location.denied.optional": "Location permission was denied. You can sign without it.",
      "location.failed": "The location is not available right now; try again.",
      "summary.outcome": "Result", "summary.signer": "Signed by", "summary.photos": "Photos",
      "outcome.signed": "All received", "outcome.partial": "Partly received", "outcome.refused": "Refused",
      submit: "Confirm sign-off", "submit.busy": "Submitting…", "submit.retrying": "Weak network, retrying…",
      "submit.offline": "No connection. What you entered is saved; tap “Confirm sign-off” again later.",
      "submit.failed": "The sign-off failed; try again shortly.",
      "done.title": "Signed", "done.title.partial": "Partly signed", "done.title.refused": "Refusal recorded",
      "done.receipt": "Receipt number", "done.close": "You can close this page.",
      "error.generic": "Please check what you entered",
      "err.signature_empty": "Please sign first", "err.signature_too_few_points": "The signature is too short; write the full name",
      "err.signature_dot": "A dot is not a signature; write the full name", "err.signature_line": "A line is not a signature; write the full name",
      "err.signature_too_small": "The signature is too small; write the full name larger",
      "err.signature_timing_invalid": "The signature data is not valid; clear and sign again",
      "err.signature_out_of_canvas": "The signature left the box; clear and sign again",
      "err.signature_too_simple": "The signature is too simple; write the full name",
      "err.signature_too_many_points": "The signature is too long; clear and sign again",
      "err.signature_invalid": "The signature data is not valid; clear and sign again",
      "err.photos_missing": "Not enough photos; take {n} more", "err.photo_invalid": "That photo cannot be read; take it again",
      "err.photos_invalid": "Too many photos", "err.too_many_photos": "Too many uploads for this delivery",
      "err.otp_required": "Verify the phone code first", "err.location_required": "This delivery needs your location; allow location access",
      "err.signer_name_required": "Enter the name of the person signing", "err.relation_required": "Choose the relation to the consignee",
      "err.consignee_only": "Only the consignee may sign for this delivery", "err.items_invalid": "The quantities are not right; check them",
      "err.refuse_reason_required": "Say why the goods are refused", "err.partial_not_allowed": "Partial receipt is not allowed for this delivery",
      "err.refuse_not_allowed": "Refusal is not allowed for this delivery",
    },
  };

  var STEPS = ["items", "signer", "photos", "signature", "location", "done"];
  // Which step a server error sends the recipient back to.
  var ERROR_STEP = {
    items_invalid: "items", refuse_reason_required: "items", partial_not_allowed: "items", refuse_not_allowed: "items",
    signer_name_required: "signer", relation_required: "signer", consignee_only: "signer", otp_required: "signer",
    photos_missing: "photos", photo_invalid: "photos", photos_invalid: "photos", too_many_photos: "photos",
    location_required: "location",
  };

  var i18n = new DS.I18n(STRINGS);
  var t = i18n.t.bind(i18n);
  var app = $("#app");
  var token = app.dataset.token;
  var api = "/api/v1/sign/" + encodeURIComponent(token);
  var storeKey = "ds:sign:" + token;
  var view = null;          // GET /sign/<token>
  var pad = null;
  var uploads = {};         // client id → {xhr, file, objectUrl} while uploading
  var replacing = null;     // client id of the photo being retaken
  var state = load() || fresh();

  function fresh() {
    return {
      submissionId: uuid(), step: "items", outcome: null, lines: {}, refuseReason: "",
      signer: { name: "", relation: null, phone: "" }, photos: [], strokes: [], canvas: null,
      location: undefined, locationNote: "",
    };
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function load() {
    try { return JSON.parse(sessionStorage.getItem(storeKey)); } catch (e) { return null; }
  }

  function save() {
    if (pad) { state.strokes = pad.toData(); state.canvas = pad.isEmpty() ? null : pad.canvasInfo(); }
    try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* quota: keep going */ }
  }

  // --- language -----------------------------------------------------------------------

  function applyLanguage() {
    i18n.apply(app);
    if (view) { renderItems(); renderStepTexts(); renderPhotos(); renderSummary(); }
    showProgress();
    rerenderErrors();
  }

  var langButton = $("[data-testid=lang-switch]");
  langButton.hidden = false;
  langButton.addEventListener("click", function () { i18n.toggle(); applyLanguage(); });

  if (app.dataset.state !== "usable") { i18n.apply(app); return; }

  // --- link states --------------------------------------------------------------------

  function showState(name) {
    $all(".step").forEach(function (s) { s.hidden = true; });
    $("#loading").hidden = true;
    var screen = $("#state-screen");
    screen.hidden = false;
    screen.dataset.state = name;
    $("#state-icon").className = "state-icon state-icon--" + name;
    $("#state-title").dataset.i18n = "state." + name + ".title";
    $("#state-body").dataset.i18n = "state." + name + ".body";
    $("#progress").textContent = "";
    i18n.apply(screen);
    if (name !== "offline") sessionStorage.removeItem(storeKey);
  }

  function stateForResponse(r) {
    if (r.status === 404) return "unknown";
    if (r.status === 423) return "locked";
    if (r.status === 409) return "used";
    if (r.status === 410) return r.body && /link-used$/.test(r.body.type || "") ? "used" : "expired";
    return null;
  }

  // --- steps --------------------------------------------------------------------------

  function go(step) {
    state.step = step;
    $all(".step").forEach(function (s) { s.hidden = s.dataset.step !== step; });
    if (step === "signature") { pad.resize(); }
    if (step === "location") renderSummary();
    showProgress();
    save();
    window.scrollTo(0, 0);
  }

  function showProgress() {
    var n = STEPS.indexOf(state.step) + 1;
    $("#progress").textContent = view && n < STEPS.length ? t("step", { n: n, total: STEPS.length - 1 }) : "";
  }

  // --- errors -------------------------------------------------------------------------

  var shownErrors = {};   // step → [{code, message, vars}]

  function errorText(e) {
    var key = "err." + e.code;
    var text = t(key, e.vars);
    return text === key ? (e.message || t("error.generic")) : text;
  }

  function showErrors(step, list) {
    shownErrors[step] = list;
    var box = $(".error[data-for=" + step + "]");
    if (!box) return;
    box.textContent = list.map(errorText).join("\n");
    box.hidden = list.length === 0;
    if (list.length) box.dataset.codes = list.map(function (e) { return e.code; }).join(" ");
  }

  function clearErrors(step) {
    (step ? [step] : Object.keys(shownErrors)).forEach(function (s) { showErrors(s, []); });
  }

  function rerenderErrors() {
    Object.keys(shownErrors).forEach(function (s) { showErrors(s, shownErrors[s]); });
  }

  function message(step, key, vars) { showErrors(step, [{ code: "_", message: t(key, vars) }]); }

  // --- 1. items -----------------------------------------------------------------------

  function lineKey(number, line) { return number + "#" + line; }

  function renderItems() {
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
            el("span", { class: "item-qty", text: t("items.qty", { qty: item.qty, unit: item.unit || "" }) })),
          item.sku ? el("div", { class: "item-sku", text: item.sku }) : null);
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
        el("p", { class: "meta", text: w.consignee.address }),
        list));
    });
    if (detail) box.insertBefore(el("p", { class: "hint", text: t("items.report.hint") }), box.firstChild);
    var choosing = !state.outcome || state.outcome === "signed";
    $("#items-choice").hidden = !choosing;
    $("#items-detail-actions").hidden = choosing;
    $("#refuse-panel").hidden = state.outcome !== "refused";
    $("#report-short").hidden = !view.policy.allow_partial;
    $("#refuse").hidden = !view.policy.allow_refuse;
  }

  function qtyField(labelKey, testid, value, max, onChange) {
    var input = el("input", { type: "number", inputMode: "decimal", min: 0, max: max, step: "any", value: value,
                              dataset: { testid: testid } });
    input.addEventListener("input", function () { onChange(input.value === "" ? null : Number(input.value)); });
    return el("label", { class: "field qty" }, el("span", { text: t(labelKey) }), input);
  }

  function update(key, field, value) {
    var parts = key.split("#");
    var item = findItem(parts[0], Number(parts[1]));
    state.lines[key] = state.lines[key] || { received: item.qty, damaged: 0, note: "" };
    state.lines[key][field] = value;
    save();
  }

  function findItem(number, line) {
    for (var i = 0; i < view.waybills.length; i++) {
      if (view.waybills[i].number !== number) continue;
      for (var j = 0; j < view.waybills[i].items.length; j++) {
        if (view.waybills[i].items[j].line === line) return view.waybills[i].items[j];
      }
    }
    return null;
  }

  function reportedItems() {
    var out = [];
    view.waybills.forEach(function (w) {
      w.items.forEach(function (item) {
        var e = state.lines[lineKey(w.number, item.line)];
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

  $("[data-testid=items-confirm]").addEventListener("click", function () {
    state.outcome = "signed"; state.lines = {}; state.refuseReason = "";
    clearErrors("items"); renderItems(); go("signer");
  });
  $("#report-short").addEventListener("click", function () {
    state.outcome = "partial"; clearErrors("items"); renderItems(); save();
  });
  $("#refuse").addEventListener("click", function () {
    state.outcome = "refused"; state.lines = {}; clearErrors("items"); renderItems(); save();
    $("#refuse-reason").focus();
  });
  $("#items-back").addEventListener("click", function () {
    state.outcome = null; state.lines = {}; clearErrors("items"); renderItems(); save();
  });
  $("#refuse-reason").addEventListener("input", function (e) { state.refuseReason = e.target.value; save(); });

  function checkItems() {
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

  // --- 2. signer ----------------------------------------------------------------------

  var nameInput = $("#signer-name"), phoneInput = $("#signer-phone");
  nameInput.addEventListener("input", function () { state.signer.name = nameInput.value; renderStepTexts(); save(); });
  phoneInput.addEventListener("input", function () { state.signer.phone = phoneInput.value; save(); });
  $all("#signer-relation input").forEach(function (radio) {
    radio.addEventListener("change", function () { state.signer.relation = radio.value; save(); });
  });

  function otpRequired() { return view.policy.otp === "required"; }

  var otpTimer = null;
  $("#otp-send").addEventListener("click", function () {
    var button = $("#otp-send");
    button.disabled = true;
    DS.request("POST", api + "/otp").then(function (r) {
      if (r.status === 200) {
        $("#otp-hint").textContent = t("otp.sent", { phone: r.body.sent_to });
        countdown(r.body.resend_after || 60);
        $("#otp-code").focus();
        clearErrors("signer");
        return;
      }
      button.disabled = false;
      var s = stateForResponse(r);
      if (s) return showState(s);
      if (r.status === 429) {
        countdown(Number(r.headers.get("Retry-After")) || 60);
      }
      showErrors("signer", [{ code: "_", message: (r.body && r.body.detail) || t("submit.failed") }]);
    }, function () { button.disabled = false; message("signer", "submit.offline"); });
  });

  function countdown(seconds) {
    var button = $("#otp-send");
    clearInterval(otpTimer);
    button.disabled = true;
    var tick = function () {
      if (seconds <= 0) { clearInterval(otpTimer); button.disabled = false; button.textContent = t("otp.send"); return; }
      button.textContent = t("otp.resend", { s: seconds });
      seconds -= 1;
    };
    tick();
    otpTimer = setInterval(tick, 1000);
  }

  $("#otp-verify").addEventListener("click", function () {
    var code = $("#otp-code").value.trim();
    if (!/^\d{6}$/.test(code)) { message("signer", "otp.format"); return; }
    DS.request("POST", api + "/otp/verify", { json: { code: code } }).then(function (r) {
      if (r.status === 200) { view.otp_verified = true; renderOtp(); clearErrors("signer"); return; }
      var s = stateForResponse(r);
      if (s) return showState(s);
      message("signer", "otp.wrong");
    }, function () { message("signer", "submit.offline"); });
  });

  function renderOtp() {
    var panel = $("#otp-panel");
    panel.hidden = !otpRequired();
    if (!otpRequired()) return;
    var phone = view.waybills[0].consignee.phone_masked;
    if (!$("#otp-hint").textContent) $("#otp-hint").textContent = t("otp.hint", { phone: phone });
    $("#otp-ok").hidden = !view.otp_verified;
    $("#otp-send").hidden = $("#otp-verify").hidden = !!view.otp_verified;
    $("#otp-code").closest("label").hidden = !!view.otp_verified;
  }

  function checkSigner() {
    var errors = [];
    if (!state.signer.name.trim()) errors.push({ code: "signer_name_required" });
    if (!state.signer.relation) errors.push({ code: "relation_required" });
    else if (view.policy.signer === "consignee_only" && state.signer.relation !== "self") errors.push({ code: "consignee_only" });
    if (otpRequired() && !view.otp_verified) errors.push({ code: "otp_required" });
    return errors;
  }

  // --- 3. photos ----------------------------------------------------------------------

  var photoInput = $("#photo-input");
  photoInput.addEventListener("change", function () {
    var files = Array.prototype.slice.call(photoInput.files || []);
    photoInput.value = "";
    files.forEach(function (file) { addPhoto(file); });
  });

  function addPhoto(file) {
    clearErrors("photos");
    var target = replacing;
    replacing = null;
    if (target) removePhoto(target);
    if (state.photos.length >= view.policy.photos_max) { message("photos", "photos.max", { max: view.policy.photos_max }); return; }
    var photo = { id: uuid(), status: "uploading", pct: 0, photo_id: null, sha256: null, thumb: null };
    state.photos.push(photo);
    uploads[photo.id] = { file: file, objectUrl: URL.createObjectURL(file) };
    makeThumb(uploads[photo.id].objectUrl).then(function (dataUrl) { photo.thumb = dataUrl; save(); });
    renderPhotos();
    upload(photo, 0);
  }

  function makeThumb(url) {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () {
        var k = 192 / Math.max(img.naturalWidth, img.naturalHeight, 1);
        var c = document.createElement("canvas");
        c.width = Math.max(1, Math.round(img.naturalWidth * k));
        c.height = Math.max(1, Math.round(img.naturalHeight * k));
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        try { resolve(c.toDataURL("image/jpeg", 0.7)); } catch (e) { resolve(null); }
      };
      img.onerror = function () { resolve(null); };
      img.src = url;
    });
  }

  // One photo per request (as wx.uploadFile sends); network failures retry with backoff.
  function upload(photo, attempt) {
    var pending = uploads[photo.id];
    if (!pending) return;
    var form = new FormData();
    form.append("file", pending.file, pending.file.name || "photo.jpg");
    form.append("kind", "goods");
    var xhr = new XMLHttpRequest();
    pending.xhr = xhr;
    xhr.open("POST", api + "/photos");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.timeout = 120000;
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { photo.pct = Math.round((e.loaded / e.total) * 100); renderPhotoStatus(photo); }
    };
    var retry = function () {
      if (!uploads[photo.id]) return;
      if (attempt < 3) {
        photo.status = "uploading"; photo.pct = 0; renderPhotoStatus(photo);
        setTimeout(function () { upload(photo, attempt + 1); }, 1000 * Math.pow(2, attempt));
      } else {
        photo.status = "failed"; renderPhotos();
      }
    };
    xhr.onerror = xhr.ontimeout = retry;
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        photo.status = "done"; photo.photo_id = body.photo_id; photo.sha256 = body.sha256;
        save(); renderPhotos();
        return;
      }
      if (xhr.status >= 500 || xhr.status === 429) { retry(); return; }
      var s = stateForResponse({ status: xhr.status, body: body });
      if (s) { showState(s); return; }
      removePhoto(photo.id);
      var errors = (body && body.errors) || [{ code: "photo_invalid" }];
      showErrors("photos", errors);
    };
    xhr.send(form);
  }

  function removePhoto(id) {
    var pending = uploads[id];
    if (pending) {
      if (pending.xhr && pending.xhr.readyState !== 4) pending.xhr.abort();
      URL.revokeObjectURL(pending.objectUrl);
      delete uploads[id];
    }
    state.photos = state.photos.filter(function (p) { return p.id !== id; });
    save();
    renderPhotos();
  }

  function renderPhotos() {
    if (!view) return;
    var box = $("#thumbs");
    box.textContent = "";
    // Only uploaded photos survive a reload; the files of unfinished ones are gone.
    state.photos = state.photos.filter(function (p) { return p.status === "done" || uploads[p.id]; });
    state.photos.forEach(function (photo) {
      var src = uploads[photo.id] ? uploads[photo.id].objectUrl : photo.thumb;
      var figure = el("figure", { class: "thumb", dataset: { testid: "photo-thumb", status: photo.status, photoId: photo.photo_id || "" } },
        src ? el("img", { src: src, alt: "" }) : el("div", { class: "thumb-blank" }),
        el("progress", { max: 100, value: photo.pct || 0, hidden: photo.status !== "uploading" }),
        el("figcaption", { class: "thumb-status" }),
        el("div", { class: "thumb-tools" },
          photo.status === "failed" ? el("button", { type: "button", class: "btn small", text: t("photos.retry"),
            dataset: { testid: "photo-retry" }, on: { click: function () { photo.status = "uploading"; renderPhotos(); upload(photo, 0); } } }) : null,
          el("button", { type: "button", class: "btn small", text: t("photos.retake"), dataset: { testid: "photo-retake" },
            on: { click: function () { replacing = photo.id; photoInput.click(); } } }),
          el("button", { type: "button", class: "btn small", text: t("photos.remove"), dataset: { testid: "photo-remove" },
            on: { click: function () { removePhoto(photo.id); } } })));
      box.appendChild(figure);
      renderPhotoStatus(photo, figure);
    });
  }

  function renderPhotoStatus(photo, figure) {
    figure = figure || $all("[data-testid=photo-thumb]").filter(function (f) { return f._photo === photo.id; })[0];
    if (!figure) return;
    figure._photo = photo.id;
    figure.dataset.status = photo.status;
    var bar = figure.querySelector("progress");
    bar.value = photo.pct || 0;
    bar.hidden = photo.status !== "uploading";
    figure.querySelector(".thumb-status").textContent =
      photo.status === "done" ? t("photos.done") : photo.status === "failed" ? t("photos.failed") : t("photos.uploading", { pct: photo.pct || 0 });
  }

  function checkPhotos() {
    if (state.photos.some(function (p) { return p.status === "uploading"; })) return [{ code: "_", message: t("photos.wait") }];
    var done = state.photos.filter(function (p) { return p.status === "done"; }).length;
    if (done < view.policy.photos_min) return [{ code: "photos_missing", vars: { n: view.policy.photos_min - done } }];
    return [];
  }

  // --- 4. signature -------------------------------------------------------------------

  function setupPad() {
    pad = new SignaturePad($("#signature-pad"), { onChange: function () { clearErrors("signature"); save(); } });
    if (state.strokes && state.strokes.length) pad.fromData(state.strokes, state.canvas);
    $("#signature-clear").addEventListener("click", function () { pad.clear(); });
    $("#signature-undo").addEventListener("click", function () { pad.undo(); });
    $("#signature-fullscreen").addEventListener("click", enterFullscreen);
    $("#signature-done").addEventListener("click", exitFullscreen);
  }

  // A long name needs a wide pad: fill the screen and ask for landscape where the browser
  // lets us lock it; elsewhere the pad fills the screen and follows the phone's rotation.
  function enterFullscreen() {
    var frame = $("#pad-frame");
    frame.classList.add("fullscreen");
    document.body.classList.add("pad-open");
    $("#signature-done").hidden = false;
    $("#signature-fullscreen").hidden = true;
    var locked = Promise.resolve(false);
    if (frame.requestFullscreen) {
      locked = frame.requestFullscreen().then(function () {
        return screen.orientation && screen.orientation.lock ? screen.orientation.lock("landscape").then(function () { return true; }) : false;
      }).catch(function () { return false; });
    }
    locked.then(function (ok) { updateRotateHint(ok); pad.resize(); });
    pad.resize();
  }

  function updateRotateHint(locked) {
    $("#rotate-hint").hidden = locked || !$("#pad-frame").classList.contains("fullscreen") || window.innerWidth > window.innerHeight;
  }
  window.addEventListener("resize", function () { updateRotateHint(false); });

  function exitFullscreen() {
    $("#pad-frame").classList.remove("fullscreen");
    document.body.classList.remove("pad-open");
    $("#signature-done").hidden = true;
    $("#signature-fullscreen").hidden = false;
    $("#rotate-hint").hidden = true;
    if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(function () {});
    pad.resize();
    save();
  }

  function checkSignature() { return pad.isEmpty() ? [{ code: "signature_empty" }] : []; }

  // --- 5. location and submit -----------------------------------------------------------

  $("#location-allow").addEventListener("click", function () {
    clearErrors("location");
    if (!navigator.geolocation) { locationDenied(); return; }
    showLocationStatus(t("location.getting"));
    navigator.geolocation.getCurrentPosition(function (pos) {
      var c = pos.coords;
      state.location = { lat: c.latitude, lng: c.longitude, accuracy: c.accuracy, coord_system: "wgs84",
                         source: c.accuracy <= 100 ? "gps" : "network" };
      save();
      renderLocation();
    }, function (err) {
      if (err.code === 1) locationDenied();
      else { showLocationStatus(""); message("location", "location.failed"); }
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  $("#location-skip").addEventListener("click", function () {
    state.location = null; clearErrors("location"); save(); renderLocation();
  });

  function locationRequired() { return view.policy.location === "required"; }

  function locationDenied() {
    showLocationStatus("");
    message("location", locationRequired() ? "location.denied" : "location.denied.optional");
  }

  function showLocationStatus(text) {
    var status = $("#location-status");
    status.textContent = text;
    status.hidden = !text;
  }

  function renderLocation() {
    $("#location-skip").hidden = locationRequired();
    if (state.location) showLocationStatus(t("location.got", { m: Math.round(state.location.accuracy || 0) }));
    else if (state.location === null) showLocationStatus(t("location.skipped"));
    $("#submit").hidden = state.location === undefined;
  }

  function renderSummary() {
    if (!view || !state.outcome) return;
    var dl = $("#summary");
    dl.textContent = "";
    var done = state.photos.filter(function (p) { return p.status === "done"; }).length;
    [["summary.outcome", t("outcome." + state.outcome)],
     ["summary.signer", state.signer.name + (state.signer.relation ? " · " + t("relation." + state.signer.relation) : "")],
     ["summary.photos", String(done)]].forEach(function (row) {
      dl.appendChild(el("dt", { text: t(row[0]) }));
      dl.appendChild(el("dd", { text: row[1] }));
    });
    dl.hidden = false;
  }

  function renderStepTexts() {
    $("#photos-hint").textContent = t("photos.hint", { min: view.policy.photos_min, max: view.policy.photos_max });
    $("#signature-hint").textContent = t("signature.hint", { name: state.signer.name.trim() || "…" });
    renderLocation();
  }

  var CHECKS = { items: checkItems, signer: checkSigner, photos: checkPhotos, signature: checkSignature };

  $all("[data-next]").forEach(function (button) {
    button.addEventListener("click", function () {
      var step = button.dataset.next;
      var errors = CHECKS[step]();
      showErrors(step, errors);
      if (!errors.length) go(STEPS[STEPS.indexOf(step) + 1]);
    });
  });
  $all("[data-back]").forEach(function (button) {
    button.addEventListener("click", function () {
      if ($("#pad-frame").classList.contains("fullscreen")) exitFullscreen();
      go(STEPS[Math.max(STEPS.indexOf(state.step) - 1, 0)]);
    });
  });

  function submitBody() {
    save();
    return {
      submission_id: state.submissionId,
      outcome: state.outcome,
      signer: { name: state.signer.name.trim(), relation: state.signer.relation,
                phone: state.signer.phone.trim() ? state.signer.phone.trim() : undefined },
      signature: { strokes: pad.toData(), canvas: pad.canvasInfo() },
      location: state.location || null,
      photo_ids: state.photos.filter(function (p) { return p.status === "done"; }).map(function (p) { return p.photo_id; }),
      items: state.outcome === "partial" ? reportedItems() : [],
      refuse_reason: state.outcome === "refused" ? state.refuseReason.trim() : "",
      client: { platform: "h5", user_agent: navigator.userAgent.slice(0, 500), time: new Date().toISOString() },
    };
  }

  var submitting = false;
  $("#submit").addEventListener("click", function () {
    if (submitting) return;
    if (locationRequired() && !state.location) { showErrors("location", [{ code: "location_required" }]); return; }
    submitting = true;
    var button = $("#submit");
    button.disabled = true;
    button.textContent = t("submit.busy");
    clearErrors();
    sendSubmit(submitBody(), 0).then(function () {
      submitting = false;
      button.disabled = false;
      button.textContent = t("submit");
    });
  });

  // No answer is not a "no": the same submission_id goes again, and the server answers a
  // replay with the stored receipt.
  function sendSubmit(body, attempt) {
    var again = function () {
      if (attempt >= 4) { message("submit", "submit.offline"); return Promise.resolve(); }
      message("submit", "submit.retrying");
      return DS.sleep(1000 * Math.pow(2, attempt)).then(function () { return sendSubmit(body, attempt + 1); });
    };
    return DS.request("POST", api + "/submit", { json: body, timeout: 30000 }).then(function (r) {
      if (r.status === 201 || r.status === 200) { finish(r.body); return; }
      if (r.status >= 500 || r.status === 429) return again();
      var s = stateForResponse(r);
      if (s) { showState(s); return; }
      clearErrors("submit");
      var errors = (r.body && r.body.errors) || [{ code: "_", message: (r.body && r.body.detail) || t("submit.failed") }];
      var byStep = {};
      errors.forEach(function (e) {
        var step = ERROR_STEP[e.code] || (/^signature/.test(e.code) || /^signature/.test(e.field || "") ? "signature" : "location");
        if (e.code === "photos_missing") e.vars = { n: Math.max(view.policy.photos_min - body.photo_ids.length, 1) };
        (byStep[step] = byStep[step] || []).push(e);
      });
      Object.keys(byStep).forEach(function (step) { showErrors(step, byStep[step]); });
      var first = STEPS.filter(function (s) { return byStep[s]; })[0];
      if (first && first !== "location") {
        go(first);
        // A rejected signature is redrawn from scratch; keep the old ink until they clear.
      }
    }, again);
  }

  function finish(result) {
    sessionStorage.removeItem(storeKey);
    var title = result.status === "partially_signed" ? "done.title.partial" : result.status === "refused" ? "done.title.refused" : "done.title";
    $("#done-title").dataset.i18n = title;
    $("#done-title").textContent = t(title);
    var done = $("#done");
    done.textContent = result.receipt_id;
    done.dataset.receiptId = result.receipt_id;
    state.step = "done";
    $all(".step").forEach(function (s) { s.hidden = s.dataset.step !== "done"; });
    showProgress();
  }

  // --- start ----------------------------------------------------------------------------

  function restoreForm() {
    nameInput.value = state.signer.name;
    phoneInput.value = state.signer.phone || "";
    $all("#signer-relation input").forEach(function (r) { r.checked = r.value === state.signer.relation; });
    $("#refuse-reason").value = state.refuseReason || "";
  }

  function start(attempt) {
    DS.request("GET", api).then(function (r) {
      if (r.status !== 200) {
        var s = stateForResponse(r);
        if (s) { showState(s); return; }
        if (attempt < 3) { setTimeout(function () { start(attempt + 1); }, 1500); return; }
        showState("offline");
        return;
      }
      view = r.body;
      $("#loading").hidden = true;
      $("#state-screen").hidden = true;
      setupPad();
      restoreForm();
      renderOtp();
      applyLanguage();
      go(state.step === "done" ? "items" : state.step);
    }, function () {
      if (attempt < 3) setTimeout(function () { start(attempt + 1); }, 1500);
      else showState("offline");
    });
  }

  i18n.apply(app);
  start(0);
})();
