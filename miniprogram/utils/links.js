/* The token a page is opened with: `?token=` (navigateTo, a subscription message's `page`)
 * or the URL WeChat hands over in `options.q` when "扫普通链接二维码打开小程序" opens a
 * scanned or tapped https://<host>/<kind>/<token> link (URL-encoded). */

/** `kind` is the link's first path segment: "s" for the sign link, "c" for the consent link. */
function tokenFrom(options, kind) {
  options = options || {};
  if (options.token) return String(options.token);
  if (!options.q) return null;
  let url = String(options.q);
  try { url = decodeURIComponent(url); } catch (e) { return null; }
  const m = new RegExp("/" + kind + "/([A-Za-z0-9_-]{16,128})(?:[?#/]|$)").exec(url);
  return m ? m[1] : null;
}

module.exports = { tokenFrom };
