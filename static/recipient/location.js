/* Sign page: the location, asked once its consent line is ticked (the phone's own prompt
 * follows), in the background, never a step; the how-to when the phone said no under
 * `location: required`; and the privacy notice with its two consents (issue 19). */
(function (R) {
  "use strict";
  if (!R.usable) return;
  var $ = DS.$, t = R.t;
  var locationState = "unasked";   // unasked | asking | ok | denied | failed | none

  function askLocation() {
    if (!navigator.geolocation) { locationState = "none"; R.state.location = null; renderLocation(); return; }
    locationState = "asking";
    renderLocation();
    navigator.geolocation.getCurrentPosition(function (pos) {
      var c = pos.coords;
      R.state.location = { lat: c.latitude, lng: c.longitude, accuracy: Math.min(c.accuracy, 1000000), coord_system: "wgs84",
                         source: c.accuracy <= 100 ? "gps" : "network" };
      locationState = "ok";
      R.save();
      renderLocation();
      if (R.shownErrors.submit && R.shownErrors.submit.code === "location_required") R.showError("submit", null);
    }, function (err) {
      locationState = err.code === 1 ? "denied" : "failed";
      if (!R.state.location) R.state.location = null;
      renderLocation();
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function locationRequired() { return R.view.policy.location === "required"; }

  function renderLocation() {
    if (!R.view) return;
    var status = $("#location-status");
    if (R.state.location && R.state.consents.location) status.textContent = t("location.got", { m: Math.round(R.state.location.accuracy || 0) });
    else status.textContent = locationState === "asking" ? t("location.asking") : t("location.none");
    // The how-to is for a phone that said no after the consent was ticked, not before.
    $("#location-help").hidden = !(locationRequired() && R.state.consents.location && !R.state.location &&
                                   locationState !== "asking" && locationState !== "unasked" && R.state.step !== "done");
  }

  // --- privacy: the notice and the two consents (issue 19) -------------------------------

  function renderPrivacy() {
    if (!R.view || !R.view.privacy) return;
    $("#privacy-text").textContent = R.view.privacy.text;
    $("#privacy-handler").textContent = t("privacy.handler", { name: R.view.privacy.handler });
    var key = locationRequired() ? "consent.location.required" : "consent.location";
    $("#consent-location-text").dataset.i18n = key;
    $("#consent-location-text").textContent = t(key);
    $("#consent-location").checked = !!R.state.consents.location;
    $("#consent-handwriting").checked = !!R.state.consents.handwriting;
  }

  $("#consent-location").addEventListener("change", function (e) {
    R.state.consents.location = e.target.checked;
    if (e.target.checked) askLocation();
    else { R.state.location = null; locationState = "unasked"; }
    if (R.shownErrors.submit && R.shownErrors.submit.code === "location_consent") R.showError("submit", null);
    R.save();
    renderLocation();
  });

  $("#consent-handwriting").addEventListener("change", function (e) {
    R.state.consents.handwriting = e.target.checked;
    if (e.target.checked && R.shownErrors.signature && R.shownErrors.signature.code === "handwriting_consent_required") {
      R.showError("signature", null);
    }
    R.save();
  });

  $("#location-retry").addEventListener("click", askLocation);

  R.askLocation = askLocation;
  R.locationRequired = locationRequired;
  R.renderLocation = renderLocation;
  R.renderPrivacy = renderPrivacy;
  R.renderers.push(renderLocation, renderPrivacy);
})(window.DSR);
