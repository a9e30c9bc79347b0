/* The courier's H5 app (/courier): log in, see today's waybills grouped by consignee with
 * one "一起签收" per group, photograph the goods at the door when the policy asks the
 * courier to (issue 12: shrunk on the phone like the recipient's), show the QR full
 * screen, and turn green as soon as the recipient has signed. */
(function () {
  "use strict";
  var $ = DS.$, $all = DS.$all, el = DS.el;

  var STRINGS = {
    zh: {
      "app.title": "快递员", "lang.other": "English", logout: "退出",
      "login.title": "登录", "login.tenant": "公司代码", "login.username": "用户名", "login.password": "密码",
      "login.submit": "登录", "login.failed": "用户名或密码错误", "login.missing": "请填写公司代码、用户名和密码",
      "login.limited": "尝试次数过多，请稍后再试", "offline": "网络不可用，请稍后重试",
      "list.search": "搜索运单号或收货人", "list.empty": "没有运单", "list.more": "加载更多",
      "filter.open": "待签收", "filter.done": "今日已完成", "filter.all": "全部",
      "list.items": "{n} 件货物", "list.make": "生成签收码", "list.make.n": "生成签收码（{n} 单）",
      "list.mismatch": "一次只能为同一收货人生成签收码",
      "list.title": "我的运单", "qr.title": "签收码", "list.filter": "运单状态", "group.together": "一起签收（{n} 单）", "group.count": "{n} 单",
      "why.closed": "已完成，无需签收", "why.other": "收货人不同，不能和已选运单一起签收",
      "photos.first": "先拍货物照片", "photos.take": "拍照", "photos.more": "补拍货物照片",
      "photos.need": "签收前请拍摄货物照片，至少 {n} 张（已拍 {done} 张）。", "photos.enough": "已拍 {done} 张，可以出示签收码了。",
      "photos.optional": "可以拍摄货物照片（选填），收件人也可以自己拍。", "photos.uploading": "上传中…", "photos.done": "已上传",
      "photos.retake": "重拍", "photos.failed": "上传失败，请重拍", "photos.short": "还需要拍 {n} 张货物照片",
      "photo.dark": "照片太暗，请重拍", "photo.blurry": "照片模糊，请重拍", "photo.duplicate": "这张照片和以前的签收重复，请重拍",
      "qr.show": "出示签收码", "qr.assisted": "收件人无法扫码或无法共享位置？可以在您的手机上为收件人代签（需收件人手机验证码）。",
      "qr.hint": "请收货人用手机扫码签收", "qr.left": "二维码剩余有效时间 {t}", "qr.expired": "二维码已过期",
      "qr.closed.dropped": "包裹已按收货人同意放置，无需再签收", "qr.closed.cancelled": "运单已取消，无需签收",
      "qr.closed.completed": "已完成，无需签收",
      "qr.renew": "重新生成二维码", "qr.back": "返回列表",
      "signed.signed": "已签收", "signed.partial": "部分签收", "signed.refused": "已拒收", "signed.receipt": "凭证号 {id}",
    },
    en: {
      "app.title": "Courier", "lang.other": "中文", logout: "Log out",
      "login.title": "Log in", "login.tenant": "Company code", "login.username": "Username", "login.password": "Password",
      "login.submit": "Log in", "login.failed": "Wrong username or password", "login.missing": "Enter company code, username and password",
      "login.limited": "Too many attempts; wait a minute", "offline": "No connection; try again",
      "list.search": "Waybill number or consignee", "list.empty": "No waybills", "list.more": "Load more",
      "filter.open": "To deliver", "filter.done": "Done today", "filter.all": "All",
      "list.items": "{n} item(s)", "list.make": "Make sign QR", "list.make.n": "Make sign QR ({n})",
      "list.mismatch": "One QR is for one consignee only",
      "list.title": "My waybills", "qr.title": "Sign QR", "list.filter": "Waybill status", "group.together": "Sign together ({n})", "group.count": "{n} waybill(s)",
      "why.closed": "Done; nothing to sign", "why.other": "Another consignee: cannot join the selected waybills",
      "photos.first": "Photograph the goods first", "photos.take": "Take photo", "photos.more": "Add a goods photo",
      "photos.need": "Photograph the goods before the sign-off: at least {n} (taken {done}).", "photos.enough": "{done} taken; you can show the QR now.",
      "photos.optional": "You may photograph the goods (optional); the recipient can too.", "photos.uploading": "Uploading…", "photos.done": "Uploaded",
      "photos.retake": "Retake", "photos.failed": "Upload failed; retake", "photos.short": "{n} more goods photo(s) needed",
      "photo.dark": "Too dark; please retake", "photo.blurry": "Blurry; please retake", "photo.duplicate": "Same as an earlier delivery's photo; please retake",
      "qr.show": "Show the sign QR", "qr.assisted": "Recipient cannot scan or share a location? You can sign them in on your phone (a code goes to the consignee's phone).",
      "qr.hint": "Ask the recipient to scan and sign", "qr.left": "QR valid for {t}", "qr.expired": "The QR code has expired",
      "qr.closed.dropped": "The parcel was left where the consignee agreed; nothing to sign", "qr.closed.cancelled": "The waybill was cancelled; nothing to sign",
      "qr.closed.completed": "Already completed; nothing to sign",
      "qr.renew": "New QR code", "qr.back": "Back to list",
      "signed.signed": "Signed", "signed.partial": "Partly signed", "signed.refused": "Refused", "signed.receipt": "Receipt {id}",
    },
  };
  var OPEN = "created,assigned,out_for_delivery";
  var DONE = "signed,partially_signed,refused";
  var SESSION = "ds:courier";

  var i18n = new DS.I18n(STRINGS);
  var t = i18n.t.bind(i18n);
  var session = readSession();
  var selected = {};        // number → waybill
  var nextCursor = null;
  var link = null;          // the sign link on screen
  var pollTimer = null, clockTimer = null, wakeLock = null;
  var position = null;      // {location, at}

  function readSession() {
    try {
      var s = JSON.parse(sessionStorage.getItem(SESSION));
      return s && new Date(s.expires_at) > new Date() ? s : null;
    } catch (e) { return null; }
  }

  function call(method, path, json) {
    return DS.request(method, "/api/v1" + path, { json: json, headers: { Authorization: "Bearer " + session.token } })
      .then(function (r) {
        if (r.status === 401) { logout(); throw new Error("unauthorized"); }
        return r;
      });
  }

  function show(id) {
    ["login", "list", "qr-screen"].forEach(function (name) { $("#" + name).hidden = name !== id; });
    $("#logout").hidden = id === "login";
    $("#who").textContent = session && session.user ? session.user.display_name || session.user.username : "";
  }

  function showError(box, text) { box.textContent = text || ""; box.hidden = !text; }

  // --- login --------------------------------------------------------------------------

  var params = new URLSearchParams(location.search);
  try { $("#login-tenant").value = params.get("tenant") || localStorage.getItem("ds:tenant") || ""; } catch (e) { /* private */ }

  $("#login").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { tenant: $("#login-tenant").value.trim(), username: $("#login-username").value.trim(),
                 password: $("#login-password").value };
    var box = $("#login-error");
    if (!body.tenant || !body.username || !body.password) { showError(box, t("login.missing")); return; }
    var button = $("[data-testid=login-submit]");
    button.disabled = true;
    DS.request("POST", "/api/v1/auth/login", { json: body }).then(function (r) {
      button.disabled = false;
      if (r.status !== 200) { showError(box, t(r.status === 429 ? "login.limited" : "login.failed")); return; }
      session = { token: r.body.token, expires_at: r.body.expires_at, user: r.body.user, tenant: body.tenant };
      sessionStorage.setItem(SESSION, JSON.stringify(session));
      try { localStorage.setItem("ds:tenant", body.tenant); } catch (err) { /* private */ }
      $("#login-password").value = "";
      showError(box, "");
      openList();
    }, function () { button.disabled = false; showError(box, t("offline")); });
  });

  function logout() {
    if (session) DS.request("POST", "/api/v1/auth/logout", { headers: { Authorization: "Bearer " + session.token } }).catch(function () {});
    stopQr();
    session = null;
    sessionStorage.removeItem(SESSION);
    show("login");
  }
  $("#logout").addEventListener("click", logout);

  // --- waybill list -----------------------------------------------------------------

  function todayStart() {
    var d = new Date();
    d.setHours(0, 0, 0, 0);
    return d.toISOString();
  }

  function query(cursor) {
    var q = new URLSearchParams({ limit: "50" });
    var filter = $("#status").value;
    if (filter === "open") q.set("status", OPEN);
    if (filter === "done") { q.set("status", DONE); q.set("signed_from", todayStart()); }
    var text = $("#search").value.trim();
    if (text) q.set("q", text);
    if (cursor) q.set("cursor", cursor);
    return "/waybills?" + q.toString();
  }

  function openList() {
    show("list");
    selected = {};
    loadList(null);
    warmLocation();
  }

  function loadList(cursor) {
    var box = $("#list-error");
    call("GET", query(cursor)).then(function (r) {
      if (r.status !== 200) { showError(box, (r.body && r.body.detail) || t("offline")); return; }
      showError(box, "");
      var list = $("#waybills");
      if (!cursor) { list.textContent = ""; groups = {}; }
      r.body.items.forEach(function (w) { placeRow(list, w); });
      nextCursor = r.body.next_cursor;
      $("#more").hidden = !nextCursor;
      $("#list-empty").hidden = list.children.length > 0;
      refreshSelection();
    }, function (err) { if (err.message !== "unauthorized") showError(box, t("offline")); });
  }

  function consigneeKey(w) { return [w.consignee.name, w.consignee.phone, w.consignee.address].join("|"); }

  function isOpen(status) { return OPEN.split(",").indexOf(status) >= 0; }

  // Waybills of one consignee sit together under one header; the header's "一起签收"
  // makes one QR for all of that consignee's open waybills in one tap.
  var groups = {};   // consignee key → {node, list, waybills}
  function placeRow(list, w) {
    var key = consigneeKey(w);
    var group = groups[key];
    if (!group) {
      group = groups[key] = { waybills: [], list: el("ul", { class: "group-rows" }) };
      group.count = el("span", { class: "meta" });
      group.button = el("button", { type: "button", class: "btn small primary", dataset: { testid: "sign-together" },
                                    hidden: true, on: { click: function () { signTogether(group); } } });
      group.node = el("li", { class: "group", dataset: { testid: "consignee-group", consignee: key } },
        el("div", { class: "group-head" },
          el("span", { class: "group-who" }, el("strong", { text: w.consignee.name }), " ", group.count),
          group.button),
        group.list);
      list.appendChild(group.node);
    }
    group.waybills.push(w);
    group.list.appendChild(row(w));
    renderGroup(group);
  }

  function renderGroup(group) {
    var open = group.waybills.filter(function (w) { return isOpen(w.status); });
    group.count.textContent = (group.waybills[0].consignee.phone || "") + " · " + t("group.count", { n: group.waybills.length });
    group.button.hidden = open.length < 2;
    group.button.textContent = t("group.together", { n: open.length });
  }

  function signTogether(group) {
    selected = {};
    group.waybills.forEach(function (w) { if (isOpen(w.status)) selected[w.number] = w; });
    refreshSelection();
    makeQr(Object.keys(selected));
  }

  function row(w) {
    var open = OPEN.split(",").indexOf(w.status) >= 0;
    var box = el("input", { type: "checkbox", dataset: { testid: "waybill-select" }, disabled: !open,
                            on: { change: function () { toggle(w, box.checked); } } });
    box.checked = !!selected[w.number];
    var items = w.items.reduce(function (n, item) { return n + Number(item.qty || 0); }, 0);
    return el("li", { class: "waybill", dataset: { testid: "waybill-row", number: w.number, status: w.status, consignee: consigneeKey(w) } },
      el("label", { class: "waybill-label" }, box,
        el("span", { class: "waybill-body" },
          el("span", { class: "waybill-top" },
            el("strong", { class: "waybill-number", text: w.number }),
            el("span", { class: "badge badge--" + w.status, text: t("status." + w.status) })),
          el("span", { class: "waybill-consignee", text: w.consignee.name + " · " + (w.consignee.phone || "") }),
          el("span", { class: "waybill-address", text: w.consignee.address || "" }),
          el("span", { class: "meta", text: t("list.items", { n: items }) }),
          el("span", { class: "why", dataset: { testid: "row-why" }, hidden: true }))));
  }

  function toggle(w, on) {
    if (on) selected[w.number] = w; else delete selected[w.number];
    refreshSelection();
  }

  // One QR is for one consignee: once a waybill is picked, others for someone else grey out.
  function refreshSelection() {
    var numbers = Object.keys(selected);
    var key = numbers.length ? consigneeKey(selected[numbers[0]]) : null;
    $all("[data-testid=waybill-row]").forEach(function (li) {
      var box = li.querySelector("input");
      var open = isOpen(li.dataset.status);
      var other = key !== null && li.dataset.consignee !== key;
      box.disabled = !open || other;
      li.classList.toggle("is-selected", box.checked);
      // A row that cannot join says why, in the row, not in a toast elsewhere.
      var why = li.querySelector("[data-testid=row-why]");
      why.hidden = open && !other;
      why.textContent = !open ? t("why.closed") : other ? t("why.other") : "";
    });
    Object.keys(groups).forEach(function (k) { renderGroup(groups[k]); });
    var button = $("#make-qr");
    button.disabled = numbers.length === 0;
    button.textContent = numbers.length ? t("list.make.n", { n: numbers.length }) : t("list.make");
  }

  var searchTimer = null;
  $("#search").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { selected = {}; loadList(null); }, 300);
  });
  $("#filters").addEventListener("submit", function (e) { e.preventDefault(); selected = {}; loadList(null); });
  $("#status").addEventListener("change", function () { selected = {}; loadList(null); });
  $("#more").addEventListener("click", function () { loadList(nextCursor); });

  // --- location -------------------------------------------------------------------------

  // Asked when the list opens, so making a QR rarely waits on the GPS; it never waits
  // more than 3 s, and a refusal just means the link goes without the courier's position.
  var positionAsked = null;
  function warmLocation() {
    if (!navigator.geolocation) return Promise.resolve(null);
    positionAsked = new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (pos) {
        position = { at: Date.now(), location: { lat: pos.coords.latitude, lng: pos.coords.longitude,
                                                 accuracy: Math.min(pos.coords.accuracy, 100000), coord_system: "wgs84" } };
        resolve(position);
      }, function () { resolve(null); }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 120000 });
    });
    return positionAsked;
  }

  function courierLocation() {
    var fresh = function () { return position && Date.now() - position.at < 5 * 60 * 1000 ? position.location : null; };
    if (fresh() || !positionAsked) return Promise.resolve(fresh());
    return Promise.race([positionAsked, DS.sleep(3000)]).then(fresh);
  }

  // --- QR -------------------------------------------------------------------------------

  $("#make-qr").addEventListener("click", function () { makeQr(Object.keys(selected)); });
  $("#qr-renew").addEventListener("click", function () { if (link) makeQr(link.waybills); });
  $("#qr-back").addEventListener("click", function () { stopQr(); openList(); });

  function makeQr(numbers) {
    var button = $("#make-qr");
    button.disabled = true;
    courierLocation().then(function (where) {
      return call("POST", "/sign-links", { waybills: numbers, courier_location: where });
    }).then(function (r) {
      button.disabled = false;
      if (r.status !== 201) {
        var text = r.body && r.body.errors && r.body.errors.some(function (e) { return e.code === "consignee_mismatch"; })
          ? t("list.mismatch") : (r.body && r.body.detail) || t("offline");
        if ($("#qr-screen").hidden) showError($("#list-error"), text); else showError($("#qr-error"), text);
        return;
      }
      showQr(r.body);
    }, function (err) { button.disabled = false; if (err.message !== "unauthorized") showError($("#list-error"), t("offline")); });
  }

  // --- courier photos ------------------------------------------------------------------

  var courierPhotos = [];   // {photo_id, status, retake, url}

  function photoRules() { return (link && link.photos) || { photos_by: "recipient", photos_min: 0 }; }

  function photosMissing() {
    var rules = photoRules();
    if (rules.photos_by !== "courier") return 0;
    var good = courierPhotos.filter(function (p) { return p.status === "done" || (p.status === "flagged" && rules.photo_quality !== "block"); });
    return Math.max(0, rules.photos_min - good.length);
  }

  function renderPhotos() {
    var rules = photoRules();
    var done = courierPhotos.filter(function (p) { return p.status === "done" || p.status === "flagged"; }).length;
    var missing = photosMissing();
    $("#qr-photos-hint").textContent = rules.photos_by === "courier"
      ? (missing ? t("photos.need", { n: rules.photos_min, done: done }) : t("photos.enough", { done: done }))
      : t("photos.optional");
    var box = $("#courier-thumbs");
    box.textContent = "";
    courierPhotos.forEach(function (photo) {
      var caption = photo.status === "uploading" ? t("photos.uploading") : photo.status === "failed" ? t("photos.failed")
        : photo.retake ? t(photo.retake) : t("photos.done");
      box.appendChild(el("figure", { class: "thumb", dataset: { testid: "courier-photo", status: photo.status } },
        photo.url ? el("img", { src: photo.url, alt: t("photos.take") }) : el("div", { class: "thumb-blank" }),
        el("figcaption", { class: "thumb-status", text: caption }),
        photo.status !== "uploading" ? el("button", { type: "button", class: "btn small" + (photo.retake || photo.status === "failed" ? " primary" : ""),
          text: t("photos.retake"), dataset: { testid: "courier-photo-retake" },
          on: { click: function () { retaking = photo; $("#courier-photo-input").click(); } } }) : null));
    });
    $("#show-qr").disabled = missing > 0 || courierPhotos.some(function (p) { return p.status === "uploading"; });
  }

  var retaking = null;
  $("#courier-photo-input").addEventListener("change", function () {
    var input = $("#courier-photo-input");
    var file = input.files && input.files[0];
    input.value = "";
    if (!file || !link) return;
    var old = retaking;
    retaking = null;
    if (old) withdraw(old);
    takePhoto(file);
  });

  function withdraw(photo) {
    courierPhotos = courierPhotos.filter(function (p) { return p !== photo; });
    if (photo.url) URL.revokeObjectURL(photo.url);
    if (photo.photo_id) {
      call("DELETE", "/sign-links/" + encodeURIComponent(link.token) + "/photos/" + encodeURIComponent(photo.photo_id)).catch(function () {});
    }
    renderPhotos();
  }

  function takePhoto(file) {
    var current = link;
    var photo = { status: "uploading", photo_id: null, retake: null, url: null };
    courierPhotos.push(photo);
    showError($("#photo-error"), "");
    renderPhotos();
    DS.photo.prepare(file, photoRules().photo_upload || "resized").then(function (prepared) {
      photo.url = URL.createObjectURL(prepared.blob);
      var form = new FormData();
      form.append("file", prepared.blob, "photo.jpg");
      form.append("kind", "goods");
      form.append("client_exif", JSON.stringify(prepared.clientExif || {}));
      return fetch("/api/v1/sign-links/" + encodeURIComponent(current.token) + "/photos", {
        method: "POST", body: form, headers: { Authorization: "Bearer " + session.token, Accept: "application/json" } });
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.status === 201) {
          photo.photo_id = body.photo_id;
          photo.retake = DS.photo.retakeReason(body);
          photo.status = photo.retake ? "flagged" : "done";
        } else {
          photo.status = "failed";
          showError($("#photo-error"), (body && body.detail) || t("offline"));
        }
        if (link === current) renderPhotos();
      });
    }).catch(function () { photo.status = "failed"; if (link === current) renderPhotos(); });
  }

  $("#show-qr").addEventListener("click", function () { revealQr(); });
  $("#more-photos").addEventListener("click", function () { $("#qr-photos").hidden = false; $("#qr-box").hidden = true; renderPhotos(); });

  function revealQr() {
    $("#qr-photos").hidden = true;
    $("#qr-box").hidden = false;
    $("#more-photos").hidden = false;
  }

  function showQr(created) {
    stopQr();
    link = created;
    courierPhotos = [];
    show("qr-screen");
    document.body.classList.add("qr-open");
    var img = $("#qr");
    // Same origin whatever PUBLIC_BASE_URL says: the page's CSP allows only this origin.
    var src = new URL(created.qr_png, location.href);
    img.src = src.pathname + "?size=720";
    img.dataset.token = created.token;
    img.alt = created.url;
    var numbers = $("#qr-numbers");
    numbers.textContent = "";
    created.waybills.forEach(function (n) { numbers.appendChild(el("li", { text: n })); });
    // The policy wants the courier's photos: ask for them before the QR goes up.
    var first = photoRules().photos_by === "courier" && photoRules().photos_min > 0;
    $("#qr-photos").hidden = !first;
    $("#qr-box").hidden = first;
    $("#more-photos").hidden = first;
    renderPhotos();
    $("#signed-banner").hidden = true;
    $("#qr-renew").hidden = true;
    showError($("#qr-error"), "");
    tick();
    clockTimer = setInterval(tick, 1000);
    poll();
    if (navigator.wakeLock) navigator.wakeLock.request("screen").then(function (l) { wakeLock = l; }, function () {});
  }

  function tick() {
    var left = Math.max(0, Math.floor((new Date(link.expires_at) - Date.now()) / 1000));
    var mm = Math.floor(left / 60), ss = left % 60;
    $("#countdown").textContent = left > 0 ? t("qr.left", { t: mm + ":" + (ss < 10 ? "0" : "") + ss }) : t("qr.expired");
    $("#countdown").classList.toggle("is-low", left < 60);
    if (left <= 0) expired();
  }

  function expired() {
    clearInterval(clockTimer);
    $("#qr-box").classList.add("is-expired");
    $("#qr-renew").hidden = false;
  }

  // ~1 s polling: the recipient's submit shows here within two seconds.
  function poll() {
    if (!link) return;
    var current = link;
    call("GET", "/sign-links/" + encodeURIComponent(current.token) + "/status").then(function (r) {
      if (link !== current) return;
      if (r.status === 200 && r.body.state === "signed") { signed(r.body); return; }
      if (r.status === 200 && r.body.state === "expired") {
        // Closed by a drop or a cancel: say so, and offer no new QR for a parcel that is done.
        expired();
        $("#countdown").textContent = t(r.body.closed ? "qr.closed." + r.body.closed : "qr.expired");
        $("#qr-renew").hidden = !!r.body.closed;
        return;
      }
      pollTimer = setTimeout(poll, 1000);
    }, function () { if (link === current) pollTimer = setTimeout(poll, 2000); });
  }

  function signed(status) {
    clearInterval(clockTimer);
    var outcome = status.outcome === "partial" ? "partial" : status.outcome === "refused" ? "refused" : "signed";
    var signer = status.signer || {};
    var parts = [t("signed." + outcome)];
    if (signer.name) parts.push(signer.name);
    if (signer.relation) parts.push(t("relation." + signer.relation));
    $("#signed-text").textContent = parts.join(" · ");
    $("#signed-receipt").textContent = status.receipt_id ? t("signed.receipt", { id: status.receipt_id }) : "";
    var banner = $("#signed-banner");
    banner.dataset.outcome = outcome;
    banner.dataset.receiptId = status.receipt_id || "";
    banner.hidden = false;
    $("#qr-box").hidden = true;
    $("#qr-photos").hidden = true;
    $("#more-photos").hidden = true;
    if (navigator.vibrate) navigator.vibrate(200);
  }

  function stopQr() {
    clearTimeout(pollTimer);
    clearInterval(clockTimer);
    link = null;
    document.body.classList.remove("qr-open");
    $("#qr-box").classList.remove("is-expired");
    if (wakeLock) { wakeLock.release().catch(function () {}); wakeLock = null; }
  }

  // --- start ------------------------------------------------------------------------------

  $("#lang-switch").hidden = false;
  $("#lang-switch").addEventListener("click", function () {
    i18n.toggle();
    i18n.apply($("#app"));
    refreshSelection();
    if (session && !$("#list").hidden) loadList(null);
  });
  i18n.apply($("#app"));
  if (session) openList(); else show("login");
})();
