/* The recipient's sign page (/s/<token>), issue 12: one confirm screen (the goods, "有问题?"
 * for short/damaged/refused, who is signing, photos and OTP only when the policy asks) and
 * one sign screen (the pad, 确认签收). Issue 19: the privacy notice folds under the
 * confirm screen; location is asked only once its consent line is ticked (the phone's own
 * prompt follows), and the handwriting consent beside the pad is needed to submit.
 *
 * This file starts the page; the parts are plain scripts loaded before it, each adding to
 * the shared DSR (recipient/core.js): strings.js (the words), goods.js, signer.js,
 * photos.js, location.js, sign.js, submit.js. */
(function (R) {
  "use strict";
  var $ = DS.$;

  if (!R.usable) { R.i18n.apply(R.app); return; }

  function start(attempt) {
    DS.request("GET", R.api).then(function (r) {
      if (r.status !== 200) {
        var s = R.stateForResponse(r);
        if (s) { R.showState(s); return; }
        if (attempt < 3) { setTimeout(function () { start(attempt + 1); }, 1500); return; }
        R.showState("offline");
        return;
      }
      R.view = r.body;
      $("#loading").hidden = true;
      $("#state-screen").hidden = true;
      R.setupPad();
      R.restoreSigner();
      $("#refuse-reason").value = R.state.refuseReason || "";
      R.applyLanguage();
      R.go(R.state.step === "sign" ? "sign" : "confirm");
      R.renderPrivacy();
      if (R.state.consents.location) R.askLocation(); else R.renderLocation();
      R.takeEarlyPhotos();
    }, function () {
      if (attempt < 3) setTimeout(function () { start(attempt + 1); }, 1500);
      else R.showState("offline");
    });
  }

  R.i18n.apply(R.app);
  start(0);
})(window.DSR);
