/* Sign page: moving on from the confirm screen, the submit (the same submission_id again
 * when no answer came: the server answers a replay with the stored receipt), the server's
 * errors in their boxes, and the done screen with the receipt code. */
(function (R) {
  "use strict";
  if (!R.usable) return;
  var $ = DS.$, $all = DS.$all, t = R.t;

  function refreshView() {
    return DS.request("GET", R.api).then(function (r) {
      if (r.status === 200) { R.view = r.body; R.renderItems(); R.renderPhotos(); }
      else { var s = R.stateForResponse(r); if (s) R.showState(s); }
    }, function () {});
  }

  $("#to-sign").addEventListener("click", function () {
    var boxes = { items: R.checkItems()[0], photos: R.checkPhotos()[0], signer: R.checkSigner()[0] };
    Object.keys(boxes).forEach(function (box) { R.showError(box, boxes[box] || null); });
    var first = ["items", "photos", "signer"].filter(function (b) { return boxes[b]; })[0];
    if (first) { $(".error[data-for=" + first + "]").scrollIntoView({ block: "center" }); return; }
    R.go("sign");
  });
  $all("[data-back]").forEach(function (button) { button.addEventListener("click", function () { R.go("confirm"); }); });

  function submitBody() {
    R.save();
    return {
      submission_id: R.state.submissionId,
      outcome: R.state.outcome,
      signer: { name: R.signerName(), relation: R.state.signer.relation,
                phone: R.state.signer.relation !== "self" && R.state.signer.phone.trim() ? R.state.signer.phone.trim() : undefined },
      signature: { strokes: R.pad.toData(), canvas: R.pad.canvasInfo(), boxes: R.nameBoxes() || undefined },
      location: R.state.consents.location && R.state.location || null,
      photo_ids: R.state.photos.filter(function (p) { return p.photo_id; }).map(function (p) { return p.photo_id; }),
      items: R.state.outcome === "partial" ? R.reportedItems() : [],
      refuse_reason: R.state.outcome === "refused" ? R.state.refuseReason.trim() : "",
      client: { platform: "h5", user_agent: navigator.userAgent.slice(0, 500), time: new Date().toISOString() },
      consents: { notice_version: R.view.privacy.version, handwriting: !!R.state.consents.handwriting,
                  location: !!R.state.consents.location },
    };
  }

  var submitting = false;
  $("#submit").addEventListener("click", function () {
    if (submitting) return;
    if (!R.state.consents.handwriting) {       // no consent, no electronic signature: nothing is sent
      R.showError("signature", { code: "handwriting_consent_required" });
      return;
    }
    if (R.locationRequired() && !R.state.consents.location) {
      R.showError("submit", { code: "location_consent" });
      return;
    }
    var local = R.padError();
    R.showError("signature", local);
    if (local) return;                       // refused on the pad: nothing is sent
    if (R.locationRequired() && !R.state.location) {
      R.showError("submit", { code: "location_required" });
      R.renderLocation();
      window.scrollTo(0, 0);
      return;
    }
    var go_on = R.courierPhotosMissing() ? refreshView() : Promise.resolve();
    go_on.then(function () {
      if (R.courierPhotosMissing()) { R.showError("submit", { code: "photos_missing", variant: "courier" }); return; }
      submitting = true;
      var button = $("#submit");
      button.disabled = true;
      button.textContent = t("submit.busy");
      R.showError("submit", null);
      sendSubmit(submitBody(), 0).then(function () {
        submitting = false;
        button.disabled = false;
        button.textContent = t("submit");
      });
    });
  });

  // No answer is not a "no": the same submission_id goes again, and the server answers a
  // replay with the stored receipt.
  function sendSubmit(body, attempt) {
    var again = function () {
      if (attempt >= 4) { R.note("submit", "submit.offline"); return Promise.resolve(); }
      R.note("submit", "submit.retrying");
      return DS.sleep(1000 * Math.pow(2, attempt)).then(function () { return sendSubmit(body, attempt + 1); });
    };
    return DS.request("POST", R.api + "/submit", { json: body, timeout: 30000 }).then(function (r) {
      if (r.status === 201 || r.status === 200) { finish(r.body); return; }
      if (r.status >= 500 || r.status === 429) return again();
      var s = R.stateForResponse(r);
      if (s) { R.showState(s); return; }
      R.showError("submit", null);
      var errors = (r.body && r.body.errors) || [{ code: "_", message: (r.body && r.body.detail) || t("submit.failed") }];
      var byBox = {};
      errors.forEach(function (e) {
        var box = window.DSR_ERROR_BOX[e.code] || (/^signature/.test(e.code) || /^signature/.test(e.field || "") ? "signature" : "submit");
        if (e.code === "photos_missing") {
          if (R.view.policy.photos_by === "courier") { box = "submit"; e.variant = "courier"; }
          e.vars = { n: Math.max(R.photosNeeded() - body.photo_ids.length, 1) };
        }
        if (!byBox[box]) byBox[box] = e;            // one message per place
      });
      var unread = errors.filter(function (e) { return e.code === "signature_name_mismatch"; });
      if (unread.length) byBox.signature = R.nameMismatch(unread);   // flagged on the box(es) it names
      Object.keys(byBox).forEach(function (box) { R.showError(box, byBox[box]); });
      var firstConfirm = ["items", "photos", "signer"].filter(function (b) { return byBox[b]; })[0];
      if (firstConfirm) R.go("confirm");
    }, again);
  }

  function finish(result) {
    R.forget();
    var title = result.status === "partially_signed" ? "done.title.partial" : result.status === "refused" ? "done.title.refused" : "done.title";
    $("#done-title").dataset.i18n = title;
    $("#done-title").textContent = t(title);
    var done = $("#done");
    var code = result.receipt_code || result.receipt_id;
    done.textContent = code.length === 8 ? code.slice(0, 4) + " " + code.slice(4) : code;
    done.dataset.receiptId = result.receipt_id;
    done.dataset.code = code;
    $("#verify-link").href = "/v/" + encodeURIComponent(result.receipt_id);
    R.state.step = "done";
    $("#location-help").hidden = true;
    $all(".step").forEach(function (s) { s.hidden = s.dataset.step !== "done"; });
    R.showProgress();
  }
})(window.DSR);
