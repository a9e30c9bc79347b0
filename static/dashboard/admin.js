/* Tenant administration (role admin): users, org units, doc types and their sign-off
 * policies, API keys (the key is shown once), webhooks with their delivery log. */
(function () {
  "use strict";
  var el = DSB.el;
  var TABS = [["users", "用户"], ["org-units", "组织机构"], ["doc-types", "单据类型与策略"], ["api-keys", "API 密钥"], ["webhooks", "Webhook"]];
  var EVENTS = ["waybill.signed", "waybill.partially_signed", "waybill.refused", "receipt.pdf_ready", "waybill.reconciled"];
  var POLICY = [
    ["signer", "签收人", ["anyone", "consignee_only"], { anyone: "任何人可代收", consignee_only: "仅限收货人本人" }],
    ["otp", "短信验证码", ["none", "required"], { none: "不需要", required: "必须验证" }],
    ["handwriting", "手写要求", ["basic", "strict"], { basic: "基本", strict: "严格" }],
    ["location", "位置", ["optional", "required"], { optional: "可选（缺失记为异常）", required: "必须" }],
    ["photos_min", "最少照片", "int"], ["photos_max", "最多照片", "int"], ["geofence_m", "地理围栏（米）", "int"],
    ["link_ttl_s", "签收码有效期（秒）", "int"], ["allow_partial", "允许部分签收", "bool"], ["allow_refuse", "允许拒收", "bool"],
    ["auto_seal", "自动加盖公章", "bool"],
  ];

  function input(testid, attrs) { return el("input", Object.assign({ dataset: { testid: testid } }, attrs || {})); }
  function labelled(text, control) { return el("label", { class: "filter" }, el("span", { text: text }), control); }
  function table(head, rows, testid) {
    return el("div", { class: "table-wrap" }, el("table", { class: "grid", dataset: testid ? { testid: testid } : {} },
      el("thead", null, el("tr", null, head.map(function (h) { return el("th", { text: h }); }))), el("tbody", null, rows)));
  }
  function errorBox() { return el("p", { class: "error", role: "alert", hidden: true, dataset: { testid: "admin-error" } }); }
  function fail(box) { return function (e) { box.textContent = e.message; box.hidden = false; }; }
  function shownOnce(title, value, testid) {
    return el("div", { class: "once", role: "status" }, el("strong", { text: title }),
              el("code", { text: value, dataset: { testid: testid } }), el("span", { class: "meta", text: "只显示这一次，请立即保存。" }));
  }

  var PANELS = {};

  PANELS.users = function (box) {
    var err = errorBox(), rows = el("tbody");
    var f = { username: input("new-user-username", { required: true, autocomplete: "off" }),
              display_name: input("new-user-name"),
              password: input("new-user-password", { type: "password", autocomplete: "new-password", minLength: 8 }),
              role: el("select", { dataset: { testid: "new-user-role" } }, ["dispatcher", "courier", "admin"].map(function (r) {
                return el("option", { value: r, text: DSB.label("role", r) }); })),
              org_unit: el("select", { dataset: { testid: "new-user-org-unit" } }, el("option", { value: "", text: "（无）" })) };
    DSB.api("GET", "/org-units").then(function (units) {
      units.forEach(function (u) { f.org_unit.appendChild(el("option", { value: u.code, text: u.code + " " + u.name })); });
    });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h3", { text: "新建用户" }),
      labelled("用户名", f.username), labelled("姓名", f.display_name), labelled("初始密码", f.password),
      labelled("角色", f.role), labelled("网点", f.org_unit),
      el("button", { type: "submit", class: "btn primary", text: "创建", dataset: { testid: "new-user-submit" } })));
    box.appendChild(err);
    box.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "grid", dataset: { testid: "user-table" } },
      el("thead", null, el("tr", null, ["用户名", "姓名", "角色", "网点", "手机", "状态", ""].map(function (h) { return el("th", { text: h }); }))), rows)));
    list();

    function list() {
      DSB.api("GET", "/users").then(function (users) {
        DSB.clear(rows);
        users.forEach(function (u) {
          rows.appendChild(el("tr", { dataset: { testid: "user-row", username: u.username } },
            el("td", { text: u.username }), el("td", { text: u.display_name || "" }), el("td", { text: DSB.label("role", u.role) }),
            el("td", { text: u.org_unit || "—" }), el("td", { text: u.phone || "—" }), el("td", { text: u.active ? "启用" : "停用" }),
            el("td", null, el("button", { type: "button", class: "btn small", text: u.active ? "停用" : "启用",
              dataset: { testid: "user-toggle" }, on: { click: function () {
                DSB.api("PATCH", "/users/" + encodeURIComponent(u.username), { active: !u.active }).then(list).catch(fail(err));
              } } }))));
        });
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      var body = { username: f.username.value.trim(), password: f.password.value, role: f.role.value,
                   display_name: f.display_name.value.trim() };
      if (f.org_unit.value) body.org_unit = f.org_unit.value;
      DSB.api("POST", "/users", body).then(function (u) {
        DSB.toast("已创建用户 " + u.username, "ok");
        f.username.value = f.password.value = f.display_name.value = "";
        list();
      }).catch(fail(err));
    }
  };

  PANELS["org-units"] = function (box) {
    var err = errorBox(), body = el("tbody");
    var code = input("new-unit-code", { required: true }), name = input("new-unit-name", { required: true });
    var parent = el("select", { dataset: { testid: "new-unit-parent" } });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h3", { text: "新建机构" }),
      labelled("代码", code), labelled("名称", name), labelled("上级", parent),
      el("button", { type: "submit", class: "btn primary", text: "创建", dataset: { testid: "new-unit-submit" } })));
    box.appendChild(err);
    box.appendChild(table(["代码", "名称", "上级"], body, "unit-table"));
    list();

    function list() {
      DSB.api("GET", "/org-units").then(function (units) {
        DSB.clear(body);
        DSB.clear(parent).appendChild(el("option", { value: "", text: "（顶级）" }));
        var depth = {};
        units.forEach(function (u) { depth[u.code] = u.parent && depth[u.parent] !== undefined ? depth[u.parent] + 1 : 0; });
        units.forEach(function (u) {
          body.appendChild(el("tr", { dataset: { testid: "unit-row", code: u.code } },
            el("td", { text: "\u3000".repeat(depth[u.code]) + u.code }), el("td", { text: u.name }), el("td", { text: u.parent || "—" })));
          parent.appendChild(el("option", { value: u.code, text: u.code + " " + u.name }));
        });
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      DSB.api("POST", "/org-units", { code: code.value.trim(), name: name.value.trim(), parent: parent.value || null })
        .then(function () { code.value = name.value = ""; list(); }).catch(fail(err));
    }
  };

  PANELS["doc-types"] = function (box) {
    var err = errorBox(), holder = el("div");
    var code = input("new-doctype-code", { required: true }), name = input("new-doctype-name", { required: true });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h3", { text: "新建单据类型" }),
      labelled("代码", code), labelled("名称", name),
      el("button", { type: "submit", class: "btn primary", text: "创建", dataset: { testid: "new-doctype-submit" } })));
    box.appendChild(err);
    box.appendChild(holder);
    list();

    function list() {
      DSB.api("GET", "/doc-types").then(function (types) {
        DSB.clear(holder);
        types.forEach(function (t) { holder.appendChild(policyForm(t)); });
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      DSB.api("POST", "/doc-types", { code: code.value.trim(), name: name.value.trim() })
        .then(function () { code.value = name.value = ""; list(); }).catch(fail(err));
    }

    function policyForm(t) {
      var controls = {}, formErr = errorBox();
      var title = input("doctype-name", { value: t.name });
      var fields = POLICY.map(function (p) {
        var key = p[0], value = t.policy[key], control;
        if (Array.isArray(p[2])) {
          control = el("select", null, p[2].map(function (v) { return el("option", { value: v, text: p[3][v], selected: v === value }); }));
        } else if (p[2] === "bool") {
          control = el("input", { type: "checkbox", checked: !!value });
        } else {
          control = el("input", { type: "number", value: String(value), step: "1" });
        }
        control.dataset.testid = "policy-" + key;
        controls[key] = [control, p[2]];
        return labelled(p[1], control);
      });
      function save(e) {
        e.preventDefault();
        formErr.hidden = true;
        var policy = {};
        Object.keys(controls).forEach(function (key) {
          var c = controls[key][0], kind = controls[key][1];
          policy[key] = kind === "bool" ? c.checked : kind === "int" ? parseInt(c.value, 10) : c.value;
        });
        DSB.api("PATCH", "/doc-types/" + encodeURIComponent(t.code), { name: title.value.trim(), policy: policy })
          .then(function () { DSB.toast("已保存「" + title.value.trim() + "」的策略", "ok"); }).catch(fail(formErr));
      }
      return el("form", { class: "card policy", dataset: { testid: "doctype-form", code: t.code }, on: { submit: save } },
        el("h3", null, el("code", { text: t.code }), " ", labelled("名称", title)), el("div", { class: "policy-fields" }, fields), formErr,
        el("button", { type: "submit", class: "btn primary", text: "保存策略", dataset: { testid: "doctype-save" } }));
    }
  };

  PANELS["api-keys"] = function (box) {
    var err = errorBox(), body = el("tbody"), once = el("div");
    var name = input("new-key-name", { required: true, placeholder: "例如：TMS 生产环境" });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h3", { text: "新建 API 密钥" }), labelled("名称", name),
      el("button", { type: "submit", class: "btn primary", text: "创建", dataset: { testid: "new-key-submit" } })));
    box.appendChild(once);
    box.appendChild(err);
    box.appendChild(table(["ID", "名称", "创建时间", "状态", ""], body, "key-table"));
    list();

    function list() {
      DSB.api("GET", "/api-keys").then(function (keys) {
        DSB.clear(body);
        keys.forEach(function (k) {
          body.appendChild(el("tr", { dataset: { testid: "key-row", id: k.id } }, el("td", null, el("code", { text: k.id })), el("td", { text: k.name }),
            el("td", { text: DSB.localTime(k.created_at) }), el("td", { text: k.revoked_at ? "已吊销 " + DSB.localTime(k.revoked_at) : "有效" }),
            el("td", null, k.revoked_at ? null : el("button", { type: "button", class: "btn small warn", text: "吊销", dataset: { testid: "key-revoke" },
              on: { click: function () {
                if (!window.confirm("吊销后使用该密钥的系统将无法调用接口，确定吊销？")) return;
                DSB.api("DELETE", "/api-keys/" + encodeURIComponent(k.id)).then(list).catch(fail(err));
              } } }))));
        });
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      DSB.api("POST", "/api-keys", { name: name.value.trim() }).then(function (k) {
        DSB.clear(once).appendChild(shownOnce("新密钥「" + k.name + "」", k.key, "new-key-value"));
        name.value = "";
        list();
      }).catch(fail(err));
    }
  };

  PANELS.webhooks = function (box) {
    var err = errorBox(), body = el("tbody"), once = el("div"), log = el("div");
    var url = input("new-hook-url", { type: "url", required: true, placeholder: "https://tms.example.com/hooks/sign" });
    var boxes = EVENTS.map(function (ev) { return el("input", { type: "checkbox", value: ev, checked: true }); });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h3", { text: "新建 Webhook" }), labelled("URL", url),
      el("span", { class: "events" }, boxes.map(function (b) { return el("label", null, b, b.value); })),
      el("button", { type: "submit", class: "btn primary", text: "创建", dataset: { testid: "new-hook-submit" } })));
    box.appendChild(once);
    box.appendChild(err);
    box.appendChild(table(["ID", "URL", "事件", ""], body, "hook-table"));
    box.appendChild(log);
    list();

    function list() {
      DSB.api("GET", "/webhooks?limit=200").then(function (page) {
        DSB.clear(body);
        page.items.forEach(function (h) {
          body.appendChild(el("tr", { dataset: { testid: "hook-row", id: h.id } }, el("td", null, el("code", { text: h.id })),
            el("td", { class: "addr", text: h.url }), el("td", { text: h.events.join(", ") }),
            el("td", null,
              el("button", { type: "button", class: "btn small", text: "投递记录", dataset: { testid: "hook-deliveries" },
                             on: { click: function () { deliveries(h); } } }), " ",
              el("button", { type: "button", class: "btn small warn", text: "删除", dataset: { testid: "hook-delete" }, on: { click: function () {
                if (!window.confirm("删除该 Webhook？")) return;
                DSB.api("DELETE", "/webhooks/" + encodeURIComponent(h.id)).then(list).catch(fail(err));
              } } }))));
        });
      }).catch(fail(err));
    }

    function deliveries(h) {
      DSB.api("GET", "/webhooks/" + encodeURIComponent(h.id) + "/deliveries?limit=200").then(function (page) {
        var rows = page.items.map(function (d) {
          return el("tr", { dataset: { testid: "delivery-row", eventId: d.event_id } }, el("td", { text: DSB.localTime(d.created_at) }),
            el("td", { text: d.type }), el("td", { text: d.waybill_number || "—" }),
            el("td", { class: "st-" + d.status, text: { pending: "待投递", succeeded: "成功", dead: "失败" }[d.status] || d.status }),
            el("td", { class: "num", text: String(d.attempts) }),
            el("td", { text: d.last_status_code ? String(d.last_status_code) : (d.last_error || "—") }),
            el("td", { text: DSB.localTime(d.next_attempt_at) }),
            el("td", null, el("button", { type: "button", class: "btn small", text: "重新投递", dataset: { testid: "redeliver" },
              disabled: d.status === "pending", title: d.status === "pending" ? "仍在投递中" : "", on: { click: function () {
              DSB.api("POST", "/webhooks/" + encodeURIComponent(h.id) + "/deliveries/" + encodeURIComponent(d.event_id) + "/redeliver")
                .then(function () { DSB.toast("已安排重新投递", "ok"); deliveries(h); }).catch(fail(err));
            } } })));
        });
        DSB.clear(log).appendChild(el("section", { class: "card wide" }, el("h3", { text: "投递记录：" + h.url }),
          rows.length ? table(["时间", "事件", "运单", "状态", "次数", "上次结果", "下次重试", ""], rows, "delivery-table")
            : el("p", { class: "meta", text: "还没有投递" })));
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      var events = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      DSB.api("POST", "/webhooks", { url: url.value.trim(), events: events }).then(function (h) {
        DSB.clear(once).appendChild(shownOnce("签名密钥（X-Signature 的 HMAC 密钥）", h.secret, "new-hook-secret"));
        url.value = "";
        list();
      }).catch(fail(err));
    }
  };

  DSB.views.admin = function (root, args) {
    var current = PANELS[args[0]] ? args[0] : "users";
    root.appendChild(el("nav", { class: "tabs" }, TABS.map(function (t) {
      return el("a", { href: "#/admin/" + t[0], text: t[1], class: t[0] === current ? "active" : "", dataset: { testid: "admin-tab-" + t[0] } });
    })));
    var panel = el("div", { class: "panel", dataset: { testid: "admin-" + current } });
    root.appendChild(panel);
    PANELS[current](panel);
  };
})();
