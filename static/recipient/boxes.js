/* Sign page, sign screen under `handwriting: recognized` (issue 13): one box per character of
 * the signer's name drawn over the pad, sent as signature.boxes (canvas units: the pad's
 * logical space, the same as the points), the server's 422 signature_name_mismatch shown on
 * the failing box(es), a clear button per box, and — under `recognition: strict`, once the
 * name has failed three times — the assisted path offered instead.
 *
 * Strokes belong to the box holding most of their points, else to the nearest box centre:
 * the rule of evidence/handwriting.py's strokes_in_boxes, so "clear box 2" removes what the
 * server would read as box 2. */
(function (R) {
  "use strict";
  if (!R.usable) return;
  var $ = DS.$, el = DS.el, t = R.t;
  var IGNORED = /[\s·・•.\-]/g;   // separators in minority names (买买提·艾力), as the server ignores them
  var STRICT_OFFER_AFTER = 3;     // failed readings before the strict mode offers the courier's help

  function isHanzi(ch) {
    var c = ch.codePointAt(0);
    return (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0x20000 && c <= 0x2ffff);
  }

  /** The characters to write one per box, or null when the policy or the name does not ask for it. */
  function characters() {
    if (!R.view || R.view.policy.handwriting !== "recognized") return null;
    var chars = Array.from(R.signerName().replace(IGNORED, ""));
    return chars.length && chars.every(isHanzi) ? chars : null;
  }

  /** The boxes in canvas units: squares side by side, centred (as bench/make_recognition_corpus.py lays them). */
  function layout(count) {
    var size = R.pad.layoutSize(), w = size.width, h = size.height;
    var side = Math.min(0.8 * h, 0.92 * w / count);
    var left = (w - side * count) / 2, top = (h - side) / 2;
    var boxes = [];
    for (var i = 0; i < count; i++) {
      boxes.push({ x: round1(left + i * side), y: round1(top), width: round1(side), height: round1(side) });
    }
    return boxes;
  }

  function round1(v) { return Math.round(v * 10) / 10; }

  function boxOf(stroke, boxes) {
    var best = -1, most = 0;
    boxes.forEach(function (b, i) {
      var n = stroke.points.filter(function (p) {
        return p.x >= b.x && p.x <= b.x + b.width && p.y >= b.y && p.y <= b.y + b.height;
      }).length;
      if (n > most) { most = n; best = i; }
    });
    if (best >= 0) return best;
    var cx = 0, cy = 0;
    stroke.points.forEach(function (p) { cx += p.x; cy += p.y; });
    cx /= stroke.points.length; cy /= stroke.points.length;
    var nearest = 0, distance = Infinity;
    boxes.forEach(function (b, i) {
      var d = Math.hypot(cx - b.x - b.width / 2, cy - b.y - b.height / 2);
      if (d < distance) { distance = d; nearest = i; }
    });
    return nearest;
  }

  /** What box i holds, as a key: a failed box counts as rewritten once its ink changes. */
  function inkOf(i, boxes) {
    return R.pad.toData().filter(function (s) { return boxOf(s, boxes) === i; })
      .map(function (s) { return s.points[0].time; }).join(",");
  }

  function current() { var chars = characters(); return chars ? { chars: chars, boxes: layout(chars.length) } : null; }

  function failed() { return R.state.nameFailed || {}; }

  function render() {
    var layer = $("#pad-boxes"), tools = $("#pad-box-tools"), canvas = $("#signature-pad");
    var now = current();
    layer.textContent = "";
    tools.textContent = "";
    layer.hidden = tools.hidden = !now;
    $(".pad-line").hidden = !!now;
    $("#assisted-offer").hidden = !(now && R.view.policy.recognition === "strict" &&
                                    (R.state.nameFailures || 0) >= STRICT_OFFER_AFTER);
    if (!now) return;
    var k = R.pad.scale, left = canvas.offsetLeft, top = canvas.offsetTop, flags = failed();
    layer.style.left = left + "px";
    layer.style.top = top + "px";
    now.boxes.forEach(function (b, i) {
      var bad = flags[i] !== undefined;
      var box = el("div", { class: "pad-box", dataset: { testid: "pad-box", index: i, state: bad ? "failed" : "" } },
        el("span", { class: "pad-box-char", text: now.chars[i] }));
      place(box, b.x * k, b.y * k, b.width * k, b.height * k);
      layer.appendChild(box);
      var clear = el("button", {
        type: "button", class: "btn small" + (bad ? " primary" : ""), text: t("signature.box.clear"),
        "aria-label": t("signature.box.clear.aria", { n: i + 1, char: now.chars[i] }),
        dataset: { testid: "pad-box-clear", index: i, state: bad ? "failed" : "" },
        on: { click: function () { clearBox(i); } } });
      place(clear, left + b.x * k, null, b.width * k, null);
      tools.appendChild(clear);
    });
  }

  // Through the CSSOM: the page's CSP (style-src 'self') refuses style attributes.
  function place(node, left, top, width, height) {
    node.style.left = left + "px";
    node.style.width = width + "px";
    if (top !== null) node.style.top = top + "px";
    if (height !== null) node.style.height = height + "px";
  }

  function clearBox(i) {
    var now = current();
    if (!now) return;
    R.pad.removeStrokes(function (s) { return boxOf(s, now.boxes) === i; });
  }

  /** After each change of the ink: a failed box whose ink changed is no longer flagged. */
  function inkChanged() {
    var now = current(), flags = failed();
    if (!now || !Object.keys(flags).length) return;
    Object.keys(flags).forEach(function (i) { if (inkOf(Number(i), now.boxes) !== flags[i]) delete flags[i]; });
    R.state.nameFailed = flags;
    if (!Object.keys(flags).length && R.shownErrors.signature &&
        R.shownErrors.signature.code === "signature_name_mismatch") R.showError("signature", null);
    render();
  }

  /** The server's 422: which boxes did not read as their character. Returns the error to show. */
  function mismatch(errors) {
    var now = current();
    var indexes = errors.map(function (e) { var m = /^signature\.boxes\[(\d+)\]$/.exec(e.field || ""); return m ? Number(m[1]) : -1; })
      .filter(function (i) { return i >= 0; });
    if (!now || !indexes.length) return errors[0];
    var flags = {};
    indexes.forEach(function (i) { flags[i] = inkOf(i, now.boxes); });
    R.state.nameFailed = flags;
    R.state.nameFailures = (R.state.nameFailures || 0) + 1;
    R.save();
    render();
    var numbers = indexes.map(function (i) { return i + 1; });
    if (indexes.length === 1) {
      return { code: "signature_name_mismatch", vars: { n: numbers[0], char: now.chars[indexes[0]] }, message: errors[0].message };
    }
    return { code: "signature_name_mismatch", variant: "many", vars: { n: numbers.join(t("sep.numbers")) },
             message: errors[0].message };
  }

  R.nameBoxes = function () { var now = current(); return now ? now.boxes : null; };
  R.renderBoxes = render;
  R.boxesInkChanged = inkChanged;
  R.nameMismatch = mismatch;
  R.renderers.push(render);
})(window.DSR);
