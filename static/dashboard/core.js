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
    names = null;          // another user may see other units and couriers
    if (value) sessionStorage.setItem(SESSION, JSON.stringify(value));
    else sessionStorage.removeItem(SESSION);
  }

  var onUnauthorized = function () {};

  /** Resolves {status, body, response}; body is parsed JSON when the answer is JSON. */
  function raw(method, path, json, options) {
    options = options || {};
    var headers = { Accept: options.accept || "application/json" };
    if (session) headers.Authorization = "Bearer " + session.token;
    if (options.etag) headers["If-None-Match"] = options.etag;
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

  /** POST a multipart form (a file upload) with the bearer token; resolves like api(). */
  function upload(path, form) {
    var headers = { Accept: "application/json" };
    if (session) headers.Authorization = "Bearer " + session.token;
    return fetch("/api/v1" + path, { method: "POST", headers: headers, body: form, cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (response.status === 401 && session) { onUnauthorized(); }
        return response.json().catch(function () { return null; }).then(function (body) {
          var r = { status: response.status, body: body, response: response };
          if (r.status >= 200 && r.status < 300) return body;
          throw new Error(problemText(r));
        });
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

  /** Keep a view current: GET ``path`` now and every ``seconds`` with If-None-Match, and call
   * ``render(body)`` on the first answer and whenever it changed (a 304 costs the server no
   * rendering and the page nothing). Paused while the tab is hidden. Returns stop(). */
  function poll(path, seconds, render, onError) {
    var etag = null, timer = null, stopped = false;
    function again() { if (!stopped) timer = setTimeout(tick, seconds * 1000); }
    function tick() {
      if (stopped) return;
      if (document.hidden) { again(); return; }
      raw("GET", path, undefined, { etag: etag }).then(function (r) {
        if (stopped) return;
        if (r.status === 200) { etag = r.response.headers.get("ETag"); render(r.body); }
        else if (r.status !== 304) (onError || function () {})(new Error(problemText(r)));
      }).catch(function (e) { if (!stopped && onError) onError(e); }).then(again);
    }
    tick();
    return function () { stopped = true; clearTimeout(timer); };
  }

  /** Names for the codes the API answers with (org units, couriers, doc types), fetched once
   * per sign-in; name("unit", "SH-PD") → "上海浦东站", a code without a name stays the code. */
  var names = null;
  function loadNames() {
    if (names) return names;
    function table(path, key, value) {
      return api("GET", path).then(function (rows) {
        var out = {};
        rows.forEach(function (r) { out[r[key]] = r[value] || r[key]; });
        return out;
      }).catch(function () { return {}; });
    }
    names = Promise.all([table("/org-units", "code", "name"), table("/users", "username", "display_name"),
                         table("/doc-types", "code", "name")])
      .then(function (t3) { return { unit: t3[0], user: t3[1], docType: t3[2] }; });
    return names;
  }
  function name(kind, code, known) {
    if (code === null || code === undefined || code === "") return "—";
    var found = known && known[kind] && known[kind][code];
    return found || String(code);
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
    status: ["created", "assigned", "out_for_delivery", "signed", "partially_signed", "refused", "dropped", "cancelled"],
    anomaly: ["signer_not_consignee", "outside_geofence", "no_location", "low_location_accuracy", "weak_signature",
              "robotic_signature", "replayed_signature", "duplicate_photo", "blurry_photo", "dark_photo",
              "signed_on_courier_device", "partial_delivery", "refused", "late_signature", "courier_far_from_signer",
              "name_not_recognized", "dropped_without_consent"],
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
    raw: raw, api: api, upload: upload, query: query, poll: poll, loadNames: loadNames, name: name,
    forgetNames: function () { names = null; }, download: download, blobUrl: blobUrl, problemText: problemText,
    localTime: localTime, dateInput: dateInput, dayStart: dayStart, toast: toast,
    i18n: i18n, t: t, CODES: CODES, label: label, statusBadge: statusBadge, views: {},
  };
})(window);
