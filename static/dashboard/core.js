/* The dashboard's shared pieces: DOM building (DS.el / DS.svg of static/js/common.js, text only —
 * every value from a recipient, shipper or courier goes in through textContent, never as HTML),
 * the signed-in session, API calls with the bearer token, downloads through blob URLs, and the
 * labels in Chinese or English (DS.I18n with the strings of dashboard/i18n.js). */
(function (global) {
  "use strict";

  var SESSION = "ds:dashboard";
  var $ = DS.$, $all = DS.$all, el = DS.el, svg = DS.svg;
  var i18n = new DS.I18n(global.DSB_STRINGS);

  function t(key, vars) { return i18n.t(key, vars); }
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
    var parts = (b.errors || []).map(function (e) { return (e.field ? e.field + t("sep.field") : "") + e.message; });
    return (b.detail || b.title || t("error.request", { status: r.status })) + (parts.length ? " — " + parts.join(t("sep.list")) : "");
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
      if (r.status !== 200) throw new Error(t("error.download", { status: r.status }));
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

  /** The codes of the API, in the order the filters list them; their words are "<kind>.<code>". */
  var CODES = {
    status: ["created", "assigned", "out_for_delivery", "signed", "partially_signed", "refused", "cancelled"],
    anomaly: ["signer_not_consignee", "outside_geofence", "no_location", "low_location_accuracy", "weak_signature",
              "robotic_signature", "replayed_signature", "duplicate_photo", "blurry_photo", "dark_photo",
              "signed_on_courier_device", "partial_delivery", "refused", "late_signature", "courier_far_from_signer"],
  };

  /** label("status", "signed") → "已签收" / "Signed"; a code without words is shown as it is. */
  function label(kind, code) {
    if (code === null || code === undefined) return "—";
    var key = kind + "." + code, has = Object.prototype.hasOwnProperty;
    var vocabulary = (global.DS_LABELS || {}).zh || {};     // /labels.js: core/vocabulary.py
    return has.call(vocabulary, key) || has.call(i18n.strings.zh, key) ? t(key) : String(code);
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
    i18n: i18n, t: t, CODES: CODES, label: label, statusBadge: statusBadge, views: {},
  };
})(window);
