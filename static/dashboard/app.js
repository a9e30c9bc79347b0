/* The dashboard shell: sign in, the hash router (#/board, #/waybills, #/waybill/<number>,
 * #/reports, #/admin), sign out, and the zh/en switch. Each view lives in its own file under
 * DSB.views. */
(function () {
  "use strict";
  var $ = DSB.$, $all = DSB.$all, t = DSB.t, i18n = DSB.i18n;
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

  /** Show a message of the string table (kept as data-i18n, so a language switch redoes it). */
  function loginError(key) {
    var box = $("#login-error");
    if (key) { box.dataset.i18n = key; box.textContent = t(key); } else { delete box.dataset.i18n; box.textContent = ""; }
    box.hidden = !key;
  }

  function logIn(event) {
    event.preventDefault();
    var body = { tenant: $("#login-tenant").value.trim(), username: $("#login-username").value.trim(),
                 password: $("#login-password").value };
    if (!body.tenant || !body.username || !body.password) { loginError("login.missing"); return; }
    loginError(null);
    DSB.raw("POST", "/auth/login", body).then(function (r) {
      if (r.status === 429) { loginError("login.limited"); return; }
      if (r.status !== 200) { loginError("login.failed"); return; }
      if (!STAFF[r.body.user.role]) { loginError("login.staff"); return; }
      DSB.setSession({ token: r.body.token, expires_at: r.body.expires_at, user: r.body.user, tenant: body.tenant });
      $("#login-password").value = "";
      start();
    }).catch(function () { loginError("offline"); });
  }

  function logOut() {
    DSB.raw("POST", "/auth/logout").catch(function () {});
    DSB.setSession(null);
    route();
  }

  function showWho() {
    var session = DSB.session();
    $("#who").textContent = session ? (session.user.display_name || session.user.username) + " · " +
      DSB.label("role", session.user.role) + (session.user.org_unit ? " · " + session.user.org_unit : "") : "";
  }

  function start() {
    var session = DSB.session();
    $("#login").hidden = true;
    $("#nav").hidden = false;
    $("#logout").hidden = false;
    $("#nav-admin").hidden = session.user.role !== "admin";
    showWho();
    if (!location.hash || location.hash === "#/") location.hash = "#/board";
    else route();
  }

  /** Show the view of the hash. ``memo`` is what the previous view's clean-up handed back
   * when the same view is drawn again in the other language (its unsaved filters, a key
   * shown once); a plain navigation passes none. */
  function route(memo) {
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
    leaving = view(root, parts.slice(1), memo || null) || null;     // raw: each view decodes its own part
  }

  /** The static texts of the page (data-i18n), <html lang>, the title and the top bar. */
  function applyLanguage() {
    i18n.apply(document);
    document.title = t("page.title");
    showWho();
  }

  function switchLanguage() {
    i18n.toggle();
    applyLanguage();
    if (!DSB.session()) return;
    var memo = leaving ? leaving() : null;
    leaving = null;
    route(memo);
  }

  document.addEventListener("DOMContentLoaded", function () {
    applyLanguage();
    $("#lang-toggle").hidden = false;
    $("#lang-toggle").addEventListener("click", switchLanguage);
    $("#login").addEventListener("submit", logIn);
    $("#logout").addEventListener("click", logOut);
    DSB.onUnauthorized(function () { DSB.setSession(null); route(); });
    window.addEventListener("hashchange", function () { route(); });
    if (DSB.session()) start(); else showLogin();
  });
})();
