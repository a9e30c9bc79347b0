/* Tenant administration (role admin): users, org units, doc types and their sign-off
 * policies, API keys (the key is shown once), webhooks with their delivery log, and the
 * privacy notice recipients are shown (issue 19: each edit publishes a new version). A key or
 * secret shown once survives a language switch (the clean-up hands it back as the memo). */
(function () {
  "use strict";
  var el = DSB.el, t = DSB.t;
  var TABS = ["users", "org-units", "doc-types", "api-keys", "webhooks", "notice"];
  var EVENTS = ["waybill.signed", "waybill.partially_signed", "waybill.refused", "receipt.pdf_ready", "waybill.reconciled"];
  // [field, choices or kind]; the words are "pol.<field>" and "pol.<field>.<choice>".
  var POLICY = [
    ["signer", ["anyone", "consignee_only"]], ["otp", ["none", "required"]], ["handwriting", ["basic", "strict"]],
    ["location", ["optional", "required"]], ["photos_min", "int"], ["photos_max", "int"], ["geofence_m", "int"],
    ["link_ttl_s", "int"], ["allow_partial", "bool"], ["allow_refuse", "bool"], ["auto_seal", "bool"],
  ];

  function input(testid, attrs) { return el("input", Object.assign({ dataset: { testid: testid } }, attrs || {})); }
  function labelled(text, control) { return el("label", { class: "filter" }, el("span", { text: text }), control); }
  function table(head, rows, testid) {
    return el("div", { class: "table-wrap", tabindex: 0 }, el("table", { class: "grid", dataset: testid ? { testid: testid } : {} },
      el("thead", null, el("tr", null, head.map(function (h) { return el("th", { scope: "col", text: h || t("col.actions") }); }))), el("tbody", null, rows)));
  }
  function errorBox() { return el("p", { class: "error", role: "alert", hidden: true, dataset: { testid: "admin-error" } }); }
  function fail(box) { return function (e) { box.textContent = e.message; box.hidden = false; }; }
  function shownOnce(title, value, testid) {
    return el("div", { class: "once", role: "status" }, el("strong", { text: title }),
              el("code", { text: value, dataset: { testid: testid } }), el("span", { class: "meta", text: t("adm.once") }));
  }

  var PANELS = {};

  PANELS.users = function (box) {
    var err = errorBox(), rows = el("tbody");
    var f = { username: input("new-user-username", { required: true, autocomplete: "off" }),
              display_name: input("new-user-name"),
              password: input("new-user-password", { type: "password", autocomplete: "new-password", minLength: 8 }),
              role: el("select", { dataset: { testid: "new-user-role" } }, ["dispatcher", "courier", "admin"].map(function (r) {
                return el("option", { value: r, text: DSB.label("role", r) }); })),
              org_unit: el("select", { dataset: { testid: "new-user-org-unit" } }, el("option", { value: "", text: t("user.noUnit") })) };
    DSB.api("GET", "/org-units").then(function (units) {
      units.forEach(function (u) { f.org_unit.appendChild(el("option", { value: u.code, text: u.code + " " + u.name })); });
    });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h2", { text: t("user.new") }),
      labelled(t("user.username"), f.username), labelled(t("user.name"), f.display_name), labelled(t("user.password"), f.password),
      labelled(t("user.role"), f.role), labelled(t("user.unit"), f.org_unit),
      el("button", { type: "submit", class: "btn primary", text: t("create"), dataset: { testid: "new-user-submit" } })));
    box.appendChild(err);
    box.appendChild(el("div", { class: "table-wrap", tabindex: 0 }, el("table", { class: "grid", dataset: { testid: "user-table" } },
      el("thead", null, el("tr", null, ["user.username", "user.name", "user.role", "user.unit", "user.phone", "col.status", "col.actions"].map(function (h) {
        return el("th", { scope: "col", text: t(h) }); }))), rows)));
    list();

    function list() {
      DSB.api("GET", "/users").then(function (users) {
        DSB.clear(rows);
        users.forEach(function (u) {
          rows.appendChild(el("tr", { dataset: { testid: "user-row", username: u.username } },
            el("td", { text: u.username }), el("td", { text: u.display_name || "" }), el("td", { text: DSB.label("role", u.role) }),
            el("td", { text: u.org_unit || "—" }), el("td", { text: u.phone || "—" }), el("td", { text: u.active ? t("user.active") : t("user.inactive") }),
            el("td", { class: "actions" }, el("button", { type: "button", class: "btn small", text: u.active ? t("user.disable") : t("user.enable"),
              dataset: { testid: "user-toggle" }, on: { click: function () {
                DSB.api("PATCH", "/users/" + encodeURIComponent(u.username), { active: !u.active }).then(list).catch(fail(err));
              } } }), " ", resetButton(u))));
        });
      }).catch(fail(err));
    }

    /** Reset a password: a second click confirms; the new password (random, 16 characters)
     * is shown once above the table, and the user's open sessions end (PATCH /users). */
    function resetButton(u) {
      var armed = null;
      var button = el("button", { type: "button", class: "btn small warn", text: t("user.reset"), dataset: { testid: "user-reset" },
        on: { click: function () {
          if (!armed) {
            button.textContent = t("user.resetConfirm");
            armed = setTimeout(function () { armed = null; button.textContent = t("user.reset"); }, 5000);
            return;
          }
          clearTimeout(armed);
          armed = null;
          var password = newPassword();
          DSB.api("PATCH", "/users/" + encodeURIComponent(u.username), { password: password }).then(function () {
            DSB.$all(".once", box).forEach(function (old) { old.remove(); });
            box.insertBefore(el("div", { class: "once", role: "status", dataset: { testid: "new-password" } },
              el("span", { text: t("user.newPassword", { name: u.display_name || u.username }) }),
              el("code", { text: password })), box.firstChild);
            button.textContent = t("user.reset");
          }).catch(fail(err));
        } } });
      return button;
    }

    function newPassword() {
      var alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789", bytes = new Uint8Array(16), out = "";
      crypto.getRandomValues(bytes);
      for (var i = 0; i < bytes.length; i++) out += alphabet[bytes[i] % alphabet.length];
      return out;
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      var body = { username: f.username.value.trim(), password: f.password.value, role: f.role.value,
                   display_name: f.display_name.value.trim() };
      if (f.org_unit.value) body.org_unit = f.org_unit.value;
      DSB.api("POST", "/users", body).then(function (u) {
        DSB.toast(t("user.created", { name: u.username }), "ok");
        f.username.value = f.password.value = f.display_name.value = "";
        list();
      }).catch(fail(err));
    }
  };

  PANELS["org-units"] = function (box) {
    var err = errorBox(), body = el("tbody");
    var code = input("new-unit-code", { required: true }), name = input("new-unit-name", { required: true });
    var parent = el("select", { dataset: { testid: "new-unit-parent" } });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h2", { text: t("unit.new") }),
      labelled(t("col.code"), code), labelled(t("col.name"), name), labelled(t("unit.parent"), parent),
      el("button", { type: "submit", class: "btn primary", text: t("create"), dataset: { testid: "new-unit-submit" } })));
    box.appendChild(err);
    box.appendChild(table([t("col.code"), t("col.name"), t("unit.parent")], body, "unit-table"));
    list();

    function list() {
      DSB.api("GET", "/org-units").then(function (units) {
        DSB.clear(body);
        DSB.clear(parent).appendChild(el("option", { value: "", text: t("unit.top") }));
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
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h2", { text: t("doc.new") }),
      labelled(t("col.code"), code), labelled(t("col.name"), name),
      el("button", { type: "submit", class: "btn primary", text: t("create"), dataset: { testid: "new-doctype-submit" } })));
    box.appendChild(err);
    box.appendChild(holder);
    list();

    function list() {
      DSB.api("GET", "/doc-types").then(function (types) {
        DSB.clear(holder);
        types.forEach(function (type) { holder.appendChild(policyForm(type)); });
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      DSB.api("POST", "/doc-types", { code: code.value.trim(), name: name.value.trim() })
        .then(function () { code.value = name.value = ""; list(); }).catch(fail(err));
    }

    function policyForm(type) {
      var controls = {}, formErr = errorBox();
      var title = input("doctype-name", { value: type.name });
      var fields = POLICY.map(function (p) {
        var key = p[0], value = type.policy[key], control;
        if (Array.isArray(p[1])) {
          control = el("select", null, p[1].map(function (v) {
            return el("option", { value: v, text: t("pol." + key + "." + v), selected: v === value }); }));
        } else if (p[1] === "bool") {
          control = el("input", { type: "checkbox", checked: !!value });
        } else {
          control = el("input", { type: "number", value: String(value), step: "1" });
        }
        control.dataset.testid = "policy-" + key;
        controls[key] = [control, p[1]];
        return labelled(t("pol." + key), control);
      });
      function save(e) {
        e.preventDefault();
        formErr.hidden = true;
        var policy = {};
        Object.keys(controls).forEach(function (key) {
          var c = controls[key][0], kind = controls[key][1];
          policy[key] = kind === "bool" ? c.checked : kind === "int" ? parseInt(c.value, 10) : c.value;
        });
        DSB.api("PATCH", "/doc-types/" + encodeURIComponent(type.code), { name: title.value.trim(), policy: policy })
          .then(function () { DSB.toast(t("doc.saved", { name: title.value.trim() }), "ok"); }).catch(fail(formErr));
      }
      return el("form", { class: "card policy", dataset: { testid: "doctype-form", code: type.code }, on: { submit: save } },
        el("h2", null, el("code", { text: type.code }), " ", labelled(t("col.name"), title)), el("div", { class: "policy-fields" }, fields), formErr,
        el("button", { type: "submit", class: "btn primary", text: t("doc.save"), dataset: { testid: "doctype-save" } }));
    }
  };

  PANELS["api-keys"] = function (box, kept, keep) {
    var err = errorBox(), body = el("tbody"), once = el("div");
    var name = input("new-key-name", { required: true, placeholder: t("key.name") });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h2", { text: t("key.new") }), labelled(t("col.name"), name),
      el("button", { type: "submit", class: "btn primary", text: t("create"), dataset: { testid: "new-key-submit" } })));
    if (kept) showKey(kept);
    box.appendChild(once);
    box.appendChild(err);
    box.appendChild(table(["ID", t("col.name"), t("col.created"), t("col.status"), ""], body, "key-table"));
    list();

    function list() {
      DSB.api("GET", "/api-keys").then(function (keys) {
        DSB.clear(body);
        keys.forEach(function (k) {
          body.appendChild(el("tr", { dataset: { testid: "key-row", id: k.id } }, el("td", null, el("code", { text: k.id })), el("td", { text: k.name }),
            el("td", { text: DSB.localTime(k.created_at) }), el("td", { text: k.revoked_at ? t("key.revoked", { time: DSB.localTime(k.revoked_at) }) : t("key.valid") }),
            el("td", null, k.revoked_at ? null : el("button", { type: "button", class: "btn small warn", text: t("key.revoke"), dataset: { testid: "key-revoke" },
              on: { click: function () {
                if (!window.confirm(t("key.confirm"))) return;
                DSB.api("DELETE", "/api-keys/" + encodeURIComponent(k.id)).then(list).catch(fail(err));
              } } }))));
        });
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      DSB.api("POST", "/api-keys", { name: name.value.trim() }).then(function (k) {
        showKey(keep({ name: k.name, key: k.key }));
        name.value = "";
        list();
      }).catch(fail(err));
    }

    function showKey(k) { DSB.clear(once).appendChild(shownOnce(t("key.shown", { name: k.name }), k.key, "new-key-value")); }
  };

  PANELS.webhooks = function (box, kept, keep) {
    var err = errorBox(), body = el("tbody"), once = el("div"), log = el("div");
    var url = input("new-hook-url", { type: "url", required: true, placeholder: "https://tms.example.com/hooks/sign" });
    var boxes = EVENTS.map(function (ev) { return el("input", { type: "checkbox", value: ev, checked: true }); });
    box.appendChild(el("form", { class: "filters card", on: { submit: create } }, el("h2", { text: t("hook.new") }), labelled("URL", url),
      el("span", { class: "events" }, boxes.map(function (b) { return el("label", null, b, b.value); })),
      el("button", { type: "submit", class: "btn primary", text: t("create"), dataset: { testid: "new-hook-submit" } })));
    if (kept) showSecret(kept);
    box.appendChild(once);
    box.appendChild(err);
    box.appendChild(table(["ID", "URL", t("col.events"), ""], body, "hook-table"));
    box.appendChild(log);
    list();

    function list() {
      DSB.api("GET", "/webhooks?limit=200").then(function (page) {
        DSB.clear(body);
        page.items.forEach(function (h) {
          body.appendChild(el("tr", { dataset: { testid: "hook-row", id: h.id } }, el("td", null, el("code", { text: h.id })),
            el("td", { class: "addr", text: h.url }), el("td", { text: h.events.join(", ") }),
            el("td", null,
              el("button", { type: "button", class: "btn small", text: t("hook.deliveries"), dataset: { testid: "hook-deliveries" },
                             on: { click: function () { deliveries(h); } } }), " ",
              el("button", { type: "button", class: "btn small warn", text: t("hook.delete"), dataset: { testid: "hook-delete" }, on: { click: function () {
                if (!window.confirm(t("hook.confirm"))) return;
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
            el("td", { class: "st-" + d.status, text: DSB.label("delivery", d.status) }),
            el("td", { class: "num", text: String(d.attempts) }),
            el("td", { text: d.last_status_code ? String(d.last_status_code) : (d.last_error || "—") }),
            el("td", { text: DSB.localTime(d.next_attempt_at) }),
            el("td", null, el("button", { type: "button", class: "btn small", text: t("hook.redeliver"), dataset: { testid: "redeliver" },
              disabled: d.status === "pending", title: d.status === "pending" ? t("hook.stillPending") : "", on: { click: function () {
              DSB.api("POST", "/webhooks/" + encodeURIComponent(h.id) + "/deliveries/" + encodeURIComponent(d.event_id) + "/redeliver")
                .then(function () { DSB.toast(t("hook.redelivering"), "ok"); deliveries(h); }).catch(fail(err));
            } } })));
        });
        DSB.clear(log).appendChild(el("section", { class: "card wide" }, el("h2", { text: t("hook.log", { url: h.url }) }),
          rows.length ? table(["col.time", "col.event", "col.waybill", "col.status", "hook.attempts", "hook.last", "hook.next", ""]
            .map(function (h) { return h ? t(h) : ""; }), rows, "delivery-table")
            : el("p", { class: "meta", text: t("hook.none") })));
      }).catch(fail(err));
    }

    function create(e) {
      e.preventDefault();
      err.hidden = true;
      var events = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      DSB.api("POST", "/webhooks", { url: url.value.trim(), events: events }).then(function (h) {
        showSecret(keep({ secret: h.secret }));
        url.value = "";
        list();
      }).catch(fail(err));
    }

    function showSecret(h) { DSB.clear(once).appendChild(shownOnce(t("hook.secret"), h.secret, "new-hook-secret")); }
  };

  PANELS.notice = function (box) {
    var err = errorBox(), current = el("p", { class: "meta", dataset: { testid: "notice-current" } }), history = el("div");
    var text = el("textarea", { id: "notice-text", rows: 8, minLength: 20, maxLength: 4000, required: true, class: "notice-text",
                                dataset: { testid: "notice-text" } });
    box.appendChild(el("form", { class: "card", on: { submit: publish } }, el("h2", { text: t("adm.notice") }), current,
      el("label", { for: "notice-text", text: t("notice.text") }), text, err,
      el("button", { type: "submit", class: "btn primary", text: t("notice.publish"), dataset: { testid: "notice-publish" } })));
    box.appendChild(history);
    load();

    function load() {
      DSB.api("GET", "/privacy/notice").then(function (notice) {
        var v = notice.current.version;
        current.textContent = v ? t("notice.current", { v: v }) + " · " + DSB.localTime(notice.current.created_at) : t("notice.default");
        current.dataset.version = String(v);
        text.value = notice.current.text;
        DSB.clear(history).appendChild(el("section", { class: "card" }, el("h2", { text: t("notice.history") }),
          table([t("notice.version"), t("col.time"), t("notice.by"), t("notice.body")], notice.history.map(function (n) {
            return el("tr", { dataset: { testid: "notice-row", version: String(n.version) } }, el("td", { class: "num", text: String(n.version) }),
              el("td", { class: "time", text: DSB.localTime(n.created_at) }), el("td", { text: n.created_by || "—" }),
              el("td", { class: "notice-cell", text: n.text }));
          }), "notice-table")));
      }).catch(fail(err));
    }

    function publish(e) {
      e.preventDefault();
      err.hidden = true;
      DSB.api("POST", "/privacy/notice", { text: text.value.trim() }).then(function (n) {
        DSB.toast(t("notice.published", { v: n.version }), "ok");
        load();
      }).catch(fail(err));
    }
  };

  DSB.views.admin = function (root, args, memo) {
    var current = PANELS[args[0]] ? args[0] : "users";
    var shown = memo && memo.panel === current ? memo.shown : null;
    root.appendChild(el("h1", { class: "visually-hidden", text: t("nav.admin") }));
    root.appendChild(el("nav", { class: "tabs", "aria-label": t("nav.admin") }, TABS.map(function (tab) {
      return el("a", { href: "#/admin/" + tab, text: t("adm." + tab), class: tab === current ? "active" : "", dataset: { testid: "admin-tab-" + tab } });
    })));
    var panel = el("div", { class: "panel", dataset: { testid: "admin-" + current } });
    root.appendChild(panel);
    PANELS[current](panel, shown, function (value) { shown = value; return value; });
    return function () { return { panel: current, shown: shown }; };
  };
})();
