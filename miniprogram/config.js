/* Where the mini-program finds delivery_sign. Set `origin` to the server's PUBLIC_BASE_URL
 * (https, listed under 开发管理 → 服务器域名 as request/uploadFile/downloadFile domain) and
 * `tenant` to the company code the couriers sign in with. */
module.exports = {
  origin: "https://sign.example.com",
  tenant: "demo",
};
