/* The dashboard's shared pieces: DOM building (text only — every value from a recipient,
 * shipper or courier goes in through textContent, never as HTML), the signed-in session,
 * API calls with the bearer token, downloads through blob URLs, and the Chinese labels. */
(function (global) {
  "use strict";

  var SESSION = "ds:dashboard";
  var SVG_NS = "http://www.w3.org/2000/svg";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /** el("td", {class: "x", dataset: {testid: "row"}, on: {click: f}}, "text", child) */
  function build(node, attrs, children) {
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
      else if (key === "on") Object.keys(value).forEach(function (k) { node.addEventListener(k, value[k]); });
      else if (key === "text") node.textContent = value;
      else if (key === "class" || node.namespaceURI === SVG_NS) node.setAttribute(key, String(value));
      else if (key in node && typeof value !== "string") node[key] = value;
      else if (key === "value" || key === "checked") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) { build(node, null, child); return; }
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    });
    return node;
  }

  function el(tag, attrs) { return build(document.createElement(tag), attrs, [].slice.call(arguments, 2)); }
  function svg(tag, attrs) { return build(document.createElementNS(SVG_NS, tag), attrs, [].slice.call(arguments, 2)); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // --- session and API -----------------------------------------------------------------

  var session = (function () {
    try {
      var s = JSON.parse(sessionStorage.getItem(SESSION));
      return s && new Date(s.expires_at) > new Date() ? s : null;
    } catch (e) { return null; }
  })();

  function setSession(value) {
    session = value;
    if (value) sessionStorage.setItem(SESSION, JSON.stringify(value));
    else sessionStorage.removeItem(SESSION);
  }

  var onUnauthorized = function () {};

  /** Resolves {status, body, response}; body is parsed JSON when the answer is JSON. */
  function raw(method, path, json, options) {
    options = options || {};
    var headers = { Accept: options.accept || "application/json" };
    if (session) headers.Authorization = "Bearer " + session.token;
    var init = { method: method, headers: headers, cache: "no-store", credentials: "omit" };
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    return fetch("/api/v1" + path, init).then(function (response) {
      if (response.status === 401 && session) { onUnauthorized(); }
      if (options.blob) return { status: response.status, response: response, body: null };
      var type = response.headers.get("Content-Type") || "";
      var body = /json/.test(type) ? response.json().catch(function () { return null; }) : Promise.resolve(null);
      return body.then(function (data) { return { status: response.status, body: data, response: response }; });
    });
  }

  /** Like raw, but rejects with a readable message unless the status is 2xx. */
  function api(method, path, json) {
    return raw(method, path, json).then(function (r) {
      if (r.status >= 200 && r.status < 300) return r.body;
      throw new Error(problemText(r));
    });
  }

  function problemText(r) {
    var b = r.body || {};
    var parts = (b.errors || []).map(function (e) { return (e.field ? e.field + "：" : "") + e.message; });
    return (b.detail || b.title || "请求失败（" + r.status + "）") + (parts.length ? " — " + parts.join("；") : "");
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== null && v !== undefined && v !== "") parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  /** Fetch a protected file with the bearer token and hand it to the browser as a download. */
  function download(path, fallbackName) {
    return raw("GET", path, undefined, { blob: true, accept: "*/*" }).then(function (r) {
      if (r.status !== 200) throw new Error("下载失败（" + r.status + "）");
      var disposition = r.response.headers.get("Content-Disposition") || "";
      var match = /filename="?([^";]+)"?/.exec(disposition);
      return r.response.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = el("a", { href: url, download: match ? match[1] : fallbackName, hidden: true });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      });
    });
  }

  /** A blob: URL for a protected image or PDF (img/a cannot send the Authorization header). */
  function blobUrl(path) {
    return raw("GET", path, undefined, { blob: true, accept: "*/*" }).then(function (r) {
      if (r.status !== 200) return { status: r.status, url: null };
      return r.response.blob().then(function (blob) { return { status: 200, url: URL.createObjectURL(blob) }; });
    });
  }

  // --- formatting ----------------------------------------------------------------------

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  function localTime(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " +
      pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  }

  function dateInput(d) { return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()); }

  /** "2026-11-27" (a local day) → the ISO instant of its local midnight, plus ``days``. */
  function dayStart(value, days) {
    if (!value) return null;
    var p = value.split("-");
    return new Date(+p[0], +p[1] - 1, +p[2] + (days || 0)).toISOString();
  }

  function toast(text, kind) {
    var box = $("#toast");
    box.textContent = text;
    box.className = "toast " + (kind || "");
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  var LABELS = {
    status: {
      created: "待分配", assigned: "待派送", out_for_delivery: "派送中", signed: "已签收",
      partially_signed: "部分签收", refused: "已拒收", cancelled: "已取消",
    },
    relation: {
      self: "本人", family: "家属", colleague: "同事", guard: "门卫保安", locker: "快递柜/驿站", other: "其他",
    },
    anomaly: {
      signer_not_consignee: "非收货人本人签收",
      outside_geofence: "签收位置超出地理围栏",
      no_location: "未提供签收位置",
      low_location_accuracy: "定位精度过低",
      weak_signature: "签名过于简单",
      robotic_signature: "签名疑似机器生成（匀速、节奏过于规律）",
      replayed_signature: "签名与以往签收重复（疑似回放）",
      duplicate_photo: "照片与其他签收的照片重复",
      blurry_photo: "照片模糊",
      dark_photo: "照片过暗",
      signed_on_courier_device: "在快递员的设备上签收",
      partial_delivery: "部分签收（有短少或破损）",
      refused: "收货人拒收",
      late_signature: "超出时限签收",
      courier_far_from_signer: "快递员与签收人相距过远",
    },
    decision: { accepted: "已确认", disputed: "有争议" },
    role: { admin: "管理员", dispatcher: "调度员", courier: "快递员" },
    event: {
      "waybill.created": "运单创建", "waybill.assigned": "分配快递员", "waybill.cancelled": "运单取消",
      "waybill.out_for_delivery": "开始派送", "waybill.signed": "已签收", "waybill.partially_signed": "部分签收",
      "waybill.refused": "拒收", "waybill.reconciled": "对账", "waybill.document_attached": "上传原始单据",
      "link.created": "生成签收码", "link.opened": "收货人打开签收页", "otp.sent": "发送验证码",
      "otp.verified": "验证码通过", "otp.failed": "验证码错误", "photo.uploaded": "上传照片",
      "signoff.submitted": "提交签收", "receipt.pdf_rendered": "生成签收凭证 PDF", "pii.revealed": "查看完整手机号",
    },
    photoKind: { goods: "货物", scene: "现场", id: "证件", other: "其他" },
  };

  function label(kind, code) {
    if (code === null || code === undefined) return "—";
    var table = LABELS[kind] || {};
    return table[code] || code;
  }

  function statusBadge(status) {
    return el("span", { class: "badge st-" + status, text: label("status", status) });
  }

  global.DSB = {
    $: $, $all: $all, el: el, svg: svg, clear: clear,
    session: function () { return session; }, setSession: setSession,
    onUnauthorized: function (f) { onUnauthorized = f; },
    raw: raw, api: api, query: query, download: download, blobUrl: blobUrl, problemText: problemText,
    localTime: localTime, dateInput: dateInput, dayStart: dayStart, toast: toast,
    LABELS: LABELS, label: label, statusBadge: statusBadge, views: {},
  };
})(window);
