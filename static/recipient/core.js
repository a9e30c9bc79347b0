/* The sign page's shared state, as DSR (the steps in static/recipient/*.js read and extend it):
 * the link's token and API path, the sign view (GET /sign/<token>), what the person entered
 * (kept in sessionStorage under the token until the server accepts the sign-off, so a reload
 * or a dropped connection loses nothing), the language, the screens, and the error boxes
 * (one message per box, gone when fixed).
 *
 * Each step is a plain browser script (no build step) that adds its functions to DSR and
 * wires its own controls; DSR.renderers are called when the language or the view changes. */
(function (global) {
  "use strict";
  var $ = DS.$, $all = DS.$all;

  var i18n = new DS.I18n(global.DSR_STRINGS);
  var app = $("#app");
  var token = app.dataset.token;
  var storeKey = "ds:sign:" + token;

  var R = global.DSR = {
    app: app,
    usable: app.dataset.state === "usable",
    api: "/api/v1/sign/" + encodeURIComponent(token),
    i18n: i18n,
    t: i18n.t.bind(i18n),
    view: null,          // GET /sign/<token>
    pad: null,           // the InkRecorder on the sign screen
    state: null,
    shownErrors: {},     // box → {code, message, vars}
    renderers: [],       // re-run on a language switch
  };
  var t = R.t;

  R.fresh = function () {
    return {
      submissionId: R.uuid(), step: "confirm", outcome: "signed", lines: {}, refuseReason: "", problemOpen: false,
      signer: { name: "", relation: null, phone: "" }, photos: [], strokes: [], canvas: null, location: undefined,
      consents: { handwriting: false, location: false },
    };
  };

  R.uuid = function () {
    if (global.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  };

  function load() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(storeKey));
      if (saved && saved.step && !saved.consents) saved.consents = { handwriting: false, location: false };
      return saved && saved.step ? saved : null;
    } catch (e) { return null; }
  }

  R.save = function () {
    var state = R.state, pad = R.pad;
    if (pad) { state.strokes = pad.toData(); state.canvas = pad.isEmpty() ? null : pad.canvasInfo(); }
    try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* quota: keep going */ }
  };

  R.forget = function () { sessionStorage.removeItem(storeKey); };

  R.state = load() || R.fresh();

  // --- language -----------------------------------------------------------------------

  R.applyLanguage = function () {
    i18n.apply(app);
    if (R.view) R.renderers.forEach(function (render) { render(); });
    R.showProgress();
    R.rerenderErrors();
  };

  var langButton = $("[data-testid=lang-switch]");
  langButton.hidden = false;
  langButton.addEventListener("click", function () { i18n.toggle(); R.applyLanguage(); });

  // --- link states --------------------------------------------------------------------

  R.showState = function (name) {
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
    if (name !== "offline") R.forget();
  };

  R.stateForResponse = function (r) {
    if (r.status === 404) return "unknown";
    if (r.status === 423) return "locked";
    if (r.status === 409) return "used";
    if (r.status === 410) return r.body && /link-used$/.test(r.body.type || "") ? "used" : "expired";
    return null;
  };

  // --- screens ------------------------------------------------------------------------

  R.go = function (step) {
    if ($("#pad-frame").classList.contains("fullscreen")) R.exitFullscreen();
    R.state.step = step;
    $all(".step").forEach(function (s) { s.hidden = s.dataset.step !== step; });
    if (step === "sign") { R.renderSignScreen(); R.pad.resize(); }
    R.showProgress();
    R.save();
    global.scrollTo(0, 0);
  };

  R.showProgress = function () {
    $("#progress").textContent = R.view && R.state.step !== "done" ? t("step." + R.state.step) : "";
  };

  // --- errors: one message per box, gone when fixed -------------------------------------

  function errorText(e) {
    var key = "err." + e.code + (e.variant ? "." + e.variant : "");
    var text = t(key, e.vars);
    return text === key ? (e.message || t("error.generic")) : text;
  }

  // A message that appears off screen (below the fold, under the keyboard) is scrolled
  // into view, so that it is read where the mistake was made; a re-render (another
  // language) does not move the page.
  function reveal(node) {
    if (node.offsetParent === null || $("#pad-frame").classList.contains("fullscreen")) return;
    var rect = node.getBoundingClientRect(), view = global.visualViewport;
    var top = view ? view.offsetTop : 0, bottom = top + (view ? view.height : global.innerHeight);
    if (rect.top < top || rect.bottom > bottom) node.scrollIntoView({ block: "center" });
  }

  R.showError = function (box, error, quiet) {
    if (error) R.shownErrors[box] = error; else delete R.shownErrors[box];
    var node = $(".error[data-for=" + box + "]");
    if (!node) return;
    var text = error ? errorText(error) : "";
    var changed = node.hidden || node.textContent !== text;
    node.textContent = text;
    node.hidden = !error;
    node.dataset.codes = error ? error.code : "";
    if (error && changed && !quiet) reveal(node);
  };

  R.rerenderErrors = function () {
    Object.keys(R.shownErrors).forEach(function (box) { R.showError(box, R.shownErrors[box], true); });
  };

  R.note = function (box, key, vars) { R.showError(box, { code: "_", message: t(key, vars) }); };
})(window);
