/* pages/consent against the real server: the consignee answers "where should we leave it?"
 * in one tap, opened the way WeChat opens it — the `page` of the subscription message the
 * server sent (read by the pytest driver from the fake WeChat), or the SMS link /c/<token>
 * as options.q. What the page did is read back from the server: the courier's view of the
 * consent in force and the waybill's audit timeline. A second answer is 409 and an expired
 * link 410, both shown in the H5 consent page's words; "以后都这样" makes a standing consent
 * that the page revokes; "改天再送" asks for a day before anything is sent. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const { render, server, staffGet, calls, phone, ROOT } = require("./wx.js");
const api = require("../utils/api.js");
const config = require("../config.js");
const STRINGS = require("../utils/consent-strings.js").consent.zh;

const srv = server();
const needs = { skip: !srv && "needs the server (tests/miniprogram runs this)" };

function tap(page, choice) { return page.instance.choose({ currentTarget: { dataset: { choice } } }); }

function posts(since) {
  return calls.slice(since).filter(x => x.api === "request" && x.method === "POST" && /\/api\/v1\/consent\//.test(x.url));
}

/** One tap, one request, and the page shows the answer. */
async function answerWith(page, choice) {
  const before = calls.length;
  await tap(page, choice);
  assert.equal(posts(before).length, 1, "one tap, one request");
  assert.equal(page.data.screen, "answered", page.data.error);
}

async function consentOf(number) {
  const got = await staffGet(srv, "/waybills/" + number + "/consent");
  assert.equal(got.status, 200);
  return got.body.consent;
}

async function events(number, type) {
  const got = await staffGet(srv, "/waybills/" + number + "/timeline");
  assert.equal(got.status, 200);
  return got.body.filter(e => e.type === type);
}

async function open(options) {
  const page = render("pages/consent/index");
  await page.instance.onLoad(options);
  return page;
}

test("the subscription message opens pages/consent: one tap answers, the audit shows it, a second answer is 409 in words", needs, async () => {
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  const { number, page: target } = srv.consent.wechat;
  // What WeChat opens: the message's `page` is one of app.json's pages, its query the options.
  const [pagePath, query] = target.split("?");
  const app = JSON.parse(fs.readFileSync(path.join(ROOT, "app.json"), "utf8"));
  assert.ok(app.pages.includes(pagePath), pagePath + " is not a page of app.json");
  assert.equal(pagePath, "pages/consent/index");
  const options = Object.fromEntries(new URLSearchParams(query));
  config.consentTemplateId = "tmpl-consent";

  const first = await open(options);
  const second = await open(options);       // the same message opened on another phone, before either answers
  assert.equal(first.data.screen, "ask");
  assert.match(first.data.parcel.meta, /^小程序物流 · 运单 MP\*+0006 · 收货人 \S+ 136\*\*\*\*6000$/);
  assert.equal(first.data.parcel.address, "上海市浦东新区世纪大道100号");
  assert.deepEqual(first.data.parcel.items.map(i => i.text), ["三人位沙发 × 1件", "餐椅 × 4把"]);
  assert.match(first.data.parcel.until, /^请在 \d\d-\d\d \d\d:\d\d 前选择$/);
  assert.deepEqual(first.data.options.map(o => [o.label, o.place]),
                   [["放快递柜", "世纪大道丰巢柜 A 区"], ["放驿站", "菜鸟驿站（世纪大道店）"], ["放门卫", ""], ["改天再送", ""]]);

  await answerWith(first, "station");
  assert.equal(first.data.answeredText, "您选择了：放驿站 · 菜鸟驿站（世纪大道店）");
  // Next time in WeChat too? This consignee says no to WeChat's prompt.
  assert.equal(first.data.subscribe.offered, true);
  phone.subscribe = "reject";
  await first.instance.subscribeConsent();
  assert.deepEqual(calls.filter(x => x.api === "requestSubscribeMessage").pop().tmplIds, ["tmpl-consent"]);
  assert.equal(first.data.subscribe.text, "未开启，下次仍会用短信问您。");
  config.consentTemplateId = "";

  await tap(second, "locker");
  assert.equal(second.data.screen, "ask");
  assert.equal(second.data.error, STRINGS["error.answered"]);
  assert.equal(second.data.error, "已经选择过了。");

  // Seen from the server: the consent the courier may drop on, and the answer in the audit chain.
  const consent = await consentOf(number);
  assert.deepEqual([consent.kind, consent.choice, consent.place, consent.channel],
                   ["one_off", "station", "菜鸟驿站（世纪大道店）", "wechat"]);
  const answered = await events(number, "consent.answered");
  assert.equal(answered.length, 1, "one answer, the second was refused");
  assert.equal(answered[0].actor, "consignee");
  assert.deepEqual([answered[0].data.choice, answered[0].data.place, answered[0].data.channel, answered[0].data.standing],
                   ["station", "菜鸟驿站（世纪大道店）", "wechat", false]);
  assert.equal(consent.audit_seq, answered[0].seq);
  // The page says it is the mini-program, as pages/sign does on a submit.
  assert.equal(answered[0].data.client.platform, "miniprogram");
  assert.match(answered[0].data.client.user_agent, /^WeChat\//);
  assert.equal(consent.client.platform, "miniprogram");

  // Opened again later: the answer, not the question; in English too.
  const again = await open(options);
  assert.equal(again.data.screen, "answered");
  assert.equal(again.data.answeredText, "您选择了：放驿站 · 菜鸟驿站（世纪大道店）");
  again.instance.toggleLanguage();
  assert.equal(again.data.s["done.title"], "Your choice is recorded");
  assert.equal(again.data.answeredText, "You chose: Parcel station · 菜鸟驿站（世纪大道店）");
});

test("the SMS link in options.q: 以后都这样 makes a standing consent for the door, revoked from the page", needs, async () => {
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  const { number, url, sameDoor } = srv.consent.standing;
  const page = await open({ q: encodeURIComponent(url), scancode_time: String(Math.floor(Date.now() / 1000)) });
  assert.equal(page.data.screen, "ask");
  assert.equal(page.data.standing.shown, false, "no standing consent yet");
  page.instance.onStanding({ detail: { value: ["standing"] } });
  await answerWith(page, "guard");
  assert.equal(page.data.answeredText, "您选择了：放门卫（以后都这样放）");
  assert.equal(page.data.standing.shown, true);
  assert.equal(page.data.subscribe.offered, false, "no template configured, no offer");
  assert.match(page.data.standing.list[0].text, /^放门卫 · 有效至 \d{4}-\d\d-\d\d$/);

  // The next parcel for the same door may be left with the guard without asking.
  const standing = await consentOf(sameDoor);
  assert.deepEqual([standing.kind, standing.choice], ["standing", "guard"]);
  assert.equal((await events(number, "consent.standing_granted")).length, 1);

  await page.instance.revoke();
  assert.equal(page.data.standing.revoked, true);
  assert.equal(page.data.s["standing.revoked"], "已取消，以后的快递会先询问您。");
  assert.deepEqual(page.data.standing.list, []);
  assert.equal(await consentOf(sameDoor), null, "revoked: the next parcel is asked about again");
  const revoked = await events(number, "consent.standing_revoked");
  assert.equal(revoked.length, 1);
  assert.deepEqual(revoked[0].data.standing, [standing.standing_id]);
});

test("改天再送 asks for a day before anything is sent", needs, async () => {
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  const { number, url } = srv.consent.reschedule;
  const page = await open({ q: encodeURIComponent(url) });
  const before = calls.length;
  await tap(page, "reschedule");
  assert.equal(posts(before).length, 0, "the day comes first");
  const { open: shown, day, start, end } = page.data.reschedule;
  assert.equal(shown, true);
  assert.equal(day, start, "today (China) is offered first");
  const span = (Date.parse(end) - Date.parse(start)) / 86400000;
  assert.equal(span, 14);
  const chosen = new Date(Date.parse(start) + 2 * 86400000).toISOString().slice(0, 10);
  page.instance.onDay({ detail: { value: chosen } });
  await page.instance.sendDay();
  assert.equal(posts(before).length, 1);
  assert.equal(page.data.screen, "answered", page.data.error);
  assert.equal(page.data.answeredText, "您选择了：改天再送，改到 " + chosen + " 送达");
  const answered = await events(number, "consent.answered");
  assert.deepEqual([answered[0].data.choice, answered[0].data.day], ["reschedule", chosen]);
  assert.equal(await consentOf(number), null, "a new day is no consent to leave the parcel anywhere");
});

test("an expired link: the tap is answered 410 in words, reopened the page says 链接已过期", needs, async () => {
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  const { number, url, id } = srv.consent.expiring;
  const page = await open({ q: encodeURIComponent(url) });
  assert.equal(page.data.screen, "ask");
  const expired = await fetch(srv.control + "/expire/" + id, { method: "POST" });
  assert.equal(expired.status, 200, "the control server moved the link's clock");

  const before = calls.length;
  await tap(page, "door");
  assert.equal(posts(before).length, 1);
  assert.equal(page.data.screen, "ask");
  assert.equal(page.data.error, "链接已过期，快递员可以重新询问您。");

  const reopened = await open({ q: encodeURIComponent(url) });
  assert.equal(reopened.data.screen, "state");
  assert.equal(reopened.data.stateName, "expired");
  assert.equal(reopened.data.stateTitle, "链接已过期");
  assert.equal(reopened.data.stateBody, "这次询问已过期，快递员可以重新询问您。");
  assert.equal(reopened.data.standing.shown, true, "an expired link may still revoke a standing consent");
  assert.equal((await events(number, "consent.answered")).length, 0, "nothing was recorded");
  assert.equal(await consentOf(number), null);
});

test("a link that is no consent link shows 链接无效 without asking the server; an unknown token too", async () => {
  const before = calls.length;
  const signLink = await open({ q: encodeURIComponent("https://sign.example.com/s/" + "A".repeat(32)) });
  assert.equal(signLink.data.screen, "state");
  assert.equal(signLink.data.stateName, "unknown");
  assert.equal(signLink.data.stateTitle, "链接无效");
  assert.equal(signLink.data.stateBody, "找不到这个链接，请核对短信中的地址。");
  assert.equal(calls.slice(before).filter(x => x.api === "request").length, 0);
  if (!srv) return;
  api.configure({ origin: srv.origin, tenant: srv.tenant });
  const unknown = await open({ token: "Z".repeat(32) });
  assert.equal(unknown.data.stateName, "unknown");
  assert.equal(calls.slice(before).filter(x => x.api === "request").length, 1);
});
