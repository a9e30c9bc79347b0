/* pages/consent: the consignee's answer to "nobody home, where should we leave it?" inside
 * WeChat. Opened by the subscription message the server sends (subscribeMessage.send with
 * page `pages/consent/index?token=<token>`, delivery_sign/consent/services.py) or by the
 * SMS link https://<host>/c/<token> when "扫普通链接二维码打开小程序" has a rule for /c/
 * (options.q, as pages/sign reads /s/).
 *
 * The same page as the H5 one (static/consent/consent.js), in its words (utils/consent-strings.js,
 * generated from it): the parcel masked, one button per way to deliver — one tap answers;
 * locker and station show the place the courier named, "改天再送" asks for a day first —
 * "以后都这样放" for a standing consent, and the standing consents of this consignee and
 * address with the button that revokes them. An answered link shows the answer; an
 * expired or unknown one says so (a second answer is 409, an expired link 410, both said in
 * words). Revoking works on an expired link too, as the server allows.
 *
 * Built with Component(), as pages/sign, so it runs under miniprogram-simulate in tests. */
const api = require("../../utils/api.js");
const { Translator } = require("../../utils/i18n.js");
const { tokenFrom } = require("../../utils/links.js");
const subscription = require("../../utils/subscribe.js");

const CHINA_MS = 8 * 3600 * 1000;

/** China time as text, without Intl (not every WeChat JS engine has its time zones). */
function chinaIso(value) { return new Date(Date.parse(value) + CHINA_MS).toISOString(); }
function chinaTime(value) { const s = chinaIso(value); return s.slice(5, 10) + " " + s.slice(11, 16); }
function chinaDay(value) { return chinaIso(value).slice(0, 10); }
function chinaToday(plusDays) { return new Date(Date.now() + CHINA_MS + (plusDays || 0) * 86400000).toISOString().slice(0, 10); }

Component({
  data: {
    screen: "loading",      // loading | state | ask | answered
    s: {},
    stateName: "",
    stateTitle: "",
    stateBody: "",
    parcel: null,           // {meta, address, items, note, until}
    options: [],
    standingChecked: false,
    reschedule: { open: false, day: "", start: "", end: "" },
    answeredText: "",
    error: "",
    busy: false,
    standing: { shown: false, list: [], revoked: false, revoking: false },
    subscribe: { offered: false, text: "" },
  },

  methods: {
    onLoad(options) {
      this.i18n = new Translator("consent");
      this.token = tokenFrom(options, "c");
      this.view = null;
      this.errorKey = "";
      this.setData({ s: this.i18n.table() });
      if (!this.token) { this.showState("unknown"); return Promise.resolve(); }
      this.path = "/consent/" + encodeURIComponent(this.token);
      return this.load(0);
    },

    t(key, vars) { return this.i18n.t(key, vars); },

    toggleLanguage() {
      this.i18n.toggle();
      this.setData({ s: this.i18n.table() });
      if (this.data.screen === "state") this.showState(this.data.stateName);
      this.render();
      if (this.errorKey) this.showError(this.errorKey);
    },

    // No answer is not a "no": the question is fetched again twice before the page says so.
    load(attempt) {
      return api.request("GET", this.path).then(r => {
        if (r.status === 200) { this.view = r.body; this.render(); return; }
        if (r.status === 404) { this.showState("unknown"); return; }
        if (r.status === 410) { this.showState("expired"); return; }
        this.setData({ screen: "ask" });
        this.showError("error.generic");
      }, () => {
        if (attempt < 2) return api.sleep(1500).then(() => this.load(attempt + 1));
        this.setData({ screen: "ask" });
        this.showError("error.offline");
        return null;
      });
    },

    /** Unknown or expired: the state in the H5 page's words. An expired link may still
     * revoke "以后都这样" (the server lists no standing consents for it, so the button alone). */
    showState(name) {
      this.setData({ screen: "state", stateName: name, stateTitle: this.t("state." + name + ".title"),
                     stateBody: this.t("state." + name + ".body"),
                     "standing.shown": name === "expired" && !this.data.standing.revoked });
    },

    showError(key) {
      this.errorKey = key;
      this.setData({ error: key ? this.t(key) : "" });
    },

    choiceLabel(choice, place) { return this.t("option." + choice) + (place ? " · " + place : ""); },

    render() {
      const view = this.view;
      if (!view) return;
      const w = view.waybill;
      const answered = !!view.answer;
      this.setData({
        screen: answered ? "answered" : "ask",
        parcel: {
          meta: this.t("ask.meta", { tenant: view.tenant.name, number: w.number_masked, name: w.consignee_name_masked,
                                     phone: w.phone_masked }),
          address: w.address,
          items: w.items.map((item, i) => ({ key: String(i), text: item.name + " × " + item.qty + (item.unit || "") })),
          note: view.note || "",
          until: answered ? "" : this.t("ask.until", { time: chinaTime(view.expires_at) }),
        },
        options: view.options.map(choice => ({ choice, label: this.t("option." + choice), place: view.places[choice] || "",
                                               primary: choice !== "reschedule" })),
        answeredText: answered ? this.answerText(view.answer) : "",
        "subscribe.offered": answered && subscription.offered(),
        standing: {
          shown: view.standing.length > 0 || this.data.standing.revoked,
          list: view.standing.map(s => ({ id: s.id, text: this.choiceLabel(s.choice, s.place) +
            (s.expires_at ? " · " + this.t("standing.until", { time: chinaDay(s.expires_at) }) : "") })),
          revoked: this.data.standing.revoked,
          revoking: false,
        },
      });
    },

    answerText(answer) {
      let text = this.t("done.choice", { choice: this.choiceLabel(answer.choice, answer.place) });
      if (answer.day) text += "，" + this.t("done.day", { day: answer.day });
      if (answer.standing) text += this.t("done.standing");
      return text;
    },

    /** The next question in WeChat too (utils/subscribe.js). */
    subscribeConsent() {
      return subscription.ask().then(on => this.setData({ "subscribe.text": this.t(on ? "subscribe.on" : "subscribe.off") }));
    },

    onStanding(e) { this.setData({ standingChecked: (e.detail.value || []).indexOf("standing") >= 0 }); },

    /** One tap answers; "改天再送" opens the day first (today to reschedule_max_days ahead, China). */
    choose(e) {
      const choice = e.currentTarget.dataset.choice;
      if (choice === "reschedule") {
        const today = chinaToday(0);
        this.setData({ reschedule: { open: true, day: this.data.reschedule.day || today, start: today,
                                     end: chinaToday(this.view.reschedule_max_days) } });
        return Promise.resolve();
      }
      return this.send({ choice, standing: this.data.standingChecked });
    },

    onDay(e) { this.setData({ "reschedule.day": e.detail.value }); },

    sendDay() {
      const day = this.data.reschedule.day;
      if (!day) { this.showError("reschedule.pick"); return Promise.resolve(); }
      return this.send({ choice: "reschedule", day });
    },

    send(body) {
      if (this.data.busy) return Promise.resolve();
      this.setData({ busy: true });
      this.showError("");
      return api.request("POST", this.path, { data: Object.assign({ client: api.client() }, body) }).then(r => {
        if (r.status === 200) { this.view = r.body; this.render(); return; }
        this.showError(r.status === 409 ? "error.answered" : r.status === 410 ? "error.expired" : "error.generic");
      }, () => this.showError("error.offline")).then(() => this.setData({ busy: false }));
    },

    revoke() {
      if (this.data.standing.revoking) return Promise.resolve();
      this.setData({ "standing.revoking": true });
      return api.request("POST", this.path + "/standing/revoke").then(r => {
        if (r.status === 200) {
          this.setData({ standing: { shown: true, list: [], revoked: true, revoking: false } });
          return;
        }
        this.setData({ "standing.revoking": false });
      }, () => this.setData({ "standing.revoking": false }));
    },
  },
});
