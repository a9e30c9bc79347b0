/* Sign page, confirm screen: who is signing (relation, name, phone) and, when the policy asks
 * for it, the phone code (OTP) that proves them. */
(function (R) {
  "use strict";
  if (!R.usable) return;
  var $ = DS.$, $all = DS.$all, t = R.t;

  var nameInput = $("#signer-name"), phoneInput = $("#signer-phone");
  nameInput.addEventListener("input", function () {
    R.state.signer.name = nameInput.value; R.save();
    if (R.shownErrors.signer) R.showError("signer", checkSigner()[0]);
  });
  phoneInput.addEventListener("input", function () { R.state.signer.phone = phoneInput.value; R.save(); });
  $all("#signer-relation input").forEach(function (radio) {
    radio.addEventListener("change", function () {
      R.state.signer.relation = radio.value; R.save(); renderSigner();
      if (R.shownErrors.signer) R.showError("signer", checkSigner()[0]);
    });
  });

  function nameNeeded() {
    var relation = R.state.signer.relation;
    return !!relation && (relation !== "self" || R.view.name_needed_for_self);
  }

  function renderSigner() {
    var relation = R.state.signer.relation;
    $("#name-field").hidden = !nameNeeded();
    $("#phone-field").hidden = !relation || relation === "self";
    renderOtp();
  }

  function otpRequired() { return R.view.policy.otp === "required"; }

  var otpTimer = null;
  var sentTo = null;         // the masked phone the last code went to: all the page shows of it
  var ownPhone = "";         // the number given for it, in memory only, for a resend
  $("#otp-send").addEventListener("click", function () {
    var button = $("#otp-send"), own = sentTo ? ownPhone : $("#otp-phone").value.trim();
    button.disabled = true;
    // On an assisted link the person receiving may name their own phone; otherwise the consignee's.
    var body = R.view.assisted && own ? { json: { phone: own } } : {};
    DS.request("POST", R.api + "/otp", body).then(function (r) {
      if (r.status === 200) {
        sentTo = r.body.sent_to;
        ownPhone = own;
        $("#otp-phone").value = "";          // masked from here on: only sent_to is shown
        renderOtp();
        countdown(r.body.resend_after || 60);
        $("#otp-code").focus();
        R.showError("signer", null);
        return;
      }
      button.disabled = false;
      var s = R.stateForResponse(r);
      if (s) return R.showState(s);
      R.showError("signer", otpProblem(r));
    }, function () { button.disabled = false; R.note("signer", "submit.offline"); });
  });

  /** A refused send in plain words: the resend wait, this delivery's or this phone's hourly limit, or a bad number. */
  function otpProblem(r) {
    if (r.status === 429) {
      var wait = Number(r.headers.get("Retry-After")) || 60;
      var which = r.body && r.body.code;
      if (which === "otp_phone_limit") return { code: "_", message: t("otp.limit.phone") };
      if (which === "otp_link_limit") return { code: "_", message: t("otp.limit.hour") };
      if (wait <= 120) { countdown(wait); return { code: "_", message: t("otp.limit.wait", { s: wait }) }; }
      return { code: "_", message: t("otp.limit.hour") };
    }
    var first = ((r.body && r.body.errors) || [])[0];
    if (first) return first;
    return { code: "_", message: (r.body && r.body.detail) || t("submit.failed") };
  }

  function countdown(seconds) {
    var button = $("#otp-send");
    clearInterval(otpTimer);
    button.disabled = true;
    var tick = function () {
      if (seconds <= 0) { clearInterval(otpTimer); button.disabled = false; button.textContent = t("otp.send"); return; }
      button.textContent = t("otp.resend", { s: seconds });
      seconds -= 1;
    };
    tick();
    otpTimer = setInterval(tick, 1000);
  }

  $("#otp-verify").addEventListener("click", function () {
    var code = $("#otp-code").value.trim();
    if (!/^\d{6}$/.test(code)) { R.note("signer", "otp.format"); return; }
    DS.request("POST", R.api + "/otp/verify", { json: { code: code } }).then(function (r) {
      if (r.status === 200) { R.view.otp_verified = true; renderOtp(); R.showError("signer", checkSigner()[0]); return; }
      var s = R.stateForResponse(r);
      if (s) return R.showState(s);
      R.note("signer", "otp.wrong");
    }, function () { R.note("signer", "submit.offline"); });
  });

  function renderOtp() {
    var view = R.view;
    var panel = $("#otp-panel");
    panel.hidden = !otpRequired();
    if (!otpRequired()) return;
    var phone = view.waybills[0].consignee.phone_masked;
    $("#otp-hint").textContent = sentTo ? t("otp.sent", { phone: sentTo }) : t("otp.hint", { phone: phone });
    $("#otp-own-field").hidden = $("#otp-own-hint").hidden = !view.assisted || !!sentTo || !!view.otp_verified;
    $("#otp-ok").hidden = !view.otp_verified;
    $("#otp-send").hidden = $("#otp-verify").hidden = !!view.otp_verified;
    $("#otp-code").closest("label").hidden = !!view.otp_verified;
  }

  function checkSigner() {
    var errors = [], state = R.state;
    if (!state.signer.relation) errors.push({ code: "relation_required" });
    else if (R.view.policy.signer === "consignee_only" && state.signer.relation !== "self") errors.push({ code: "consignee_only" });
    if (nameNeeded() && !state.signer.name.trim()) errors.push({ code: "signer_name_required" });
    if (otpRequired() && !R.view.otp_verified) errors.push({ code: "otp_required" });
    return errors;
  }

  function restoreSigner() {
    var signer = R.state.signer;
    nameInput.value = signer.name;
    phoneInput.value = signer.phone || "";
    $all("#signer-relation input").forEach(function (r) { r.checked = r.value === signer.relation; });
  }

  R.nameNeeded = nameNeeded;
  R.checkSigner = checkSigner;
  R.restoreSigner = restoreSigner;
  R.signerName = function () { return nameNeeded() ? R.state.signer.name.trim() : ""; };
  R.renderers.push(renderSigner);
})(window.DSR);
