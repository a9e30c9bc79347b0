/* Small helpers shared by the H5 pages and the dispatcher dashboard: DOM building (text only,
 * never HTML from the server), a two-language string table, and JSON calls with a timeout. */
(function (global) {
  "use strict";

  var LANG_KEY = "ds:lang";

  var SVG_NS = "http://www.w3.org/2000/svg";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /** Set attrs on node, then append children. attrs: dataset {k: v}, on {event: f}, text (textContent);
   * null/undefined/false are left out, true is an empty attribute. On HTML elements a key that is a
   * property of the node (other than list and type) is set as the property, class and the rest as
   * attributes; on SVG elements everything is an attribute. Children: nodes, strings and numbers
   * (as text nodes, never parsed as HTML), and arrays of them; null/undefined/false are skipped. */
  function build(node, attrs, children) {
    var isSvg = node.namespaceURI === SVG_NS;
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
      else if (key === "on") Object.keys(value).forEach(function (k) { node.addEventListener(k, value[k]); });
      else if (key === "text") node.textContent = value;
      else if (!isSvg && key !== "class" && key in node && key !== "list" && key !== "type") node[key] = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    append(node, children);
    return node;
  }

  function append(node, children) {
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) { append(node, child); return; }
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    });
  }

  /** el("li", {class: "x", dataset: {testid: "item-row"}}, "text", child, [more, children]) */
  function el(tag, attrs) { return build(document.createElement(tag), attrs, [].slice.call(arguments, 2)); }

  /** svg("rect", {x: 1, y: 2, class: "bar"}, svg("title", {text: "…"})) — in the SVG namespace. */
  function svg(tag, attrs) { return build(document.createElementNS(SVG_NS, tag), attrs, [].slice.call(arguments, 2)); }

  function I18n(strings) {
    this.strings = strings;
    var saved = null;
    try { saved = localStorage.getItem(LANG_KEY); } catch (e) { /* private mode */ }
    // First visit: the phone's language (zh-* → Chinese, anything else → English);
    // after that, whatever the switch last chose.
    var wanted = saved || (/^zh\b/i.test(global.navigator.language || "zh") ? "zh" : "en");
    this.lang = wanted === "en" ? "en" : "zh";
  }

  I18n.prototype.t = function (key, vars) {
    // The domain's words (statuses, relations, anomalies…) come from /labels.js, the one
    // vocabulary (core/vocabulary.py) the PDF and the exports use too; then the page's own.
    var labels = global.DS_LABELS || {};
    var table = this.strings[this.lang] || {};
    var text = (labels[this.lang] || {})[key];
    if (text === undefined) text = table[key];
    if (text === undefined) text = (this.strings.zh || {})[key];
    if (text === undefined) text = key;
    if (vars) Object.keys(vars).forEach(function (k) { text = text.split("{" + k + "}").join(String(vars[k])); });
    return text;
  };

  /** Fill every [data-i18n] (text) and [data-i18n-placeholder] under root. */
  I18n.prototype.apply = function (root) {
    var self = this;
    document.documentElement.lang = this.lang === "en" ? "en" : "zh-CN";
    $all("[data-i18n]", root).forEach(function (node) { node.textContent = self.t(node.dataset.i18n); });
    $all("[data-i18n-placeholder]", root).forEach(function (node) {
      node.placeholder = self.t(node.dataset.i18nPlaceholder);
    });
    $all("[data-i18n-aria]", root).forEach(function (node) {
      node.setAttribute("aria-label", self.t(node.dataset.i18nAria));
    });
  };

  I18n.prototype.toggle = function () {
    this.lang = this.lang === "en" ? "zh" : "en";
    try { localStorage.setItem(LANG_KEY, this.lang); } catch (e) { /* private mode */ }
  };

  /** fetch with a timeout; resolves {status, body} (body parsed when JSON), rejects only on
   * network failure or timeout, so callers can tell "no answer" from "an answer". */
  function request(method, url, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    var init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    }
    var controller = global.AbortController ? new AbortController() : null;
    if (controller) init.signal = controller.signal;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, options.timeout || 20000);
    return fetch(url, init).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var body = /json/.test(type) ? response.json().catch(function () { return null; }) : Promise.resolve(null);
      return body.then(function (data) { return { status: response.status, body: data, headers: response.headers }; });
    }).finally(function () { clearTimeout(timer); });
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  global.DS = { $: $, $all: $all, el: el, svg: svg, I18n: I18n, request: request, sleep: sleep };
})(window);
