/* The consignee's consent page (/c/<token>): the parcel (masked), one button per way to
 * deliver — one tap answers — and the standing consents of this address with a way to
 * revoke them. Reschedule asks for a day first. */
(function () {
  "use strict";
  var $ = DS.$, $all = DS.$all, el = DS.el;

  var STRINGS = {
    zh: {
      "app.title": "快递放置确认", "lang.other": "English", loading: "正在加载…",
      "state.unknown.title": "链接无效", "state.unknown.body": "找不到这个链接，请核对短信中的地址。",
      "state.expired.title": "链接已过期", "state.expired.body": "这次询问已过期，快递员可以重新询问您。",
      "ask.title": "您的快递无人签收，放在哪里？", "ask.choose": "点一下即可选择",
      "ask.standing": "以后送到这个地址都这样放", "ask.meta": "{tenant} · 运单 {number} · 收货人 {name} {phone}",
      "ask.until": "请在 {time} 前选择",
      "option.locker": "放快递柜", "option.station": "放驿站", "option.door": "放门口", "option.guard": "放门卫",
      "option.neighbour": "放邻居家", "option.reschedule": "改天再送",
      "reschedule.day": "希望哪天送达", "reschedule.send": "确认改期", "reschedule.pick": "请选择日期",
      "done.title": "已记录您的选择", "done.body": "快递员会按您的选择放置，并拍照留证。",
      "done.choice": "您选择了：{choice}", "done.day": "改到 {day} 送达", "done.standing": "（以后都这样放）",
      "standing.title": "长期放置授权", "standing.revoke": "取消长期授权",
      "standing.revoked": "已取消，以后的快递会先询问您。", "standing.until": "有效至 {time}",
      "error.answered": "已经选择过了。", "error.expired": "链接已过期，快递员可以重新询问您。",
      "error.generic": "提交失败，请稍后重试。", "error.offline": "网络不可用，请检查网络后重试。",
    },
    en: {
      "app.title": "Where to leave your parcel", "lang.other": "中文", loading: "Loading…",
      "state.unknown.title": "Invalid link", "state.unknown.body": "This link does not exist. Check the address in the SMS.",
      "state.expired.title": "Link expired", "state.expired.body": "This question has expired; the courier can ask again.",
      "ask.title": "Nobody was home. Where should we leave your parcel?", "ask.choose": "One tap to choose",
      "ask.standing": "Always do this for this address", "ask.meta": "{tenant} · waybill {number} · {name} {phone}",
      "ask.until": "Please answer before {time}",
      "option.locker": "Parcel locker", "option.station": "Parcel station", "option.door": "At the door",
      "option.guard": "With the guard", "option.neighbour": "With a neighbour", "option.reschedule": "Another day",
      "reschedule.day": "Which day should we deliver?", "reschedule.send": "Confirm the day",
      "reschedule.pick": "Pick a day",
      "done.title": "Your choice is recorded", "done.body": "The courier will leave it as you chose and take a photo.",
      "done.choice": "You chose: {choice}", "done.day": "delivery on {day}", "done.standing": " (from now on)",
      "standing.title": "Standing instruction", "standing.revoke": "Cancel the standing instruction",
      "standing.revoked": "Cancelled. We will ask you about future parcels.", "standing.until": "until {time}",
      "error.answered": "This question has already been answered.",
      "error.expired": "This link has expired; the courier can ask again.",
      "error.generic": "Could not send; please try again.", "error.offline": "No connection; check your network and retry.",
    },
  };

  var i18n = new DS.I18n(STRINGS);
  var app = $("#app");
  var token = app.dataset.token;
  var api = "/api/v1/consent/" + encodeURIComponent(token);
  var view = null;
  var busy = false;

  function t(key, vars) { return i18n.t(key, vars); }

  function localTime(iso) {
    try {
      return new Date(iso).toLocaleString(i18n.lang === "en" ? "en-GB" : "zh-CN",
        { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
    } catch (e) { return iso; }
  }

  function localDay(iso) {
    try {
      return new Date(iso).toLocaleDateString(i18n.lang === "en" ? "en-GB" : "zh-CN",
        { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "Asia/Shanghai" });
    } catch (e) { return iso; }
  }

  function choiceLabel(choice, place) {
    return t("option." + choice) + (place ? " · " + place : "");
  }

  function showError(key) {
    var box = $("#answer-error");
    box.textContent = t(key);
    box.hidden = false;
  }

  function renderStanding(list) {
    var card = $("#standing-card");
    if (!list || !list.length) { card.hidden = $("#revoked").hidden; return; }
    card.hidden = false;
    $("#standing-list").replaceChildren.apply($("#standing-list"), list.map(function (s) {
      return el("li", {}, choiceLabel(s.choice, s.place),
                s.expires_at ? " · " + t("standing.until", { time: localDay(s.expires_at) }) : "");
    }));
  }

  function renderServerStanding() {
    // Expired links are drawn by the server; only the labels change here.
    $all("#standing-list li").forEach(function (li) {
      if (li.dataset.place !== undefined) li.textContent = choiceLabel(li.dataset.choice, li.dataset.place);
    });
  }

  function renderAnswered(answer) {
    $("#choices").hidden = true;
    var text = t("done.choice", { choice: choiceLabel(answer.choice, answer.place) });
    if (answer.day) text += "，" + t("done.day", { day: answer.day });
    if (answer.standing) text += t("done.standing");
    $("#answered-choice").textContent = text;
    $("#answered").hidden = false;
  }

  function render() {
    if (!view) return;
    var w = view.waybill;
    $("#parcel-meta").textContent = t("ask.meta", { tenant: view.tenant.name, number: w.number_masked,
                                                    name: w.consignee_name_masked, phone: w.phone_masked });
    $("#parcel-address").textContent = w.address;
    $("#parcel-items").replaceChildren.apply($("#parcel-items"), w.items.map(function (item) {
      return el("li", {}, item.name + " × " + item.qty + (item.unit || ""));
    }));
    var note = $("#parcel-note");
    note.hidden = !view.note;
    note.textContent = view.note || "";
    $("#parcel").hidden = false;
    renderStanding(view.standing);
    if (view.answer) { renderAnswered(view.answer); return; }
    $("#options").replaceChildren.apply($("#options"), view.options.map(function (choice) {
      var place = view.places[choice];
      return el("button", { type: "button", class: "btn" + (choice === "reschedule" ? "" : " primary"),
                            dataset: { testid: "option-" + choice, choice: choice },
                            on: { click: function () { choose(choice); } } },
                t("option." + choice), place ? el("small", {}, place) : null);
    }));
    $("#choices").hidden = false;
  }

  function choose(choice) {
    if (choice === "reschedule") {
      var day = $("#reschedule-day");
      var today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
      day.min = today;
      day.max = new Date(Date.now() + (8 * 3600 + view.reschedule_max_days * 86400) * 1000).toISOString().slice(0, 10);
      if (!day.value) day.value = today;
      $("#reschedule").hidden = false;
      day.focus();
      return;
    }
    send({ choice: choice, standing: $("#standing").checked });
  }

  function send(body) {
    if (busy) return;
    busy = true;
    $("#answer-error").hidden = true;
    $all("#choices button").forEach(function (b) { b.disabled = true; });
    body.client = { platform: "h5", user_agent: navigator.userAgent.slice(0, 500), time: new Date().toISOString() };
    DS.request("POST", api, { json: body }).then(function (response) {
      if (response.status === 200) { view = response.body; render(); return; }
      if (response.status === 409) showError("error.answered");
      else if (response.status === 410) showError("error.expired");
      else showError("error.generic");
    }, function () { showError("error.offline"); }).finally(function () {
      busy = false;
      $all("#choices button").forEach(function (b) { b.disabled = false; });
    });
  }

  function revoke() {
    var button = $("#revoke");
    button.disabled = true;
    DS.request("POST", api + "/standing/revoke").then(function (response) {
      if (response.status === 200) {
        $("#standing-list").replaceChildren();
        button.hidden = true;
        $("#revoked").hidden = false;
      } else {
        button.disabled = false;
      }
    }, function () { button.disabled = false; });
  }

  function load() {
    DS.request("GET", api).then(function (response) {
      $("#loading").hidden = true;
      if (response.status === 200) { view = response.body; render(); return; }
      showError(response.status === 410 ? "error.expired" : "error.generic");
      $("#choices").hidden = false;
    }, function () {
      $("#loading").hidden = true;
      $("#choices").hidden = false;
      showError("error.offline");
    });
  }

  function applyLanguage() {
    i18n.apply(document);
    renderServerStanding();
    render();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var lang = $("[data-testid=lang-switch]");
    lang.hidden = false;
    lang.addEventListener("click", function () { i18n.toggle(); applyLanguage(); });
    $("#revoke").addEventListener("click", revoke);
    i18n.apply(document);
    renderServerStanding();
    var state = app.dataset.state;
    if (state !== "open" && state !== "answered") return;
    $("#reschedule-send").addEventListener("click", function () {
      var day = $("#reschedule-day").value;
      if (!day) { showError("reschedule.pick"); return; }
      send({ choice: "reschedule", day: day });
    });
    load();
  });
})();
