/* InkRecorder (static/js/ink-recorder.js) under node's test runner: what it records from
 * pointer events. The script runs in a VM context with a canvas stand-in that keeps the
 * listeners, so the events are the ones a browser would deliver (pointer ids, coalesced
 * samples, timeStamp relative to performance.timeOrigin). Run by tests/pages/test_ink_recorder.py. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const SOURCE = fs.readFileSync(path.join(__dirname, "..", "..", "..", "static", "js", "ink-recorder.js"), "utf8");
const ORIGIN = 1764547200000.25;     // performance.timeOrigin: epoch ms with a fraction

function load() {
  const context = { performance: { timeOrigin: ORIGIN }, devicePixelRatio: 3, Date, Math, JSON, Infinity };
  context.window = context;
  context.addEventListener = () => {};
  vm.runInNewContext(SOURCE, context, { filename: "ink-recorder.js" });
  return context.InkRecorder;
}

// Objects made inside the VM have that realm's prototypes; compare their JSON.
const plain = (value) => JSON.parse(JSON.stringify(value));

function fakeCanvas(width, height) {
  const listeners = {};
  const ctx = new Proxy({}, { get: (target, key) => (key in target ? target[key] : () => {}), set: (t, k, v) => { t[k] = v; return true; } });
  return {
    listeners, style: {}, clientWidth: width, clientHeight: height, width: 0, height: 0,
    getContext: () => ctx,
    getBoundingClientRect: () => ({ left: 10, top: 100, width, height }),
    addEventListener: (type, fn) => { (listeners[type] = listeners[type] || []).push(fn); },
    setPointerCapture: () => {},
    fire(type, event) { (listeners[type] || []).forEach((fn) => fn(Object.assign({ type, preventDefault() {} }, event))); },
  };
}

function pointer(x, y, timeStamp, extra) {
  return Object.assign({ pointerId: 1, pointerType: "touch", button: 0, clientX: x + 10, clientY: y + 100, timeStamp,
                         pressure: 0.5 }, extra);
}

test("every coalesced sample is a point, with sub-ms wall-clock time", () => {
  const InkRecorder = load();
  const canvas = fakeCanvas(300, 200);
  let changes = 0;
  const pad = new InkRecorder(canvas, { onChange: () => { changes += 1; } });
  canvas.fire("pointerdown", pointer(20, 30, 1000.125));
  const coalesced = [pointer(21, 31, 1004.5), pointer(23, 32, 1008.75), pointer(26, 34, 1012.875)];
  canvas.fire("pointermove", Object.assign(pointer(26, 34, 1012.875), { getCoalescedEvents: () => coalesced }));
  canvas.fire("pointerup", pointer(30, 35, 1020.5));
  const [stroke] = pad.toData();
  assert.deepEqual(stroke.points.map((p) => [p.x, p.y]), [[20, 30], [21, 31], [23, 32], [26, 34], [30, 35]]);
  assert.equal(stroke.points[0].time, Math.round((ORIGIN + 1000.125) * 1000) / 1000);
  assert.ok(stroke.points[1].time % 1 !== 0, "sub-ms part kept");
  assert.equal(changes, 1, "one change per stroke, at pointerup");
  assert.deepEqual(plain(pad.canvasInfo()), { width: 300, height: 200, dpr: 3 });
});

test("a second finger is not ink, and the clock never runs backwards", () => {
  const InkRecorder = load();
  const canvas = fakeCanvas(300, 200);
  const pad = new InkRecorder(canvas);
  canvas.fire("pointerdown", pointer(50, 50, 2000));
  canvas.fire("pointerdown", pointer(200, 150, 2001, { pointerId: 2 }));
  canvas.fire("pointermove", pointer(210, 160, 2002, { pointerId: 2 }));
  canvas.fire("pointermove", pointer(55, 52, 1990));          // an event stamped before the last
  canvas.fire("pointerup", pointer(55, 52, 2010));            // same place: no extra point
  const data = pad.toData();
  assert.equal(data.length, 1);
  const times = data[0].points.map((p) => p.time);
  assert.equal(times.length, 2);
  assert.ok(times[1] >= times[0]);
  assert.equal(pad.pointCount(), 2);
});

test("toData is a copy; fromData restores the recorded canvas without touching the points", () => {
  const InkRecorder = load();
  const canvas = fakeCanvas(300, 200);
  const pad = new InkRecorder(canvas);
  canvas.fire("pointerdown", pointer(10, 10, 100));
  canvas.fire("pointermove", pointer(40, 20, 130));
  canvas.fire("pointerup", pointer(40, 20, 140));
  const saved = pad.toData();
  saved[0].points[0].x = -1;
  assert.equal(pad.toData()[0].points[0].x, 10, "toData hands out a copy");

  const wide = fakeCanvas(600, 300);                           // reloaded in landscape
  const again = new InkRecorder(wide);
  again.fromData(pad.toData(), pad.canvasInfo());
  assert.deepEqual(again.toData(), pad.toData());
  // The ink is shown 1.5× (300 px high over 200), the declared canvas grows to cover the view.
  assert.deepEqual(plain(again.canvasInfo()), { width: 400, height: 200, dpr: 3 });
  wide.fire("pointerdown", pointer(150, 150, 500));
  wide.fire("pointerup", pointer(180, 150, 560));
  assert.deepEqual(again.toData()[1].points.map((p) => [p.x, p.y]), [[100, 100], [120, 100]]);
});

test("undo, clear and removing chosen strokes", () => {
  const InkRecorder = load();
  const canvas = fakeCanvas(300, 200);
  let changes = 0;
  const pad = new InkRecorder(canvas, { onChange: () => { changes += 1; } });
  for (const x of [20, 120, 220]) {
    canvas.fire("pointerdown", pointer(x, 50, x * 10));
    canvas.fire("pointerup", pointer(x + 30, 60, x * 10 + 80));
  }
  pad.removeStrokes((stroke) => stroke.points[0].x === 120);
  assert.deepEqual(pad.toData().map((s) => s.points[0].x), [20, 220]);
  pad.undo();
  assert.deepEqual(pad.toData().map((s) => s.points[0].x), [20]);
  pad.removeStrokes(() => true);
  assert.equal(pad.isEmpty(), true);
  assert.equal(changes, 6);
});

test("check refuses a dot and a line the way the server does", () => {
  const InkRecorder = load();
  const limits = { min_points: 10, dot_max_px: 6, line_max_thickness: 0.05, small_box_fraction: 0.12,
                   small_ink_fraction: 0.15, min_ms_per_character: 120, min_total_ms: 250, max_points: 20000 };
  const canvas = { width: 360, height: 200 };
  const dot = [{ points: Array.from({ length: 12 }, (_, i) => ({ x: 50 + (i % 2), y: 50, time: i * 16 })) }];
  const line = [{ points: Array.from({ length: 40 }, (_, i) => ({ x: 20 + i * 8, y: 60 + i * 0.2, time: i * 16 })) }];
  assert.equal(InkRecorder.check([], canvas, limits, 1), "signature_empty");
  assert.equal(InkRecorder.check(dot, canvas, limits, 1), "signature_dot");
  assert.equal(InkRecorder.check(line, canvas, limits, 1), "signature_line");
});
