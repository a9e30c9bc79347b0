/* A whole doorstep in WeChat against the real server: the courier page signs in with
 * wx.login (binding the account the first time), lists the day's waybills, makes one QR
 * for two waybills of one consignee and photographs the goods; the sign page opens from
 * that QR's URL as WeChat passes it (options.q), the recipient signs, the done screen shows
 * the receipt code, and the courier's page turns to the signed banner. The receipt's
 * evidence says platform miniprogram, carries the recipient's openid, holds the pad's
 * recording exactly as the pad made it, and records the consents given (issue 19): the
 * location is asked only once its consent is ticked, the handwriting consent beside the pad. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { render, until, server, staffGet, canvasSize, write, codes, calls, phone } = require("./wx.js");
const api = require("../utils/api.js");
const config = require("../config.js");

const srv = server();

test("courier QR → recipient sign-off in the mini-program → receipt with openid", { skip: !srv && "needs the server (tests/miniprogram runs this)" }, async () => {
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  codes.push(...srv.codes.courier, ...srv.codes.recipient);
  phone.location = { latitude: 31.2304, longitude: 121.4737, accuracy: 18 };
  phone.photo = srv.photos.courier;
  const restore = canvasSize(srv.signature.canvas.width, srv.signature.canvas.height);
  config.consentTemplateId = "tmpl-consent";      // as WECHAT_CONSENT_TEMPLATE_ID on the server
  const courier = render("pages/courier/index");
  const c = courier.instance;
  try {
    // --- the courier ---------------------------------------------------------------------
    await c.onLoad({});
    assert.equal(courier.data.screen, "bind", "an openid seen for the first time must be bound");
    assert.equal(courier.data.bind.tenant, srv.tenant, "the company code comes from config.js");
    c.onBindInput({ currentTarget: { dataset: { field: "username" } }, detail: { value: srv.courier } });
    c.onBindInput({ currentTarget: { dataset: { field: "password" } }, detail: { value: "not the password" } });
    await c.bindAccount();
    assert.equal(courier.data.screen, "bind");
    assert.equal(courier.data.error, "用户名或密码错误");
    c.onBindInput({ currentTarget: { dataset: { field: "password" } }, detail: { value: srv.password } });
    await c.bindAccount();
    assert.equal(courier.data.screen, "list", courier.data.error);
    const numbers = courier.data.waybills.map(w => w.number);
    for (const n of [...srv.waybills.pair, srv.waybills.other]) assert.ok(numbers.includes(n), n + " is in the day's list");

    c.onSelect({ detail: { value: [srv.waybills.pair[0]] } });
    c.onSelect({ detail: { value: [srv.waybills.pair[0], srv.waybills.other] } });
    assert.equal(courier.data.selectedCount, 1, "another consignee's waybill does not join");
    const rows = Object.fromEntries(courier.data.waybills.map(w => [w.number, w]));
    assert.equal(rows[srv.waybills.other].disabled, true);
    assert.equal(rows[srv.waybills.other].why, "收货人不同，不能和已选运单一起签收");
    // The consignee of the pair has one header with "一起签收": one tap, one QR for both.
    const group = courier.data.groups.find(g => g.rows.some(r => r.number === srv.waybills.pair[0]));
    assert.equal(group.together, "一起签收（2 单）");
    assert.equal(courier.data.groups.find(g => g.rows.some(r => r.number === srv.waybills.other)).together, "");
    await c.signTogether({ currentTarget: { dataset: { key: group.key } } });
    assert.equal(courier.data.selectedCount, 2);
    assert.equal(courier.data.screen, "qr", courier.data.error);
    assert.deepEqual([...courier.data.link.waybills].sort(), [...srv.waybills.pair].sort());
    assert.equal(courier.data.showPhotos, true, "the default doc type wants the courier's photos first");
    await c.takePhoto();
    await until(() => courier.data.photos.missing === 0 && !courier.data.photos.busy, 20000,
                () => "the courier photo: " + JSON.stringify([courier.data.photos, courier.data.error]));
    assert.equal(courier.data.photos.list[0].status, "done");
    // A retake: the first photo is withdrawn on the server, the new one is the one that counts.
    phone.photo = srv.photos.retake;
    await c.retakePhoto({ currentTarget: { dataset: { index: 0 } } });
    await until(() => courier.data.photos.list.length === 1 && courier.data.photos.list[0].status === "done", 20000,
                () => "the retaken photo: " + JSON.stringify([courier.data.photos, courier.data.error]));
    assert.ok(calls.some(x => x.api === "request" && x.method === "DELETE" && /\/photos\/[^/]+$/.test(x.url)));
    c.showQrNow();
    assert.ok(courier.data.qrSrc.includes("/qr.png"));

    // --- the recipient scans it: WeChat opens pages/sign with the URL in options.q -------------
    const page = render("pages/sign/index");
    const p = page.instance;
    const opened = calls.length;      // the courier's page asked for its own position; the sign page not yet
    await p.onLoad({ q: encodeURIComponent(courier.data.link.url), scancode_time: String(Math.floor(Date.now() / 1000)) });
    assert.equal(page.data.screen, "confirm");
    assert.deepEqual(page.data.waybills.map(w => w.number).sort(), [...srv.waybills.pair].sort());
    assert.equal(page.data.courierPhotosText, "快递员已拍摄 1 张货物照片");
    assert.equal(p.toSign(), false, "who is signing must be chosen first");
    assert.equal(page.data.errors.signer.text, "请选择谁在签收");
    p.onRelation({ detail: { value: "family" } });
    p.onName({ detail: { value: srv.signature.signer_name } });
    // The privacy notice of the sign view, the tenant as the handler; nothing asked of the phone yet.
    assert.equal(page.data.privacy.handler, "处理者：小程序物流");
    assert.equal(page.data.locationConsentText, "同意记录签收位置，用于证明送达地点（可不同意）");
    assert.deepEqual(page.data.consents, { handwriting: false, location: false }, "both unticked at first");
    p.togglePrivacy();
    assert.equal(page.data.privacy.text, p.view.privacy.text);
    assert.ok(page.data.privacy.text.length > 20);
    const located = () => calls.slice(opened).filter(x => x.api === "getLocation").length;
    assert.equal(located(), 0, "no wx.getLocation before the location consent");
    await p.onLocationConsent({ detail: { value: ["location"] } });
    assert.equal(located(), 1, "ticking the consent asks WeChat once");
    assert.equal(p.toSign(), true);
    assert.equal(page.data.screen, "sign");
    await until(() => page.data.locationText.startsWith("已记录签收位置"), 5000, "the location");

    const pad = p.pad();
    await pad.measure();
    write(pad, srv.signature.strokes);
    const recorded = pad.toData();
    const canvas = pad.canvasInfo();
    p.onHandwritingConsent({ detail: { value: ["handwriting"] } });
    await p.submit();
    assert.equal(page.data.screen, "done", JSON.stringify(page.data.errors));
    const receiptId = page.data.done.receiptId;
    assert.match(page.data.done.code, /^[0-9A-HJKMNP-TV-Z]{4} [0-9A-HJKMNP-TV-Z]{4}$/);
    assert.equal(page.data.done.title, "签收完成");
    // "Ask me in WeChat next time": WeChat's subscription prompt for the consent template.
    assert.equal(page.data.subscribe.offered, true);
    await p.subscribeConsent();
    assert.deepEqual(calls.filter(x => x.api === "requestSubscribeMessage").map(x => x.tmplIds), [["tmpl-consent"]]);
    assert.equal(page.data.subscribe.text, "已开启：下次无人签收时会在微信里问您。");

    // --- the courier's page sees it ----------------------------------------------------------
    await until(() => courier.data.banner, 20000, "the signed banner");
    assert.equal(courier.data.banner.receiptId, receiptId);
    assert.equal(courier.data.banner.text, "已签收 · " + srv.signature.signer_name + " · 家属");
    await c.backToList();
    await c.setFilter({ currentTarget: { dataset: { filter: "done" } } });
    const done = Object.fromEntries(courier.data.waybills.map(w => [w.number, w.statusText]));
    for (const n of srv.waybills.pair) assert.equal(done[n], "已签收", "done today: " + n);
    assert.equal(done[srv.waybills.other], undefined, "not signed, not in done today");

    // --- what WeChat was asked for, and what the server kept -----------------------------------
    assert.ok(calls.filter(x => x.api === "getLocation").every(x => x.type === "gcj02"));
    const media = calls.filter(x => x.api === "chooseMedia");
    assert.ok(media.length && media.every(x => x.sourceType.join() === "camera" && x.sizeType.join() === "compressed"));
    const evidence = await staffGet(srv, "/receipts/" + encodeURIComponent(receiptId));
    assert.equal(evidence.status, 200);
    const e = evidence.body.evidence;
    assert.equal(e.client.platform, "miniprogram");
    assert.match(e.client.user_agent, /^WeChat\//);
    assert.equal(e.signer.wechat_openid, srv.openids.recipient);
    assert.equal(e.signer.relation, "family");
    assert.deepEqual(e.signature.strokes, recorded, "the pad's points and times reach the server unchanged");
    assert.deepEqual({ width: e.signature.canvas.width, height: e.signature.canvas.height, dpr: e.signature.canvas.dpr }, canvas);
    assert.deepEqual({ width: canvas.width, height: canvas.height }, { width: srv.signature.canvas.width, height: srv.signature.canvas.height });
    assert.equal(e.location.raw.coord_system, "gcj02");
    assert.equal(e.location.raw.source, "wechat");
    assert.ok(!(e.anomalies || []).includes("signed_on_courier_device"));
    assert.deepEqual(e.consents, { recorded: true, notice_version: p.view.privacy.version, handwriting: true,
                                   location: true, location_dropped: false });
  } finally { c.onUnload(); restore(); config.consentTemplateId = ""; }
});
