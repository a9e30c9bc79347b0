/* The sign page when the door is not simple: the doc type asks for the consignee's SMS code
 * (otp: required) and one item arrived damaged. The code is sent and verified through the
 * page (read back from the server's SMS outbox, as the consignee would read the SMS), a
 * wrong code is answered in the H5 words, and the partial sign-off is recorded with the
 * quantities entered. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { render, until, server, staffGet, canvasSize, write, codes, phone } = require("./wx.js");
const api = require("../utils/api.js");

const srv = server();

test("OTP and a damaged item: a partial sign-off from the mini-program", { skip: !srv && "needs the server (tests/miniprogram runs this)" }, async () => {
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  codes.push(...srv.codes.problems);
  phone.location = { latitude: 31.2306, longitude: 121.4739, accuracy: 25 };
  const restore = canvasSize(srv.signature.canvas.width, srv.signature.canvas.height);
  const page = render("pages/sign/index");
  const p = page.instance;
  try {
    await p.onLoad({ q: encodeURIComponent(srv.problemLink) });
    assert.equal(page.data.screen, "confirm");
    assert.equal(page.data.otp.needed, true);
    assert.match(page.data.otp.hint, /^需验证收货人手机，验证码将发送至 137\*\*\*\*7000$/);

    // "有问题?" → short or damaged: one of the four chairs is damaged.
    p.openProblem();
    assert.equal(page.data.outcome, "partial");
    const chairs = page.data.waybills[0].items.find(i => i.name === "餐椅");
    p.onItemInput({ currentTarget: { dataset: { key: chairs.key, field: "damaged" } }, detail: { value: "5" } });
    p.onRelation({ detail: { value: "self" } });
    assert.equal(p.toSign(), false);
    assert.equal(page.data.errors.items.text, "货物数量填写有误，请检查", "more damaged than received");
    p.onItemInput({ currentTarget: { dataset: { key: chairs.key, field: "damaged" } }, detail: { value: "1" } });
    p.onItemInput({ currentTarget: { dataset: { key: chairs.key, field: "note" } }, detail: { value: "椅腿断了" } });
    assert.equal(page.data.errors.items, undefined);
    assert.equal(p.toSign(), false);
    assert.equal(page.data.errors.signer.text, "请先完成手机验证码验证");

    await p.sendOtp();
    assert.equal(page.data.otp.hint, "验证码已发送至 137****7000");
    await p.sendOtp();                      // again at once: the wait in the H5 words, not the server's English
    assert.match(page.data.errors.signer.text, /^验证码刚发过，请 \d+ 秒后再试$/);
    const sms = await until(async () => {
      const out = await staffGet(srv, "/dev/sms-outbox");
      return out.body.items.find(m => m.phone === "137****7000");
    }, 20000, "the SMS");
    const code = /(\d{6})/.exec(sms.text)[1];
    p.onOtpCode({ detail: { value: code === "000000" ? "111111" : "000000" } });
    await p.verifyOtp();
    assert.equal(page.data.errors.signer.text, "验证码错误或已过期，请重新输入");
    p.onOtpCode({ detail: { value: code } });
    await p.verifyOtp();
    assert.equal(page.data.otp.verified, true);
    assert.equal(page.data.errors.signer, undefined);
    assert.equal(p.toSign(), true);
    assert.deepEqual(page.data.summary.map(r => r.value), ["部分签收", "收货人本人"]);

    const pad = p.pad();
    await pad.measure();
    write(pad, srv.signature.strokes);
    p.onPadChange();
    p.onHandwritingConsent({ detail: { value: ["handwriting"] } });
    await p.submit();
    assert.equal(page.data.screen, "done", JSON.stringify(page.data.errors));
    assert.equal(page.data.done.title, "部分签收完成");

    const e = (await staffGet(srv, "/receipts/" + encodeURIComponent(page.data.done.receiptId))).body.evidence;
    assert.equal(e.checks.otp_verified, true);
    const line = e.waybills[0].items.find(i => i.name === "餐椅");
    assert.deepEqual([line.received_qty, line.damaged_qty, line.note], [4, 1, "椅腿断了"]);
    assert.ok(e.anomalies.includes("partial_delivery"));
  } finally { p.onUnload(); restore(); }
});
