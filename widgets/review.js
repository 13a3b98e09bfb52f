// labelkit review widget: the browser side of src/labelkit/ui/review_widget.py.
//
// The kernel decides everything that matters (who reviews, which answer, what is saved); this
// module shows one answer (or one escalated item) and sends the reviewer's actions as custom
// messages, echoing the opaque token of what it shows. It never sets a synced trait.
// Every string from the kernel is data: set with textContent, except the field "html" of
// markdown fields, which the kernel sanitized (render.py).
//
// Every word of the app's own comes from the `strings` trait (src/labelkit/ui/locales/*.json,
// the reviewer's language, chosen by the kernel): t("key", {vars}) with a literal key, as in
// label.js; a test checks that every key used here exists in the catalogues.
//
// Small helpers (h, button, append, newClientKey, translator, textNodes, the field rendering)
// are copied from label.js, which another module owns: keep them in step by hand.

const NO_ACK_MS = 30_000;
const NOTICE_MS = 2_500;
const MAX_HELD_KEYS = 20; // keys pressed while an action is in flight, replayed after its ack
const CHAT_ROLES = new Set(["system", "user", "assistant", "tool"]);
// Catalogue keys of the kernel's codes (literal, so the key test sees them).
const MODE_TEXT = {
  sampled: ["review.mode.sampled", "review.mode.sampled_help"],
  low_agreement: ["review.mode.low_agreement", "review.mode.low_agreement_help"],
  annotator: ["review.mode.annotator", "review.mode.annotator_help"],
};
const ROLE_TEXT = { annotator: "review.role.annotator", reviewer: "review.role.reviewer", admin: "review.role.admin" };
const STATUS_TEXT = {
  submitted: "review.status.submitted",
  skipped: "review.status.skipped",
  escalated: "review.status.escalated",
  reported: "review.status.reported",
};
const VERDICT_TEXT = { accepted: "review.verdict.accepted", rejected: "review.verdict.rejected" };
// The key map: [section title, [[key (or a key-name key), what it does], ...]].
const KEYS = [
  ["review.keys.answers", [["a", "review.keys.accept"], ["r", "review.keys.reject"], ["s", "review.keys.skip_answer"], ["review.key.esc", "review.keys.cancel"]]],
  ["review.keys.escalations", [["1–9", "review.keys.copy_answer"], ["review.key.tab", "review.keys.tab"], ["review.key.enter", "review.keys.resolve"], ["s", "review.keys.skip_item"]]],
  ["review.keys.anywhere", [["m", "review.keys.menu"], ["e", "review.keys.escalation_queue"], ["?", "review.keys.help"]]],
  ["review.keys.queues", [["1", "review.keys.sampled"], ["2", "review.keys.low_agreement"], ["3", "review.keys.annotator"]]],
];
const SPANS_EXAMPLE = '[{"start": 0, "end": 4, "label": "…"}]';

// ------------------------------------------------------------------------------ DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (name === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    } else if (name.startsWith("on") && typeof value === "function") {
      el[name.toLowerCase()] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return append(el, children); // strings become text nodes
}

/** Replace an element's children (null/false skipped, arrays flattened). */
function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child != null && child !== false) el.append(child);
  }
  return el;
}

/** A button that does not take focus on click: the root keeps it, so the keys keep working. */
function button(attrs, ...children) {
  return h("button", { type: "button", tabindex: "-1", onmousedown: (e) => e.preventDefault(), ...attrs }, ...children);
}

const kbd = (text) => h("kbd", { class: "lk-kbd" }, text);

// ------------------------------------------------------------------------------ the app's text

/** The catalogue's text for `key` ({placeholders} unfilled): for a count's key (KEY.one,
 * KEY.other, … : the language's CLDR plural forms), its form for `n` (Intl.PluralRules). */
function catalogueText(strings, locale, key, n) {
  if (!strings || typeof strings !== "object") return key;
  if (typeof strings[key] === "string") return strings[key];
  const other = strings[`${key}.other`];
  if (typeof other !== "string") return key;
  let form = "other";
  if (typeof n === "number" && Number.isFinite(n)) {
    try {
      form = new Intl.PluralRules(locale || "en").select(Math.abs(n));
    } catch {
      /* an unknown locale code: "other" */
    }
  }
  return typeof strings[`${key}.${form}`] === "string" ? strings[`${key}.${form}`] : other;
}

const fillText = (text, vars) =>
  vars ? text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : text;

/** A translator over getters of the strings and their locale: "{name}" placeholders are filled
 * from `vars`; `vars.n` is the count when the key is a count's. `t.nodes(key, vars, n)` gives
 * nodes instead (see textNodes), `n` the count when vars.n is a node. */
function translator(getStrings, getLocale) {
  const t = (key, vars) => fillText(catalogueText(getStrings(), getLocale(), key, vars?.n), vars);
  t.nodes = (key, vars, n = vars?.n) => textNodes(catalogueText(getStrings(), getLocale(), key, n), vars);
  return t;
}

/** The string as nodes, placeholders replaced by `vars` (nodes stay nodes: <kbd>m</kbd>). */
function textNodes(text, vars = {}) {
  return text.split(/(\{\w+\})/).map((part) => {
    const m = /^\{(\w+)\}$/.exec(part);
    return m && m[1] in vars ? vars[m[1]] : part;
  });
}

function newClientKey() {
  // randomUUID needs a secure context; a team server on plain http over the LAN is not one.
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
}

const isTyping = (t) =>
  t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && /^(text|number|search)$/.test(t.type)));

// ------------------------------------------------------------------------------ fields

function fieldView(field, value, urls, t) {
  const body = h("div", { class: "lk-field-body" });
  if (value == null || typeof value !== "object") {
    body.append(h("div", { class: "lk-placeholder" }, t("field.no_value")));
  } else if (field.type === "markdown") {
    const md = h("div", { class: "lk-md" });
    md.innerHTML = typeof value.html === "string" ? value.html : ""; // sanitized by the kernel
    body.append(md);
  } else if (field.type === "chat") {
    const messages = Array.isArray(value.messages) ? value.messages : [];
    body.append(
      h(
        "div",
        { class: "lk-chat" },
        messages.map((m) => {
          const role = String(m?.role ?? "");
          const kind = CHAT_ROLES.has(role) ? role : "other";
          return h("div", { class: ["lk-msg", `lk-role-${kind}`] }, h("div", { class: "lk-msg-role" }, role), h("div", { class: "lk-msg-text" }, String(m?.text ?? "")));
        })
      )
    );
  } else if (field.type === "image" && typeof value.missing === "string") {
    // A code from the kernel (ui/render.py), said in the reviewer's language.
    const why = value.missing === "too_large" ? t("image.too_large", { mb: value.mb }) : t("image.not_found");
    body.append(h("div", { class: "lk-placeholder" }, t("image.missing", { why })));
  } else if (field.type === "image") {
    let src = null;
    if (value.bytes instanceof DataView || value.bytes instanceof ArrayBuffer) {
      const mime = /^image\/[\w.+-]+$/.test(value.mime || "") ? value.mime : "image/png";
      src = URL.createObjectURL(new Blob([value.bytes], { type: mime }));
      urls.push(src);
    } else if (typeof value.url === "string" && /^https?:\/\//i.test(value.url)) {
      src = value.url;
    }
    if (src) {
      const broken = () => img.replaceWith(h("div", { class: "lk-placeholder" }, t("image.broken")));
      const img = h("img", { class: "lk-image", alt: field.label || field.name, onerror: broken });
      img.src = src;
      body.append(img);
    } else {
      body.append(h("div", { class: "lk-placeholder" }, t("image.broken")));
    }
  } else {
    body.append(h("div", { class: "lk-text lk-field-text" }, String(value.text ?? "")));
  }
  return h("section", { class: "lk-field", "data-field": field.name }, h("div", { class: "lk-field-label" }, field.label || field.name), body);
}

// ------------------------------------------------------------------------------ answers

function questionsOf(task) {
  return Array.isArray(task.questions) ? task.questions : [];
}

/** An answer value as text a person reads (labels, lists, preference, spans). */
function valueText(q, v, fields, t) {
  if (v == null) return "—";
  if (q.type === "preference" && typeof v === "object") {
    const i = (q.options || []).indexOf(v.choice);
    const choice = v.choice === "tie" ? t("review.tie") : i >= 0 ? `${q.option_labels?.[i] ?? ""} (${v.choice})` : String(v.choice);
    return v.strength ? `${choice}, ${v.strength}` : choice;
  }
  if (q.type === "spans" && Array.isArray(v)) {
    if (!v.length) return t("review.no_span");
    const text = fields?.[q.field]?.text ?? "";
    return v
      .map((s) => {
        const quoted = text ? ` “${[...text].slice(s.start, s.end).join("")}”` : "";
        return `${s.label}${s.severity ? ` (${s.severity})` : ""} ${s.start}–${s.end}${quoted}`;
      })
      .join("; ");
  }
  if (Array.isArray(v)) return v.length ? v.map(String).join(q.type === "ranking" ? " > " : ", ") : t("review.none");
  return String(v);
}

function answerTable(task, answer, fields, t) {
  const rows = questionsOf(task)
    .filter((q) => answer && answer[q.name] !== undefined)
    .map((q) => h("tr", {}, h("th", { scope: "row" }, q.label || q.name), h("td", { class: "lk-answer-value", "data-question": q.name }, valueText(q, answer[q.name], fields, t))));
  if (!rows.length) return h("div", { class: "lk-placeholder" }, t("review.no_answer"));
  return h("table", { class: "lk-answer" }, h("tbody", {}, rows));
}

function isAsked(q, byName, values, depth = 0) {
  if (!q.when || depth > 20) return true;
  const parent = byName.get(q.when.question);
  if (!parent || !isAsked(parent, byName, values, depth + 1)) return false;
  const v = values[parent.name];
  const wanted = q.when.values || [];
  if (Array.isArray(v)) return v.some((x) => wanted.includes(x));
  if (v && typeof v === "object" && "choice" in v) return wanted.includes(v.choice);
  return wanted.includes(v);
}

/** The final-answer editor of an escalated item: native controls (Tab, arrows, space). */
function answerEditor(task, uid, t) {
  const byName = new Map(questionsOf(task).map((q) => [q.name, q]));
  const parts = new Map(); // name -> {block, read(), write(v)}
  const el = h("div", { class: "lk-resolve-editor" });

  const choices = (q, values, names, multiple) => {
    const name = `${uid}-${q.name}`;
    const inputs = values.map((v, i) => h("input", { type: multiple ? "checkbox" : "radio", name, value: v, "data-index": i }));
    const box = h(
      "div",
      { class: "lk-choices", role: multiple ? "group" : "radiogroup", "aria-label": q.label || q.name },
      inputs.map((input, i) => h("label", { class: "lk-choice" }, input, " ", names[i]))
    );
    return {
      box,
      read: () => (multiple ? inputs.filter((i) => i.checked).map((i) => values[Number(i.dataset.index)]) : (() => {
        const picked = inputs.find((i) => i.checked);
        return picked ? values[Number(picked.dataset.index)] : null;
      })()),
      write: (v) => inputs.forEach((input, i) => (input.checked = multiple ? Array.isArray(v) && v.includes(values[i]) : v === values[i])),
    };
  };

  for (const q of questionsOf(task)) {
    let part;
    if (q.type === "label" || q.type === "multi_label" || q.type === "taxonomy") {
      const values = q.type === "taxonomy" ? q.paths || [] : q.labels || [];
      part = choices(q, values, values, q.type === "multi_label" || (q.type === "taxonomy" && q.multiple));
    } else if (q.type === "rating" && q.slider) {
      const input = h("input", { type: "number", class: "lk-number", min: q.min, max: q.max, step: q.step || 1 });
      part = { box: input, read: () => (input.value === "" ? null : Number(input.value)), write: (v) => (input.value = v == null ? "" : String(v)) };
    } else if (q.type === "rating") {
      const values = [];
      for (let v = q.min; v <= q.max; v += q.step || 1) values.push(v);
      part = choices(q, values, values.map(String), false);
    } else if (q.type === "preference") {
      const values = [...(q.options || [])];
      const names = values.map((o, i) => `${q.option_labels?.[i] ?? ""} (${o})`);
      if (q.allow_tie !== false) values.push("tie"), names.push(t("review.tie"));
      const choice = choices({ ...q, name: `${q.name}-choice` }, values, names, false);
      const strengths = (q.strengths || []).length ? choices({ ...q, name: `${q.name}-strength` }, q.strengths, q.strengths, false) : null;
      part = {
        box: h("div", {}, choice.box, strengths && h("div", { class: "lk-strengths" }, t("review.strength"), " ", strengths.box)),
        read: () => {
          const c = choice.read();
          return c == null ? null : { choice: c, strength: c === "tie" || !strengths ? null : strengths.read() };
        },
        write: (v) => {
          choice.write(v?.choice ?? null);
          strengths?.write(v?.strength ?? null);
        },
      };
    } else if (q.type === "ranking") {
      let order = [...(q.options || [])];
      const list = h("ol", { class: "lk-ranking" });
      const paint = () =>
        list.replaceChildren(
          ...order.map((o, i) =>
            h(
              "li",
              {},
              h("span", {}, String(o)),
              h("button", { type: "button", class: "lk-move", "aria-label": t("review.move_up", { option: o }), disabled: i === 0, onclick: () => ((order = move(order, i, -1)), paint()) }, "↑"),
              h("button", { type: "button", class: "lk-move", "aria-label": t("review.move_down", { option: o }), disabled: i === order.length - 1, onclick: () => ((order = move(order, i, 1)), paint()) }, "↓")
            )
          )
        );
      paint();
      part = { box: list, read: () => [...order], write: (v) => ((order = Array.isArray(v) ? [...v] : [...(q.options || [])]), paint()) };
    } else if (q.type === "spans") {
      const area = h("textarea", { class: "lk-json", rows: 3, spellcheck: "false", placeholder: t("review.spans_placeholder", { example: SPANS_EXAMPLE }) });
      part = {
        box: area,
        read: () => {
          if (!area.value.trim()) return null;
          try {
            return JSON.parse(area.value);
          } catch {
            throw new Error(t("review.error.invalid_json", { question: q.label || q.name }));
          }
        },
        write: (v) => (area.value = v == null ? "" : JSON.stringify(v)),
      };
    } else {
      const area = h("textarea", { class: "lk-text-answer", rows: 3, maxlength: q.max_length || null });
      part = { box: area, read: () => area.value.trim() || null, write: (v) => (area.value = v == null ? "" : String(v)) };
    }
    const block = h("fieldset", { class: "lk-edit-question", "data-question": q.name }, h("legend", {}, q.label || q.name), part.box);
    parts.set(q.name, { ...part, block });
    el.append(block);
  }

  const values = () => {
    const out = {};
    for (const [name, part] of parts) out[name] = part.read();
    return out;
  };
  const paintAsked = () => {
    let current = {};
    try {
      current = values();
    } catch {
      /* a half-typed JSON box: keep what is shown */
    }
    for (const [name, part] of parts) part.block.hidden = !isAsked(byName.get(name), byName, current);
  };
  el.addEventListener("change", paintAsked);
  paintAsked();
  return {
    el,
    read() {
      const all = values();
      const answer = {};
      for (const [name, v] of Object.entries(all)) {
        if (v != null && isAsked(byName.get(name), byName, all)) answer[name] = v;
      }
      return answer;
    },
    write(answer) {
      for (const [name, part] of parts) part.write(answer ? answer[name] : null);
      paintAsked();
    },
    focusFirst() {
      const first = el.querySelector("fieldset:not([hidden]) input, fieldset:not([hidden]) textarea, fieldset:not([hidden]) button");
      first?.focus();
    },
  };
}

function move(list, i, by) {
  const out = [...list];
  [out[i], out[i + by]] = [out[i + by], out[i]];
  return out;
}

// ------------------------------------------------------------------------------ the view

function createView(model, el) {
  const uid = `lkr${Math.random().toString(36).slice(2, 9)}`;
  const life = new AbortController();
  // held: keys pressed while an action was in flight, in order (see holdKey).
  const S = { inflight: null, form: null, editor: null, keymapOpen: false, noticeTimer: 0, urls: [], localError: "", held: [], paintQueued: false };
  const locale = () => model.get("locale") || "en";
  const t = translator(() => model.get("strings"), locale);
  const tn = t.nodes; // a string with nodes in its placeholders
  const keyName = (k) => (k.startsWith("review.key.") ? t(k) : k); // "Enter" is "Entrée" in French

  const root = h("div", { class: "lk-root lk-review", tabindex: "0", "data-lm-suppress-shortcuts": "true", role: "region" });
  const titleEl = h("div", { class: "lk-title", role: "heading", "aria-level": "2" });
  const reviewerEl = h("span", { class: "lk-reviewer" });
  const progressEl = h("div", { class: "lk-review-progress", "aria-live": "polite" });
  const tabsEl = h("div", { class: "lk-tabs", role: "tablist" });
  const errorEl = h("div", { class: "lk-error", role: "alert", hidden: true });
  const noticeEl = h("div", { class: "lk-notice", role: "status", hidden: true });
  const bodyEl = h("div", { class: "lk-review-body" });
  const keymapEl = h("div", { class: "lk-keymap", hidden: true, role: "dialog" });
  root.append(h("div", { class: "lk-header" }, titleEl, reviewerEl, progressEl), tabsEl, errorEl, noticeEl, bodyEl, keymapEl);
  el.append(root);

  const task = () => model.get("task") || {};
  const entry = () => model.get("entry");
  const state = () => model.get("state");

  // ---- sending
  function send(action, extra = {}) {
    if (S.inflight || model.get("busy")) return false;
    const key = newClientKey();
    const timer = setTimeout(() => {
      S.inflight = null;
      showError(t("review.error.no_reply"));
      dropHeldKeys();
    }, NO_ACK_MS);
    S.inflight = { key, timer };
    root.classList.add("lk-busy");
    model.send({ action, client_key: key, ...extra });
    return true;
  }

  function onAck(msg) {
    if (!S.inflight || msg.client_key !== S.inflight.key) return;
    clearTimeout(S.inflight.timer);
    S.inflight = null;
    root.classList.remove("lk-busy");
    if (!msg.ok) showError(msg.error || t("review.error.not_saved"));
    else S.localError = "";
    paintError();
    if (S.paintQueued) paint(); // what the action brought, before the keys pressed meanwhile
    if (msg.ok) replayHeldKeys();
    else dropHeldKeys(); // they were meant for what the failed action would have shown
  }

  function showError(text) {
    S.localError = text;
    paintError();
  }

  function paintError() {
    const text = model.get("error") || S.localError;
    errorEl.hidden = !text;
    errorEl.textContent = text || "";
  }

  function showNotice(text) {
    clearTimeout(S.noticeTimer);
    noticeEl.hidden = !text;
    noticeEl.textContent = text || "";
    if (text) S.noticeTimer = setTimeout(() => (noticeEl.hidden = true), NOTICE_MS);
  }

  // ---- header
  function paintHeader() {
    const info = task();
    root.lang = locale();
    root.setAttribute("aria-label", t("review.aria"));
    keymapEl.setAttribute("aria-label", t("review.keys.title"));
    titleEl.textContent = t("review.title", { title: info.title || "" });
    const role = ROLE_TEXT[info.role] ? t(ROLE_TEXT[info.role]) : info.role;
    reviewerEl.textContent = role ? t("review.reviewer", { name: info.reviewer || "", role }) : t("review.reviewer_no_role", { name: info.reviewer || "" });
    const s = state();
    tabsEl.replaceChildren(
      button({ class: ["lk-tab", s !== "escalations" && "lk-tab-on"], role: "tab", onclick: () => send("menu") }, t("review.tab.answers"), " ", kbd("m")),
      button({ class: ["lk-tab", s === "escalations" && "lk-tab-on"], role: "tab", onclick: () => send("escalations") }, t("review.tab.escalations"), " ", kbd("e")),
      button({ class: "lk-tab lk-tab-keys", onclick: () => toggleKeymap() }, t("review.tab.keys"), " ", kbd("?"))
    );
  }

  function paintProgress() {
    const p = model.get("progress") || {};
    if (!p.mode) {
      progressEl.textContent = "";
      return;
    }
    const escalations = p.mode === "escalations";
    const where = p.total ? t(escalations ? "review.progress.item" : "review.progress.answer", { n: p.position, total: p.total }) : "";
    const counts = escalations
      ? t("review.progress.resolved", { resolved: p.resolved, skipped: p.skipped })
      : t("review.progress.counts", { accepted: p.accepted, rejected: p.rejected, skipped: p.skipped });
    progressEl.replaceChildren(h("span", { class: "lk-stat" }, where), h("span", { class: "lk-stat lk-counts" }, counts));
  }

  function toggleKeymap(open = !S.keymapOpen) {
    S.keymapOpen = open;
    keymapEl.hidden = !open;
    if (open) {
      fill(
        keymapEl,
        h("div", { class: "lk-keymap-title" }, t("review.keys.title")),
        KEYS.map(([title, rows]) => h("section", {}, h("h4", {}, t(title)), h("table", {}, h("tbody", {}, rows.map(([k, what]) => h("tr", {}, h("td", {}, kbd(keyName(k))), h("td", {}, t(what))))))))
      );
    }
  }

  // ---- bodies
  function revokeUrls() {
    for (const url of S.urls) URL.revokeObjectURL(url);
    S.urls = [];
  }

  /** One paint per update from the kernel (state, entry and progress change together): a
   * second paint in a row would revoke the first one's image URLs before they load. */
  function schedulePaint() {
    if (S.paintQueued) return;
    S.paintQueued = true;
    queueMicrotask(() => S.paintQueued && !life.signal.aborted && paint());
  }

  function paint() {
    S.paintQueued = false;
    S.form = null;
    S.editor = null;
    const oldUrls = S.urls; // revoked once their images have left the page
    S.urls = [];
    paintHeader();
    paintProgress();
    paintError();
    const s = state();
    root.dataset.state = s;
    if (s === "error") fill(bodyEl, h("div", { class: "lk-fatal", role: "alert" }, model.get("error") || t("review.error.fatal")));
    else if (s === "choose") paintChoose();
    else if (s === "done") paintDone();
    else if (s === "reviewing" && entry()) paintAnswer(entry());
    else if (s === "escalations" && entry()) paintEscalation(entry());
    for (const url of oldUrls) URL.revokeObjectURL(url);
    if (!root.contains(document.activeElement) || document.activeElement === document.body) root.focus({ preventScroll: true });
  }

  function paintChoose() {
    const o = model.get("options") || {};
    const select = h(
      "select",
      { class: "lk-annotator-select", "aria-label": t("review.choose.annotator_label") },
      (o.annotators || []).map((a) => h("option", { value: a.name }, `${a.name} (${a.pending})`))
    );
    S.select = select;
    const modeButton = (mode, key, extra) =>
      button(
        {
          class: "lk-mode",
          "data-mode": mode,
          onclick: () => start(mode),
        },
        kbd(key),
        h("span", { class: "lk-mode-name" }, t(MODE_TEXT[mode][0])),
        h("span", { class: "lk-mode-help" }, t(MODE_TEXT[mode][1])),
        extra
      );
    fill(bodyEl,
      h(
        "p",
        { class: "lk-lead" },
        t("review.choose.lead", {
          pending: t("review.choose.pending", { n: o.pending ?? 0 }),
          escalations: t("review.choose.unresolved", { n: o.escalations ?? 0 }),
        })
      ),
      h(
        "div",
        { class: "lk-modes" },
        modeButton("sampled", "1"),
        modeButton("low_agreement", "2"),
        modeButton("annotator", "3"),
        (o.annotators || []).length ? h("label", { class: "lk-annotator-pick" }, t("review.choose.annotator"), " ", select) : h("span", { class: "lk-placeholder" }, t("review.choose.nothing")),
        button(
          { class: "lk-mode", "data-mode": "escalations", onclick: () => send("escalations") },
          kbd("e"),
          h("span", { class: "lk-mode-name" }, t("review.tab.escalations")),
          h("span", { class: "lk-mode-help" }, t("review.choose.escalations_help", { unresolved: o.escalations ?? 0, resolved: o.resolved ?? 0 }))
        )
      )
    );
  }

  function start(mode) {
    if (mode === "annotator") {
      if (!S.select || !S.select.value) return showError(t("review.error.no_annotator"));
      return send("start", { mode, annotator: S.select.value });
    }
    send("start", { mode });
  }

  function paintDone() {
    const escalations = (model.get("progress") || {}).mode === "escalations";
    fill(bodyEl,
      h("div", { class: "lk-done" }, h("h3", {}, t(escalations ? "review.done.escalations" : "review.done.answers")), h("p", {}, tn("review.done.hint", { key: kbd("m") })))
    );
  }

  function fields(e) {
    const info = task();
    return h(
      "div",
      { class: ["lk-fields", e.sensitive && "lk-sensitive"] },
      e.sensitive && h("div", { class: "lk-warning" }, t("review.sensitive")),
      (info.fields || []).map((f) => fieldView(f, e.fields?.[f.name], S.urls, t)),
      metadataView(e.metadata)
    );
  }

  /** The item's metadata (names and values are dataset text: textContent only). */
  function metadataView(entries) {
    if (!Array.isArray(entries) || !entries.length) return null;
    return h(
      "section",
      { class: "lk-metadata" },
      h("h4", {}, t("review.metadata")),
      h(
        "dl",
        {},
        entries.map((m) => [h("dt", {}, String(m?.name ?? "")), h("dd", {}, String(m?.value ?? ""))])
      )
    );
  }

  function othersList(list, { numbered = false } = {}) {
    if (!list.length) return h("div", { class: "lk-placeholder" }, t("review.no_others"));
    return h(
      "ol",
      { class: "lk-others" },
      list.map((o, i) =>
        h(
          "li",
          { class: ["lk-other", `lk-status-${o.status}`], "data-annotator": o.annotator },
          h(
            "div",
            { class: "lk-other-head" },
            numbered && i < 9 ? kbd(String(i + 1)) : null,
            h("strong", { class: "lk-other-name" }, o.annotator),
            h("span", { class: "lk-other-status" }, o.status === "submitted" ? "" : STATUS_TEXT[o.status] ? t(STATUS_TEXT[o.status]) : o.status),
            o.verdict ? h("span", { class: `lk-verdict lk-verdict-${o.verdict}` }, VERDICT_TEXT[o.verdict] ? t(VERDICT_TEXT[o.verdict]) : o.verdict) : null
          ),
          o.status === "submitted" ? answerTable(task(), o.answer, entry()?.fields, t) : null,
          o.comment ? h("div", { class: "lk-other-comment" }, o.comment) : null
        )
      )
    );
  }

  function paintAnswer(e) {
    const percent = e.agreement == null ? null : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(e.agreement);
    const agreement = percent && t("review.agreement", { percent });
    const form = h("div", { class: "lk-verdict-form", hidden: true });
    S.formEl = form;
    fill(bodyEl,
      h("div", { class: "lk-review-entry", "data-item": e.item }, fields(e)),
      h(
        "section",
        { class: "lk-review-answer" },
        h("h3", {}, tn("review.answer_by", { name: h("span", { class: "lk-review-annotator" }, e.annotator) }), e.version > 1 ? h("span", { class: "lk-muted" }, " ", t("review.version", { n: e.version })) : null),
        answerTable(task(), e.answer, e.fields, t),
        agreement && h("div", { class: "lk-agreement" }, agreement)
      ),
      form,
      h(
        "div",
        { class: "lk-actions" },
        button({ class: "lk-accept", onclick: () => openForm("accepted") }, kbd("a"), " ", t("review.action.accept")),
        button({ class: "lk-reject", onclick: () => openForm("rejected") }, kbd("r"), " ", t("review.action.reject")),
        button({ class: "lk-skip", onclick: () => skip() }, kbd("s"), " ", t("review.action.skip"))
      ),
      h("section", { class: "lk-context" }, h("h4", {}, t("review.others")), othersList(e.others || []))
    );
  }

  function openForm(verdict) {
    const form = S.formEl;
    if (!form) return;
    const rejecting = verdict === "rejected";
    const comment = h("textarea", { class: "lk-comment", rows: 2, maxlength: 2000, placeholder: t(rejecting ? "review.form.reject_placeholder" : "review.form.accept_placeholder") });
    const keys = { enter: kbd(t("review.key.enter")), esc: kbd(t("review.key.esc")), newline: kbd(t("review.key.shift_enter")) };
    fill(form,
      h("div", { class: "lk-form-title" }, t(rejecting ? "review.form.reject_title" : "review.form.accept_title"), " ", tn("review.form.keys", keys)),
      comment,
      h("div", { class: "lk-form-buttons" }, button({ class: "lk-confirm", onclick: () => confirmVerdict() }, t("review.action.confirm")), button({ onclick: () => closeForm() }, t("review.action.cancel")))
    );
    form.hidden = false;
    form.dataset.verdict = verdict;
    S.form = { verdict, comment };
    comment.focus();
  }

  function closeForm() {
    if (S.formEl) S.formEl.hidden = true;
    S.form = null;
    root.focus({ preventScroll: true });
  }

  function confirmVerdict() {
    const e = entry();
    if (!S.form || !e) return;
    const comment = S.form.comment.value.trim();
    if (S.form.verdict === "rejected" && !comment) return showError(t("review.error.reason"));
    send("verdict", { token: e.token, verdict: S.form.verdict, comment });
  }

  function skip() {
    const e = entry();
    if (e) send("skip", { token: e.token });
  }

  function paintEscalation(e) {
    const editor = answerEditor(task(), uid, t);
    S.editor = editor;
    if (e.resolution) editor.write(e.resolution.answer);
    const comment = h("input", { type: "text", class: "lk-resolve-comment", maxlength: 2000, placeholder: t("review.resolve.comment_placeholder") });
    S.resolveComment = comment;
    fill(bodyEl,
      h("div", { class: "lk-review-entry", "data-item": e.item }, fields(e)),
      h(
        "section",
        { class: "lk-reasons" },
        h("h3", {}, t("review.escalated_by")),
        h("ul", {}, (e.reasons || []).map((r) => h("li", { class: "lk-reason" }, tn("review.reason", { name: h("strong", {}, r.annotator), reason: h("span", { class: "lk-reason-text" }, r.reason) }))))
      ),
      e.resolution
        ? h(
            "div",
            { class: "lk-resolution" },
            tn("review.resolved_by", { name: h("strong", {}, e.resolution.reviewer) }),
            answerTable(task(), e.resolution.answer, e.fields, t),
            e.resolution.comment ? h("div", {}, e.resolution.comment) : null
          )
        : null,
      h("section", { class: "lk-context" }, h("h4", {}, t("review.answers_hint")), othersList(e.answers || [], { numbered: true })),
      h("section", { class: "lk-final" }, h("h3", {}, t("review.final")), editor.el, comment),
      h(
        "div",
        { class: "lk-actions" },
        button({ class: "lk-resolve", onclick: () => resolve() }, kbd(t("review.key.enter")), " ", t("review.action.resolve")),
        button({ class: "lk-skip", onclick: () => skip() }, kbd("s"), " ", t("review.action.skip"))
      )
    );
  }

  function resolve() {
    const e = entry();
    if (!e || !S.editor) return;
    let answer;
    try {
      answer = S.editor.read();
    } catch (err) {
      return showError(String(err.message || err));
    }
    send("resolve", { token: e.token, answer, comment: S.resolveComment?.value.trim() || "" });
  }

  function copyAnswer(n) {
    const list = entry()?.answers || [];
    if (n >= list.length || !S.editor) return false;
    S.editor.write(list[n].answer);
    showNotice(t("review.notice.copied", { name: list[n].annotator }));
    return true;
  }

  // ---- keys
  function onKeyDown(e) {
    if (e.isComposing || (e.ctrlKey && e.key !== "Enter") || e.altKey || e.metaKey) return;
    if (mustWait(e)) {
      holdKey(e);
      e.preventDefault();
      e.stopPropagation();
      return;
    }
    const handled = handleKey(e);
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  const waiting = () => !!S.inflight || !!model.get("busy");

  /** While an action is in flight, the keys that act wait their turn: "m" then "1" goes to the
   * menu, then starts a queue. The key map, Esc and typing into a text box need no wait. */
  function mustWait(e) {
    if (S.held.length) return true; // after keys already held: keep the order
    if (!waiting()) return false;
    if (e.key === "?" || e.key === "Escape") return false;
    return !(isTyping(e.target) && e.key !== "Enter");
  }

  function holdKey(e) {
    if (e.repeat) return; // a held-down key acts once
    if (S.held.length >= MAX_HELD_KEYS) return showNotice(t("review.notice.wait"));
    S.held.push({ key: e.key, shiftKey: e.shiftKey, ctrlKey: e.ctrlKey });
  }

  /** The held keys, in order, as if pressed now; one that sends an action waits for its ack. */
  function replayHeldKeys() {
    while (S.held.length && !waiting()) {
      const pressed = S.held.shift();
      const focused = root.contains(document.activeElement) ? document.activeElement : root;
      if (handleKey({ ...pressed, target: focused })) continue;
      // Text typed ahead into the box a held key opened (the reason of a rejection).
      if (isTyping(focused) && pressed.key.length === 1) {
        focused.setRangeText(pressed.key, focused.selectionStart, focused.selectionEnd, "end");
      }
    }
  }

  function dropHeldKeys() {
    if (S.held.length) showNotice(t("review.notice.keys_dropped", { n: S.held.length }));
    S.held = [];
  }

  function handleKey(e) {
    const s = state();
    const key = e.key;
    const typing = isTyping(e.target);
    if (key === "Escape") {
      if (S.keymapOpen) return toggleKeymap(false), true;
      if (S.form) return closeForm(), true;
      if (typing || e.target !== root) return root.focus({ preventScroll: true }), true;
      root.blur();
      return true;
    }
    if (S.form) {
      if (key === "Enter" && !e.shiftKey) return confirmVerdict(), true;
      return false; // typing the comment
    }
    if (s === "escalations" && key === "Enter") {
      if (e.target.tagName === "TEXTAREA" && !e.ctrlKey) return false; // a new line
      if (e.target.tagName === "BUTTON" && e.target !== root) return false; // the button's own action
      return resolve(), true;
    }
    if (typing || (e.target.tagName === "SELECT" && key !== "Enter")) return false;
    if (key === "?") return toggleKeymap(), true;
    if (key === "m") return send("menu"), true;
    if (key === "e") return send("escalations"), true;
    if (s === "choose") {
      if (key === "1") return start("sampled"), true;
      if (key === "2") return start("low_agreement"), true;
      if (key === "3") return S.select?.focus(), true;
      if (key === "Enter" && e.target === S.select) return start("annotator"), true;
      return false;
    }
    if (s === "reviewing") {
      if (key === "a") return openForm("accepted"), true;
      if (key === "r") return openForm("rejected"), true;
      if (key === "s") return skip(), true;
      return false;
    }
    if (s === "escalations") {
      if (key === "s") return skip(), true;
      if (/^[1-9]$/.test(key)) return copyAnswer(Number(key) - 1);
    }
    return false;
  }

  root.addEventListener("keydown", onKeyDown, { signal: life.signal });

  function repaintAll() {
    // The language changed (rare): everything that holds text is painted again.
    schedulePaint();
    if (S.keymapOpen) toggleKeymap(true);
  }

  const handlers = {
    "change:task": paintHeader,
    "change:strings": repaintAll,
    "change:locale": repaintAll,
    "change:state": schedulePaint,
    "change:entry": schedulePaint,
    "change:options": () => state() === "choose" && schedulePaint(),
    "change:progress": paintProgress,
    "change:error": () => (state() === "error" ? schedulePaint() : paintError()),
    "change:notice": () => showNotice(model.get("notice")),
    "change:busy": () => {
      root.classList.toggle("lk-busy", waiting());
      if (!model.get("busy") && !S.inflight) replayHeldKeys();
    },
    "msg:custom": (msg) => msg && msg.type === "ack" && onAck(msg),
  };
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);

  paint();
  let tries = 0;
  let frame = 0;
  const focusWhenAttached = () => {
    if (root.isConnected) root.focus({ preventScroll: true });
    else if (tries++ < 60) frame = requestAnimationFrame(focusWhenAttached);
  };
  focusWhenAttached();

  return () => {
    life.abort();
    for (const [event, fn] of Object.entries(handlers)) model.off(event, fn);
    cancelAnimationFrame(frame);
    S.paintQueued = false;
    clearTimeout(S.noticeTimer);
    if (S.inflight) clearTimeout(S.inflight.timer);
    revokeUrls();
    root.remove();
  };
}

export default {
  render({ model, el }) {
    return createView(model, el);
  },
};
