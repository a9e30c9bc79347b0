/* The test side of WeChat: a DOM (jsdom) for miniprogram-simulate, and a `wx` whose
 * request, uploadFile, login, getLocation and chooseMedia do the real thing against
 * servers on loopback instead of being mocked:
 *
 *   wx.request / wx.uploadFile   real HTTP (fetch) to the delivery_sign under test
 *   wx.login                     hands out codes the fake WeChat server (tests/fakes.py)
 *                                knows, so the server's code2Session finds an openid
 *   wx.getLocation               the phone's position, reported in the system asked for
 *   wx.chooseMedia               a real JPEG from disk as the camera's temp file
 *   wx.requestSubscribeMessage   the user's answer to WeChat's prompt (phone.subscribe)
 *
 * Every call is recorded in `calls`, so tests can say what the pages asked WeChat for.
 * Must be required before miniprogram-simulate, which keeps an existing global wx. */
"use strict";
const fs = require("fs");
const path = require("path");
const { JSDOM } = require("jsdom");

const dom = new JSDOM("<!doctype html><html><head></head><body></body></html>", { pretendToBeVisual: true });
for (const name of ["window", "document", "navigator", "Node", "Element", "HTMLElement", "Event", "CustomEvent",
                    "MouseEvent", "TouchEvent", "KeyboardEvent", "DocumentFragment", "Text", "Comment", "getComputedStyle",
                    "MutationObserver"]) {
  if (dom.window[name] !== undefined && global[name] === undefined) {
    try { global[name] = dom.window[name]; } catch (e) { /* read-only in this Node */ }
  }
}
if (!global.TouchEvent) global.TouchEvent = dom.window.TouchEvent || dom.window.UIEvent;

const calls = [];
const codes = [];          // wx.login codes still to hand out
const phone = { location: null, photo: null, storage: {}, subscribe: "accept" };

function settle(options, ok, res) {
  if (ok && typeof options.success === "function") options.success(res);
  if (!ok && typeof options.fail === "function") options.fail(res);
  if (typeof options.complete === "function") options.complete(res);
}

function parse(text) {
  try { return JSON.parse(text); } catch (e) { return text; }
}

function headersOf(response) {
  const out = {};
  response.headers.forEach((value, key) => { out[key] = value; });
  return out;
}

const wx = {
  request(options) {
    calls.push({ api: "request", method: options.method || "GET", url: options.url });
    const headers = Object.assign({}, options.header || {});
    let body;
    if (options.data !== undefined && (options.method || "GET") !== "GET") {
      body = typeof options.data === "string" ? options.data : JSON.stringify(options.data);
      if (!Object.keys(headers).some(k => k.toLowerCase() === "content-type")) headers["Content-Type"] = "application/json";
    }
    fetch(options.url, { method: options.method || "GET", headers, body, signal: AbortSignal.timeout(options.timeout || 60000) })
      .then(response => response.text().then(text => settle(options, true, {
        statusCode: response.status, header: headersOf(response), data: options.dataType === "text" ? text : parse(text),
        errMsg: "request:ok" })))
      .catch(err => settle(options, false, { errMsg: "request:fail " + err.message }));
    return { abort() {} };
  },

  uploadFile(options) {
    calls.push({ api: "uploadFile", url: options.url, filePath: options.filePath, name: options.name,
                 formData: options.formData });
    const form = new FormData();
    Object.entries(options.formData || {}).forEach(([k, v]) => form.append(k, String(v)));
    form.append(options.name, new Blob([fs.readFileSync(options.filePath)], { type: "image/jpeg" }),
                path.basename(options.filePath));
    fetch(options.url, { method: "POST", headers: options.header || {}, body: form })
      .then(response => response.text().then(text => settle(options, true, {
        statusCode: response.status, data: text, errMsg: "uploadFile:ok" })))
      .catch(err => settle(options, false, { errMsg: "uploadFile:fail " + err.message }));
    return { abort() {}, onProgressUpdate() {} };
  },

  login(options) {
    calls.push({ api: "login" });
    const code = codes.shift();
    setTimeout(() => (code ? settle(options, true, { code, errMsg: "login:ok" })
                           : settle(options, false, { errMsg: "login:fail no code left" })), 0);
  },

  getLocation(options) {
    calls.push({ api: "getLocation", type: options.type });
    setTimeout(() => {
      if (!phone.location) { settle(options, false, { errMsg: "getLocation:fail auth deny" }); return; }
      settle(options, true, Object.assign({ errMsg: "getLocation:ok" }, phone.location));
    }, 0);
  },

  chooseMedia(options) {
    calls.push({ api: "chooseMedia", sourceType: options.sourceType, sizeType: options.sizeType,
                 mediaType: options.mediaType, count: options.count });
    setTimeout(() => {
      if (!phone.photo) { settle(options, false, { errMsg: "chooseMedia:fail cancel" }); return; }
      settle(options, true, { type: "image", tempFiles: [{ tempFilePath: phone.photo, fileType: "image",
                                                            size: fs.statSync(phone.photo).size }] });
    }, 0);
  },

  requestSubscribeMessage(options) {
    calls.push({ api: "requestSubscribeMessage", tmplIds: options.tmplIds });
    setTimeout(() => settle(options, true, Object.assign({ errMsg: "requestSubscribeMessage:ok" },
      Object.fromEntries(options.tmplIds.map(id => [id, phone.subscribe])))), 0);
  },

  getStorageSync(key) { return key in phone.storage ? JSON.parse(phone.storage[key]) : ""; },
  setStorageSync(key, value) { phone.storage[key] = JSON.stringify(value); },
  removeStorageSync(key) { delete phone.storage[key]; },
  getSystemInfoSync() {
    return { language: "zh_CN", version: "8.0.50", system: "iOS 17.5", model: "iPhone 15", SDKVersion: "3.3.4",
             pixelRatio: 3, windowWidth: 390, windowHeight: 844 };
  },
  getWindowInfo() { return { pixelRatio: 3, windowWidth: 390, windowHeight: 844 }; },
  getAppBaseInfo() { return { language: "zh_CN", SDKVersion: "3.3.4" }; },
  pageScrollTo() {},
  vibrateShort() {},
  setClipboardData() {},
};

global.wx = wx;
const simulate = require("miniprogram-simulate");

const ROOT = path.resolve(__dirname, "..");

/** Load a page or component of the mini-program and render it, as WeChat would. */
function render(relative, properties) {
  const id = simulate.load(path.join(ROOT, relative), { rootPath: ROOT });
  const comp = simulate.render(id, properties);
  comp.attach(document.createElement("parent-wrapper"));
  return comp;
}

/** Wait until `check()` is truthy (server work, polling pages); fails after `ms`. */
async function until(check, ms = 20000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error("gave up waiting for " + (typeof what === "function" ? what() : what));
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

module.exports = { wx: global.wx, calls, codes, phone, simulate, render, until, ROOT };

/** What the pytest driver (tests/miniprogram) hands over: the live server and its data.
 * null when these tests run without it (then the tests that need a server skip). */
function server() {
  if (!process.env.DS_ORIGIN) return null;
  return {
    origin: process.env.DS_ORIGIN,
    tenant: process.env.DS_TENANT,
    adminToken: process.env.DS_ADMIN_TOKEN,
    courier: process.env.DS_COURIER,
    password: process.env.DS_PASSWORD,
    waybills: JSON.parse(process.env.DS_WAYBILLS || "{}"),
    codes: JSON.parse(process.env.DS_WX_CODES || "{}"),
    openids: JSON.parse(process.env.DS_OPENIDS || "{}"),
    photos: JSON.parse(process.env.DS_PHOTOS || "{}"),
    signature: process.env.DS_SIGNATURE ? JSON.parse(fs.readFileSync(process.env.DS_SIGNATURE, "utf8")) : null,
    photoLink: process.env.DS_PHOTO_LINK_URL,
    problemLink: process.env.DS_PROBLEM_LINK_URL,
    consent: JSON.parse(process.env.DS_CONSENT || "{}"),
    control: process.env.DS_CONTROL,
  };
}

/** Staff read of the API (what a dispatcher would see), straight over HTTP. */
async function staffGet(srv, path_) {
  const response = await fetch(srv.origin + "/api/v1" + path_, { headers: { Authorization: "Bearer " + srv.adminToken } });
  return { status: response.status, body: await response.json() };
}

/** jsdom lays nothing out: canvases get the size a phone gives the pad. */
function canvasSize(width, height) {
  const proto = window.HTMLElement.prototype;
  const original = proto.getBoundingClientRect;
  proto.getBoundingClientRect = function () {
    return this.tagName === "WX-CANVAS" ? { left: 12, top: 80, right: 12 + width, bottom: 80 + height, width, height, x: 12, y: 80 }
      : original.call(this);
  };
  return () => { proto.getBoundingClientRect = original; };
}

/** Write a corpus signature ([[x, y, t_ms], ...] per stroke) on the pad as WeChat touch
 * events: canvas x/y, event timeStamps from page start. */
function write(pad, strokes, startMs = 2000) {
  strokes.forEach(stroke => {
    const [first, ...rest] = stroke;
    pad.onTouchStart({ type: "touchstart", timeStamp: startMs + first[2], touches: [{ x: first[0], y: first[1] }] });
    rest.forEach(p => pad.onTouchMove({ type: "touchmove", timeStamp: startMs + p[2], touches: [{ x: p[0], y: p[1] }] }));
    const last = stroke[stroke.length - 1];
    pad.onTouchEnd({ type: "touchend", timeStamp: startMs + last[2], changedTouches: [{ x: last[0], y: last[1] }] });
  });
}

module.exports.server = server;
module.exports.staffGet = staffGet;
module.exports.canvasSize = canvasSize;
module.exports.write = write;
