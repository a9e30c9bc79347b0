/* Sign page, sign screen: the pad (an InkRecorder, static/js/ink-recorder.js) with its cheap
 * stroke checks run where the ink is drawn, the summary of what is signed, and the landscape
 * pad (full screen; the hint with the name stays inside the frame). */
(function (R) {
  "use strict";
  if (!R.usable) return;
  var $ = DS.$, el = DS.el, t = R.t;

  function setupPad() {
    R.pad = new InkRecorder($("#signature-pad"), {
      onChange: function () {
        R.save();
        if (R.shownErrors.signature && R.shownErrors.signature.code !== "signature_name_mismatch") {
          R.showError("signature", padError());   // gone as soon as it is fixed
        }
        R.boxesInkChanged();
      },
      onResize: function () { if (R.view) R.renderBoxes(); },
    });
    if (R.state.strokes && R.state.strokes.length) R.pad.fromData(R.state.strokes, R.state.canvas);
    $("#signature-clear").addEventListener("click", function () { R.pad.clear(); });
    $("#signature-undo").addEventListener("click", function () { R.pad.undo(); });
    $("#signature-fullscreen").addEventListener("click", enterFullscreen);
    $("#signature-done").addEventListener("click", exitFullscreen);
  }

  function padError() {
    var name = R.signerName();
    var chars = (name.match(/[\u3400-\u9fff]/g) || []).length + Math.floor((name.match(/[A-Za-z]/g) || []).length / 4);
    var code = InkRecorder.check(R.pad.toData(), R.pad.canvasInfo(), R.view.signature_limits, chars || 1);
    return code ? { code: code } : null;
  }

  function renderSignScreen() {
    if (!R.view) return;
    var state = R.state, name = R.signerName();
    $("#signature-hint").textContent = R.nameBoxes() ? t("signature.hint.boxes", { name: name })
      : name ? t("signature.hint", { name: name }) : t("signature.hint.self");
    var dl = $("#summary");
    dl.textContent = "";
    var who = state.signer.relation === "self" && !name ? t("summary.consignee")
      : name + (state.signer.relation ? " · " + t("relation." + state.signer.relation) : "");
    [["summary.outcome", t("outcome." + state.outcome)], ["summary.signer", who]].forEach(function (row) {
      dl.appendChild(el("dt", { text: t(row[0]) }));
      dl.appendChild(el("dd", { text: row[1] }));
    });
    R.renderBoxes();
  }

  // A long name needs a wide pad: fill the screen and ask for landscape where the browser
  // lets us lock it; elsewhere the pad fills the screen and follows the phone's rotation.
  // The hint with the name sits inside the frame, so it stays in view.
  function enterFullscreen() {
    var frame = $("#pad-frame");
    frame.classList.add("fullscreen");
    document.body.classList.add("pad-open");
    $("#signature-done").hidden = false;
    $("#signature-fullscreen").hidden = true;
    var locked = Promise.resolve(false);
    if (frame.requestFullscreen) {
      locked = frame.requestFullscreen().then(function () {
        return screen.orientation && screen.orientation.lock ? screen.orientation.lock("landscape").then(function () { return true; }) : false;
      }).catch(function () { return false; });
    }
    locked.then(function (ok) { updateRotateHint(ok); R.pad.resize(); });
    R.pad.resize();
  }

  function updateRotateHint(locked) {
    $("#rotate-hint").hidden = locked || !$("#pad-frame").classList.contains("fullscreen") || window.innerWidth > window.innerHeight;
  }
  window.addEventListener("resize", function () { updateRotateHint(false); });

  function exitFullscreen() {
    $("#pad-frame").classList.remove("fullscreen");
    document.body.classList.remove("pad-open");
    $("#signature-done").hidden = true;
    $("#signature-fullscreen").hidden = false;
    $("#rotate-hint").hidden = true;
    if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(function () {});
    R.pad.resize();
    R.save();
  }

  R.setupPad = setupPad;
  R.padError = padError;
  R.renderSignScreen = renderSignScreen;
  R.exitFullscreen = exitFullscreen;
  R.renderers.push(renderSignScreen);
})(window.DSR);
