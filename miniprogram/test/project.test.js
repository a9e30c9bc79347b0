/* The project as WeChat DevTools opens it: app.json's pages and components exist with their
 * four files, every JSON parses, usingComponents resolve, the privacy declarations are
 * there, every .wxml and .wxss compiles with WeChat's own compilers (wcc/wcsc, shipped in
 * miniprogram-compiler; DevTools compiles with the same), and every page's script runs
 * and renders. No server needed. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const compiler = require("miniprogram-compiler");
const wcsc = require("miniprogram-compiler/src/wcsc");   // answers an Error where wxssToJs would crash
const { render, ROOT } = require("./wx.js");

const json = file => JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
const app = json("app.json");

function units() {
  const out = new Set(app.pages);
  const visit = unit => {
    const using = json(unit + ".json").usingComponents || {};
    Object.values(using).forEach(target => {
      const resolved = path.relative(ROOT, path.join(ROOT, path.dirname(unit), target)).replace(/\\/g, "/");
      if (!out.has(resolved)) { out.add(resolved); visit(resolved); }
    });
  };
  app.pages.forEach(visit);
  return [...out];
}

test("app.json: the sign page first (the scanned QR opens it), privacy declarations, sitemap", () => {
  assert.equal(app.pages[0], "pages/sign/index");
  assert.ok(app.pages.includes("pages/courier/index"));
  assert.deepEqual([...app.requiredPrivateInfos].sort(), ["chooseLocation", "getLocation"]);
  assert.ok(app.permission["scope.userLocation"].desc);
  assert.ok(fs.existsSync(path.join(ROOT, app.sitemapLocation)));
});

test("project.config.json: an AppID placeholder to replace, test and tools left out of the upload", () => {
  const project = json("project.config.json");
  assert.equal(project.compileType, "miniprogram");
  assert.equal(project.appid, "touristappid");
  const ignored = project.packOptions.ignore.map(i => i.value);
  assert.ok(ignored.includes("test") && ignored.includes("tools"));
});

test("every page and component has its js, json, wxml and wxss", () => {
  for (const unit of units()) {
    for (const ext of ["js", "json", "wxml", "wxss"]) {
      assert.ok(fs.existsSync(path.join(ROOT, unit + "." + ext)), unit + "." + ext);
    }
  }
  assert.equal(json("components/signature-pad/index.json").component, true);
});

test("WeChat's compilers accept every wxml and wxss", () => {
  const wxml = compiler.wxmlToJs(ROOT, { wxmlList: units() });
  assert.match(wxml, /\$gwx/);
  const sheets = ["app", ...units()];
  const compiled = wcsc(ROOT, sheets);
  assert.ok(!(compiled instanceof Error), String(compiled && compiled.message));
  assert.ok(sheets.every(s => (s + ".wxss") in compiled), Object.keys(compiled).join());
});

test("every page's script runs and renders", () => {
  for (const page of app.pages) {
    const comp = render(page);
    assert.ok(comp.dom, page);
  }
});
