/* "Ask me in WeChat next time": a one-time subscription to the consent template
 * (config.consentTemplateId, the server's WECHAT_CONSENT_TEMPLATE_ID), so the next consent
 * question can come as a subscription message instead of an SMS. WeChat shows its own
 * prompt; it must be called from a tap. One subscription is good for one message. */
const config = require("../config.js");

function offered() { return !!config.consentTemplateId && typeof wx.requestSubscribeMessage === "function"; }

/** Resolves true when the user accepted the template, false otherwise (refused, banned, failed). */
function ask() {
  const id = config.consentTemplateId;
  return new Promise(resolve => {
    wx.requestSubscribeMessage({ tmplIds: [id], success: res => resolve(res[id] === "accept"), fail: () => resolve(false) });
  });
}

module.exports = { offered, ask };
