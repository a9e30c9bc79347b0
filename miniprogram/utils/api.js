/* The HTTP side of the mini-program: wx.request / wx.uploadFile / wx.login as promises.
 *
 * Every call resolves with {status, body} whenever the server answered (4xx and 5xx too,
 * body parsed when it is JSON, so problem+json errors reach the page), and rejects only
 * when there was no answer (no network, timeout), so a page can tell "no" from "no answer",
 * as the H5 pages' DS.request does. */
const config = require("../config.js");

const settings = { origin: config.origin.replace(/\/+$/, ""), tenant: config.tenant };

/** Point at another server (tests, a staging build). */
function configure(options) {
  if (options.origin) settings.origin = options.origin.replace(/\/+$/, "");
  if (options.tenant) settings.tenant = options.tenant;
}

function parse(data) {
  if (typeof data !== "string") return data;
  try { return JSON.parse(data); } catch (e) { return data; }
}

function request(method, path, options) {
  options = options || {};
  const header = { Accept: "application/json" };
  if (options.token) header.Authorization = "Bearer " + options.token;
  if (options.data !== undefined) header["Content-Type"] = "application/json";
  return new Promise((resolve, reject) => {
    wx.request({
      url: settings.origin + "/api/v1" + path,
      method,
      header,
      data: options.data,
      timeout: options.timeout || 20000,
      success: res => resolve({ status: res.statusCode, body: parse(res.data), header: res.header || {} }),
      fail: err => reject(err),
    });
  });
}

/** One file per request, field `file`, as POST /sign/<token>/photos and the courier's
 * POST /sign-links/<token>/photos expect. */
function upload(path, filePath, formData, token) {
  const header = { Accept: "application/json" };
  if (token) header.Authorization = "Bearer " + token;
  return new Promise((resolve, reject) => {
    wx.uploadFile({
      url: settings.origin + "/api/v1" + path,
      filePath,
      name: "file",
      formData: formData || {},
      header,
      timeout: 120000,
      success: res => resolve({ status: res.statusCode, body: parse(res.data) }),
      fail: err => reject(err),
    });
  });
}

/** A fresh wx.login code (each is good for one code2Session on the server). */
function login() {
  return new Promise((resolve, reject) => {
    wx.login({ success: res => (res.code ? resolve(res.code) : reject(res)), fail: reject });
  });
}

/** GCJ-02, as WeChat's own maps use; the server normalises it to WGS-84. */
function location(timeout) {
  return new Promise(resolve => {
    let settled = false;
    const done = value => { if (!settled) { settled = true; resolve(value); } };
    if (timeout) setTimeout(() => done(null), timeout);
    wx.getLocation({
      type: "gcj02",
      isHighAccuracy: true,
      highAccuracyExpireTime: 5000,
      success: res => done({ lat: res.latitude, lng: res.longitude,
                             accuracy: Math.min(Number(res.accuracy) || 0, 1000000),
                             coord_system: "gcj02", source: "wechat" }),
      fail: () => done(null),
    });
  });
}

/** Who is answering, as a submit's or a consent answer's `client` says it: WeChat's version,
 * the phone's system and model, the base library. */
function client() {
  let userAgent = "WeChat";
  try {
    const info = wx.getSystemInfoSync();
    userAgent = ("WeChat/" + (info.version || "?") + " " + (info.system || "") + " " + (info.model || "") +
                 " SDK/" + (info.SDKVersion || "?")).slice(0, 500);
  } catch (e) { /* an old base library: the bare name */ }
  return { platform: "miniprogram", user_agent: userAgent, time: new Date().toISOString() };
}

function sleep(ms) { return new Promise(resolve => setTimeout(resolve, ms)); }

module.exports = { settings, configure, request, upload, login, location, client, sleep };
