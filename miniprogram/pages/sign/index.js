/* pages/sign: the recipient's sign page inside WeChat, opened by "扫普通链接二维码打开小程序"
 * on the courier's QR (options.q carries the /s/<token> URL) or by navigateTo with ?token=.
 *
 * The same steps as the H5 page (static/recipient/recipient.js): one confirm screen (the
 * goods, "有问题?" for short/damaged/refused, courier photos, who is signing, OTP and photos
 * only when the policy asks) and one sign screen (the pad, location, 确认签收), then the
 * done screen with the receipt code. Words and the box each error shows in come from the
 * H5 page through utils/strings.js, the pad's cheap check through utils/stroke-check.js
 * (both generated), so a dot is refused on the pad before anything is sent. wx.login gives
 * the recipient's wechat_code at submit. What was entered is kept in storage under the
 * token until the server accepts the sign-off.
 *
 * Consents (issue 19), as on the H5 page: the privacy notice from the sign view (`privacy`)
 * folds under the confirm screen with the location consent as one line; only ticking it
 * asks wx.getLocation (gcj02; WeChat's own permission prompt follows), never before. The
 * handwriting consent sits beside the pad, unticked: without it no signature is sent and
 * the page says the alternative. Submit carries `consents: {notice_version, handwriting,
 * location}`.
 *
 * Built with Component(), as WeChat allows for pages, so it runs under miniprogram-simulate
 * in tests exactly as it does in WeChat. */
const api = require("../../utils/api.js");
const { Translator } = require("../../utils/i18n.js");
const STRINGS = require("../../utils/strings.js");
const strokeCheck = require("../../utils/stroke-check.js");
const { tokenFrom } = require("../../utils/links.js");
const subscription = require("../../utils/subscribe.js");

const RELATIONS = ["self", "family", "colleague", "guard", "locker", "other"];

function uuid() {
  const hex = [];
  for (let i = 0; i < 32; i++) hex.push(Math.floor(Math.random() * 16).toString(16));
  hex[12] = "4";
  hex[16] = (8 + Math.floor(Math.random() * 4)).toString(16);
  const h = hex.join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

function freshForm() {
  return { submissionId: uuid(), outcome: "signed", lines: {}, refuseReason: "", problemOpen: false,
           signer: { name: "", relation: null, phone: "" }, photos: [], strokes: [], canvas: null,
           consents: { handwriting: false, location: false } };
}

Component({
  data: {
    screen: "loading",     // loading | state | confirm | sign | done
    stateName: "",
    s: {},                 // the strings of the current language
    step: "",
    meta: "",
    waybills: [],
    problemOpen: false,
    outcome: "signed",
    allowPartial: false,
    allowRefuse: false,
    refuseReason: "",
    problemHint: "",
    courierPhotosText: "",
    courierPhotosWarn: false,
    relations: [],
    relation: null,
    nameNeeded: false,
    signerName: "",
    signerPhone: "",
    otp: { needed: false, verified: false, hint: "", code: "", sending: false, left: 0 },
    photos: { shown: false, hint: "", list: [] },
    signatureHint: "",
    summary: [],
    locationText: "",
    privacy: { text: "", handler: "", open: false },
    consents: { handwriting: false, location: false },
    locationConsentText: "",
    errors: {},
    busy: false,
    done: { title: "", code: "", receiptId: "" },
    subscribe: { offered: false, text: "" },
  },

  methods: {
    onLoad(options) {
      this.i18n = new Translator("recipient");
      this.token = tokenFrom(options, "s");
      this.form = freshForm();
      this.view = null;
      this.shown = {};        // box → error shown there
      this.location = null;
      this.locationState = "unasked";    // unasked | asking | ok | denied
      this.setData({ s: this.i18n.table() });
      if (!this.token) { this.showState("unknown"); return Promise.resolve(); }
      this.path = "/sign/" + encodeURIComponent(this.token);
      this.storeKey = "ds:sign:" + this.token;
      const saved = this.load();
      if (saved) {
        // Only uploaded photos survive a reload; the temp files of unfinished ones are gone.
        saved.photos = (saved.photos || []).filter(p => p.status === "done" || p.status === "flagged");
        if (!saved.consents) saved.consents = { handwriting: false, location: false };
        this.form = saved;
      }
      return this.start(0);
    },

    onUnload() { clearInterval(this.otpTimer); this.unloaded = true; },

    t(key, vars) { return this.i18n.t(key, vars); },

    toggleLanguage() {
      this.i18n.toggle();
      this.setData({ s: this.i18n.table() });
      if (this.view) this.render();
    },

    // --- storage --------------------------------------------------------------------

    load() {
      try {
        const saved = wx.getStorageSync(this.storeKey);
        return saved && saved.submissionId ? saved : null;
      } catch (e) { return null; }
    },

    save() {
      const pad = this.pad();
      if (pad) { this.form.strokes = pad.toData(); this.form.canvas = pad.isEmpty() ? null : pad.canvasInfo(); }
      try { wx.setStorageSync(this.storeKey, this.form); } catch (e) { /* full: keep going */ }
    },

    forget() { try { wx.removeStorageSync(this.storeKey); } catch (e) { /* nothing kept */ } },

    pad() { return this.selectComponent ? this.selectComponent("#signature-pad") : null; },

    // --- loading and link states ------------------------------------------------------

    start(attempt) {
      return api.request("GET", this.path).then(r => {
        if (r.status === 200) {
          this.view = r.body;
          this.setData({ screen: "confirm" });
          this.render();
          const pad = this.pad();
          if (pad && this.form.strokes && this.form.strokes.length) pad.fromData(this.form.strokes, this.form.canvas);
          // Ticked before WeChat dropped the page: the consent stands, the position is asked again.
          if (this.form.consents.location) this.located = this.askLocation();
          return null;
        }
        const state = this.stateFor(r);
        if (state) return this.showState(state);
        if (attempt < 3) return api.sleep(1500).then(() => this.start(attempt + 1));
        return this.showState("offline");
      }, () => (attempt < 3 ? api.sleep(1500).then(() => this.start(attempt + 1)) : this.showState("offline")));
    },

    stateFor(r) {
      if (r.status === 404) return "unknown";
      if (r.status === 423) return "locked";
      if (r.status === 409) return "used";
      if (r.status === 410) return r.body && /link-used$/.test(r.body.type || "") ? "used" : "expired";
      return null;
    },

    showState(name) {
      if (name !== "offline" && this.storeKey) this.forget();
      this.setData({ screen: "state", stateName: name, step: "",
                     stateTitle: this.t("state." + name + ".title"), stateBody: this.t("state." + name + ".body") });
    },

    // --- rendering --------------------------------------------------------------------

    render() {
      const view = this.view, form = this.form;
      const detail = form.outcome === "partial";
      const waybills = view.waybills.map(w => ({
        number: w.number,
        title: this.t("items.waybill", { number: w.number }),
        to: this.t("items.to", { name: w.consignee.name_masked, phone: w.consignee.phone_masked }),
        items: w.items.map(item => {
          const entry = form.lines[w.number + "#" + item.line] || { received: item.qty, damaged: 0, note: "" };
          return { key: w.number + "#" + item.line, name: item.name, qty: this.t("items.qty", { qty: item.qty, unit: item.unit || "" }),
                   detail, received: entry.received === null ? "" : String(entry.received), damaged: String(entry.damaged || 0),
                   note: entry.note || "" };
        }),
      }));
      const missing = this.courierPhotosMissing();
      const need = this.photosNeeded();
      const optional = need === 0 && form.outcome !== "signed";
      const name = this.signerName();
      const who = form.signer.relation === "self" && !name ? this.t("summary.consignee")
        : name + (form.signer.relation ? " · " + this.t("relation." + form.signer.relation) : "");
      const otpNeeded = view.policy.otp === "required";
      this.setData({
        step: this.data.screen === "sign" ? this.t("step.sign") : this.data.screen === "confirm" ? this.t("step.confirm") : "",
        meta: this.t("items.meta", { tenant: view.tenant.name, doc: (view.doc_type || {}).name || "" }),
        waybills,
        problemOpen: form.problemOpen,
        outcome: form.outcome,
        allowPartial: !!view.policy.allow_partial,
        allowRefuse: !!view.policy.allow_refuse,
        refuseReason: form.refuseReason,
        problemHint: form.outcome === "partial" ? this.t("problem.partial.hint")
          : form.outcome === "refused" ? this.t("problem.refused.hint") : "",
        courierPhotosText: missing ? this.t("courier.photos.none")
          : view.courier_photos ? this.t("courier.photos", { n: view.courier_photos }) : "",
        courierPhotosWarn: missing,
        relations: RELATIONS.map(r => ({ value: r, label: this.t("relation." + r), checked: form.signer.relation === r })),
        relation: form.signer.relation,
        nameNeeded: this.nameNeeded(),
        phoneShown: !!form.signer.relation && form.signer.relation !== "self",
        signerName: form.signer.name,
        signerPhone: form.signer.phone,
        "otp.needed": otpNeeded,
        "otp.verified": !!view.otp_verified,
        "otp.hint": this.data.otp.hint || (otpNeeded ? this.t("otp.hint", { phone: view.waybills[0].consignee.phone_masked }) : ""),
        photos: { shown: need > 0 || optional || form.photos.length > 0,
                  hint: need ? this.t("photos.hint", { min: need }) : this.t("photos.hint.optional"),
                  list: form.photos.map(p => ({ id: p.id, status: p.status, thumb: p.thumb || "",
                                                caption: this.photoCaption(p) })) },
        signatureHint: name ? this.t("signature.hint", { name }) : this.t("signature.hint.self"),
        summary: [{ label: this.t("summary.outcome"), value: this.t("outcome." + form.outcome) },
                  { label: this.t("summary.signer"), value: who }],
      });
      this.renderPrivacy();
      this.renderLocation();
      this.renderErrors();
    },

    photoCaption(p) {
      if (p.status === "done") return this.t("photos.done");
      if (p.status === "failed") return this.t("photos.failed");
      if (p.status === "flagged") return p.retake ? this.t(p.retake) : "";
      return this.t("photos.uploading", { pct: p.pct || 0 });
    },

    // --- errors: one message per box, gone when fixed -----------------------------------

    errorText(e) {
      const key = "err." + e.code + (e.variant ? "." + e.variant : "");
      const text = this.t(key, e.vars);
      return text === key ? (e.message || this.t("error.generic")) : text;
    },

    showError(box, error) {
      if (error) this.shown[box] = error; else delete this.shown[box];
      this.renderErrors();
    },

    note(box, key, vars) { this.showError(box, { code: "_", message: this.t(key, vars) }); },

    renderErrors() {
      const errors = {};
      Object.keys(this.shown).forEach(box => {
        errors[box] = { text: this.errorText(this.shown[box]), code: this.shown[box].code };
      });
      this.setData({ errors });
    },

    // --- the goods and "有问题?" ----------------------------------------------------------

    findItem(number, line) {
      const w = this.view.waybills.find(x => x.number === number);
      return w ? w.items.find(i => i.line === line) : null;
    },

    reportedItems() {
      const out = [];
      this.view.waybills.forEach(w => w.items.forEach(item => {
        const e = this.form.lines[w.number + "#" + item.line];
        if (!e) return;
        out.push({ number: w.number, line: item.line, sku: item.sku || null,
                   received_qty: e.received === null ? 0 : e.received, damaged_qty: e.damaged || 0, note: e.note || "" });
      }));
      return out;
    },

    checkItems() {
      const form = this.form;
      if (form.outcome === "refused" && !form.refuseReason.trim()) return { code: "refuse_reason_required" };
      if (form.outcome === "partial") {
        const reported = this.reportedItems();
        const bad = reported.some(e => {
          const qty = this.findItem(e.number, e.line).qty;
          return !(e.received_qty >= 0 && e.received_qty <= qty && e.damaged_qty >= 0 && e.damaged_qty <= e.received_qty);
        });
        if (bad) return { code: "items_invalid" };
        if (reported.every(e => e.received_qty === this.findItem(e.number, e.line).qty && !e.damaged_qty)) {
          return { code: "_", message: this.t("items.report.none") };
        }
      }
      return null;
    },

    setOutcome(outcome) {
      this.form.outcome = outcome;
      if (outcome !== "partial") this.form.lines = {};
      this.showError("items", null);
      this.save();
      this.render();
    },

    openProblem() { this.form.problemOpen = true; this.setOutcome(this.view.policy.allow_partial ? "partial" : "refused"); },
    reportShort() { this.setOutcome("partial"); },
    refuse() { this.setOutcome("refused"); },
    cancelProblem() { this.form.problemOpen = false; this.setOutcome("signed"); },

    onRefuseReason(e) {
      this.form.refuseReason = e.detail.value;
      this.save();
      if (this.shown.items) this.showError("items", this.checkItems());
    },

    onItemInput(e) {
      const key = e.currentTarget.dataset.key, field = e.currentTarget.dataset.field;
      const [number, line] = key.split("#");
      const item = this.findItem(number, Number(line));
      const entry = this.form.lines[key] = this.form.lines[key] || { received: item.qty, damaged: 0, note: "" };
      const value = e.detail.value;
      entry[field] = field === "note" ? value : value === "" ? null : Number(value);
      this.save();
      if (this.shown.items) this.showError("items", this.checkItems());
    },

    // --- who is signing -------------------------------------------------------------------

    nameNeeded() {
      const relation = this.form.signer.relation;
      return !!relation && (relation !== "self" || !!this.view.name_needed_for_self);
    },

    signerName() { return this.nameNeeded() ? this.form.signer.name.trim() : ""; },

    onRelation(e) {
      this.form.signer.relation = e.detail.value;
      this.save();
      this.render();
      if (this.shown.signer) this.showError("signer", this.checkSigner());
    },

    onName(e) {
      this.form.signer.name = e.detail.value;
      this.save();
      if (this.shown.signer) this.showError("signer", this.checkSigner());
    },

    onPhone(e) { this.form.signer.phone = e.detail.value; this.save(); },

    checkSigner() {
      const signer = this.form.signer, policy = this.view.policy;
      if (!signer.relation) return { code: "relation_required" };
      if (policy.signer === "consignee_only" && signer.relation !== "self") return { code: "consignee_only" };
      if (this.nameNeeded() && !signer.name.trim()) return { code: "signer_name_required" };
      if (policy.otp === "required" && !this.view.otp_verified) return { code: "otp_required" };
      return null;
    },

    sendOtp() {
      this.setData({ "otp.sending": true });
      return api.request("POST", this.path + "/otp").then(r => {
        if (r.status === 200) {
          this.setData({ "otp.hint": this.t("otp.sent", { phone: r.body.sent_to }) });
          this.countdown(r.body.resend_after || 60);
          this.showError("signer", null);
          return;
        }
        this.setData({ "otp.sending": false });
        const state = this.stateFor(r);
        if (state) { this.showState(state); return; }
        this.showError("signer", this.otpProblem(r));
      }, () => { this.setData({ "otp.sending": false }); this.note("signer", "submit.offline"); });
    },

    /** A refused send in the H5 page's words: the resend wait, this delivery's or this phone's hourly limit. */
    otpProblem(r) {
      if (r.status === 429) {
        const wait = Number(r.header["Retry-After"] || r.header["retry-after"]) || 60;
        const which = r.body && r.body.code;
        if (which === "otp_phone_limit") return { code: "_", message: this.t("otp.limit.phone") };
        if (which === "otp_link_limit" || wait > 120) return { code: "_", message: this.t("otp.limit.hour") };
        this.countdown(wait);
        return { code: "_", message: this.t("otp.limit.wait", { s: wait }) };
      }
      return { code: "_", message: (r.body && r.body.detail) || this.t("submit.failed") };
    },

    countdown(seconds) {
      clearInterval(this.otpTimer);
      const tick = () => {
        if (seconds <= 0) { clearInterval(this.otpTimer); this.setData({ "otp.sending": false, "otp.left": 0 }); return; }
        this.setData({ "otp.sending": true, "otp.left": seconds, "otp.resend": this.t("otp.resend", { s: seconds }) });
        seconds -= 1;
      };
      tick();
      this.otpTimer = setInterval(tick, 1000);
    },

    onOtpCode(e) { this.setData({ "otp.code": e.detail.value }); },

    verifyOtp() {
      const code = String(this.data.otp.code || "").trim();
      if (!/^\d{6}$/.test(code)) { this.note("signer", "otp.format"); return Promise.resolve(); }
      return api.request("POST", this.path + "/otp/verify", { data: { code } }).then(r => {
        if (r.status === 200) { this.view.otp_verified = true; this.render(); this.showError("signer", this.checkSigner()); return; }
        const state = this.stateFor(r);
        if (state) { this.showState(state); return; }
        this.note("signer", "otp.wrong");
      }, () => this.note("signer", "submit.offline"));
    },

    // --- photos (when the policy asks the recipient, or to show a problem) ----------------

    photosNeeded() {
      const policy = this.view.policy, by = policy.photos_by || "recipient";
      if (by === "courier") return 0;
      if (by === "either") return Math.max(0, policy.photos_min - (this.view.courier_photos || 0));
      return policy.photos_min;
    },

    courierPhotosMissing() {
      return this.view.policy.photos_by === "courier" && (this.view.courier_photos || 0) < this.view.policy.photos_min;
    },

    /** The camera only (a gallery photo is no proof of this door), compressed by WeChat as
     * photo_upload: resized asks; one wx.uploadFile per photo. */
    takePhoto() {
      const policy = this.view.policy;
      if (this.form.photos.length >= policy.photos_max) { this.note("photos", "photos.max", { max: policy.photos_max }); return Promise.resolve(); }
      this.showError("photos", null);
      return new Promise(resolve => {
        wx.chooseMedia({
          count: 1, mediaType: ["image"], sourceType: ["camera"],
          sizeType: [policy.photo_upload === "original" ? "original" : "compressed"],
          success: res => resolve(Promise.all((res.tempFiles || []).map(f => this.upload(f.tempFilePath, 0)))),
          fail: () => resolve(),
        });
      });
    },

    upload(filePath, attempt, photo) {
      if (!photo) {
        photo = { id: uuid(), status: "uploading", pct: 0, photo_id: null, thumb: filePath, retake: null };
        this.form.photos.push(photo);
        this.render();
      }
      return api.upload(this.path + "/photos", filePath, { kind: "goods" }).then(r => {
        if (r.status === 201) {
          photo.photo_id = r.body.photo_id;
          photo.retake = this.retakeReason(r.body);
          photo.blocks = !!r.body.blocks_submit;
          photo.status = photo.retake ? "flagged" : "done";
          this.save();
          this.render();
          if (this.shown.photos) this.showError("photos", this.checkPhotos());
          return;
        }
        if (r.status >= 500 || r.status === 429) return this.retryUpload(filePath, attempt, photo);
        const state = this.stateFor(r);
        if (state) { this.showState(state); return; }
        this.removePhoto({ currentTarget: { dataset: { id: photo.id } } });
        this.showError("photos", ((r.body && r.body.errors) || [{ code: "photo_invalid" }])[0]);
      }, () => this.retryUpload(filePath, attempt, photo));
    },

    retryUpload(filePath, attempt, photo) {
      if (attempt >= 3) { photo.status = "failed"; this.render(); return null; }
      return api.sleep(1000 * Math.pow(2, attempt)).then(() => this.upload(filePath, attempt + 1, photo));
    },

    retakeReason(answer) {
      const found = (answer && answer.checks && answer.checks.anomalies) || [];
      const reasons = [["duplicate_photo", "photo.duplicate"], ["dark_photo", "photo.dark"], ["blurry_photo", "photo.blurry"]];
      const hit = reasons.find(r => found.indexOf(r[0]) >= 0);
      return hit ? hit[1] : null;
    },

    removePhoto(e) {
      const id = e.currentTarget.dataset.id;
      this.form.photos = this.form.photos.filter(p => p.id !== id);
      this.save();
      this.render();
    },

    checkPhotos() {
      const photos = this.form.photos;
      if (photos.some(p => p.status === "uploading")) return { code: "_", message: this.t("photos.wait") };
      if (photos.some(p => p.status === "flagged" && p.blocks)) return { code: "_", message: this.t("photos.blocked") };
      const done = photos.filter(p => p.status === "done" || p.status === "flagged").length;
      const need = this.photosNeeded();
      return done < need ? { code: "photos_missing", vars: { n: need - done } } : null;
    },

    // --- location: asked once its consent is ticked, never before ----------------------

    askLocation() {
      this.locationState = "asking";
      if (this.view) this.renderLocation();
      return api.location().then(found => {
        if (!this.form.consents.location) return null;   // withdrawn while WeChat was asking
        this.location = found;
        this.locationState = found ? "ok" : "denied";
        if (this.view) this.renderLocation();
        if (found && this.shown.submit && this.shown.submit.code === "location_required") this.showError("submit", null);
        return found;
      });
    },

    retryLocation() { return this.askLocation(); },

    locationRequired() { return this.view.policy.location === "required"; },

    renderLocation() {
      const consented = this.form.consents.location;
      const text = this.location && consented ? this.t("location.got", { m: Math.round(this.location.accuracy || 0) })
        : this.locationState === "asking" ? this.t("location.asking") : this.t("location.none");
      // The how-to is for a phone that said no after the consent was ticked, not before.
      const help = this.locationRequired() && consented && !this.location && this.locationState === "denied";
      this.setData({ locationText: text, locationHelp: help && this.data.screen !== "done" });
    },

    // --- privacy: the notice and the two consents (issue 19) -----------------------------

    renderPrivacy() {
      const privacy = this.view.privacy || {};
      this.setData({
        "privacy.text": privacy.text || "",
        "privacy.handler": privacy.handler ? this.t("privacy.handler", { name: privacy.handler }) : "",
        consents: { handwriting: !!this.form.consents.handwriting, location: !!this.form.consents.location },
        locationConsentText: this.t(this.locationRequired() ? "consent.location.required" : "consent.location"),
      });
    },

    togglePrivacy() { this.setData({ "privacy.open": !this.data.privacy.open }); },

    /** checkbox-group change: the value list holds "location" when ticked. */
    onLocationConsent(e) {
      const given = (e.detail.value || []).indexOf("location") >= 0;
      this.form.consents.location = given;
      if (given) this.located = this.askLocation();
      else { this.location = null; this.locationState = "unasked"; }
      if (this.shown.submit && this.shown.submit.code === "location_consent") this.showError("submit", null);
      this.save();
      this.renderPrivacy();
      this.renderLocation();
      return given ? this.located : Promise.resolve();
    },

    onHandwritingConsent(e) {
      this.form.consents.handwriting = (e.detail.value || []).indexOf("handwriting") >= 0;
      if (this.form.consents.handwriting && this.shown.signature && this.shown.signature.code === "handwriting_consent_required") {
        this.showError("signature", null);
      }
      this.save();
      this.renderPrivacy();
    },

    // --- moving on ------------------------------------------------------------------------

    go(screen) {
      this.setData({ screen });
      // The pad is measured where it is shown: hidden, its canvas has no size.
      const pad = this.pad();
      if (screen === "sign" && pad) pad.measure();
      this.render();
      this.save();
      if (wx.pageScrollTo) wx.pageScrollTo({ scrollTop: 0, duration: 0 });
    },

    toSign() {
      const boxes = { items: this.checkItems(), photos: this.checkPhotos(), signer: this.checkSigner() };
      Object.keys(boxes).forEach(box => this.showError(box, boxes[box]));
      if (boxes.items || boxes.photos || boxes.signer) return false;
      this.go("sign");
      return true;
    },

    back() { this.go("confirm"); },

    undo() { const pad = this.pad(); if (pad) pad.undo(); },
    clearPad() { const pad = this.pad(); if (pad) pad.clear(); },

    onPadChange() {
      this.save();
      if (this.shown.signature) this.showError("signature", this.padError());   // gone as soon as it is fixed
    },

    /** The H5 pad's check, with the server's thresholds from the sign view. */
    padError() {
      const pad = this.pad();
      if (!pad) return null;
      const name = this.signerName();
      const chars = (name.match(/[\u3400-\u9fff]/g) || []).length + Math.floor((name.match(/[A-Za-z]/g) || []).length / 4);
      const code = this.view.signature_limits ? strokeCheck(pad.toData(), pad.canvasInfo(), this.view.signature_limits, chars || 1)
        : pad.isEmpty() ? "signature_empty" : null;
      return code ? { code } : null;
    },

    refreshView() {
      return api.request("GET", this.path).then(r => {
        if (r.status === 200) { this.view = r.body; this.render(); }
        else { const state = this.stateFor(r); if (state) this.showState(state); }
      }, () => null);
    },

    submitBody(wechatCode) {
      this.save();
      const form = this.form, pad = this.pad();
      const relation = form.signer.relation;
      return {
        submission_id: form.submissionId,
        outcome: form.outcome,
        signer: { name: this.signerName(), relation,
                  phone: relation !== "self" && form.signer.phone.trim() ? form.signer.phone.trim() : undefined },
        signature: { strokes: pad.toData(), canvas: pad.canvasInfo() },
        location: form.consents.location && this.location || null,
        photo_ids: form.photos.filter(p => p.photo_id).map(p => p.photo_id),
        items: form.outcome === "partial" ? this.reportedItems() : [],
        refuse_reason: form.outcome === "refused" ? form.refuseReason.trim() : "",
        client: api.client(),
        wechat_code: wechatCode || undefined,
        consents: { notice_version: this.view.privacy.version, handwriting: !!form.consents.handwriting,
                    location: !!form.consents.location },
      };
    },

    submit() {
      if (this.data.busy) return Promise.resolve();
      if (!this.form.consents.handwriting) {           // no consent, no electronic signature: nothing is sent
        this.showError("signature", { code: "handwriting_consent_required" });
        return Promise.resolve();
      }
      if (this.locationRequired() && !this.form.consents.location) {
        this.showError("submit", { code: "location_consent" });
        return Promise.resolve();
      }
      const local = this.padError();
      this.showError("signature", local);
      if (local) return Promise.resolve();               // refused on the pad: nothing is sent
      if (this.locationRequired() && !this.location) {
        this.showError("submit", { code: "location_required" });
        this.renderLocation();
        return Promise.resolve();
      }
      const ready = this.courierPhotosMissing() ? this.refreshView() : Promise.resolve();
      return ready.then(() => {
        if (this.courierPhotosMissing()) { this.showError("submit", { code: "photos_missing", variant: "courier" }); return null; }
        this.setData({ busy: true });
        this.showError("submit", null);
        // wx.login never blocks a sign-off: without a code the evidence just lacks the openid.
        return api.login().catch(() => null)
          .then(code => this.sendSubmit(this.submitBody(code), 0))
          .then(() => this.setData({ busy: false }));
      });
    },

    // No answer is not a "no": the same submission_id goes again, and the server answers a
    // replay with the stored receipt.
    sendSubmit(body, attempt) {
      const again = () => {
        if (attempt >= 4) { this.note("submit", "submit.offline"); return null; }
        this.note("submit", "submit.retrying");
        return api.sleep(1000 * Math.pow(2, attempt)).then(() => this.sendSubmit(body, attempt + 1));
      };
      return api.request("POST", this.path + "/submit", { data: body, timeout: 30000 }).then(r => {
        if (r.status === 201 || r.status === 200) { this.finish(r.body); return null; }
        if (r.status >= 500 || r.status === 429) return again();
        const state = this.stateFor(r);
        if (state) { this.showState(state); return null; }
        this.showError("submit", null);
        const errors = (r.body && r.body.errors) || [{ code: "_", message: (r.body && r.body.detail) || this.t("submit.failed") }];
        const byBox = {};
        errors.forEach(e => {
          e = Object.assign({}, e);
          let box = STRINGS.errorBox[e.code] || (/^signature/.test(e.code) || /^signature/.test(e.field || "") ? "signature" : "submit");
          if (e.code === "photos_missing") {
            if (this.view.policy.photos_by === "courier") { box = "submit"; e.variant = "courier"; }
            e.vars = { n: Math.max(this.photosNeeded() - body.photo_ids.length, 1) };
          }
          if (!byBox[box]) byBox[box] = e;            // one message per place
        });
        Object.keys(byBox).forEach(box => this.showError(box, byBox[box]));
        if (["items", "photos", "signer"].some(b => byBox[b])) this.go("confirm");
        return null;
      }, again);
    },

    finish(result) {
      this.forget();
      const title = result.status === "partially_signed" ? "done.title.partial"
        : result.status === "refused" ? "done.title.refused" : "done.title";
      const code = result.receipt_code || result.receipt_id;
      this.setData({
        screen: "done", step: "", locationHelp: false,
        done: { title: this.t(title), code: code.length === 8 ? code.slice(0, 4) + " " + code.slice(4) : code,
                receiptId: result.receipt_id },
        subscribe: { offered: subscription.offered(), text: "" },
      });
    },

    /** The next "nobody home" question in WeChat instead of an SMS (utils/subscribe.js). */
    subscribeConsent() {
      return subscription.ask().then(on => this.setData({ "subscribe.text": this.t(on ? "subscribe.on" : "subscribe.off") }));
    },

    copyCode() { wx.setClipboardData({ data: this.data.done.code.replace(/ /g, "") }); },
  },
});
