/* InkRecorder: the handwriting recorder of the H5 sign page (the evidence of a signature).
 *
 * Records every pointer sample the browser delivers (coalesced events included, no
 * thinning) as [{penColor, points: [{x, y, time, pressure}]}] — the shape of signature_pad's
 * toData(), so the submit contract reads like the well-known library's — with wall-clock
 * `time` in ms (sub-ms where the browser has it). The server's stroke checks judge the raw
 * dynamics, so nothing here smooths or drops points.
 *
 * Why not the signature_pad library (szimek/signature_pad) itself: it is a drawing widget,
 * not a recorder. It throttles moves (16 ms) and drops points closer than minDistance, reads
 * one point per pointermove (the coalesced samples a fast hand produces between frames are
 * lost), and stamps points with Date.now() (whole ms, taken when the handler runs, not when
 * the finger was there). Its fromData(pointGroups) redraws into the current canvas size,
 * while ours restores the canvas the points were recorded against; and it reports through
 * beginStroke/endStroke events where this pad has one onChange callback. Those are the
 * parts that matter for evidence, so this is written by hand (about 250 lines).
 *
 * Coordinates are in the pad's logical space: CSS pixels of the canvas when the first
 * stroke was drawn. When the canvas is resized (rotation, full-screen) with ink on it,
 * the ink is shown scaled and the logical canvas only ever grows, so recorded points are
 * never rewritten and always lie inside the canvas declared with them.
 */
(function (global) {
  "use strict";

  // performance.timeOrigin + event.timeStamp is wall-clock with sub-ms precision.
  var origin = global.performance && performance.timeOrigin ? performance.timeOrigin : 0;

  function eventTime(e) {
    var ts = e.timeStamp;
    if (ts > 1e11) return ts;                 // old WebViews: already epoch ms
    if (origin && ts > 0) return origin + ts;
    return Date.now();
  }

  function round(v, digits) {
    var f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  function InkRecorder(canvas, options) {
    options = options || {};
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.penColor = options.penColor || "#0b1b3f";
    this.penWidth = options.penWidth || 2.6;
    this.onChange = options.onChange || function () {};
    this.onResize = options.onResize || function () {};
    this.strokes = [];
    this.base = null;      // CSS size of the canvas when the first stroke began
    this.logical = null;   // the canvas declared with the points; only grows
    this.scale = 1;
    this.dpr = Math.max(global.devicePixelRatio || 1, 1);
    this.activePointer = null;
    this._bind();
    this.resize();
  }

  InkRecorder.prototype._bind = function () {
    var self = this, c = this.canvas;
    c.style.touchAction = "none";
    c.addEventListener("pointerdown", function (e) { self._down(e); });
    c.addEventListener("pointermove", function (e) { self._move(e); });
    c.addEventListener("pointerup", function (e) { self._up(e); });
    c.addEventListener("pointercancel", function (e) { self._up(e); });
    // Old WebViews ignore touch-action: stop scrolling and pinch-zoom by hand.
    var stop = function (e) { if (e.cancelable) e.preventDefault(); };
    c.addEventListener("touchstart", stop, { passive: false });
    c.addEventListener("touchmove", stop, { passive: false });
    c.addEventListener("touchend", stop, { passive: false });
    if (global.ResizeObserver) {
      new ResizeObserver(function () { self.resize(); }).observe(c);
    } else {
      global.addEventListener("resize", function () { self.resize(); });
    }
  };

  InkRecorder.prototype._point = function (e) {
    var rect = this.canvas.getBoundingClientRect();
    var pressure = typeof e.pressure === "number" ? e.pressure : 0.5;
    return {
      x: round((e.clientX - rect.left) / this.scale, 2),
      y: round((e.clientY - rect.top) / this.scale, 2),
      time: round(eventTime(e), 3),
      pressure: round(pressure, 4),
    };
  };

  InkRecorder.prototype._down = function (e) {
    if (this.activePointer !== null) return;   // a second finger is not ink
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    this.activePointer = e.pointerId;
    try { this.canvas.setPointerCapture(e.pointerId); } catch (err) { /* not supported */ }
    if (!this.base) {
      this.base = { width: this._cssWidth(), height: this._cssHeight() };
      this.logical = { width: this.base.width, height: this.base.height };
    }
    this.strokes.push({ penColor: this.penColor, points: [this._point(e)] });
    this._drawLast(1);
  };

  InkRecorder.prototype._move = function (e) {
    if (e.pointerId !== this.activePointer) return;
    e.preventDefault();
    var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    if (!events.length) events = [e];
    var stroke = this.strokes[this.strokes.length - 1];
    var last = stroke.points[stroke.points.length - 1];
    for (var i = 0; i < events.length; i++) {
      var p = this._point(events[i]);
      if (p.time < last.time) p.time = last.time;   // a clock never runs backwards in evidence
      stroke.points.push(p);
      last = p;
    }
    this._drawLast(events.length + 1);
  };

  InkRecorder.prototype._up = function (e) {
    if (e.pointerId !== this.activePointer) return;
    this.activePointer = null;
    var stroke = this.strokes[this.strokes.length - 1];
    var p = this._point(e);
    var last = stroke.points[stroke.points.length - 1];
    if (e.type === "pointerup" && (p.x !== last.x || p.y !== last.y) && p.time >= last.time) {
      stroke.points.push(p);
      this._drawLast(2);
    }
    this.onChange(this);
  };

  InkRecorder.prototype._cssWidth = function () { return this.canvas.clientWidth || 1; };
  InkRecorder.prototype._cssHeight = function () { return this.canvas.clientHeight || 1; };

  /** Match the backing store to CSS size × devicePixelRatio and redraw. */
  InkRecorder.prototype.resize = function () {
    var w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    if (!w || !h) return;   // hidden: measure when shown
    var dpr = Math.max(global.devicePixelRatio || 1, 1);
    this.dpr = dpr;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    if (this.base) {
      // Show the ink at the size it was written; the declared canvas grows to cover
      // whatever area is visible, so every point recorded stays inside it.
      this.scale = Math.min(w / this.base.width, h / this.base.height);
      this.logical = { width: Math.max(this.logical.width, round(w / this.scale, 1)),
                       height: Math.max(this.logical.height, round(h / this.scale, 1)) };
    } else {
      this.scale = 1;
    }
    this.redraw();
    this.onResize(this);
  };

  InkRecorder.prototype._setup = function () {
    var ctx = this.ctx, k = this.dpr * this.scale;
    ctx.setTransform(k, 0, 0, k, 0, 0);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = this.penColor;
    ctx.fillStyle = this.penColor;
  };

  InkRecorder.prototype._width = function (p) {
    var pressure = p.pressure > 0 ? p.pressure : 0.5;
    return (this.penWidth * (0.6 + pressure * 0.8)) / this.scale;
  };

  InkRecorder.prototype._drawSegment = function (a, b) {
    var ctx = this.ctx;
    ctx.lineWidth = this._width(b);
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  };

  InkRecorder.prototype._drawStroke = function (points, from) {
    if (points.length === 1 && from === 0) {
      this.ctx.beginPath();
      this.ctx.arc(points[0].x, points[0].y, this._width(points[0]) / 2, 0, 2 * Math.PI);
      this.ctx.fill();
      return;
    }
    for (var i = Math.max(from, 1); i < points.length; i++) this._drawSegment(points[i - 1], points[i]);
  };

  InkRecorder.prototype._drawLast = function (count) {
    var points = this.strokes[this.strokes.length - 1].points;
    this._setup();
    this._drawStroke(points, Math.max(points.length - count, 0));
  };

  InkRecorder.prototype.redraw = function () {
    this.ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this._setup();
    for (var i = 0; i < this.strokes.length; i++) this._drawStroke(this.strokes[i].points, 0);
  };

  InkRecorder.prototype.clear = function () {
    this.strokes = [];
    this.base = this.logical = null;
    this.activePointer = null;
    this.resize();
    this.onChange(this);
  };

  InkRecorder.prototype.undo = function () {
    this.strokes.pop();
    if (!this.strokes.length) { this.clear(); return; }
    this.redraw();
    this.onChange(this);
  };

  /** Take out the strokes `predicate(stroke)` picks (one box of the per-box pad), keeping
   * the others exactly as recorded. */
  InkRecorder.prototype.removeStrokes = function (predicate) {
    var kept = this.strokes.filter(function (stroke) { return !predicate(stroke); });
    if (!kept.length) { this.clear(); return; }
    this.strokes = kept;
    this.redraw();
    this.onChange(this);
  };

  InkRecorder.prototype.isEmpty = function () { return this.strokes.length === 0; };

  InkRecorder.prototype.pointCount = function () {
    return this.strokes.reduce(function (n, s) { return n + s.points.length; }, 0);
  };

  /** signature_pad's toData(): a copy, safe to serialise. */
  InkRecorder.prototype.toData = function () {
    return JSON.parse(JSON.stringify(this.strokes));
  };

  /** The logical size to lay things out in (the name's boxes): the canvas of the first stroke,
   * or the current one while the pad is empty. Multiply by `scale` for CSS pixels. */
  InkRecorder.prototype.layoutSize = function () {
    return this.base || { width: this._cssWidth(), height: this._cssHeight() };
  };

  /** The canvas the points were recorded against, as the submit body declares it. */
  InkRecorder.prototype.canvasInfo = function () {
    var size = this.logical || { width: this._cssWidth(), height: this._cssHeight() };
    return { width: size.width, height: size.height, dpr: this.dpr };
  };

  /** Restore saved strokes (a page reload) without touching their points. */
  InkRecorder.prototype.fromData = function (strokes, canvasInfo) {
    this.strokes = strokes && strokes.length ? JSON.parse(JSON.stringify(strokes)) : [];
    this.logical = this.strokes.length && canvasInfo ? { width: canvasInfo.width, height: canvasInfo.height } : null;
    this.base = this.logical ? { width: this.logical.width, height: this.logical.height } : null;
    this.resize();
  };

  /** The server's cheap checks (evidence/strokes.py), run on the phone so a dot or a line
   * is refused where it is drawn. `limits` come from the sign view (signature_limits), so
   * the thresholds live in one place; the server stays the authority. Returns the code of
   * the first failure, in the server's order, or null. */
  InkRecorder.check = function (strokes, canvas, limits, characters) {
    var points = [];
    strokes.forEach(function (s) { if (s.points.length) points.push(s.points); });
    if (!points.length) return "signature_empty";
    var all = [].concat.apply([], points);
    var n = all.length;
    if (n > limits.max_points) return "signature_too_many_points";
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, ink = 0;
    points.forEach(function (stroke) {
      for (var i = 0; i < stroke.length; i++) {
        var p = stroke[i];
        minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x); minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
        if (i) ink += Math.hypot(p.x - stroke[i - 1].x, p.y - stroke[i - 1].y);
      }
    });
    var boxW = maxX - minX, boxH = maxY - minY;
    var isDot = Math.max(boxW, boxH) <= limits.dot_max_px;
    if (n < limits.min_points) return isDot ? "signature_dot" : "signature_too_few_points";
    if (isDot) return "signature_dot";
    if (points.length === 1 && n >= 2) {
      var mx = 0, my = 0;
      all.forEach(function (p) { mx += p.x; my += p.y; });
      mx /= n; my /= n;
      var sxx = 0, syy = 0, sxy = 0;
      all.forEach(function (p) { var dx = p.x - mx, dy = p.y - my; sxx += dx * dx; syy += dy * dy; sxy += dx * dy; });
      var trace = sxx + syy, det = sxx * syy - sxy * sxy;
      var root = Math.sqrt(Math.max(trace * trace / 4 - det, 0));
      var major = trace / 2 + root, minor = Math.max(trace / 2 - root, 0);
      if ((major > 0 ? Math.sqrt(minor / major) : 0) < limits.line_max_thickness) return "signature_line";
    }
    var boxShare = Math.max(boxW / canvas.width, boxH / canvas.height);
    if (boxShare < limits.small_box_fraction || ink / Math.hypot(canvas.width, canvas.height) < limits.small_ink_fraction) {
      return "signature_too_small";
    }
    for (var j = 1; j < n; j++) if (!(all[j].time >= all[j - 1].time)) return "signature_timing_invalid";
    var duration = all[n - 1].time - all[0].time;
    if (duration < Math.max(limits.min_total_ms, limits.min_ms_per_character * Math.max(characters || 1, 1))) {
      return "signature_timing_invalid";
    }
    return null;
  };

  global.InkRecorder = InkRecorder;
})(window);
