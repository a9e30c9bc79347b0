/* components/signature-pad records touches in the submit contract's shape: every point,
 * the touch's force as pressure where there is one, event times kept apart exactly, and the
 * canvas size the strokes were drawn against. No server needed. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { render, simulate } = require("./wx.js");

// jsdom lays nothing out: give the pad's canvas the size a 390 pt wide phone gives it.
function sized(width, height) {
  const proto = window.HTMLElement.prototype;
  const original = proto.getBoundingClientRect;
  proto.getBoundingClientRect = function () {
    return this.tagName === "WX-CANVAS"
      ? { left: 12, top: 80, right: 12 + width, bottom: 80 + height, width, height, x: 12, y: 80 }
      : original.call(this);
  };
  return () => { proto.getBoundingClientRect = original; };
}

async function pad() {
  const comp = render("components/signature-pad/index", { hint: "请签名" });
  await simulate.sleep(10);
  await comp.instance.measure();
  return comp;
}

test("touch points, force and event times are recorded as they came", async () => {
  const restore = sized(343, 200);
  try {
    const comp = await pad();
    const pad_ = comp.instance;
    const stroke = [[20, 30, 1000.5, 0.31], [24.25, 33.5, 1016.7, 0.42], [30, 41, 1033.1, 0.47], [41.5, 44, 1049.9, 0.5]];
    pad_.onTouchStart({ type: "touchstart", timeStamp: stroke[0][2], touches: [{ x: stroke[0][0], y: stroke[0][1], force: stroke[0][3] }] });
    stroke.slice(1).forEach(([x, y, t, f]) => pad_.onTouchMove({ type: "touchmove", timeStamp: t, touches: [{ x, y, force: f }] }));
    pad_.onTouchEnd({ type: "touchend", timeStamp: 1050, changedTouches: [{ x: 41.5, y: 44, force: 0 }] });
    // A phone without force: no pressure key at all, so the server applies its default.
    pad_.onTouchStart({ type: "touchstart", timeStamp: 1200, touches: [{ x: 100, y: 60 }] });
    pad_.onTouchMove({ type: "touchmove", timeStamp: 1216, touches: [{ x: 110, y: 70 }] });
    pad_.onTouchEnd({ type: "touchend", timeStamp: 1232, changedTouches: [{ x: 120, y: 66 }] });

    const data = pad_.toData();
    assert.equal(data.length, 2);
    assert.deepEqual(data[0].points.map(p => [p.x, p.y, p.pressure]), stroke.map(([x, y, , f]) => [x, y, f]));
    const t0 = data[0].points[0].time;
    assert.ok(t0 > 1.6e12, "times are epoch milliseconds");
    assert.deepEqual(data[0].points.map(p => Math.round((p.time - t0) * 1000) / 1000), stroke.map(s => Math.round((s[2] - 1000.5) * 1000) / 1000));
    assert.deepEqual(data[1].points.map(p => [p.x, p.y]), [[100, 60], [110, 70], [120, 66]]);
    assert.ok(data[1].points.every(p => !("pressure" in p)));
    assert.equal(Math.round((data[1].points[0].time - t0) * 1000), 199500);
    assert.deepEqual(pad_.canvasInfo(), { width: 343, height: 200, dpr: 3 });
  } finally { restore(); }
});

test("touches without canvas x/y are placed relative to the canvas", async () => {
  const restore = sized(300, 150);
  try {
    const comp = await pad();
    comp.instance.onTouchStart({ type: "touchstart", timeStamp: 5, touches: [{ clientX: 62, clientY: 130 }] });
    comp.instance.onTouchEnd({ type: "touchend", timeStamp: 21, changedTouches: [{ clientX: 72, clientY: 135 }] });
    assert.deepEqual(comp.instance.toData()[0].points.map(p => [p.x, p.y]), [[50, 50], [60, 55]]);
  } finally { restore(); }
});

test("the canvas' touch bindings feed the recording; undo and clear empty it", async () => {
  const restore = sized(300, 150);
  try {
    const comp = await pad();
    const canvas = comp.querySelector("#pad");
    canvas.dispatchEvent("touchstart", { touches: [{ x: 10, y: 10 }], changedTouches: [{ x: 10, y: 10 }] });
    await simulate.sleep(5);
    canvas.dispatchEvent("touchmove", { touches: [{ x: 40, y: 20 }], changedTouches: [{ x: 40, y: 20 }] });
    await simulate.sleep(5);
    canvas.dispatchEvent("touchend", { touches: [], changedTouches: [{ x: 60, y: 30 }] });
    await simulate.sleep(5);
    assert.equal(comp.instance.toData().length, 1);
    assert.ok(comp.instance.pointCount() >= 2);
    assert.equal(comp.data.empty, false);
    comp.instance.undo();
    assert.equal(comp.instance.isEmpty(), true);
    assert.equal(comp.data.empty, true);
  } finally { restore(); }
});
