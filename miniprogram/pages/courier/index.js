/* pages/courier: the courier's side in WeChat, the same steps as the H5 /courier app
 * (static/courier/courier.js) with the same words (utils/strings.js, generated).
 *
 * Sign-in is wx.login → POST /auth/wechat; an openid not bound yet (403 binding-required)
 * shows the one-time binding form (company code, username, password → POST
 * /auth/wechat/bind). Then the day's waybills (open ones, or done today) grouped by
 * consignee, several of one consignee into one QR ("一起签收", or ticked one by one; POST
 * /sign-links with the courier's GCJ-02 position), courier photos first when the doc type
 * asks the courier for them (wx.chooseMedia + wx.uploadFile to /sign-links/<token>/photos;
 * a retake withdraws the old one), and the QR until GET .../status says signed (polled
 * about once a second), when the signed banner replaces it. */
const api = require("../../utils/api.js");
const { Translator } = require("../../utils/i18n.js");

const OPEN = "created,assigned,out_for_delivery";
const DONE = "signed,partially_signed,refused";
const SESSION = "ds:courier";

function consigneeKey(w) { return [w.consignee.name, w.consignee.phone, w.consignee.address].join("|"); }
function isOpen(status) { return OPEN.split(",").indexOf(status) >= 0; }
function todayStart() { const d = new Date(); d.setHours(0, 0, 0, 0); return d.toISOString(); }

Component({
  data: {
    screen: "starting",     // starting | bind | list | qr
    s: {},
    who: "",
    error: "",
    bind: { tenant: "", username: "", password: "" },
    filter: "open",
    waybills: [],
    selectedCount: 0,
    makeLabel: "",
    more: false,
    link: null,
    qrSrc: "",
    countdown: "",
    expired: false,
    closed: false,
    photos: { needed: false, hint: "", list: [], missing: 0 },
    banner: null,
  },

  methods: {
    onLoad() {
      this.i18n = new Translator("courier");
      this.selected = {};
      this.rows = [];
      this.courierPhotos = [];
      this.setData({ s: this.i18n.table(), "bind.tenant": api.settings.tenant || "" });
      this.session = this.readSession();
      if (this.session) return Promise.resolve(this.openList());
      return this.signIn();
    },

    onUnload() { this.stopQr(); },

    t(key, vars) { return this.i18n.t(key, vars); },

    readSession() {
      try {
        const s = wx.getStorageSync(SESSION);
        return s && s.token && new Date(s.expires_at) > new Date() ? s : null;
      } catch (e) { return null; }
    },

    call(method, path, data) {
      return api.request(method, path, { data, token: this.session.token }).then(r => {
        if (r.status === 401) { this.logout(); throw new Error("unauthorized"); }
        return r;
      });
    },

    // --- sign-in --------------------------------------------------------------------

    signIn() {
      this.setData({ screen: "starting", error: "" });
      return api.login().then(code => api.request("POST", "/auth/wechat", { data: { tenant: api.settings.tenant, code } }))
        .then(r => {
          if (r.status === 200) return this.signedIn(r.body, api.settings.tenant);
          if (r.status === 403 && r.body && /binding-required$/.test(r.body.type || "")) {
            this.setData({ screen: "bind" });
            return null;
          }
          this.setData({ screen: "bind", error: (r.body && r.body.detail) || this.t("login.failed") });
          return null;
        }, () => this.setData({ screen: "bind", error: this.t("offline") }));
    },

    onBindInput(e) { this.setData({ ["bind." + e.currentTarget.dataset.field]: e.detail.value }); },

    /** One-time binding: the password proves who this WeChat account belongs to. */
    bindAccount() {
      const b = this.data.bind;
      const body = { tenant: (b.tenant || "").trim(), username: (b.username || "").trim(), password: b.password || "" };
      if (!body.tenant || !body.username || !body.password) { this.setData({ error: this.t("login.missing") }); return Promise.resolve(); }
      return api.login().then(code => api.request("POST", "/auth/wechat/bind", { data: Object.assign({ code }, body) }))
        .then(r => {
          if (r.status === 200) { this.setData({ "bind.password": "" }); return this.signedIn(r.body, body.tenant); }
          this.setData({ error: r.status === 429 ? this.t("login.limited")
            : r.status === 401 ? this.t("login.failed") : (r.body && r.body.detail) || this.t("login.failed") });
          return null;
        }, () => this.setData({ error: this.t("offline") }));
    },

    signedIn(body, tenant) {
      this.session = { token: body.token, expires_at: body.expires_at, user: body.user, tenant };
      try { wx.setStorageSync(SESSION, this.session); } catch (e) { /* keep it in memory */ }
      return this.openList();
    },

    logout() {
      if (this.session) api.request("POST", "/auth/logout", { token: this.session.token }).catch(() => null);
      this.stopQr();
      this.session = null;
      try { wx.removeStorageSync(SESSION); } catch (e) { /* nothing kept */ }
      this.setData({ screen: "bind" });
    },

    // --- the day's waybills -------------------------------------------------------------

    openList() {
      this.stopQr();
      this.selected = {};
      const user = this.session.user || {};
      this.setData({ screen: "list", who: user.display_name || user.username || "", error: "" });
      this.position = api.location(3000);   // asked early, so making a QR rarely waits on it
      return this.loadList(null);
    },

    setFilter(e) { this.setData({ filter: e.currentTarget.dataset.filter }); this.selected = {}; return this.loadList(null); },

    loadMore() { return this.loadList(this.nextCursor); },

    loadList(cursor) {
      const q = ["limit=50"];
      if (this.data.filter === "open") q.push("status=" + OPEN);
      if (this.data.filter === "done") { q.push("status=" + DONE); q.push("signed_from=" + encodeURIComponent(todayStart())); }
      if (cursor) q.push("cursor=" + encodeURIComponent(cursor));
      return this.call("GET", "/waybills?" + q.join("&")).then(r => {
        if (r.status !== 200) { this.setData({ error: (r.body && r.body.detail) || this.t("offline") }); return; }
        if (!cursor) this.rows = [];
        this.rows = this.rows.concat(r.body.items);
        this.nextCursor = r.body.next_cursor;
        this.setData({ more: !!this.nextCursor, error: "" });
        this.renderList();
      }, err => { if (err.message !== "unauthorized") this.setData({ error: this.t("offline") }); });
    },

    /** Waybills of one consignee sit together under one header; with two or more open, the
     * header's "一起签收" makes one QR for all of them in one tap. */
    renderList() {
      const numbers = Object.keys(this.selected);
      const key = numbers.length ? consigneeKey(this.selected[numbers[0]]) : null;
      const groups = [], byKey = {};
      this.rows.forEach(w => {
        const k = consigneeKey(w);
        if (!byKey[k]) groups.push(byKey[k] = { key: k, name: w.consignee.name, phone: w.consignee.phone || "", rows: [] });
        const open = isOpen(w.status), other = key !== null && k !== key;
        byKey[k].rows.push({ number: w.number, status: w.status, statusText: this.t("status." + w.status),
                             consignee: w.consignee.name + " · " + (w.consignee.phone || ""), address: w.consignee.address || "",
                             items: this.t("list.items", { n: w.items.reduce((n, i) => n + Number(i.qty || 0), 0) }),
                             checked: !!this.selected[w.number], disabled: !open || other,
                             why: !open ? this.t("why.closed") : other ? this.t("why.other") : "" });
      });
      groups.forEach(g => {
        const open = g.rows.filter(r => isOpen(r.status)).length;
        g.count = g.phone + " · " + this.t("group.count", { n: g.rows.length });
        g.together = open >= 2 ? this.t("group.together", { n: open }) : "";
      });
      this.setData({ groups, waybills: [].concat(...groups.map(g => g.rows)), selectedCount: numbers.length,
                     makeLabel: numbers.length ? this.t("list.make.n", { n: numbers.length }) : this.t("list.make"),
                     empty: this.rows.length === 0 });
    },

    signTogether(e) {
      const key = e.currentTarget.dataset.key;
      this.selected = {};
      this.rows.forEach(w => { if (consigneeKey(w) === key && isOpen(w.status)) this.selected[w.number] = w; });
      this.renderList();
      return this.makeQr();
    },

    /** One QR is for one consignee: the first waybill picked decides whose; the others'
     * grey out and a tick on one of them is not taken. */
    onSelect(e) {
      const chosen = (e.detail.value || []).filter(n => this.rows.some(w => w.number === n && isOpen(w.status)));
      const before = Object.keys(this.selected).filter(n => chosen.indexOf(n) >= 0);
      const ordered = before.concat(chosen.filter(n => before.indexOf(n) < 0));
      this.selected = {};
      let key = null;
      ordered.forEach(n => {
        const w = this.rows.find(x => x.number === n);
        if (key === null) key = consigneeKey(w);
        if (consigneeKey(w) === key) this.selected[n] = w;
      });
      this.renderList();
    },

    // --- the QR ---------------------------------------------------------------------------

    makeQr() {
      const numbers = Object.keys(this.selected);
      if (!numbers.length) return Promise.resolve();
      return Promise.resolve(this.position || null).then(where => {
        // The link keeps where the courier stood (no `source`: that is the recipient's field).
        const at = where && { lat: where.lat, lng: where.lng, accuracy: Math.min(where.accuracy, 100000),
                              coord_system: where.coord_system };
        return this.call("POST", "/sign-links", { waybills: numbers, courier_location: at || null });
      }).then(r => {
        if (r.status !== 201) {
          const mismatch = r.body && r.body.errors && r.body.errors.some(e => e.code === "consignee_mismatch");
          this.setData({ error: mismatch ? this.t("list.mismatch") : (r.body && r.body.detail) || this.t("offline") });
          return;
        }
        this.showQr(r.body);
      }, err => { if (err.message !== "unauthorized") this.setData({ error: this.t("offline") }); });
    },

    renewQr() { this.selected = {}; (this.link.waybills || []).forEach(n => { this.selected[n] = { number: n }; }); return this.makeQr(); },

    backToList() { return this.openList(); },

    showQr(created) {
      this.stopQr();
      this.link = created;
      this.courierPhotos = [];
      const rules = created.photos || {};
      const first = rules.photos_by === "courier" && rules.photos_min > 0;
      this.setData({ screen: "qr", link: { token: created.token, url: created.url, waybills: created.waybills },
                     qrSrc: created.qr_png + "?size=720", banner: null, expired: false, closed: false, showPhotos: first, error: "" });
      this.renderPhotos();
      this.tick();
      this.clock = setInterval(() => this.tick(), 1000);
      this.poll();
    },

    tick() {
      if (!this.link) return;
      const left = Math.max(0, Math.floor((new Date(this.link.expires_at) - Date.now()) / 1000));
      const mm = Math.floor(left / 60), ss = left % 60;
      this.setData({ countdown: left > 0 ? this.t("qr.left", { t: mm + ":" + (ss < 10 ? "0" : "") + ss }) : this.t("qr.expired"),
                     expired: left <= 0 });
      if (left <= 0) clearInterval(this.clock);
    },

    // ~1 s polling: the recipient's submit shows here within two seconds.
    poll() {
      const current = this.link;
      if (!current) return;
      this.call("GET", "/sign-links/" + encodeURIComponent(current.token) + "/status").then(r => {
        if (this.link !== current) return;
        if (r.status === 200 && r.body.state === "signed") { this.signed(r.body); return; }
        if (r.status === 200 && r.body.state === "expired") {
          // Closed by a drop or a cancel: say so, and offer no new QR for a parcel that is done.
          clearInterval(this.clock);
          this.setData({ expired: true, closed: !!r.body.closed,
                         countdown: this.t(r.body.closed ? "qr.closed." + r.body.closed : "qr.expired") });
          return;
        }
        this.pollTimer = setTimeout(() => this.poll(), 1000);
      }, () => { if (this.link === current) this.pollTimer = setTimeout(() => this.poll(), 2000); });
    },

    signed(status) {
      clearInterval(this.clock);
      const outcome = status.outcome === "partial" ? "partial" : status.outcome === "refused" ? "refused" : "signed";
      const signer = status.signer || {};
      const parts = [this.t("signed." + outcome)];
      if (signer.name) parts.push(signer.name);
      if (signer.relation) parts.push(this.t("relation." + signer.relation));
      this.setData({ banner: { outcome, text: parts.join(" · "), receiptId: status.receipt_id || "",
                               receipt: status.receipt_id ? this.t("signed.receipt", { id: status.receipt_id }) : "" },
                     showPhotos: false });
      if (wx.vibrateShort) wx.vibrateShort({ type: "heavy" });
    },

    stopQr() {
      clearTimeout(this.pollTimer);
      clearInterval(this.clock);
      this.link = null;
    },

    // --- courier photos -------------------------------------------------------------------

    photoRules() { return (this.link && this.link.photos) || { photos_by: "recipient", photos_min: 0 }; },

    renderPhotos() {
      const rules = this.photoRules();
      const good = this.courierPhotos.filter(p => p.status === "done" || (p.status === "flagged" && rules.photo_quality !== "block"));
      const done = this.courierPhotos.filter(p => p.status === "done" || p.status === "flagged").length;
      const missing = rules.photos_by === "courier" ? Math.max(0, rules.photos_min - good.length) : 0;
      this.setData({ photos: {
        hint: rules.photos_by === "courier" ? (missing ? this.t("photos.need", { n: rules.photos_min, done })
          : this.t("photos.enough", { done })) : this.t("photos.optional"),
        missing,
        busy: this.courierPhotos.some(p => p.status === "uploading"),
        list: this.courierPhotos.map((p, i) => ({ i, status: p.status, thumb: p.thumb,
          caption: p.status === "uploading" ? this.t("photos.uploading") : p.status === "failed" ? this.t("photos.failed")
            : p.retake ? this.t(p.retake) : this.t("photos.done") })),
      } });
    },

    takePhoto() {
      const current = this.link, rules = this.photoRules();
      return new Promise(resolve => {
        wx.chooseMedia({
          count: 1, mediaType: ["image"], sourceType: ["camera"],
          sizeType: [rules.photo_upload === "original" ? "original" : "compressed"],
          success: res => resolve(Promise.all((res.tempFiles || []).map(f => this.uploadPhoto(current, f.tempFilePath)))),
          fail: () => resolve(),
        });
      });
    },

    uploadPhoto(current, filePath) {
      const photo = { status: "uploading", photo_id: null, retake: null, thumb: filePath };
      this.courierPhotos.push(photo);
      this.renderPhotos();
      return api.upload("/sign-links/" + encodeURIComponent(current.token) + "/photos", filePath, { kind: "goods" },
                        this.session.token).then(r => {
        if (r.status === 201) {
          photo.photo_id = r.body.photo_id;
          const found = (r.body.checks && r.body.checks.anomalies) || [];
          photo.retake = found.indexOf("duplicate_photo") >= 0 ? "photo.duplicate" : found.indexOf("dark_photo") >= 0
            ? "photo.dark" : found.indexOf("blurry_photo") >= 0 ? "photo.blurry" : null;
          photo.status = photo.retake ? "flagged" : "done";
        } else {
          photo.status = "failed";
          this.setData({ error: (r.body && r.body.detail) || this.t("offline") });
        }
        if (this.link === current) this.renderPhotos();
      }, () => { photo.status = "failed"; if (this.link === current) this.renderPhotos(); });
    },

    /** A retake withdraws the old photo first (DELETE), so only the new one counts. */
    retakePhoto(e) {
      const photo = this.courierPhotos[Number(e.currentTarget.dataset.index)];
      if (!photo || !this.link) return Promise.resolve();
      const current = this.link;
      this.courierPhotos = this.courierPhotos.filter(p => p !== photo);
      this.renderPhotos();
      const gone = photo.photo_id
        ? this.call("DELETE", "/sign-links/" + encodeURIComponent(current.token) + "/photos/" + encodeURIComponent(photo.photo_id))
          .catch(() => null)
        : Promise.resolve();
      return gone.then(() => this.takePhoto());
    },

    showQrNow() { this.setData({ showPhotos: false }); },
    morePhotos() { this.setData({ showPhotos: true }); this.renderPhotos(); },
  },
});
