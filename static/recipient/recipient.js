/* The recipient's sign page (/s/<token>), issue 12: one confirm screen (the goods, "有问题?"
 * for short/damaged/refused, who is signing, photos and OTP only when the policy asks) and
 * one sign screen (the pad, 确认签收). Issue 19: the privacy notice folds under the
 * confirm screen; location is asked only once its consent line is ticked (the phone's own
 * prompt follows), and the handwriting consent beside the pad is needed to submit. The pad
 * runs the server's cheap stroke checks before anything is sent.
 * Everything entered is kept in sessionStorage under the token until the server accepts
 * the sign-off, so a reload or a dropped connection loses nothing. */
(function () {
  "use strict";
  var $ = DS.$, $all = DS.$all, el = DS.el;

  var STRINGS = {
    zh: {
      "app.title": "送货签收", "lang.other": "English", loading: "正在加载…", optional: "（选填）",
      "step.confirm": "第 1/2 步 确认", "step.sign": "第 2/2 步 签名",
      "state.unknown.title": "链接无效", "state.unknown.body": "找不到这次签收，请让快递员重新出示二维码。",
      "state.used.title": "已签收", "state.used.body": "这次送货已经签收过了，无需再次签收。",
      "state.expired.title": "二维码已过期", "state.expired.body": "请让快递员重新生成签收二维码，再扫一次即可。",
      "state.locked.title": "签收已锁定", "state.locked.body": "验证码错误次数过多，请让快递员重新生成签收二维码。",
      "state.offline.title": "网络不可用", "state.offline.body": "请检查网络后刷新页面，已填写的内容不会丢失。",
      "confirm.title": "确认收货", "confirm.next": "下一步：签名",
      "items.waybill": "运单 {number}", "items.to": "收货人 {name} · {phone}", "items.qty": "{qty} {unit}",
      "items.received": "实收", "items.damaged": "损坏", "items.note": "备注", "items.meta": "{tenant} · {doc}",
      "items.report": "少件或损坏", "items.refuse": "拒收",
      "problem.open": "有问题？少件、损坏或拒收", "problem.title": "问题类型", "problem.cancel": "没问题了，全部收到",
      "problem.partial.hint": "请填写每件货物的实收和损坏数量，可以拍下损坏处。", "problem.refused.hint": "拒收全部货物，请写明原因。",
      "items.report.none": "还没有填写少件或损坏。如全部收到，请点“没问题了，全部收到”。",
      "refuse.reason": "拒收原因", "refuse.placeholder": "例如：外包装破损、货物不符",
      "courier.photos": "快递员已拍摄 {n} 张货物照片", "courier.photos.none": "快递员还没有拍货物照片，签收前请他先拍照",
      "signer.who": "谁在签收？", "signer.name": "签收人姓名", "signer.name.placeholder": "请输入签收人姓名",
      "signer.phone": "手机号",
      "otp.hint": "需验证收货人手机，验证码将发送至 {phone}", "otp.send": "发送验证码", "otp.resend": "{s} 秒后可重发",
      "otp.code": "验证码", "otp.verify": "验证", "otp.ok": "验证通过", "otp.sent": "验证码已发送至 {phone}",
      "otp.wrong": "验证码错误或已过期，请重新输入", "otp.format": "请输入 6 位数字验证码",
      "photos.title": "拍照留证", "photos.hint": "请拍摄货物照片，至少 {min} 张。", "photos.hint.optional": "可以拍下损坏或问题处（选填）。",
      "photos.take": "拍照", "photos.preparing": "正在处理…", "photos.uploading": "上传中 {pct}%", "photos.done": "已上传",
      "photos.failed": "上传失败", "photos.retry": "重试", "photos.remove": "删除", "photos.retake": "重拍",
      "photos.wait": "请等待照片上传完成", "photos.max": "最多 {max} 张照片", "photos.blocked": "有照片需要重拍，请点照片上的“重拍”",
      "photo.dark": "照片太暗，请重拍", "photo.blurry": "照片模糊，请重拍", "photo.duplicate": "这张照片和以前的签收重复，请重拍",
      "signature.title": "手写签名", "signature.hint": "请在框内写下：{name}", "signature.hint.self": "请在框内写下您的全名",
      "signature.undo": "撤销", "signature.clear": "清除", "signature.full": "横屏签", "signature.done": "完成",
      "signature.rotate": "请横过手机书写", "signature.aria": "签名板，请用手指书写",
      "location.asking": "正在获取位置…", "location.got": "已记录签收位置（精度约 {m} 米）",
      "location.none": "未提供位置", "location.need.title": "本次签收需要您的位置",
      "location.need.body": "位置权限被拒绝了。请按下面的方法打开，然后点“再试一次”。",
      "location.how.wechat.title": "微信", "location.how.wechat": "点右上角“…”，允许使用位置；或在手机“设置 → 微信 → 位置”中选“使用期间”。",
      "location.how.ios.title": "iPhone Safari", "location.how.ios": "打开“设置 → 隐私与安全性 → 定位服务”，打开定位，并把“Safari 网站”设为“使用 App 期间”。",
      "location.how.android.title": "安卓 Chrome", "location.how.android": "点地址栏左侧的图标 →“权限”→“位置信息”→“允许”，再打开手机的定位。",
      "location.retry": "再试一次", "location.assisted": "仍然不行？请快递员在他的手机上为您代签（会向收货人手机发送验证码）。",
      "summary.outcome": "结果", "summary.signer": "签收人", "summary.consignee": "收货人本人",
      submit: "确认签收", "submit.busy": "正在提交…", "submit.retrying": "网络不稳定，正在重试…", "back.edit": "返回修改",
      "submit.offline": "网络不可用，已保存填写内容，请稍后再点“确认签收”。", "submit.failed": "提交失败，请稍后重试。",
      "done.title": "签收完成", "done.title.partial": "部分签收完成", "done.title.refused": "已记录拒收",
      "done.receipt": "签收凭证号（可告诉快递员或客服）", "done.verify": "查看签收凭证", "done.close": "您可以关闭此页面。",
      "error.generic": "请检查填写内容",
      "err.signature_empty": "请先在框内签名", "err.signature_too_few_points": "签名太短，请写下完整姓名",
      "err.signature_dot": "只点了一个点，请写下完整姓名", "err.signature_line": "只画了一条线，请写下完整姓名",
      "err.signature_too_small": "签名太小，请写大一些，写满框的一半", "err.signature_timing_invalid": "签名数据异常，请清除后重新签名",
      "err.signature_out_of_canvas": "签名超出了签名框，请清除后重新签名", "err.signature_too_simple": "签名过于简单，请写下完整姓名",
      "err.signature_too_many_points": "签名过长，请清除后重新签名", "err.signature_invalid": "签名数据无效，请清除后重新签名",
      "err.photos_missing": "还需要拍 {n} 张照片", "err.photos_missing.courier": "快递员还没有为货物拍照。请让快递员先在他的手机上拍照，然后再点“确认签收”。",
      "err.photo_invalid": "照片无法识别，请重新拍摄", "err.photo_flagged": "有照片不清楚，请重拍后再签收",
      "err.photos_invalid": "照片数量超出上限", "err.too_many_photos": "上传次数过多，无法继续上传",
      "err.otp_required": "请先完成手机验证码验证", "err.location_required": "本次签收需要您的位置，请按上方说明打开位置权限",
      "err.signer_name_required": "请填写签收人姓名", "err.relation_required": "请选择谁在签收",
      "err.consignee_only": "本次送货须由收货人本人签收", "err.items_invalid": "货物数量填写有误，请检查",
      "err.refuse_reason_required": "请填写拒收原因", "err.partial_not_allowed": "本次送货不允许部分签收",
      "err.refuse_not_allowed": "本次送货不允许拒收",
      "privacy.title": "个人信息告知", "privacy.handler": "处理者：{name}",
      "consent.location": "同意记录签收位置，用于证明送达地点（可不同意）",
      "consent.location.required": "同意记录签收位置，用于证明送达地点（本次签收需要）",
      "consent.handwriting": "同意采集我的手写签名及书写时间（敏感个人信息），仅用于证明本次签收",
      "err.handwriting_consent_required": "请先勾选上方的同意。不同意采集手写签名也可以：请告诉快递员，由他记录您不使用电子签名。",
      "err.location_consent": "本次签收需要您的位置，请勾选“同意记录签收位置”",
      "err.notice_version_unknown": "个人信息告知已更新，请刷新页面后再签收",
    },
    en: {
      "app.title": "Delivery sign-off", "lang.other": "中文", loading: "Loading…", optional: "(optional)",
      "step.confirm": "Step 1 of 2: check", "step.sign": "Step 2 of 2: sign",
      "state.unknown.title": "Invalid link", "state.unknown.body": "This sign-off does not exist. Ask the courier to show the QR code again.",
      "state.used.title": "Already signed", "state.used.body": "This delivery has already been signed for. Nothing more to do.",
      "state.expired.title": "QR code expired", "state.expired.body": "Ask the courier for a new QR code and scan it again.",
      "state.locked.title": "Sign-off locked", "state.locked.body": "Too many wrong codes. Ask the courier for a new QR code.",
      "state.offline.title": "No connection", "state.offline.body": "Check your network and reload; nothing you entered is lost.",
      "confirm.title": "Check the delivery", "confirm.next": "Next: sign",
      "items.waybill": "Waybill {number}", "items.to": "Consignee {name} · {phone}", "items.qty": "{qty} {unit}",
      "items.received": "Received", "items.damaged": "Damaged", "items.note": "Note", "items.meta": "{tenant} · {doc}",
      "items.report": "Short or damaged", "items.refuse": "Refuse",
      "problem.open": "A problem? Short, damaged or refused", "problem.title": "Kind of problem", "problem.cancel": "No problem, all received",
      "problem.partial.hint": "Enter how many of each item arrived and how many are damaged; you can photograph the damage.",
      "problem.refused.hint": "You refuse all the goods; say why.",
      "items.report.none": "Nothing is short or damaged yet. If all arrived, tap “No problem, all received”.",
      "refuse.reason": "Reason for refusal", "refuse.placeholder": "e.g. box broken, wrong goods",
      "courier.photos": "The courier took {n} photo(s) of the goods", "courier.photos.none": "The courier has not photographed the goods yet; ask him to before you sign",
      "signer.who": "Who is signing?", "signer.name": "Name of the person signing", "signer.name.placeholder": "Full name",
      "signer.phone": "Phone",
      "otp.hint": "The consignee's phone must be verified; a code goes to {phone}", "otp.send": "Send code",
      "otp.resend": "Resend in {s} s", "otp.code": "Code", "otp.verify": "Verify", "otp.ok": "Verified",
      "otp.sent": "Code sent to {phone}", "otp.wrong": "Wrong or expired code; try again", "otp.format": "Enter the 6-digit code",
      "photos.title": "Photos", "photos.hint": "Take at least {min} photo(s) of the goods.", "photos.hint.optional": "You can photograph the damage or problem (optional).",
      "photos.take": "Take photo", "photos.preparing": "Preparing…", "photos.uploading": "Uploading {pct}%", "photos.done": "Uploaded",
      "photos.failed": "Upload failed", "photos.retry": "Retry", "photos.remove": "Remove", "photos.retake": "Retake",
      "photos.wait": "Wait for the photos to finish uploading", "photos.max": "At most {max} photos", "photos.blocked": "A photo needs retaking; tap “Retake” on it",
      "photo.dark": "Too dark; please retake", "photo.blurry": "Blurry; please retake", "photo.duplicate": "Same as an earlier delivery's photo; please retake",
      "signature.title": "Signature", "signature.hint": "Write in the box: {name}", "signature.hint.self": "Write your full name in the box",
      "signature.undo": "Undo", "signature.clear": "Clear", "signature.full": "Landscape", "signature.done": "Done",
      "signature.rotate": "Turn your phone sideways", "signature.aria": "Signature pad, write with your finger",
      "location.asking": "Getting your location…", "location.got": "Location recorded (about {m} m)",
      "location.none": "No location shared", "location.need.title": "This delivery needs your location",
      "location.need.body": "Location permission was refused. Allow it as below, then tap “Try again”.",
      "location.how.wechat.title": "WeChat", "location.how.wechat": "Tap “…” at the top right and allow location, or in the phone's Settings → WeChat → Location choose “While using”.",
      "location.how.ios.title": "iPhone Safari", "location.how.ios": "Open Settings → Privacy & Security → Location Services, turn it on, and set “Safari Websites” to “While Using the App”.",
      "location.how.android.title": "Android Chrome", "location.how.android": "Tap the icon left of the address → Permissions → Location → Allow, and turn on the phone's location.",
      "location.retry": "Try again", "location.assisted": "Still not working? Ask the courier to sign you in on his phone (a code goes to the consignee's phone).",
      "summary.outcome": "Result", "summary.signer": "Signed by", "summary.consignee": "the consignee",
      submit: "Confirm sign-off", "submit.busy": "Submitting…", "submit.retrying": "Weak network, retrying…", "back.edit": "Back to edit",
      "submit.offline": "No connection. What you entered is saved; tap “Confirm sign-off” again later.",
      "submit.failed": "The sign-off failed; try again shortly.",
      "done.title": "Signed", "done.title.partial": "Partly signed", "done.title.refused": "Refusal recorded",
      "done.receipt": "Receipt code (tell it to the courier or customer service)", "done.verify": "View the receipt", "done.close": "You can close this page.",
      "error.generic": "Please check what you entered",
      "err.signature_empty": "Please sign in the box first", "err.signature_too_few_points": "The signature is too short; write the full name",
      "err.signature_dot": "That is only a dot; write the full name", "err.signature_line": "That is only a line; write the full name",
      "err.signature_too_small": "The signature is too small; write larger, across half the box",
      "err.signature_timing_invalid": "The signature data is not valid; clear and sign again",
      "err.signature_out_of_canvas": "The signature left the box; clear and sign again",
      "err.signature_too_simple": "The signature is too simple; write the full name",
      "err.signature_too_many_points": "The signature is too long; clear and sign again",
      "err.signature_invalid": "The signature data is not valid; clear and sign again",
      "err.photos_missing": "Take {n} more photo(s)", "err.photos_missing.courier": "The courier has not photographed the goods yet. Ask the courier to take the photos on his phone, then tap “Confirm sign-off” again.",
      "err.photo_invalid": "That photo cannot be read; take it again", "err.photo_flagged": "A photo is not clear; retake it, then sign",
      "err.photos_invalid": "Too many photos", "err.too_many_photos": "Too many uploads for this delivery",
      "err.otp_required": "Verify the phone code first", "err.location_required": "This delivery needs your location; allow it as explained above",
      "err.signer_name_required": "Enter the name of the person signing", "err.relation_required": "Choose who is signing",
      "err.consignee_only": "Only the consignee may sign for this delivery", "err.items_invalid": "The quantities are not right; check them",
      "err.refuse_reason_required": "Say why the goods are refused", "err.partial_not_allowed": "Partial receipt is not allowed for this delivery",
      "err.refuse_not_allowed": "Refusal is not allowed for this delivery",
      "privacy.title": "Privacy notice", "privacy.handler": "Handler: {name}",
      "consent.location": "I agree that my location is recorded to prove where the goods were delivered (optional)",
      "consent.location.required": "I agree that my location is recorded to prove where the goods were delivered (needed here)",
      "consent.handwriting": "I agree that my handwritten signature and its timing (sensitive personal information) are collected, only to prove this delivery",
      "err.handwriting_consent_required": "Tick the consent above first. If you do not agree, tell the courier: he records that you declined to sign electronically.",
      "err.location_consent": "This delivery needs your location; tick “I agree that my location is recorded”",
      "err.notice_version_unknown": "The privacy notice has changed; reload the page, then sign",
    },
  };

  // Which box on which screen a server error is shown in.
  var ERROR_BOX = {
    items_invalid: "items", refuse_reason_required: "items", partial_not_allowed: "items", refuse_not_allowed: "items",
    signer_name_required: "signer", relation_required: "signer", consignee_only: "signer", otp_required: "signer",
    photos_missing: "photos", photo_invalid: "photos", photos_invalid: "photos", too_many_photos: "photos", photo_flagged: "photos",
    location_required: "submit", location_consent: "submit", notice_version_unknown: "submit",
    handwriting_consent_required: "signature",
  };
  var BOX_STEP = { items: "confirm", signer: "confirm", photos: "confirm", signature: "sign", submit: "sign" };

  var i18n = new DS.I18n(STRINGS);
  var t = i18n.t.bind(i18n);
  var app = $("#app");
  var token = app.dataset.token;
  var api = "/api/v1/sign/" + encodeURIComponent(token);
  var storeKey = "ds:sign:" + token;
  var view = null;          // GET /sign/<token>
  var pad = null;
  var uploads = {};         // client id → {xhr, blob, objectUrl} while uploading
  var replacing = null;     // client id of the photo being retaken
  var locationState = "unasked";   // unasked | asking | ok | denied | failed | none
  var state = load() || fresh();

  function fresh() {
    return {
      submissionId: uuid(), step: "confirm", outcome: "signed", lines: {}, refuseReason: "", problemOpen: false,
      signer: { name: "", relation: null, phone: "" }, photos: [], strokes: [], canvas: null, location: undefined,
      consents: { handwriting: false, location: false },
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
    try {
      var saved = JSON.parse(sessionStorage.getItem(storeKey));
      if (saved && saved.step && !saved.consents) saved.consents = { handwriting: false, location: false };
      return saved && saved.step ? saved : null;
    } catch (e) { return null; }
  }

  function save() {
    if (pad) { state.strokes = pad.toData(); state.canvas = pad.isEmpty() ? null : pad.canvasInfo(); }
    try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* quota: keep going */ }
  }

  // --- language -----------------------------------------------------------------------

  function applyLanguage() {
    i18n.apply(app);
    if (view) { renderItems(); renderProblem(); renderSigner(); renderPhotos(); renderSignScreen(); renderLocation(); renderPrivacy(); }
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
    $("#location-help").hidden = true;
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

  // --- screens ------------------------------------------------------------------------

  function go(step) {
    if ($("#pad-frame").classList.contains("fullscreen")) exitFullscreen();
    state.step = step;
    $all(".step").forEach(function (s) { s.hidden = s.dataset.step !== step; });
    if (step === "sign") { renderSignScreen(); pad.resize(); }
    showProgress();
    save();
    window.scrollTo(0, 0);
  }

  function showProgress() {
    $("#progress").textContent = view && state.step !== "done" ? t("step." + state.step) : "";
  }

  // --- errors: one message per box, gone when fixed -------------------------------------

  var shownErrors = {};   // box → {code, message, vars}

  function errorText(e) {
    var key = "err." + e.code + (e.variant ? "." + e.variant : "");
    var text = t(key, e.vars);
    return text === key ? (e.message || t("error.generic")) : text;
  }

  function showError(box, error) {
    if (error) shownErrors[box] = error; else delete shownErrors[box];
    var node = $(".error[data-for=" + box + "]");
    if (!node) return;
    node.textContent = error ? errorText(error) : "";
    node.hidden = !error;
    node.dataset.codes = error ? error.code : "";
  }

  function clearErrors() { Object.keys(shownErrors).forEach(function (box) { showError(box, null); }); }

  function rerenderErrors() { Object.keys(shownErrors).forEach(function (box) { showError(box, shownErrors[box]); }); }

  function note(box, key, vars) { showError(box, { code: "_", message: t(key, vars) }); }

  // --- the goods ----------------------------------------------------------------------

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
    var missing = courierPhotosMissing();
    courier.hidden = !view.courier_photos && !missing;
    courier.classList.toggle("warn", missing);
    courier.textContent = missing ? t("courier.photos.none") : view.courier_photos ? t("courier.photos", { n: view.courier_photos }) : "";
  }

  function qtyField(labelKey, testid, value, max, onChange) {
    var input = el("input", { type: "number", inputMode: "decimal", min: 0, max: max, step: "any", value: value,
                              dataset: { testid: testid } });
    input.addEventListener("input", function () {
      onChange(input.value === "" ? null : Number(input.value));
      if (shownErrors.items) showError("items", checkItems()[0]);
    });
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

  // --- "有问题?" -----------------------------------------------------------------------

  function renderProblem() {
    var open = state.problemOpen;
    $("#problem").hidden = open || (!view.policy.allow_partial && !view.policy.allow_refuse);
    $("#problem").setAttribute("aria-expanded", open ? "true" : "false");
    $("#problem-panel").hidden = !open;
    $("#report-short").hidden = !view.policy.allow_partial;
    $("#refuse").hidden = !view.policy.allow_refuse;
    $("#report-short").setAttribute("aria-pressed", state.outcome === "partial" ? "true" : "false");
    $("#refuse").setAttribute("aria-pressed", state.outcome === "refused" ? "true" : "false");
    $("#refuse-panel").hidden = state.outcome !== "refused";
    var hint = state.outcome === "partial" ? t("problem.partial.hint") : state.outcome === "refused" ? t("problem.refused.hint") : "";
    $("#problem-hint").textContent = hint;
    $("#problem-hint").hidden = !hint;
  }

  function setOutcome(outcome) {
    state.outcome = outcome;
    if (outcome !== "partial") state.lines = {};
    showError("items", null);
    renderItems(); renderProblem(); renderPhotos(); save();
  }

  $("#problem").addEventListener("click", function () {
    state.problemOpen = true;
    setOutcome(view.policy.allow_partial ? "partial" : "refused");
  });
  $("#report-short").addEventListener("click", function () { setOutcome("partial"); });
  $("#refuse").addEventListener("click", function () { setOutcome("refused"); $("#refuse-reason").focus(); });
  $("#problem-cancel").addEventListener("click", function () { state.problemOpen = false; setOutcome("signed"); });
  $("#refuse-reason").addEventListener("input", function (e) {
    state.refuseReason = e.target.value; save();
    if (shownErrors.items) showError("items", checkItems()[0]);
  });

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

  // --- who is signing -----------------------------------------------------------------

  var nameInput = $("#signer-name"), phoneInput = $("#signer-phone");
  nameInput.addEventListener("input", function () {
    state.signer.name = nameInput.value; save();
    if (shownErrors.signer) showError("signer", checkSigner()[0]);
  });
  phoneInput.addEventListener("input", function () { state.signer.phone = phoneInput.value; save(); });
  $all("#signer-relation input").forEach(function (radio) {
    radio.addEventListener("change", function () {
      state.signer.relation = radio.value; save(); renderSigner();
      if (shownErrors.signer) showError("signer", checkSigner()[0]);
    });
  });

  function nameNeeded() {
    return !!state.signer.relation && (state.signer.relation !== "self" || view.name_needed_for_self);
  }

  function renderSigner() {
    $("#name-field").hidden = !nameNeeded();
    $("#phone-field").hidden = !state.signer.relation || state.signer.relation === "self";
    renderOtp();
  }

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
        showError("signer", null);
        return;
      }
      button.disabled = false;
      var s = stateForResponse(r);
      if (s) return showState(s);
      if (r.status === 429) countdown(Number(r.headers.get("Retry-After")) || 60);
      showError("signer", { code: "_", message: (r.body && r.body.detail) || t("submit.failed") });
    }, function () { button.disabled = false; note("signer", "submit.offline"); });
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
    if (!/^\d{6}$/.test(code)) { note("signer", "otp.format"); return; }
    DS.request("POST", api + "/otp/verify", { json: { code: code } }).then(function (r) {
      if (r.status === 200) { view.otp_verified = true; renderOtp(); showError("signer", checkSigner()[0]); return; }
      var s = stateForResponse(r);
      if (s) return showState(s);
      note("signer", "otp.wrong");
    }, function () { note("signer", "submit.offline"); });
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
    if (!state.signer.relation) errors.push({ code: "relation_required" });
    else if (view.policy.signer === "consignee_only" && state.signer.relation !== "self") errors.push({ code: "consignee_only" });
    if (nameNeeded() && !state.signer.name.trim()) errors.push({ code: "signer_name_required" });
    if (otpRequired() && !view.otp_verified) errors.push({ code: "otp_required" });
    return errors;
  }

  // --- photos (only when the policy asks the recipient, or to show a problem) ---------------

  function photosNeeded() {
    var by = view.policy.photos_by || "recipient", least = view.policy.photos_min;
    if (by === "courier") return 0;
    if (by === "either") return Math.max(0, least - (view.courier_photos || 0));
    return least;
  }

  var photoInput = $("#photo-input");
  photoInput.addEventListener("change", function () {
    var files = Array.prototype.slice.call(photoInput.files || []);
    photoInput.value = "";
    files.forEach(function (file) { addPhoto(file); });
  });

  function addPhoto(file) {
    showError("photos", null);
    var target = replacing;
    replacing = null;
    if (target) removePhoto(target);
    if (state.photos.length >= view.policy.photos_max) { note("photos", "photos.max", { max: view.policy.photos_max }); return; }
    var photo = { id: uuid(), status: "preparing", pct: 0, photo_id: null, sha256: null, thumb: null, retake: null };
    state.photos.push(photo);
    uploads[photo.id] = { file: file };
    renderPhotos();
    DS.photo.prepare(file, view.policy.photo_upload || "original").then(function (prepared) {
      var pending = uploads[photo.id];
      if (!pending) return;
      pending.blob = prepared.blob;
      pending.clientExif = prepared.clientExif;
      pending.objectUrl = URL.createObjectURL(prepared.blob);
      makeThumb(pending.objectUrl).then(function (dataUrl) { photo.thumb = dataUrl; save(); });
      photo.status = "uploading";
      renderPhotos();
      upload(photo, 0);
    });
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
    form.append("file", pending.blob, "photo.jpg");
    form.append("kind", "goods");
    form.append("client_exif", JSON.stringify(pending.clientExif || {}));
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
        photo.photo_id = body.photo_id; photo.sha256 = body.sha256;
        photo.retake = DS.photo.retakeReason(body);
        photo.blocks = !!body.blocks_submit;
        photo.status = photo.retake ? "flagged" : "done";
        save(); renderPhotos();
        if (shownErrors.photos) showError("photos", checkPhotos()[0]);
        return;
      }
      if (xhr.status >= 500 || xhr.status === 429) { retry(); return; }
      var s = stateForResponse({ status: xhr.status, body: body });
      if (s) { showState(s); return; }
      removePhoto(photo.id);
      showError("photos", ((body && body.errors) || [{ code: "photo_invalid" }])[0]);
    };
    xhr.send(form);
  }

  function removePhoto(id) {
    var pending = uploads[id];
    if (pending) {
      if (pending.xhr && pending.xhr.readyState !== 4) pending.xhr.abort();
      if (pending.objectUrl) URL.revokeObjectURL(pending.objectUrl);
      delete uploads[id];
    }
    state.photos = state.photos.filter(function (p) { return p.id !== id; });
    save();
    renderPhotos();
  }

  function renderPhotos() {
    if (!view) return;
    var need = photosNeeded();
    var optional = need === 0 && state.outcome !== "signed";
    $("#photos-panel").hidden = need === 0 && !optional && !state.photos.length;
    $("#photos-hint").textContent = need ? t("photos.hint", { min: need }) : t("photos.hint.optional");
    var box = $("#thumbs");
    box.textContent = "";
    // Only uploaded photos survive a reload; the files of unfinished ones are gone.
    state.photos = state.photos.filter(function (p) { return p.status === "done" || p.status === "flagged" || uploads[p.id]; });
    state.photos.forEach(function (photo) {
      var pending = uploads[photo.id];
      var src = pending && pending.objectUrl ? pending.objectUrl : photo.thumb;
      var figure = el("figure", { class: "thumb", dataset: { testid: "photo-thumb", status: photo.status, photoId: photo.photo_id || "" } },
        src ? el("img", { src: src, alt: t("photos.title") }) : el("div", { class: "thumb-blank" }),
        el("progress", { max: 100, value: photo.pct || 0, hidden: photo.status !== "uploading", "aria-label": t("photos.uploading", { pct: photo.pct || 0 }) }),
        el("figcaption", { class: "thumb-status", dataset: { testid: "photo-status" } }),
        el("div", { class: "thumb-tools" },
          photo.status === "failed" ? el("button", { type: "button", class: "btn small", text: t("photos.retry"),
            dataset: { testid: "photo-retry" }, on: { click: function () { photo.status = "uploading"; renderPhotos(); upload(photo, 0); } } }) : null,
          el("button", { type: "button", class: "btn small" + (photo.status === "flagged" ? " primary" : ""), text: t("photos.retake"),
            dataset: { testid: "photo-retake" }, on: { click: function () { replacing = photo.id; photoInput.click(); } } }),
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
    var text = { done: t("photos.done"), failed: t("photos.failed"), preparing: t("photos.preparing"),
                 flagged: photo.retake ? t(photo.retake) : "" }[photo.status];
    figure.querySelector(".thumb-status").textContent = text === undefined ? t("photos.uploading", { pct: photo.pct || 0 }) : text;
  }

  function checkPhotos() {
    if (state.photos.some(function (p) { return p.status === "uploading" || p.status === "preparing"; })) {
      return [{ code: "_", message: t("photos.wait") }];
    }
    if (state.photos.some(function (p) { return p.status === "flagged" && p.blocks; })) return [{ code: "_", message: t("photos.blocked") }];
    var done = state.photos.filter(function (p) { return p.status === "done" || p.status === "flagged"; }).length;
    var need = photosNeeded();
    if (done < need) return [{ code: "photos_missing", vars: { n: need - done } }];
    return [];
  }

  function courierPhotosMissing() {
    return view.policy.photos_by === "courier" && (view.courier_photos || 0) < view.policy.photos_min;
  }

  // --- location: once, in the background, at page open ------------------------------

  function askLocation() {
    if (!navigator.geolocation) { locationState = "none"; state.location = null; renderLocation(); return; }
    locationState = "asking";
    renderLocation();
    navigator.geolocation.getCurrentPosition(function (pos) {
      var c = pos.coords;
      state.location = { lat: c.latitude, lng: c.longitude, accuracy: Math.min(c.accuracy, 1000000), coord_system: "wgs84",
                         source: c.accuracy <= 100 ? "gps" : "network" };
      locationState = "ok";
      save();
      renderLocation();
      if (shownErrors.submit && shownErrors.submit.code === "location_required") showError("submit", null);
    }, function (err) {
      locationState = err.code === 1 ? "denied" : "failed";
      if (!state.location) state.location = null;
      renderLocation();
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function locationRequired() { return view.policy.location === "required"; }

  function renderLocation() {
    if (!view) return;
    var status = $("#location-status");
    if (state.location && state.consents.location) status.textContent = t("location.got", { m: Math.round(state.location.accuracy || 0) });
    else status.textContent = locationState === "asking" ? t("location.asking") : t("location.none");
    // The how-to is for a phone that said no after the consent was ticked, not before.
    $("#location-help").hidden = !(locationRequired() && state.consents.location && !state.location &&
                                   locationState !== "asking" && locationState !== "unasked" && state.step !== "done");
  }

  // --- privacy: the notice and the two consents (issue 19) -------------------------------

  function renderPrivacy() {
    if (!view || !view.privacy) return;
    $("#privacy-text").textContent = view.privacy.text;
    $("#privacy-handler").textContent = t("privacy.handler", { name: view.privacy.handler });
    var key = locationRequired() ? "consent.location.required" : "consent.location";
    $("#consent-location-text").dataset.i18n = key;
    $("#consent-location-text").textContent = t(key);
    $("#consent-location").checked = !!state.consents.location;
    $("#consent-handwriting").checked = !!state.consents.handwriting;
  }

  $("#consent-location").addEventListener("change", function (e) {
    state.consents.location = e.target.checked;
    if (e.target.checked) askLocation();
    else { state.location = null; locationState = "unasked"; }
    if (shownErrors.submit && shownErrors.submit.code === "location_consent") showError("submit", null);
    save();
    renderLocation();
  });

  $("#consent-handwriting").addEventListener("change", function (e) {
    state.consents.handwriting = e.target.checked;
    if (e.target.checked && shownErrors.signature && shownErrors.signature.code === "handwriting_consent_required") {
      showError("signature", null);
    }
    save();
  });

  $("#location-retry").addEventListener("click", askLocation);

  // --- sign ---------------------------------------------------------------------------

  function setupPad() {
    pad = new SignaturePad($("#signature-pad"), { onChange: function () {
      save();
      if (shownErrors.signature) showError("signature", padError());   // gone as soon as it is fixed
    } });
    if (state.strokes && state.strokes.length) pad.fromData(state.strokes, state.canvas);
    $("#signature-clear").addEventListener("click", function () { pad.clear(); });
    $("#signature-undo").addEventListener("click", function () { pad.undo(); });
    $("#signature-fullscreen").addEventListener("click", enterFullscreen);
    $("#signature-done").addEventListener("click", exitFullscreen);
  }

  function signerName() { return nameNeeded() ? state.signer.name.trim() : ""; }

  function padError() {
    var name = signerName();
    var chars = (name.match(/[\u3400-\u9fff]/g) || []).length + Math.floor((name.match(/[A-Za-z]/g) || []).length / 4);
    var code = SignaturePad.check(pad.toData(), pad.canvasInfo(), view.signature_limits, chars || 1);
    return code ? { code: code } : null;
  }

  function renderSignScreen() {
    if (!view) return;
    var name = signerName();
    $("#signature-hint").textContent = name ? t("signature.hint", { name: name }) : t("signature.hint.self");
    var dl = $("#summary");
    dl.textContent = "";
    var who = state.signer.relation === "self" && !name ? t("summary.consignee")
      : name + (state.signer.relation ? " · " + t("relation." + state.signer.relation) : "");
    [["summary.outcome", t("outcome." + state.outcome)], ["summary.signer", who]].forEach(function (row) {
      dl.appendChild(el("dt", { text: t(row[0]) }));
      dl.appendChild(el("dd", { text: row[1] }));
    });
  }

  // A long name needs a wide pad: fill the screen and ask for landscape where the browser
  // lets us lock it; elsewhere the pad fills the screen and follows the phone's rotation.
  // The hint with the name sits inside the frame, so it stays in view.
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

  // --- moving on ----------------------------------------------------------------------

  function refreshView() {
    return DS.request("GET", api).then(function (r) {
      if (r.status === 200) { view = r.body; renderItems(); renderPhotos(); }
      else { var s = stateForResponse(r); if (s) showState(s); }
    }, function () {});
  }

  $("#to-sign").addEventListener("click", function () {
    var boxes = { items: checkItems()[0], photos: checkPhotos()[0], signer: checkSigner()[0] };
    Object.keys(boxes).forEach(function (box) { showError(box, boxes[box] || null); });
    var first = ["items", "photos", "signer"].filter(function (b) { return boxes[b]; })[0];
    if (first) { $(".error[data-for=" + first + "]").scrollIntoView({ block: "center" }); return; }
    go("sign");
  });
  $all("[data-back]").forEach(function (button) { button.addEventListener("click", function () { go("confirm"); }); });

  function submitBody() {
    save();
    return {
      submission_id: state.submissionId,
      outcome: state.outcome,
      signer: { name: signerName(), relation: state.signer.relation,
                phone: state.signer.relation !== "self" && state.signer.phone.trim() ? state.signer.phone.trim() : undefined },
      signature: { strokes: pad.toData(), canvas: pad.canvasInfo() },
      location: state.consents.location && state.location || null,
      photo_ids: state.photos.filter(function (p) { return p.photo_id; }).map(function (p) { return p.photo_id; }),
      items: state.outcome === "partial" ? reportedItems() : [],
      refuse_reason: state.outcome === "refused" ? state.refuseReason.trim() : "",
      client: { platform: "h5", user_agent: navigator.userAgent.slice(0, 500), time: new Date().toISOString() },
      consents: { notice_version: view.privacy.version, handwriting: !!state.consents.handwriting,
                  location: !!state.consents.location },
    };
  }

  var submitting = false;
  $("#submit").addEventListener("click", function () {
    if (submitting) return;
    if (!state.consents.handwriting) {       // no consent, no electronic signature: nothing is sent
      showError("signature", { code: "handwriting_consent_required" });
      return;
    }
    if (locationRequired() && !state.consents.location) {
      showError("submit", { code: "location_consent" });
      return;
    }
    var local = padError();
    showError("signature", local);
    if (local) return;                       // refused on the pad: nothing is sent
    if (locationRequired() && !state.location) {
      showError("submit", { code: "location_required" });
      renderLocation();
      window.scrollTo(0, 0);
      return;
    }
    var go_on = courierPhotosMissing() ? refreshView() : Promise.resolve();
    go_on.then(function () {
      if (courierPhotosMissing()) { showError("submit", { code: "photos_missing", variant: "courier" }); return; }
      submitting = true;
      var button = $("#submit");
      button.disabled = true;
      button.textContent = t("submit.busy");
      showError("submit", null);
      sendSubmit(submitBody(), 0).then(function () {
        submitting = false;
        button.disabled = false;
        button.textContent = t("submit");
      });
    });
  });

  // No answer is not a "no": the same submission_id goes again, and the server answers a
  // replay with the stored receipt.
  function sendSubmit(body, attempt) {
    var again = function () {
      if (attempt >= 4) { note("submit", "submit.offline"); return Promise.resolve(); }
      note("submit", "submit.retrying");
      return DS.sleep(1000 * Math.pow(2, attempt)).then(function () { return sendSubmit(body, attempt + 1); });
    };
    return DS.request("POST", api + "/submit", { json: body, timeout: 30000 }).then(function (r) {
      if (r.status === 201 || r.status === 200) { finish(r.body); return; }
      if (r.status >= 500 || r.status === 429) return again();
      var s = stateForResponse(r);
      if (s) { showState(s); return; }
      showError("submit", null);
      var errors = (r.body && r.body.errors) || [{ code: "_", message: (r.body && r.body.detail) || t("submit.failed") }];
      var byBox = {};
      errors.forEach(function (e) {
        var box = ERROR_BOX[e.code] || (/^signature/.test(e.code) || /^signature/.test(e.field || "") ? "signature" : "submit");
        if (e.code === "photos_missing") {
          if (view.policy.photos_by === "courier") { box = "submit"; e.variant = "courier"; }
          e.vars = { n: Math.max(photosNeeded() - body.photo_ids.length, 1) };
        }
        if (!byBox[box]) byBox[box] = e;            // one message per place
      });
      Object.keys(byBox).forEach(function (box) { showError(box, byBox[box]); });
      var firstConfirm = ["items", "photos", "signer"].filter(function (b) { return byBox[b]; })[0];
      if (firstConfirm) go("confirm");
    }, again);
  }

  function finish(result) {
    sessionStorage.removeItem(storeKey);
    var title = result.status === "partially_signed" ? "done.title.partial" : result.status === "refused" ? "done.title.refused" : "done.title";
    $("#done-title").dataset.i18n = title;
    $("#done-title").textContent = t(title);
    var done = $("#done");
    var code = result.receipt_code || result.receipt_id;
    done.textContent = code.length === 8 ? code.slice(0, 4) + " " + code.slice(4) : code;
    done.dataset.receiptId = result.receipt_id;
    done.dataset.code = code;
    $("#verify-link").href = "/v/" + encodeURIComponent(result.receipt_id);
    state.step = "done";
    $("#location-help").hidden = true;
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
      applyLanguage();
      go(state.step === "sign" ? "sign" : "confirm");
      renderPrivacy();
      if (state.consents.location) askLocation(); else renderLocation();
    }, function () {
      if (attempt < 3) setTimeout(function () { start(attempt + 1); }, 1500);
      else showState("offline");
    });
  }

  i18n.apply(app);
  start(0);
})();
