/* The H5 pages' wording (utils/strings.js and utils/consent-strings.js, generated from
 * static/*), over the mini-program's own few words (utils/wechat-strings.js), with the same
 * lookup rules as DS.I18n: the chosen language, then Chinese, then the key itself; {name}
 * placeholders filled from `vars`. */
const GENERATED = Object.assign({}, require("./strings.js"), require("./consent-strings.js"));
const OWN = require("./wechat-strings.js");

function tablesOf(page) {
  const own = OWN[page] || {};
  const out = {};
  Object.keys(GENERATED[page]).forEach(lang => { out[lang] = Object.assign({}, own[lang], GENERATED[page][lang]); });
  return out;
}
// The domain's words from core/vocabulary.py (generated), looked up first, as DS.I18n does.
const LABELS = require("./labels.js");

function phoneLanguage() {
  try {
    const info = wx.getAppBaseInfo ? wx.getAppBaseInfo() : wx.getSystemInfoSync();
    return /^zh/i.test((info && info.language) || "zh") ? "zh" : "en";
  } catch (e) {
    return "zh";
  }
}

function Translator(page, lang) {
  this.tables = tablesOf(page);
  this.lang = lang || phoneLanguage();
}

Translator.prototype.table = function () {
  return Object.assign({}, this.tables.zh, this.tables[this.lang] || {});
};

Translator.prototype.t = function (key, vars) {
  let text = (LABELS[this.lang] || {})[key];
  if (text === undefined) text = (this.tables[this.lang] || {})[key];
  if (text === undefined) text = this.tables.zh[key];
  if (text === undefined) text = key;
  if (vars) Object.keys(vars).forEach(k => { text = text.split("{" + k + "}").join(String(vars[k])); });
  return text;
};

Translator.prototype.toggle = function () { this.lang = this.lang === "en" ? "zh" : "en"; };

module.exports = { Translator };
