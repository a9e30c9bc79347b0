/* Sign page, confirm screen: the recipient's photos, when the policy asks the recipient for
 * them or to show a problem. Each is made small in the browser (static/js/photo.js), sent one
 * per request with retries, and the server's quality checks show on its thumbnail (重拍). */
(function (R) {
  "use strict";
  if (!R.usable) return;
  var $ = DS.$, $all = DS.$all, el = DS.el, t = R.t;
  var uploads = {};         // client id → {xhr, blob, objectUrl} while uploading
  var replacing = null;     // client id of the photo being retaken

  function photosNeeded() {
    var by = R.view.policy.photos_by || "recipient", least = R.view.policy.photos_min;
    if (by === "courier") return 0;
    if (by === "either") return Math.max(0, least - (R.view.courier_photos || 0));
    return least;
  }

  // Files picked before the sign view has arrived wait for it: addPhoto needs the policy
  // (photos_max, photo_upload). Dropping them here was the "stalled" photo of the headless
  // tests — the file input exists and takes files as soon as the HTML is parsed, while
  // GET /sign/<token> may still be on its way on a loaded box.
  var early = [];
  var photoInput = $("#photo-input");
  photoInput.addEventListener("change", function () {
    var files = Array.prototype.slice.call(photoInput.files || []);
    photoInput.value = "";
    if (!R.view) { early = early.concat(files); return; }
    files.forEach(function (file) { addPhoto(file); });
  });

  /** Called once the sign view is in: the photos picked before it. */
  function takeEarlyPhotos() {
    var files = early;
    early = [];
    files.forEach(function (file) { addPhoto(file); });
  }

  function addPhoto(file) {
    R.showError("photos", null);
    var target = replacing;
    replacing = null;
    if (target) removePhoto(target);
    if (R.state.photos.length >= R.view.policy.photos_max) { R.note("photos", "photos.max", { max: R.view.policy.photos_max }); return; }
    var photo = { id: R.uuid(), status: "preparing", pct: 0, photo_id: null, sha256: null, thumb: null, retake: null };
    R.state.photos.push(photo);
    uploads[photo.id] = { file: file };
    renderPhotos();
    DS.photo.prepare(file, R.view.policy.photo_upload || "original").then(function (prepared) {
      var pending = uploads[photo.id];
      if (!pending) return;
      pending.blob = prepared.blob;
      pending.clientExif = prepared.clientExif;
      pending.objectUrl = URL.createObjectURL(prepared.blob);
      makeThumb(pending.objectUrl).then(function (dataUrl) { photo.thumb = dataUrl; R.save(); });
      photo.status = "uploading";
      renderPhotos();
      upload(photo, 0);
    });
  }

  function makeThumb(url) {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () {
        var k = 192 / Math.max(img.naturalWidth, img.naturalHeight, 1);
        var c = document.createElement("canvas");
        c.width = Math.max(1, Math.round(img.naturalWidth * k));
        c.height = Math.max(1, Math.round(img.naturalHeight * k));
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        try { resolve(c.toDataURL("image/jpeg", 0.7)); } catch (e) { resolve(null); }
      };
      img.onerror = function () { resolve(null); };
      img.src = url;
    });
  }

  // One photo per request (as wx.uploadFile sends); network failures retry with backoff.
  function upload(photo, attempt) {
    var pending = uploads[photo.id];
    if (!pending) return;
    var form = new FormData();
    form.append("file", pending.blob, "photo.jpg");
    form.append("kind", "goods");
    form.append("client_exif", JSON.stringify(pending.clientExif || {}));
    var xhr = new XMLHttpRequest();
    pending.xhr = xhr;
    xhr.open("POST", R.api + "/photos");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.timeout = 120000;
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { photo.pct = Math.round((e.loaded / e.total) * 100); renderPhotoStatus(photo); }
    };
    var retry = function () {
      if (!uploads[photo.id]) return;
      if (attempt < 3) {
        photo.status = "uploading"; photo.pct = 0; renderPhotoStatus(photo);
        setTimeout(function () { upload(photo, attempt + 1); }, 1000 * Math.pow(2, attempt));
      } else {
        photo.status = "failed"; renderPhotos();
      }
    };
    xhr.onerror = xhr.ontimeout = retry;
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        photo.photo_id = body.photo_id; photo.sha256 = body.sha256;
        photo.retake = DS.photo.retakeReason(body);
        photo.blocks = !!body.blocks_submit;
        photo.status = photo.retake ? "flagged" : "done";
        R.save(); renderPhotos();
        if (R.shownErrors.photos) R.showError("photos", checkPhotos()[0]);
        return;
      }
      if (xhr.status >= 500 || xhr.status === 429) { retry(); return; }
      var s = R.stateForResponse({ status: xhr.status, body: body });
      if (s) { R.showState(s); return; }
      removePhoto(photo.id);
      R.showError("photos", ((body && body.errors) || [{ code: "photo_invalid" }])[0]);
    };
    xhr.send(form);
  }

  function removePhoto(id) {
    var pending = uploads[id];
    if (pending) {
      if (pending.xhr && pending.xhr.readyState !== 4) pending.xhr.abort();
      if (pending.objectUrl) URL.revokeObjectURL(pending.objectUrl);
      delete uploads[id];
    }
    R.state.photos = R.state.photos.filter(function (p) { return p.id !== id; });
    R.save();
    renderPhotos();
  }

  function renderPhotos() {
    if (!R.view) return;
    var need = photosNeeded();
    var optional = need === 0 && R.state.outcome !== "signed";
    $("#photos-panel").hidden = need === 0 && !optional && !R.state.photos.length;
    $("#photos-hint").textContent = need ? t("photos.hint", { min: need }) : t("photos.hint.optional");
    var box = $("#thumbs");
    box.textContent = "";
    // Only uploaded photos survive a reload; the files of unfinished ones are gone.
    R.state.photos = R.state.photos.filter(function (p) { return p.status === "done" || p.status === "flagged" || uploads[p.id]; });
    R.state.photos.forEach(function (photo) {
      var pending = uploads[photo.id];
      var src = pending && pending.objectUrl ? pending.objectUrl : photo.thumb;
      var figure = el("figure", { class: "thumb", dataset: { testid: "photo-thumb", status: photo.status, photoId: photo.photo_id || "" } },
        src ? el("img", { src: src, alt: t("photos.title") }) : el("div", { class: "thumb-blank" }),
        el("progress", { max: 100, value: photo.pct || 0, hidden: photo.status !== "uploading", "aria-label": t("photos.uploading", { pct: photo.pct || 0 }) }),
        el("figcaption", { class: "thumb-status", dataset: { testid: "photo-status" } }),
        el("div", { class: "thumb-tools" },
          photo.status === "failed" ? el("button", { type: "button", class: "btn small", text: t("photos.retry"),
            dataset: { testid: "photo-retry" }, on: { click: function () { photo.status = "uploading"; renderPhotos(); upload(photo, 0); } } }) : null,
          el("button", { type: "button", class: "btn small" + (photo.status === "flagged" ? " primary" : ""), text: t("photos.retake"),
            dataset: { testid: "photo-retake" }, on: { click: function () { replacing = photo.id; photoInput.click(); } } }),
          el("button", { type: "button", class: "btn small", text: t("photos.remove"), dataset: { testid: "photo-remove" },
            on: { click: function () { removePhoto(photo.id); } } })));
      box.appendChild(figure);
      renderPhotoStatus(photo, figure);
    });
  }

  function renderPhotoStatus(photo, figure) {
    figure = figure || $all("[data-testid=photo-thumb]").filter(function (f) { return f._photo === photo.id; })[0];
    if (!figure) return;
    figure._photo = photo.id;
    figure.dataset.status = photo.status;
    var bar = figure.querySelector("progress");
    bar.value = photo.pct || 0;
    bar.hidden = photo.status !== "uploading";
    var text = { done: t("photos.done"), failed: t("photos.failed"), preparing: t("photos.preparing"),
                 flagged: photo.retake ? t(photo.retake) : "" }[photo.status];
    figure.querySelector(".thumb-status").textContent = text === undefined ? t("photos.uploading", { pct: photo.pct || 0 }) : text;
  }

  function checkPhotos() {
    if (R.state.photos.some(function (p) { return p.status === "uploading" || p.status === "preparing"; })) {
      return [{ code: "_", message: t("photos.wait") }];
    }
    if (R.state.photos.some(function (p) { return p.status === "flagged" && p.blocks; })) return [{ code: "_", message: t("photos.blocked") }];
    var done = R.state.photos.filter(function (p) { return p.status === "done" || p.status === "flagged"; }).length;
    var need = photosNeeded();
    if (done < need) return [{ code: "photos_missing", vars: { n: need - done } }];
    return [];
  }

  function courierPhotosMissing() {
    return R.view.policy.photos_by === "courier" && (R.view.courier_photos || 0) < R.view.policy.photos_min;
  }


  R.photosNeeded = photosNeeded;
  R.takeEarlyPhotos = takeEarlyPhotos;
  R.renderPhotos = renderPhotos;
  R.checkPhotos = checkPhotos;
  R.courierPhotosMissing = courierPhotosMissing;
  R.renderers.push(renderPhotos);
})(window.DSR);
