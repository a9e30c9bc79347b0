/* utils/strings.js is generated from the H5 pages' tables: it must match what the
 * generator makes from static/ now, so a string changed on the H5 page and not
 * regenerated fails here. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const { render, literal, TARGET } = require("../tools/gen-strings.js");

test("utils/strings.js is what the generator makes from static/ (run tools/gen-strings.js)", () => {
  assert.equal(fs.readFileSync(TARGET, "utf8"), render());
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
