/* The dashboard shell: sign in, the hash router (#/board, #/waybills, #/waybill/<number>,
 * #/reports, #/admin) and sign out. Each view lives in its own file under DSB.views. */
(function () {
  "use strict";
  var $ = DSB.$, $all = DSB.$all;
  var STAFF = { admin: true, dispatcher: true };
  var leaving = null;       // the current view's clean-up (timers, animation frames)

  function showLogin() {
    $("#login").hidden = false;
    $("#nav").hidden = true;
    $("#logout").hidden = true;
    $("#who").textContent = "";
    DSB.clear($("#view"));
    var tenant = new URLSearchParams(location.search).get("tenant");
    if (tenant && !$("#login-tenant").value) $("#login-tenant").value = tenant;
    ($("#login-tenant").value ? $("#login-username") : $("#login-tenant")).focus();
  }

  function loginError(text) { var box = $("#login-error"); box.textContent = text || ""; box.hidden = !text; }

  function logIn(event) {
    event.preventDefault();
    var body = { tenant: $("#login-tenant").value.trim(), username: $("#login-username").value.trim(),
                 password: $("#login-password").value };
    if (!body.tenant || !body.username || !body.password) { loginError("请填写公司代码、用户名和密码"); return; }
    loginError("");
    DSB.raw("POST", "/auth/login", body).then(function (r) {
      if (r.status === 429) { loginError("尝试次数过多，请稍后再试"); return; }
      if (r.status !== 200) { loginError("用户名或密码错误"); return; }
      if (!STAFF[r.body.user.role]) { loginError("调度台仅供管理员和调度员使用；快递员请使用快递员应用"); return; }
      DSB.setSession({ token: r.body.token, expires_at: r.body.expires_at, user: r.body.user, tenant: body.tenant });
      $("#login-password").value = "";
      start();
    }).catch(function () { loginError("网络不可用，请稍后重试"); });
  }

  function logOut() {
    DSB.raw("POST", "/auth/logout").catch(function () {});
    DSB.setSession(null);
    route();
  }

  function start() {
    var session = DSB.session();
    $("#login").hidden = true;
    $("#nav").hidden = false;
    $("#logout").hidden = false;
    $("#nav-admin").hidden = session.user.role !== "admin";
    $("#who").textContent = (session.user.display_name || session.user.username) + " · " +
      DSB.label("role", session.user.role) + (session.user.org_unit ? " · " + session.user.org_unit : "");
    if (!location.hash || location.hash === "#/") location.hash = "#/board";
    else route();
  }

  function route() {
    if (leaving) { leaving(); leaving = null; }
    if (!DSB.session()) { showLogin(); return; }
    var parts = (location.hash.replace(/^#\/?/, "") || "board").split("/");
    var name = parts[0] === "waybill" ? "evidence" : parts[0];
    if (name === "admin" && DSB.session().user.role !== "admin") name = "board";
    var view = DSB.views[name] || DSB.views.board;
    $all("#nav a").forEach(function (a) {
      a.classList.toggle("active", a.dataset.view === name || (name === "evidence" && a.dataset.view === "waybills"));
    });
    var root = DSB.clear($("#view"));
    root.dataset.view = name;
    leaving = view(root, parts.slice(1)) || null;     // raw: each view decodes its own part
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("#login").addEventListener("submit", logIn);
    $("#logout").addEventListener("click", logOut);
    DSB.onUnauthorized(function () { DSB.setSession(null); route(); });
    window.addEventListener("hashchange", route);
    if (DSB.session()) start(); else showLogin();
  });
})();
