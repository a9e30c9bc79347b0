/* The files generated from the H5 pages (utils/strings.js, utils/stroke-check.js) must match
 * what the generator makes from static/ now, so a string or a check changed on the H5 side
 * and not regenerated fails here. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const { outputs, literal } = require("../tools/gen-from-h5.js");

test("utils/strings.js and utils/stroke-check.js are what the generator makes from static/ now", () => {
  for (const [file, text] of outputs()) {
    assert.equal(fs.readFileSync(file, "utf8"), text, file + " is stale: run node miniprogram/tools/gen-from-h5.js");
  }
});

test("the shared stroke check refuses an empty pad, a dot and a line", () => {
  const check = require("../utils/stroke-check.js");
  const limits = { min_points: 10, dot_max_px: 6, line_max_thickness: 0.08, small_box_fraction: 0.12,
                   small_ink_fraction: 0.25, min_ms_per_character: 150, min_total_ms: 300, max_points: 20000 };
  const canvas = { width: 360, height: 200 };
  const dot = [{ points: Array.from({ length: 12 }, (_, i) => ({ x: 100 + (i % 2), y: 100, time: 1000 + i * 16 })) }];
  const line = [{ points: Array.from({ length: 40 }, (_, i) => ({ x: 20 + i * 7, y: 100, time: 1000 + i * 16 })) }];
  assert.equal(check([], canvas, limits, 1), "signature_empty");
  assert.equal(check(dot, canvas, limits, 1), "signature_dot");
  assert.equal(check(line, canvas, limits, 1), "signature_line");
});

test("the sign page's error words are the H5 page's", () => {
  const strings = require("../utils/strings.js");
  assert.equal(strings.recipient.zh["err.signature_empty"], "请先在框内签名");
  assert.equal(strings.errorBox.photos_missing, "photos");
  assert.ok(Object.keys(strings.recipient.zh).filter(k => k.startsWith("err.")).length >= 20);
});

test("the literal cutter reads past braces and quotes inside strings and comments", () => {
  const source = 'x(); var STRINGS = { a: "}{", b: \'\\\'}\', /* } */ c: { d: 1 } // }\n }; var y = 2;';
  assert.equal(literal(source, "STRINGS", "t.js"), '{ a: "}{", b: \'\\\'}\', /* } */ c: { d: 1 } // }\n }');
  assert.throws(() => literal("var OTHER = {};", "STRINGS", "t.js"), /no "var STRINGS = \{" found/);
});
