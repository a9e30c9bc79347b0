/* Where the mini-program finds delivery_sign. Set `origin` to the server's PUBLIC_BASE_URL
 * (https, listed under 开发管理 → 服务器域名 as request/uploadFile/downloadFile domain) and
 * `tenant` to the company code the couriers sign in with. `consentTemplateId`: the
 * subscription template the server sends consent questions with (WECHAT_CONSENT_TEMPLATE_ID);
 * when set, the done screens of pages/sign and pages/consent offer to be asked in WeChat
 * next time (wx.requestSubscribeMessage); empty, they do not. */
module.exports = {
  origin: "https://sign.example.com",
  tenant: "demo",
  consentTemplateId: "",
};
