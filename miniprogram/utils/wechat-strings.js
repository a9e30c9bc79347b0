/* The few words only the mini-program has (WeChat features with no H5 counterpart), per page
 * as the generated tables; utils/i18n.js lays them under the generated ones. Everything the H5
 * pages also say comes from the generated files, never from here. */
const subscribe = {
  zh: { "subscribe.ask": "以后无人签收时，在微信里问我放哪里", "subscribe.on": "已开启：下次无人签收时会在微信里问您。",
        "subscribe.off": "未开启，下次仍会用短信问您。" },
  en: { "subscribe.ask": "Ask me in WeChat next time nobody is home", "subscribe.on": "Done: next time we will ask you in WeChat.",
        "subscribe.off": "Not turned on; next time we will ask you by SMS." },
};

module.exports = { recipient: subscribe, consent: subscribe };
