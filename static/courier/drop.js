/* Courier app, issue 14 — kept apart from courier.js on purpose: a panel under the QR for
 * when the QR cannot be scanned or nobody is home.
 *   帮收件人签收: an assisted sign link (OTP required) opened on this device;
 *   短信发送签收链接: the sign link sent to the consignee by SMS;
 *   无人在家: ask the consignee where to leave it, see the answer (or a standing consent),
 *   photograph the drop point and record the drop.
 * It reads what courier.js put on screen (the QR's token and waybill numbers) and the
 * session courier.js keeps, and talks to the API itself. */
(function () {
  "use strict";
  var $ = DS.$, el = DS.el;

  var STRINGS = {
    zh: {
      "assist.title": "收件人无法扫码？", "assist.open": "帮收件人签收", "assist.hint": "在本机打开签收页，需向手机发送验证码",
      "assist.send": "短信发送签收链接", "assist.sent": "已发送至 {phone}", "assist.limited": "发送太频繁，请稍后再试",
      "drop.title": "无人在家", "drop.ask": "询问放置方式", "drop.asked": "已发短信询问，等待收货人回复",
      "drop.check": "查看收货人回复", "drop.none": "收货人尚未同意放置", "drop.reschedule": "收货人要求改期",
      "drop.consent": "收货人同意：{choice}", "drop.standing": "（长期授权）", "drop.photo": "拍摄放置点照片",
      "drop.code": "取件码/柜号（选填）", "drop.confirm": "确认放置", "drop.done": "已放置 · 回执 {id}",
      "drop.need_photo": "请先拍摄放置点照片", "drop.refused": "未获收货人同意，不能放置",
      "error": "操作失败，请重试", "offline": "网络不可用，请重试",
      "limit.send_too_soon": "刚发送过，请 {s} 秒后再发", "limit.send_link_limit": "这单一小时内已发送 3 次，请稍后再试，或帮收件人在本机签收",
      "limit.send_phone_limit": "这个手机号一小时内已收到 5 条签收链接，请换一个手机号，或一小时后再试",
      "limit.ask_too_soon": "刚询问过收货人，请等回复（{s} 秒后可再问）", "limit.ask_waybill_limit": "这单一小时内已询问 5 次，请等收货人回复",
      "limit.ask_phone_limit": "这个手机号一小时内已收到 10 条询问，请一小时后再试",
      "gone.link-used": "这单已签收", "gone.link-expired": "签收链接已过期，请重新生成二维码",
      "gone.waybill-final": "这单已签收或已放置，无需再问", "sms.down": "短信暂时发不出去，请稍后再试",
      "place.locker": "快递柜", "place.station": "驿站", "place.door": "门口", "place.guard": "门卫",
      "place.neighbour": "邻居", "place.reschedule": "改天再送",
    },
    en: {
      "assist.title": "Recipient cannot scan?", "assist.open": "Sign on this phone",
      "assist.hint": "Opens the sign page here; a code is sent to a phone", "assist.send": "Send the sign link by SMS",
      "assist.sent": "Sent to {phone}", "assist.limited": "Sent too often; try again later",
      "drop.title": "Nobody home", "drop.ask": "Ask where to leave it", "drop.asked": "SMS sent; waiting for the answer",
      "drop.check": "Check the answer", "drop.none": "The consignee has not agreed to a drop",
      "drop.reschedule": "The consignee asked for another day", "drop.consent": "Consignee agreed: {choice}",
      "drop.standing": " (standing)", "drop.photo": "Photograph the drop point", "drop.code": "Pickup code / box (optional)",
      "drop.confirm": "Record the drop", "drop.done": "Dropped · receipt {id}", "drop.need_photo": "Take a photo of the drop point first",
      "drop.refused": "No consent: the parcel cannot be left", "error": "That did not work; try again",
      "offline": "No connection; try again",
      "limit.send_too_soon": "Sent moments ago; send again in {s} s",
      "limit.send_link_limit": "Sent 3 times this hour for this delivery; try later, or sign on this phone",
      "limit.send_phone_limit": "This phone has had 5 sign links this hour; use another number, or try in an hour",
      "limit.ask_too_soon": "The consignee was just asked; wait for the answer (ask again in {s} s)",
      "limit.ask_waybill_limit": "Asked 5 times this hour for this waybill; wait for the answer",
      "limit.ask_phone_limit": "This phone has had 10 questions this hour; try again in an hour",
      "gone.link-used": "Already signed for", "gone.link-expired": "The sign link has expired; make a new QR code",
      "gone.waybill-final": "Already signed for or dropped; nothing to ask", "sms.down": "The SMS could not be sent; try again shortly",
      "place.locker": "parcel locker", "place.station": "parcel station", "place.door": "at the door",
      "place.guard": "with the guard", "place.neighbour": "with a neighbour", "place.reschedule": "another day",
    },
  };
  var i18n = new DS.I18n(STRINGS);
  function t(key, vars) { return i18n.t(key, vars); }

  function session() {
    try { return JSON.parse(sessionStorage.getItem("ds:courier")); } catch (e) { return null; }
  }

  function call(method, path, json) {
    var s = session();
    return DS.request(method, "/api/v1" + path, { json: json, headers: { Authorization: "Bearer " + (s && s.token) } });
  }

  function upload(path, file) {
    var s = session();
    var form = new FormData();
    form.append("file", file);
    form.append("kind", "scene");
    return fetch("/api/v1" + path, { method: "POST", body: form, headers: { Authorization: "Bearer " + (s && s.token) } })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); });
  }

  function onScreen() {
    var img = $("#qr");
    var numbers = Array.prototype.map.call(document.querySelectorAll("#qr-numbers li"), function (li) {
      return li.textContent;
    });
    return { token: img && img.dataset.token, numbers: numbers };
  }

  function where() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        resolve({ lat: pos.coords.latitude, lng: pos.coords.longitude, accuracy: pos.coords.accuracy,
                  coord_system: "wgs84", source: "gps" });
      }, function () { resolve(null); }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  }

  var status = el("p", { class: "meta", dataset: { testid: "assist-status" }, role: "status" });
  var dropStatus = el("p", { class: "meta", dataset: { testid: "drop-status" }, role: "status" });
  var dropForm = el("div", { hidden: true, dataset: { testid: "drop-form" } });
  var consent = null;

  function say(node, text) { node.textContent = text || ""; }

  /** A refused call in the courier's words: which limit and how long to wait, a closed link, the SMS down. */
  function problemText(r) {
    var body = r.body || {}, slug = (body.type || "").split("/").pop();
    var wait = Number(r.headers && r.headers.get("Retry-After")) || 60;
    var key = r.status === 429 ? "limit." + body.code : r.status === 503 ? "sms.down" : "gone." + slug;
    var text = t(key, { s: wait });
    if (text !== key) return text;
    return r.status === 429 ? t("assist.limited") : body.detail || t("error");
  }

  function assisted() {
    var shown = onScreen();
    call("POST", "/sign-links", { waybills: shown.numbers, assisted: true }).then(function (r) {
      if (r.status === 201) { location.assign(r.body.url); return; }
      say(status, problemText(r));
    }, function () { say(status, t("offline")); });
  }

  function sendLink() {
    var shown = onScreen();
    call("POST", "/sign-links/" + encodeURIComponent(shown.token) + "/send", {}).then(function (r) {
      if (r.status === 200) say(status, t("assist.sent", { phone: r.body.sent_to }));
      else say(status, problemText(r));
    }, function () { say(status, t("offline")); });
  }

  function ask() {
    var shown = onScreen();
    Promise.all(shown.numbers.map(function (n) {
      return call("POST", "/waybills/" + encodeURIComponent(n) + "/consent-requests",
                  { options: ["locker", "station", "door", "guard", "neighbour", "reschedule"] });
    })).then(function (answers) {
      var failed = answers.filter(function (r) { return r.status !== 201; });
      say(dropStatus, failed.length ? problemText(failed[0]) : t("drop.asked"));
    }, function () { say(dropStatus, t("offline")); });
  }

  function check() {
    var shown = onScreen();
    call("GET", "/waybills/" + encodeURIComponent(shown.numbers[0]) + "/consent").then(function (r) {
      if (r.status !== 200) { say(dropStatus, t("error")); return; }
      consent = r.body.consent;
      var latest = r.body.latest_request;
      if (!consent) {
        dropForm.hidden = true;
        say(dropStatus, latest && latest.answer && latest.answer.choice === "reschedule"
          ? t("drop.reschedule") + " " + latest.answer.day : t("drop.none"));
        return;
      }
      say(dropStatus, t("drop.consent", { choice: t("place." + consent.choice) + (consent.place ? " · " + consent.place : "") })
          + (consent.kind === "standing" ? t("drop.standing") : ""));
      dropForm.hidden = false;
    }, function () { say(dropStatus, t("offline")); });
  }

  var photoInput = el("input", { type: "file", accept: "image/*", capture: "environment",
                                 dataset: { testid: "drop-photo" }, "aria-label": t("drop.photo") });
  var codeInput = el("input", { type: "text", maxLength: 40, dataset: { testid: "drop-code" }, placeholder: t("drop.code") });

  function drop() {
    var shown = onScreen();
    var files = Array.prototype.slice.call(photoInput.files || []);
    if (!files.length) { say(dropStatus, t("drop.need_photo")); return; }
    var path = "/waybills/" + encodeURIComponent(shown.numbers[0]);
    Promise.all(files.map(function (f) { return upload(path + "/drop-photos", f); })).then(function (photos) {
      var bad = photos.filter(function (p) { return p.status !== 201; });
      if (bad.length) throw new Error((bad[0].body && bad[0].body.detail) || t("error"));
      return where().then(function (location) {
        return call("POST", path + "/drop", { place: consent.choice, place_code: codeInput.value.trim() || null,
                                              photo_ids: photos.map(function (p) { return p.body.photo_id; }),
                                              location: location });
      });
    }).then(function (r) {
      if (r.status === 201) { say(dropStatus, t("drop.done", { id: r.body.receipt_id.slice(0, 8) })); dropForm.hidden = true; }
      else if (r.status === 409 && r.body && r.body.errors) say(dropStatus, t("drop.refused"));
      else say(dropStatus, (r.body && r.body.detail) || t("error"));
    }, function (err) { say(dropStatus, err.message || t("offline")); });
  }

  function panel() {
    var button = function (key, testid, handler, primary) {
      return el("button", { type: "button", class: "btn" + (primary ? " primary" : ""), dataset: { testid: testid },
                            on: { click: handler } }, t(key));
    };
    dropForm.appendChild(el("div", { class: "actions" },
      el("label", { class: "field" }, el("span", {}, t("drop.photo")), photoInput),
      el("label", { class: "field" }, el("span", {}, t("drop.code")), codeInput),
      button("drop.confirm", "drop-confirm", drop, true)));
    return el("section", { class: "card", id: "assist-panel", dataset: { testid: "assist-panel" } },
      el("h2", {}, t("assist.title")),
      el("div", { class: "actions" }, button("assist.open", "assisted-sign", assisted, true),
         el("p", { class: "hint" }, t("assist.hint")), button("assist.send", "send-link", sendLink)),
      status,
      el("h2", {}, t("drop.title")),
      el("div", { class: "actions" }, button("drop.ask", "ask-consent", ask), button("drop.check", "check-consent", check)),
      dropStatus, dropForm);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var screen = $("#qr-screen");
    if (!screen) return;
    screen.appendChild(panel());
  });
})();
