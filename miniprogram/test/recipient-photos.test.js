/* The sign page under a doc type where the recipient takes the photos (photos_by:
 * recipient): the camera through wx.chooseMedia, one wx.uploadFile per photo, the
 * server's 422s shown in the H5 page's words in the H5 page's boxes, and a resubmit that
 * goes through. The recipient declines both consents at first: without the location
 * consent WeChat is never asked for the position (the sign-off stands, with no_location);
 * without the handwriting consent nothing is sent and the page says the alternative. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { render, until, server, staffGet, canvasSize, write, codes, calls, phone } = require("./wx.js");
const api = require("../utils/api.js");

const srv = server();

test("recipient photos, errors in the same words, then a sign-off", { skip: !srv && "needs the server (tests/miniprogram runs this)" }, async () => {
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  codes.push(...srv.codes.photos);
  phone.location = { latitude: 31.2304, longitude: 121.4737, accuracy: 12 };   // the phone would give it
  phone.photo = srv.photos.recipient;
  const restore = canvasSize(srv.signature.canvas.width, srv.signature.canvas.height);
  try {
    const page = render("pages/sign/index");
    const p = page.instance;
    await p.onLoad({ q: encodeURIComponent(srv.photoLink) });
    assert.equal(page.data.screen, "confirm");
    assert.equal(page.data.photos.shown, true);
    assert.equal(page.data.photos.hint, "请拍摄货物照片，至少 1 张。");
    p.onRelation({ detail: { value: "self" } });
    assert.equal(p.toSign(), false);
    assert.equal(page.data.errors.photos.text, "还需要拍 1 张照片");

    await p.takePhoto();
    const upload = calls.filter(x => x.api === "uploadFile").pop();
    assert.match(upload.url, /\/api\/v1\/sign\/[^/]+\/photos$/);
    assert.equal(upload.name, "file");
    assert.equal(upload.formData.kind, "goods");
    assert.deepEqual(calls.filter(x => x.api === "chooseMedia").pop().sourceType, ["camera"]);
    assert.equal(page.data.photos.list.length, 1);
    assert.equal(page.data.photos.list[0].status, "done");
    assert.equal(page.data.errors.photos, undefined, "the message goes once the photo is there");
    // WeChat drops the page (a call comes in, memory runs low): reopening the QR loses nothing.
    const reopened = render("pages/sign/index");
    await reopened.instance.onLoad({ q: encodeURIComponent(srv.photoLink) });
    assert.equal(reopened.data.relation, "self");
    assert.deepEqual(reopened.data.photos.list.map(x => x.status), ["done"]);
    assert.equal(reopened.instance.form.submissionId, p.form.submissionId, "the same submission, not a second one");

    assert.equal(p.toSign(), true);
    assert.equal(page.data.locationText, "未提供位置");

    // No handwriting consent: no electronic signature, nothing sent, the alternative said.
    const sent = calls.length;
    await p.submit();
    assert.equal(page.data.errors.signature.code, "handwriting_consent_required");
    assert.equal(page.data.errors.signature.text,
                 "请先勾选上方的同意。不同意采集手写签名也可以：请告诉快递员，由他记录您不使用电子签名。");
    assert.equal(calls.slice(sent).filter(x => x.api === "request" && /\/submit$/.test(x.url)).length, 0);
    p.onHandwritingConsent({ detail: { value: ["handwriting"] } });
    assert.equal(page.data.errors.signature, undefined, "the message goes once the consent is given");

    // An empty pad is refused on the pad, as on the H5 page: nothing goes to the server.
    await p.submit();
    assert.equal(page.data.errors.signature.code, "signature_empty");
    assert.equal(page.data.errors.signature.text, "请先在框内签名");
    assert.equal(calls.slice(sent).filter(x => x.api === "request" && /\/submit$/.test(x.url)).length, 0);

    // A finger that slid off the pad: only the server sees it (the pad's cheap check does not
    // look at the canvas bounds), and its 422 is shown in the H5 words, in the signature box.
    const pad = p.pad();
    await pad.measure();
    const far = srv.signature.canvas.width * 3;
    write(pad, srv.signature.strokes.map(stroke => stroke.map(([x, y, t]) => [x + far, y, t])));
    p.onPadChange();
    assert.equal(page.data.errors.signature, undefined, "the message goes once the pad has ink");
    await p.submit();
    assert.equal(page.data.screen, "sign");
    assert.equal(page.data.errors.signature.code, "signature_out_of_canvas");
    assert.equal(page.data.errors.signature.text, "签名超出了签名框，请清除后重新签名");

    p.clearPad();
    write(pad, srv.signature.strokes);
    p.onPadChange();
    await p.submit();
    assert.equal(page.data.screen, "done", JSON.stringify(page.data.errors));

    const e = (await staffGet(srv, "/receipts/" + encodeURIComponent(page.data.done.receiptId))).body.evidence;
    assert.equal(e.client.platform, "miniprogram");
    assert.equal(e.signer.wechat_openid, srv.openids.recipient);
    assert.equal(e.photos.length, 1);
    assert.ok(e.anomalies.includes("no_location"));
    assert.equal(calls.filter(x => x.api === "getLocation").length, 0, "no location consent, no wx.getLocation");
    assert.deepEqual([e.consents.recorded, e.consents.handwriting, e.consents.location], [true, true, false]);
    assert.equal(e.consents.notice_version, p.view.privacy.version);
    assert.deepEqual(e.signature.strokes, pad.toData());

    // The link is used up: opening the QR again says so.
    const again = render("pages/sign/index");
    await again.instance.onLoad({ q: encodeURIComponent(srv.photoLink) });
    assert.equal(again.data.screen, "state");
    assert.equal(again.data.stateName, "used");
    assert.equal(again.data.stateTitle, "已签收");
  } finally { restore(); }
});

test("a scanned URL that is not a sign link shows 链接无效 without asking the server", async () => {
  const page = render("pages/sign/index");
  const before = calls.length;
  await page.instance.onLoad({ q: encodeURIComponent("https://example.com/not-a-sign-link") });
  assert.equal(page.data.screen, "state");
  assert.equal(page.data.stateName, "unknown");
  assert.equal(page.data.stateTitle, "链接无效");
  assert.equal(calls.slice(before).filter(x => x.api === "request").length, 0);
});
