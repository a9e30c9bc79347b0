/* The evidence of one sign-off (#/waybill/<number>): the signature replayed stroke by stroke
 * at the speed it was written, photos, location and distance, anomalies in words, the PDF,
 * and the waybill's audit timeline with the verification state of the tenant's hash chain.
 * Issue 14: a drop's place and the consent it relied on, an assisted sign-off and whose phone
 * proved it. Issue 13: the handwriting read box by box — each box's strokes drawn apart, and
 * the boxes outlined over the signature (the boxes the pad sent, signature.boxes; without
 * them each character's ink, split in equal columns, marked as estimated). */
(function () {
  "use strict";
  var el = DSB.el, t = DSB.t;
  // This section's words, kept beside it (issue 19) so the shared table is left alone.
  Object.assign(stringsOf("zh"), {
    "ev.views": "查看记录", "ev.viewsNone": "暂无查看记录", "ev.viewAt": "时间", "ev.viewWho": "查看者", "ev.viewWhat": "内容",
    "ev.view.evidence": "证据（含笔迹）", "ev.view.pdf": "回执 PDF", "ev.view.photo": "照片",
    "ev.view.signature.png": "签名图片", "ev.view.signature.svg": "签名图片", "ev.view.phone": "完整手机号",
  });
  Object.assign(stringsOf("en"), {
    "ev.views": "Who looked", "ev.viewsNone": "No views recorded", "ev.viewAt": "When", "ev.viewWho": "Who", "ev.viewWhat": "What",
    "ev.view.evidence": "Evidence (with strokes)", "ev.view.pdf": "Receipt PDF", "ev.view.photo": "Photo",
    "ev.view.signature.png": "Signature image", "ev.view.signature.svg": "Signature image", "ev.view.phone": "Full phone number",
  });
  function stringsOf(lang) { return (window.DSB_STRINGS[lang] = window.DSB_STRINGS[lang] || {}); }
  var STROKE_GAP_MS = 150;   // pause put between strokes whose clocks restart (never seen from real pads)

  /** Both stored forms — compact [[x, y, t, p], …] and signature_pad's {points: [{x, y, time,
   * pressure}]} — as [[{x, y, t, p}]] with t in ms from the first point, never going back. */
  function normalize(strokes) {
    var out = [], t0 = null, last = 0;
    (strokes || []).forEach(function (stroke) {
      var pts = (Array.isArray(stroke) ? stroke : stroke.points || []).map(function (p) {
        return Array.isArray(p) ? { x: +p[0], y: +p[1], t: +p[2] || 0, p: p[3] === undefined ? 0.5 : +p[3] }
          : { x: +p.x, y: +p.y, t: +p.time || 0, p: p.pressure === undefined ? 0.5 : +p.pressure };
      });
      if (!pts.length) return;
      if (t0 === null) t0 = pts[0].t;
      var shift = pts[0].t - t0 < last ? last + STROKE_GAP_MS - (pts[0].t - t0) : 0;
      pts.forEach(function (p) { p.t = Math.max(last, p.t - t0 + shift); last = p.t; });
      out.push(pts);
    });
    return out;
  }

  /** A canvas that draws the signature whole, or replays it with requestAnimationFrame. */
  function SignatureReplay(signature) {
    var size = signature.canvas || {};
    var width = size.width || 360, height = size.height || 200;
    this.strokes = normalize(signature.strokes);
    this.duration = this.strokes.length ? this.strokes[this.strokes.length - 1].slice(-1)[0].t : 0;
    this.width = width;
    this.height = height;
    this.scale = Math.min(2.5, Math.max(1, 640 / width)) * (window.devicePixelRatio || 1);
    this.canvas = el("canvas", { class: "signature", role: "img", "aria-label": t("ev.signatureAria"), width: Math.round(width * this.scale), height: Math.round(height * this.scale),
                                 dataset: { testid: "evidence-signature", state: "idle", durationMs: String(Math.round(this.duration)) } });
    this.canvas.style.aspectRatio = width + " / " + height;     // CSSOM, allowed by the CSP
    this.frame = null;
  }

  SignatureReplay.prototype.context = function () {
    var ctx = this.canvas.getContext("2d");
    ctx.setTransform(this.scale, 0, 0, this.scale, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = "#8a94a6";
    ctx.lineWidth = 1;
    (this.boxes || []).forEach(function (b) { ctx.strokeRect(b.x, b.y, b.width, b.height); });
    ctx.setLineDash([]);
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.strokeStyle = ctx.fillStyle = "#1a1a6e";
    return ctx;
  };

  SignatureReplay.prototype.segment = function (ctx, stroke, i) {
    var p = stroke[i];
    if (i === 0) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, 0.6 + p.p * 1.4, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    var q = stroke[i - 1];
    ctx.lineWidth = 1.2 + ((p.p + q.p) / 2) * 2.8;
    ctx.beginPath();
    ctx.moveTo(q.x, q.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
  };

  SignatureReplay.prototype.drawAll = function () {
    this.stop();
    var ctx = this.context(), self = this;
    this.strokes.forEach(function (stroke) { for (var i = 0; i < stroke.length; i++) self.segment(ctx, stroke, i); });
    this.canvas.dataset.state = "static";
  };

  /** Replay in real time: each frame draws every point whose time has come. */
  SignatureReplay.prototype.replay = function (onDone) {
    this.stop();
    var ctx = this.context(), self = this, s = 0, i = 0, started = null;
    this.canvas.dataset.state = "replaying";
    function tick(now) {
      if (started === null) started = now;
      var elapsed = now - started;
      while (s < self.strokes.length && self.strokes[s][i].t <= elapsed) {
        self.segment(ctx, self.strokes[s], i);
        if (++i >= self.strokes[s].length) { s++; i = 0; }
      }
      if (s < self.strokes.length) { self.frame = requestAnimationFrame(tick); return; }
      self.frame = null;
      self.canvas.dataset.state = "done";
      self.canvas.dataset.replayedMs = String(Math.round(elapsed));
      if (onDone) onDone();
    }
    this.frame = requestAnimationFrame(tick);
  };

  SignatureReplay.prototype.stop = function () {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = null;
  };

  function field(name, value, testid) {
    return [el("dt", { text: name }), el("dd", { text: value === null || value === undefined || value === "" ? "—" : String(value),
                                                  dataset: testid ? { testid: testid } : {} })];
  }

  /** Each character's box and the strokes in it: a stroke belongs to the box holding most
   * of its points, else to the nearest (signing's rule). null without strokes. */
  function charBoxes(signature, n) {
    var strokes = normalize(signature.strokes), boxes = signature.boxes, estimated = !(boxes && boxes.length === n);
    if (!n || !strokes.length) return null;
    if (estimated) {
      var all = inkBox(strokes), w = all.width / n;
      boxes = [];
      for (var i = 0; i < n; i++) boxes.push({ x: all.x + i * w, y: all.y, width: w, height: all.height });
    }
    var groups = boxes.map(function () { return []; });
    strokes.forEach(function (s) {
      var counts = boxes.map(function (b) {
        return s.filter(function (p) { return p.x >= b.x && p.x <= b.x + b.width && p.y >= b.y && p.y <= b.y + b.height; }).length;
      });
      var at = counts.indexOf(Math.max.apply(null, counts));
      if (!counts[at]) {
        var cx = s.reduce(function (a, p) { return a + p.x; }, 0) / s.length, cy = s.reduce(function (a, p) { return a + p.y; }, 0) / s.length;
        var d = boxes.map(function (b) { return Math.hypot(cx - b.x - b.width / 2, cy - b.y - b.height / 2); });
        at = d.indexOf(Math.min.apply(null, d));
      }
      groups[at].push(s);
    });
    if (estimated) boxes = boxes.map(function (b, i) { return inkBox(groups[i]) || b; });    // tight around each character
    return { boxes: boxes, groups: groups, estimated: estimated };
  }

  /** The box around the strokes' points, 4 units of margin; null for none. */
  function inkBox(strokes) {
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    strokes.forEach(function (s) { s.forEach(function (p) {
      x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y); }); });
    return x0 > x1 ? null : { x: x0 - 4, y: y0 - 4, width: x1 - x0 + 8, height: y1 - y0 + 8 };
  }

  /** One box's strokes, drawn alone at 96 px. */
  function boxCanvas(box, strokes, label) {
    var size = 96, ratio = window.devicePixelRatio || 1, k = size / Math.max(box.width, box.height);
    var canvas = el("canvas", { class: "hw-ink", role: "img", "aria-label": label, width: size * ratio, height: size * ratio });
    var ctx = canvas.getContext("2d");
    ctx.setTransform(k * ratio, 0, 0, k * ratio, ((size - box.width * k) / 2 - box.x * k) * ratio,
                     ((size - box.height * k) / 2 - box.y * k) * ratio);     // centred
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.lineWidth = 3 / k;
    ctx.strokeStyle = "#1a1a6e";
    strokes.forEach(function (s) {
      ctx.beginPath();
      s.forEach(function (p, i) { if (i) ctx.lineTo(p.x, p.y); else ctx.moveTo(p.x, p.y); });
      if (s.length === 1) ctx.lineTo(s[0].x + 0.5, s[0].y);
      ctx.stroke();
    });
    return canvas;
  }

  function handwritingCard(hw, found) {
    var state = hw.recognized === null ? "na" : hw.recognized ? "ok" : "failed", engine = hw.engine || {};
    return el("section", { class: "card wide", dataset: { testid: "evidence-handwriting", state: state } },
      el("h2", { text: t("hw.title") }),
      el("p", { class: state === "failed" ? "warn" : state === "ok" ? "ok" : "meta", dataset: { testid: "hw-verdict" },
                text: t("hw." + state, { n: hw.attempts, mode: t("hw.mode." + hw.mode) }) }),
      el("div", { class: "hw-boxes" }, (hw.chars || []).map(function (c, i) {
        var score = c.score === null || c.score === undefined ? "—" : c.score.toFixed(2);
        return el("figure", { class: "hw-box hw-" + c.status, dataset: { testid: "hw-box", index: String(i), status: c.status } },
          found ? boxCanvas(found.boxes[i], found.groups[i], t("hw.ink", { i: i + 1, c: c.expected })) : null,
          el("figcaption", null, el("strong", { class: "hw-expected", text: c.expected }),
            el("dl", { class: "facts" }, field(t("hw.best"), c.best, "hw-best"), field(t("hw.rank"), c.rank, "hw-rank"),
              field(t("hw.score"), score, "hw-score"), field(t("hw.verified"), t("hw.st." + c.status), "hw-verified"))));
      })),
      el("p", { class: "meta", dataset: { testid: "hw-source" }, text: (found ? t(found.estimated ? "hw.estimated" : "hw.sent") + " · " : "") +
        t("hw.engine", { how: t("hw.seg." + hw.segmentation), zinnia: engine.zinnia ? engine.model || "zinnia" : t("hw.off"), verifier: engine.verifier || "—" }) }));
  }

  function consentCard(c) {
    var card = el("section", { class: "card", dataset: { testid: "evidence-consent", kind: c ? c.kind : "none" } }, el("h2", { text: t("ev.consent") }));
    card.appendChild(c ? el("dl", { class: "facts" },
      field(t("column.consent_kind"), DSB.label("consent_kind", c.kind), "consent-kind"),
      field(t("ev.consentChoice"), DSB.label("drop_place", c.choice), "consent-choice"), field(t("ev.consentPlace"), c.place, "consent-place"),
      field(t("column.consent_answered_at"), DSB.localTime(c.answered_at), "consent-at"),
      field(t("ev.consentAsk"), t("ev.consentVia", { channel: t("ev.ch." + c.channel), to: c.sent_to || "—", id: c.request }), "consent-sms"),
      field(t("ev.auditSeq"), c.audit_seq)) : el("p", { class: "warn", text: DSB.label("consent_kind", "none"), dataset: { testid: "consent-kind" } }));
    return card;
  }

  function metres(m) {
    if (m === null || m === undefined) return "—";
    return m >= 1000 ? t("ev.km", { n: (m / 1000).toFixed(2) }) : t("ev.m", { n: Math.round(m) });
  }

  function mapLink(point, name) {
    // A plain link into the AMap app or site: the dashboard itself fetches no map tiles.
    var href = "https://uri.amap.com/marker?position=" + point.lng + "," + point.lat + "&coordinate=wgs84&name=" +
      encodeURIComponent(name) + "&callnative=1";
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: t("ev.map"),
                     dataset: { testid: "evidence-map-link" } });
  }

  DSB.views.evidence = function (root, args) {
    var number = decodeURIComponent(args[0] || "");
    var timers = [], urls = [], replay = null, alive = true, known = null;
    var head = el("section", { class: "card wide" }, el("p", { class: "meta", text: t("loading") }));
    var main = el("div", { class: "evidence" });
    var timelineCard = el("section", { class: "card wide" }, el("h2", { text: t("ev.timeline") }),
      el("p", { class: "chain", dataset: { testid: "chain-status", state: "checking" }, text: t("ev.checking") }));
    root.appendChild(el("p", null, el("a", { href: "#/waybills", text: t("ev.back"), on: { click: back } })));
    root.appendChild(head);
    root.appendChild(main);
    root.appendChild(timelineCard);

    function back(e) { if (history.length > 1) { e.preventDefault(); history.back(); } }
    function keep(url) { if (url) urls.push(url); return url; }

    Promise.all([DSB.api("GET", "/waybills/" + encodeURIComponent(number)), DSB.loadNames()]).then(function (found) {
      var w = found[0];
      known = found[1];
      if (!alive) return;
      showHead(w);
      if (!w.receipt) { main.appendChild(el("section", { class: "card wide" }, el("p", { class: "meta", text: t("ev.notSigned") }))); return; }
      return DSB.api("GET", "/receipts/" + encodeURIComponent(w.receipt.id)).then(function (r) { if (alive) showEvidence(w, r); });
    }).catch(function (e) { DSB.clear(head).appendChild(el("p", { class: "error", text: e.message })); });

    // The timeline names couriers and units too: it waits for the names (a race under load).
    Promise.all([DSB.api("GET", "/waybills/" + encodeURIComponent(number) + "/timeline"), DSB.loadNames()])
      .then(function (found) { known = known || found[1]; if (alive) showTimeline(found[0]); })
      .catch(function (e) { timelineCard.appendChild(el("p", { class: "error", text: e.message })); });
    DSB.api("GET", "/audit/verify").then(showChain).catch(function (e) {
      var box = DSB.$("[data-testid=chain-status]", timelineCard);
      box.textContent = t("ev.chainUnknown", { error: e.message });
      box.dataset.state = "unknown";
    });

    function showHead(w) {
      DSB.clear(head);
      var rec = w.reconciliation;
      var note = el("input", { type: "text", maxLength: 1000, placeholder: t("wb.note"), dataset: { testid: "evidence-note" } });
      var error = el("p", { class: "error", hidden: true, role: "alert" });
      function decide(decision) {
        if (decision === "disputed" && !note.value.trim()) { error.textContent = t("ev.noteNeeded"); error.hidden = false; return; }
        DSB.api("POST", "/waybills/" + encodeURIComponent(w.number) + "/reconcile", { decision: decision, note: note.value.trim() || null })
          .then(function (updated) { DSB.toast(t("ev.reconciled", { decision: DSB.label("decision", decision) }), "ok"); showHead(updated); })
          .catch(function (e) { error.textContent = e.message; error.hidden = false; });
      }
      head.appendChild(el("h1", null, el("span", { text: w.number, dataset: { testid: "evidence-number" } }), " ", DSB.statusBadge(w.status)));
      head.appendChild(el("dl", { class: "facts" },
        field(t("col.consignee"), w.consignee.name, "evidence-consignee"), field(t("col.phone"), w.consignee.phone),
        field(t("col.address"), w.consignee.address), field(t("col.courier"), w.courier ? DSB.name("user", w.courier, known) : null, "evidence-courier"),
        field(t("col.unit"), w.org_unit ? DSB.name("unit", w.org_unit, known) : null, "evidence-unit"),
        field(t("col.docType"), DSB.name("docType", w.doc_type, known), "evidence-doc-type"),
        field(t("col.created"), DSB.localTime(w.created_at)), field(t("col.signedAt"), DSB.localTime(w.signed_at)),
        field(t("ev.externalRef"), w.external_ref), field(t("ev.cancelReason"), w.cancel_reason),
        field(t("col.reconciliation"), rec ? DSB.label("decision", rec.decision) + " · " + rec.by + " · " + DSB.localTime(rec.at) +
              (rec.note ? " · " + rec.note : "") : t("wb.unreconciled"), "evidence-reconciliation")));
      if (w.status === "created" || w.status === "assigned") head.appendChild(assignForm(w));
      if (["signed", "partially_signed", "refused"].indexOf(w.status) >= 0) {
        head.appendChild(el("div", { class: "bulk" }, note,
          el("button", { type: "button", class: "btn primary", text: t("wb.accept"), dataset: { testid: "evidence-accept" },
                         on: { click: function () { decide("accepted"); } } }),
          el("button", { type: "button", class: "btn warn", text: t("wb.dispute"), dataset: { testid: "evidence-dispute" },
                         on: { click: function () { decide("disputed"); } } })));
        head.appendChild(error);
      }
    }

    /** Assign (or reassign) the waybill to one of the couriers the dispatcher can see. */
    function assignForm(w) {
      var pick = el("select", { id: "assign-courier", dataset: { testid: "assign-courier" } });
      var error = el("p", { class: "error", role: "alert", hidden: true });
      DSB.api("GET", "/users").then(function (users) {
        users.filter(function (u) { return u.role === "courier" && u.active; }).forEach(function (u) {
          pick.appendChild(el("option", { value: u.username, selected: u.username === w.courier,
                                          text: (u.display_name || u.username) + (u.org_unit ? " · " + DSB.name("unit", u.org_unit, known) : "") }));
        });
      }).catch(function (e) { error.textContent = e.message; error.hidden = false; });
      function submit(e) {
        e.preventDefault();
        error.hidden = true;
        DSB.api("POST", "/waybills/" + encodeURIComponent(w.number) + "/assign", { courier: pick.value }).then(function (updated) {
          DSB.toast(t("as.done", { name: DSB.name("user", updated.courier, known) }), "ok");
          showHead(updated);
        }).catch(function (err) { error.textContent = err.message; error.hidden = false; });
      }
      return el("form", { class: "bulk", dataset: { testid: "assign" }, on: { submit: submit } },
        el("label", { for: "assign-courier", text: t("as.courier") }), pick,
        el("button", { type: "submit", class: "btn primary", text: t("as.submit"), dataset: { testid: "assign-submit" } }), error);
    }

    function showEvidence(w, receipt) {
      var ev = receipt.evidence || {};
      var signer = ev.signer || {}, loc = ev.location || {}, times = ev.times || {};

      var hw = (ev.checks || {}).handwriting, drop = ev.drop;
      if (drop) {
        // A drop has no signer: where it was left, by whom, on what consent.
        main.appendChild(el("section", { class: "card", dataset: { testid: "evidence-drop", place: drop.place } }, el("h2", { text: t("ev.drop") }),
          el("dl", { class: "facts" }, field(t("column.drop_place"), DSB.label("drop_place", drop.place), "drop-place"),
            field(t("ev.consentPlace"), drop.place_name, "drop-name"), field(t("ev.dropCode"), drop.place_code),
            field(t("ev.dropBy"), actorText(drop.by)))));
      } else {
        // Signature with replay.
        replay = new SignatureReplay(ev.signature || {});
        var found = hw && charBoxes(ev.signature || {}, (hw.chars || []).length);
        if (found) replay.boxes = found.boxes;
        var info = el("p", { class: "meta", text: t("ev.strokes", { strokes: replay.strokes.length,
          points: replay.strokes.reduce(function (n, s) { return n + s.length; }, 0), s: (replay.duration / 1000).toFixed(1) }) });
        var button = el("button", { type: "button", class: "btn primary", text: t("ev.replay"), dataset: { testid: "evidence-replay" },
                                    on: { click: function () { button.disabled = true; replay.replay(function () { button.disabled = false; }); } } });
        replay.drawAll();
        main.appendChild(el("section", { class: "card" }, el("h2", { text: t("ev.signature") }), replay.canvas, el("div", { class: "row" }, button, info)));
      }
      if (drop || ev.consent) main.appendChild(consentCard(ev.consent));
      if (ev.assisted) {
        main.appendChild(el("section", { class: "card", dataset: { testid: "evidence-assisted" } }, el("h2", { text: t("column.assisted") }),
          el("dl", { class: "facts" }, field(t("ev.declared"), t(ev.assisted.declared ? "ev.declaredYes" : "ev.declaredNo"), "assisted-declared"),
            field(t("column.assisted_otp_to"), DSB.label("otp_to", ev.assisted.otp_to), "assisted-otp-to"),
            field(t("column.assisted_otp_phone"), ev.assisted.otp_phone_masked, "assisted-phone"))));
      }
      if (hw) main.appendChild(handwritingCard(hw, found));

      // Signer and anomalies.
      var anomalies = ev.anomalies || w.anomalies || [];
      main.appendChild(el("section", { class: "card" }, el("h2", { text: t("ev.signer") }),
        el("dl", { class: "facts" },
          field(t("ev.outcome"), ev.outcome ? DSB.label("outcome", ev.outcome) : null, "evidence-outcome"),
          field(t("col.signer"), signer.name, "evidence-signer"),
          field(t("ev.relation"), DSB.label("relation", signer.relation), "evidence-relation"),
          field(t("ev.signerPhone"), signer.phone_masked), field(t("ev.refuseReason"), ev.refuse_reason, "evidence-refuse-reason"),
          field(t("ev.submitted"), DSB.localTime(times.submitted_at)), field(t("ev.opened"), DSB.localTime(times.link_opened_at)),
          field(t("ev.otp"), times.otp_verified_at ? t("ev.otpVerified", { time: DSB.localTime(times.otp_verified_at) }) : t("ev.otpNotRequired")),
          field(t("ev.client"), ev.client ? [ev.client.platform, ev.client.ip].filter(Boolean).join(" · ") : null),
          field(t("ev.privacy"), ev.consents && ev.consents.recorded ? t("ev.privacyGiven", { v: ev.consents.notice_version,
                hw: t(ev.consents.handwriting ? "ev.declaredYes" : "ev.declaredNo"), loc: t(ev.consents.location ? "ev.declaredYes" : "ev.declaredNo") }) : null, "evidence-privacy")),
        el("h3", { text: t("ev.anomalies") }),
        anomalies.length ? el("ul", { class: "anomaly-list", dataset: { testid: "evidence-anomalies" } }, anomalies.map(function (c) {
          return el("li", { dataset: { code: c }, text: DSB.label("anomaly", c) });
        })) : el("p", { class: "ok", text: t("ev.noAnomalies"), dataset: { testid: "evidence-anomalies" } })));

      // Items with what was received.
      var lines = [];
      (ev.waybills || []).forEach(function (wb) { (wb.items || []).forEach(function (it) { lines.push([wb.number, it]); }); });
      if (lines.length) {
        // Numbers right-aligned under right-aligned headings, one cell per heading.
        var columns = [["col.waybill", ""], ["ev.item", ""], ["ev.qty", "num"], ["ev.received", "num"], ["ev.damaged", "num"],
                       ["col.note", ""]];
        main.appendChild(el("section", { class: "card wide" }, el("h2", { text: t("ev.goods") }), el("div", { class: "table-wrap", tabindex: 0 },
          el("table", { class: "grid items", dataset: { testid: "evidence-items" } },
          el("thead", null, el("tr", null, columns.map(function (c) { return el("th", { scope: "col", class: c[1] || null, text: t(c[0]) }); }))),
          el("tbody", null, lines.map(function (l) {
            var it = l[1], unit = it.unit ? " " + it.unit : "";
            return el("tr", { dataset: { testid: "item-row" } }, el("td", { text: l[0] }), el("td", { text: it.name }),
                      el("td", { class: "num", text: it.qty + unit }),
                      el("td", { class: "num", text: String(it.received_qty) + unit }),
                      el("td", { class: "num", text: String(it.damaged_qty) + unit }),
                      el("td", { text: it.note || "" }));
          }))))));
      }

      // Photos: thumbnails, a click shows the display size.
      var photos = el("div", { class: "photos" });
      (ev.photos || []).forEach(function (photo) {
        var base = "/receipts/" + encodeURIComponent(receipt.receipt_id) + "/photos/" + encodeURIComponent(photo.photo_id);
        var img = el("img", { alt: t("ev.photoAlt", { kind: DSB.label("photo_kind", photo.kind) }) });
        var thumb = el("button", { type: "button", class: "thumb", dataset: { testid: "evidence-photo", photoId: photo.photo_id },
                                   on: { click: function () { openPhoto(base, photo); } } }, img,
                       el("span", { text: DSB.label("photo_kind", photo.kind) }));
        DSB.blobUrl(base + "?variant=thumb").then(function (r) { if (r.url) img.src = keep(r.url); });
        photos.appendChild(thumb);
      });
      main.appendChild(el("section", { class: "card" }, el("h2", { text: t("ev.photos", { n: (ev.photos || []).length }) }),
                          (ev.photos || []).length ? photos : el("p", { class: "meta", text: t("ev.noPhotos") })));

      // Location.
      var raw = loc.raw, wgs = loc.wgs84, consignee = w.consignee.location;
      main.appendChild(el("section", { class: "card", dataset: { testid: "evidence-location" } }, el("h2", { text: t("ev.location") }),
        raw ? el("dl", { class: "facts" },
          field(t("ev.signLocation"), t("ev.coords", { lat: raw.lat, lng: raw.lng, system: (raw.coord_system || "wgs84").toUpperCase() }),
                "evidence-coords"),
          field("WGS-84", wgs ? wgs.lat + ", " + wgs.lng : null),
          field(t("ev.accuracy"), raw.accuracy !== undefined && raw.accuracy !== null ? t("ev.accuracyM", { n: raw.accuracy }) : null),
          field(t("ev.toAddress"), metres(loc.distance_to_consignee_m), "evidence-distance"),
          field(t("ev.toCourier"), metres(loc.distance_to_courier_m)),
          field(t("ev.addressCoords"), consignee ? t("ev.coords", { lat: consignee.lat, lng: consignee.lng,
                system: (consignee.coord_system || "").toUpperCase() }) : t("ev.notRecorded")))
          : el("p", { class: "warn", text: t("ev.noLocation") }),
        wgs ? el("p", null, mapLink(wgs, t("ev.mapName", { number: w.number }))) : null));

      // PDF and evidence hash.
      var pdf = el("p", { dataset: { testid: "evidence-pdf", state: "rendering" }, text: t("ev.pdfRendering") });
      main.appendChild(el("section", { class: "card" }, el("h2", { text: t("ev.receipt") }), pdf,
        el("dl", { class: "facts" }, field(t("ev.receiptId"), receipt.receipt_id, "evidence-receipt-id"),
          field(t("ev.hash"), receipt.evidence_hash, "evidence-hash"), field(t("ev.auditSeq"), (receipt.audit_seq || []).join ? receipt.audit_seq.join(", ") : receipt.audit_seq))));
      pollPdf(receipt.receipt_id, pdf, 0);
      showViews(receipt.receipt_id);
    }

    // 查看记录 (issue 19.4): who looked at this receipt's personal data, newest first.
    function showViews(id) {
      var card = el("section", { class: "card wide", dataset: { testid: "evidence-views" } }, el("h2", { text: t("ev.views") }));
      main.appendChild(card);
      DSB.api("GET", "/receipts/" + encodeURIComponent(id) + "/views").then(function (rows) {
        if (!alive) return;
        card.appendChild(rows.length ? el("table", { class: "grid" },
          el("thead", null, el("tr", null, ["ev.viewAt", "ev.viewWho", "ev.viewWhat"].map(function (h) { return el("th", { text: t(h) }); }))),
          el("tbody", null, rows.map(function (v) {
            var what = t("ev.view." + v.what) + (v.variant ? " (" + v.variant + ")" : "");
            return el("tr", { dataset: { testid: "view-record", what: v.what } },
              el("td", { text: DSB.localTime(v.at) }), el("td", { text: v.actor }), el("td", { text: what }));
          }))) : el("p", { class: "meta", text: t("ev.viewsNone") }));
      }).catch(function (e) { card.appendChild(el("p", { class: "error", text: e.message })); });
    }

    function pollPdf(id, box, attempt) {
      DSB.blobUrl("/receipts/" + encodeURIComponent(id) + "/pdf").then(function (r) {
        if (!alive) { if (r.url) URL.revokeObjectURL(r.url); return; }
        if (r.url) {
          DSB.clear(box).appendChild(el("a", { href: keep(r.url), target: "_blank", download: "receipt-" + id + ".pdf", text: t("ev.openPdf") }));
          box.dataset.state = "ready";
        } else if (r.status === 202 && attempt < 100) {
          timers.push(setTimeout(function () { pollPdf(id, box, attempt + 1); }, 3000));
        } else if (r.status !== 202) {
          box.textContent = t("ev.pdfFailed", { status: r.status });
          box.dataset.state = "error";
        }
      });
    }

    function openPhoto(base, photo) {
      var img = el("img", { alt: t("ev.photo"), dataset: { testid: "evidence-photo-full" } });
      var dialog = el("dialog", { class: "photo-dialog" }, img,
        el("p", { class: "meta", text: (photo.width || "?") + "×" + (photo.height || "?") + " · SHA-256 " + photo.sha256 }),
        el("div", { class: "row" },
          el("button", { type: "button", class: "btn", text: t("ev.original"), on: { click: function () { DSB.download(base + "?variant=original", photo.photo_id + ".jpg"); } } }),
          el("button", { type: "button", class: "btn primary", text: t("ev.close"), dataset: { testid: "photo-close" }, on: { click: function () { dialog.close(); } } })));
      dialog.addEventListener("close", function () { dialog.remove(); });
      document.body.appendChild(dialog);
      dialog.showModal();
      DSB.blobUrl(base + "?variant=display").then(function (r) { if (r.url) img.src = keep(r.url); });
    }

    /** Who did it, in words: "快递员 孙" for user:courier, the system for system:*, the key's name for keys. */
    function actorText(actor) {
      var parts = String(actor || "").split(":");
      if (parts[0] === "user" && parts[1]) return DSB.name("user", parts[1], known);
      if (parts[0] === "recipient" || parts[0] === "public") return t("tl.recipient");
      if (parts[0] === "system") return t("tl.system");
      if (parts[0] === "api_key" || parts[0] === "key") return t("tl.apiKey", { name: parts.slice(1).join(":") });
      return actor || "—";
    }

    /** The event's data as a sentence of its known facts; anything else stays in the raw JSON. */
    function details(e) {
      var d = e.data || {}, out = [];
      if (d.status) out.push(t("tl.status", { status: DSB.label("status", d.status) }));
      if (d.courier) out.push(t("tl.courier", { name: DSB.name("user", d.courier, known) }));
      if (d.outcome) out.push(DSB.label("outcome", d.outcome));
      if (d.signer_relation || d.relation) out.push(DSB.label("relation", d.signer_relation || d.relation));
      if (d.kind) out.push(DSB.label("photo_kind", d.kind));
      if (d.taken_by) out.push(t("tl.takenBy", { who: DSB.label("taken_by", d.taken_by) }));
      if (d.decision) out.push(DSB.label("decision", d.decision));
      if (d.note) out.push(t("tl.note", { note: d.note }));
      if (d.reason) out.push(t("tl.note", { note: d.reason }));
      if (d.anomalies && d.anomalies.length) out.push(d.anomalies.map(function (c) { return DSB.label("anomaly", c); }).join(t("sep.items")));
      if (d.phone) out.push(t("tl.phone", { phone: d.phone }));
      return out.join(t("sep.list"));
    }

    function showTimeline(events) {
      timelineCard.appendChild(el("ol", { class: "timeline", dataset: { testid: "evidence-timeline" } }, events.map(function (e) {
        var data = e.data && Object.keys(e.data).length ? JSON.stringify(e.data, null, 2) : "";
        var words = details(e);
        return el("li", { dataset: { testid: "timeline-event", type: e.type, seq: String(e.seq) } },
          el("span", { class: "time", text: DSB.localTime(e.created_at) }),
          el("strong", { text: DSB.label("event", e.type) }),
          el("span", { class: "words", dataset: { testid: "timeline-words" },
                       text: t("tl.by", { who: actorText(e.actor) }) + (words ? t("sep.field") + words : "") }),
          el("code", { class: "hash", title: e.hash, text: "#" + e.seq + " " + (e.hash || "").slice(0, 12) }),
          data ? el("details", { class: "raw" }, el("summary", { text: t("tl.raw") }),
                                 el("pre", { dataset: { testid: "timeline-raw" }, text: data })) : null);
      })));
    }

    function showChain(result) {
      var box = DSB.$("[data-testid=chain-status]", timelineCard);
      box.dataset.state = result.ok ? "ok" : "broken";
      box.className = "chain " + (result.ok ? "ok" : "broken");
      box.textContent = result.ok ? t("ev.chainOk", { n: result.events }) : t("ev.chainBroken", { seq: result.first_bad_seq });
    }

    return function () {
      alive = false;
      if (replay) replay.stop();
      timers.forEach(clearTimeout);
      urls.forEach(function (u) { URL.revokeObjectURL(u); });
      DSB.$all("dialog.photo-dialog").forEach(function (d) { d.remove(); });
    };
  };

  DSB.SignatureReplay = SignatureReplay;
})();
