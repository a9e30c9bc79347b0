/* components/signature-pad: a canvas 2D signature pad for the mini-program.
 *
 * Records every touch point WeChat delivers, nothing smoothed or dropped, in the submit
 * contract's shape (signature_pad's toData(), as the H5 pad sends it):
 *   strokes: [{points: [{x, y, time, pressure?}]}], canvas: {width, height, dpr}
 * x/y are canvas-relative CSS px (the touch's own x/y on a canvas, else client - rect);
 * `pressure` is the touch's `force` (0..1) where the phone reports one and absent
 * otherwise, so the server uses its default rather than a made-up value. `time` is epoch
 * ms: WeChat's event.timeStamp counts from page start, so the offset to the wall clock is
 * taken once at the first touch and kept, and the intervals between points stay exactly
 * those of the events. The canvas size is the one measured when the first stroke began.
 *
 * Events: `change` with {empty, points} after each stroke, undo and clear.
 * Methods (via selectComponent): toData(), canvasInfo(), isEmpty(), undo(), clear(). */
function round(v, digits) {
  const f = Math.pow(10, digits);
  return Math.round(v * f) / f;
}

Component({
  properties: {
    hint: { type: String, value: "" },
    penColor: { type: String, value: "#0b1b3f" },
  },

  data: { empty: true },

  lifetimes: {
    attached() {
      this.strokes = [];
      this.size = null;       // {width, height, left, top} of the canvas
      this.drawn = null;      // the size the first stroke was recorded against
      this.clockOffset = null;
      this.ctx = null;
      this.dpr = 1;
      try {
        const info = wx.getWindowInfo ? wx.getWindowInfo() : wx.getSystemInfoSync();
        this.dpr = Math.max(Number(info && info.pixelRatio) || 1, 1);
      } catch (e) { /* keep 1 */ }
    },
    ready() { this.measure(); },
  },

  methods: {
    /** Size the canvas' backing store to CSS size × pixelRatio (the 2D node, where the
     * base library gives one) and remember the CSS size points are declared against. */
    measure() {
      return new Promise(resolve => {
        this.createSelectorQuery().select("#pad").fields({ node: true, size: true, rect: true }).exec(res => {
          const found = res && res[0];
          if (found && found.width && found.height) {
            this.size = { width: round(found.width, 1), height: round(found.height, 1),
                          left: found.left || 0, top: found.top || 0 };
          }
          if (found && found.node && found.node.getContext) {
            const canvas = found.node;
            canvas.width = Math.round(this.size.width * this.dpr);
            canvas.height = Math.round(this.size.height * this.dpr);
            this.ctx = canvas.getContext("2d");
            this.redraw();
          }
          resolve(this.size);
        });
      });
    },

    _time(e) {
      const ts = Number(e.timeStamp);
      if (!(ts > 0)) return round(Date.now(), 3);
      if (ts > 1e11) return round(ts, 3);                 // already epoch ms
      if (this.clockOffset === null) this.clockOffset = Date.now() - ts;
      return round(this.clockOffset + ts, 3);
    },

    _point(touch, time) {
      const size = this.size || { left: 0, top: 0 };
      const x = typeof touch.x === "number" ? touch.x : touch.clientX - size.left;
      const y = typeof touch.y === "number" ? touch.y : touch.clientY - size.top;
      const point = { x: round(x, 2), y: round(y, 2), time };
      if (typeof touch.force === "number" && touch.force > 0) point.pressure = round(Math.min(touch.force, 1), 4);
      return point;
    },

    onTouchStart(e) {
      const touch = (e.changedTouches || e.touches || [])[0];
      if (!touch || this.active) return;              // a second finger is not ink
      this.active = true;
      if (!this.drawn) this.drawn = this.size ? { width: this.size.width, height: this.size.height } : null;
      this.strokes.push({ penColor: this.data.penColor, points: [this._point(touch, this._time(e))] });
      this._drawLast(1);
    },

    onTouchMove(e) {
      if (!this.active) return;
      const touch = (e.touches || e.changedTouches || [])[0];
      if (!touch) return;
      const points = this.strokes[this.strokes.length - 1].points;
      const last = points[points.length - 1];
      const p = this._point(touch, this._time(e));
      if (p.time < last.time) p.time = last.time;     // a clock never runs backwards in evidence
      points.push(p);
      this._drawLast(2);
    },

    onTouchEnd(e) {
      if (!this.active) return;
      this.active = false;
      const touch = (e.changedTouches || [])[0];
      const points = this.strokes[this.strokes.length - 1].points;
      const last = points[points.length - 1];
      if (touch && e.type !== "touchcancel") {
        const p = this._point(touch, this._time(e));
        if ((p.x !== last.x || p.y !== last.y) && p.time >= last.time) { points.push(p); this._drawLast(2); }
      }
      this._changed();
    },

    _changed() {
      this.setData({ empty: this.strokes.length === 0 });
      this.triggerEvent("change", { empty: this.strokes.length === 0, points: this.pointCount() });
    },

    _width(p) { return 2.6 * (0.6 + (p.pressure > 0 ? p.pressure : 0.5) * 0.8); },

    _drawStroke(points, from) {
      const ctx = this.ctx;
      if (!ctx) return;
      ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = ctx.fillStyle = this.data.penColor;
      if (points.length === 1 && from === 0) {
        ctx.beginPath();
        ctx.arc(points[0].x, points[0].y, this._width(points[0]) / 2, 0, 2 * Math.PI);
        ctx.fill();
        return;
      }
      for (let i = Math.max(from, 1); i < points.length; i++) {
        ctx.lineWidth = this._width(points[i]);
        ctx.beginPath();
        ctx.moveTo(points[i - 1].x, points[i - 1].y);
        ctx.lineTo(points[i].x, points[i].y);
        ctx.stroke();
      }
    },

    _drawLast(count) {
      const points = this.strokes[this.strokes.length - 1].points;
      this._drawStroke(points, Math.max(points.length - count, 0));
    },

    redraw() {
      if (!this.ctx) return;
      this.ctx.setTransform(1, 0, 0, 1, 0, 0);
      this.ctx.clearRect(0, 0, this.size.width * this.dpr, this.size.height * this.dpr);
      this.strokes.forEach(s => this._drawStroke(s.points, 0));
    },

    clear() {
      this.strokes = [];
      this.drawn = null;
      this.clockOffset = null;
      this.active = false;
      this.redraw();
      this._changed();
    },

    undo() {
      this.strokes.pop();
      if (!this.strokes.length) { this.clear(); return; }
      this.redraw();
      this._changed();
    },

    isEmpty() { return this.strokes.length === 0; },

    pointCount() { return this.strokes.reduce((n, s) => n + s.points.length, 0); },

    /** signature_pad's toData(): a copy, safe to serialise. */
    toData() { return JSON.parse(JSON.stringify(this.strokes)); },

    /** The canvas the points were recorded against, as the submit body declares it. */
    canvasInfo() {
      const size = this.drawn || this.size || { width: 1, height: 1 };
      return { width: size.width, height: size.height, dpr: this.dpr };
    },

    /** Restore strokes saved before a reload without touching their points. */
    fromData(strokes, canvas) {
      this.strokes = strokes && strokes.length ? JSON.parse(JSON.stringify(strokes)) : [];
      this.drawn = this.strokes.length && canvas ? { width: canvas.width, height: canvas.height } : null;
      this.redraw();
      this.setData({ empty: this.strokes.length === 0 });
    },
  },
});
