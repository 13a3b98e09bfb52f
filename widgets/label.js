// labelkit: the browser side of the labeling widget (an anywidget ES module).
//
// The contract with the kernel is widgets/PROTOCOL.md. The kernel decides everything that
// matters; this module shows the synced traits and sends one message per user action. It never
// sets a trait. Every string from the model is data: it reaches the DOM through textContent,
// except the two HTML strings the kernel has sanitized (task.guidelines_html, markdown html).
//
// One user action sends one message: while it is in flight nothing else is sent, a held key
// sends once, and the second half of a double press (or double click) that lands on the next
// item is dropped (see doublePress), so it cannot answer an item nobody has looked at.

const DEFAULT_KEYS = {
  submit: "Enter",
  back: "Backspace",
  forward: "Shift+Backspace",
  skip: "s",
  escalate: "e",
  report: "r",
  guidelines: "g",
  help: "?",
  reveal: "v",
  diff: "d",
  zoom: "z",
  choose_a: "a",
  choose_b: "b",
  tie: "t",
  level: "l",
  leave_exam: "q",
};
// Sent as the report's reason (stored English, like the keys); shown translated (reasonText).
const REPORT_REASONS = ["disturbing", "broken or unreadable", "spam", "other"];
const CHAT_ROLES = new Set(["system", "user", "assistant", "tool"]);
const LABEL_COLOURS = 8; // lk-lab-0 … lk-lab-7 in label.css
const NO_ACK_MS = 30_000; // a kernel that never answers must not lock the widget forever
const NOTICE_MS = 3_000;
const COMPOSE_MS = 1_000; // digits typed within this time compose one slider number
const DIFF_MAX_WORDS = 3_000;
// A submit or skip key pressed again this soon after the next item appeared, with nothing else
// done in between, is the second half of a double press: it must not answer the new item.
const DOUBLE_PRESS_MS = 400;
// The page tells the kernel the annotator is active (a key or the mouse within ACTIVE_MS) every
// HEARTBEAT_MS, so the newest item stays reserved for them (the kernel renews, rate limited).
const HEARTBEAT_MS = 30_000;
const ACTIVE_MS = 60_000;
const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

// ------------------------------------------------------------------------------ DOM helper

/** Create an element. Strings among `children` become text nodes (never parsed as HTML).
 * `on*` function attributes become property handlers: they go away with the element. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (name === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    } else if (name.startsWith("on") && typeof value === "function") {
      el[name.toLowerCase()] = value;
    } else if (name === "style") {
      Object.assign(el.style, value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return append(el, children); // strings become text nodes
}

/** A button that does not take focus on click: the root keeps it, so the keys keep working. */
function button(attrs, ...children) {
  return h(
    "button",
    { type: "button", tabindex: "-1", onmousedown: (e) => e.preventDefault(), ...attrs },
    ...children
  );
}

/** Append children, skipping null/false (the native append() would write "null"). */
function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child != null && child !== false) el.append(child);
  }
  return el;
}

/** Replace an element's children, skipping null/false (replaceChildren() would write "null"). */
function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const kbd = (text) => (text ? h("kbd", { class: "lk-kbd" }, text) : null);

// ------------------------------------------------------------------------------ the app's text
// Every word of the app's own comes from the `strings` trait (src/labelkit/ui/locales/*.json,
// one catalogue per language, chosen by the kernel). Call t("key", {vars}) with a literal key:
// a test checks that every key used here exists in every catalogue. A count's string has one
// key per plural form of the language (KEY.one, KEY.other; French also KEY.many): t("KEY",
// {n}) picks the form for n by the language's CLDR rules (Intl.PluralRules; Babel in the
// kernel), so French says "0 question" and English "0 questions".

/** The catalogue's text for `key` ({placeholders} unfilled): for a count's key, its form for `n`. */
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

/** The string as nodes, placeholders replaced by `vars` (nodes stay nodes: <strong>3</strong>). */
function textNodes(text, vars = {}) {
  return text.split(/(\{\w+\})/).map((part) => {
    const m = /^\{(\w+)\}$/.exec(part);
    return m && m[1] in vars ? vars[m[1]] : part;
  });
}

// A translator for code that runs before any catalogue arrives (English keys as last resort).
const untranslated = (key) => key;

// ------------------------------------------------------------------------------ text utils

/** Python indexes strings by code point, JavaScript by UTF-16 unit: map both ways. */
function codePointMaps(text) {
  const n = text.length;
  const toCp = new Uint32Array(n + 1); // UTF-16 index -> code point index
  const toU16 = []; // code point index -> UTF-16 index
  let cp = 0;
  for (let i = 0; i < n; cp++) {
    toCp[i] = cp;
    toU16.push(i);
    const c = text.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) toCp[i + 1] = cp; // the middle of a pair rounds down to its code point
    i += pair ? 2 : 1;
  }
  toCp[n] = cp;
  toU16.push(n);
  const u16 = (c) => toU16[Math.max(0, Math.min(cp, c))];
  return { toCp, u16, length: cp };
}

/** Word-like tokens (UTF-16 ranges) of a text: words, punctuation marks, emoji; no spaces.
 * Intl.Segmenter also splits scripts written without spaces (Chinese, Japanese, Thai). */
function tokenize(text) {
  const tokens = [];
  if (typeof Intl !== "undefined" && Intl.Segmenter) {
    const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });
    for (const { segment, index } of segmenter.segment(text)) {
      if (/\S/u.test(segment)) tokens.push({ s: index, e: index + segment.length });
    }
  } else {
    for (const m of text.matchAll(/[\p{L}\p{M}\p{N}_'’-]+|[^\s\p{L}\p{M}\p{N}]/gu)) {
      tokens.push({ s: m.index, e: m.index + m[0].length });
    }
  }
  return tokens;
}

/** Word diff of two texts by longest common subsequence.
 * Returns, per side, the words [start, end, changed], or null when the texts are too long. */
function wordDiff(a, b) {
  const words = (t) => [...t.matchAll(/\S+/g)].map((m) => [m.index, m.index + m[0].length]);
  const wa = words(a);
  const wb = words(b);
  if (wa.length > DIFF_MAX_WORDS || wb.length > DIFF_MAX_WORDS) return null;
  const ta = wa.map(([s, e]) => a.slice(s, e));
  const tb = wb.map(([s, e]) => b.slice(s, e));
  // Common head and tail are unchanged: only the middle needs the quadratic table.
  let head = 0;
  while (head < ta.length && head < tb.length && ta[head] === tb[head]) head++;
  let tail = 0;
  while (
    tail < ta.length - head &&
    tail < tb.length - head &&
    ta[ta.length - 1 - tail] === tb[tb.length - 1 - tail]
  ) tail++;
  const n = ta.length - head - tail;
  const m = tb.length - head - tail;
  const keepA = new Uint8Array(ta.length).fill(1);
  const keepB = new Uint8Array(tb.length).fill(1);
  if (n > 0 || m > 0) {
    // L[i][j] = LCS length of the suffixes a[i:], b[j:] of the middle parts.
    const w = m + 1;
    const L = new Uint16Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i * w + j] =
          ta[head + i] === tb[head + j]
            ? L[(i + 1) * w + j + 1] + 1
            : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    for (let k = 0; k < n; k++) keepA[head + k] = 0;
    for (let k = 0; k < m; k++) keepB[head + k] = 0;
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (ta[head + i] === tb[head + j]) {
        keepA[head + i++] = 1;
        keepB[head + j++] = 1;
      } else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) i++;
      else j++;
    }
  }
  return {
    a: wa.map(([s, e], k) => [s, e, !keepA[k]]),
    b: wb.map(([s, e], k) => [s, e, !keepB[k]]),
  };
}

/** Text with the changed words wrapped in spans of class `cls` (textContent only). */
function diffNodes(text, words, cls) {
  const out = [];
  let at = 0;
  for (const [s, e, changed] of words) {
    if (!changed) continue;
    if (s > at) out.push(text.slice(at, s));
    out.push(h("span", { class: cls }, text.slice(s, e)));
    at = e;
  }
  out.push(text.slice(at));
  return out;
}

function plainText(field, value) {
  if (!value || typeof value !== "object") return null;
  if (field.type === "text" || field.type === "markdown") return String(value.text ?? "");
  if (field.type === "chat" && Array.isArray(value.messages)) {
    return value.messages.map((m) => `${m.role}: ${m.text}`).join("\n\n");
  }
  return null;
}

function newClientKey() {
  // randomUUID needs a secure context; a team server on plain http over the LAN is not one.
  if (globalThis.crypto?.randomUUID) {
    try {
      return crypto.randomUUID();
    } catch {
      /* fall through */
    }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const same = (a, b) => a === b || JSON.stringify(a) === JSON.stringify(b);
const mmss = (ms) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};

// ------------------------------------------------------------------------------ keys

/** "Shift+Backspace" -> {key: "Backspace", shift: true, …}. */
function parseKey(spec) {
  if (typeof spec !== "string" || !spec) return null;
  let parts = spec.split("+");
  if (spec.endsWith("+")) parts = [...spec.slice(0, -1).split("+").filter(Boolean), "+"];
  const key = parts.pop();
  const mods = new Set(parts.map((p) => p.toLowerCase()));
  return {
    key: key === "Space" ? " " : key,
    ctrl: mods.has("ctrl") || mods.has("control"),
    alt: mods.has("alt") || mods.has("option"),
    shift: mods.has("shift"),
    meta: mods.has("meta") || mods.has("cmd") || mods.has("command"),
  };
}

function keyMatches(e, p) {
  if (!p || e.ctrlKey !== p.ctrl || e.altKey !== p.alt || e.metaKey !== p.meta) return false;
  if (p.key.length === 1) {
    if (/\p{L}/u.test(p.key)) {
      // Letters ignore Caps Lock, but Shift must be as written ("s" is not "Shift+s").
      const upper = p.key !== p.key.toLowerCase();
      return e.key.toLowerCase() === p.key.toLowerCase() && e.shiftKey === (p.shift || upper);
    }
    return e.key === p.key; // "?" needs Shift on some layouts and not on others
  }
  return e.key.toLowerCase() === p.key.toLowerCase() && e.shiftKey === p.shift;
}

const KEY_NAMES = {
  Backspace: "⌫",
  Escape: "Esc",
  ArrowUp: "↑",
  ArrowDown: "↓",
  ArrowLeft: "←",
  ArrowRight: "→",
  " ": "Space",
  Delete: "Del",
};

function keyLabel(spec) {
  const p = parseKey(spec);
  if (!p) return "";
  const mods = [p.ctrl && "Ctrl+", p.alt && "Alt+", p.meta && "⌘", p.shift && "⇧"];
  return mods.filter(Boolean).join("") + (KEY_NAMES[p.key] ?? p.key);
}

/** The digit a key press means, or null. `shifted` also accepts Shift+digit (by key code). */
function digitOf(e, shifted = false) {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  if (/^[0-9]$/.test(e.key)) return e.key;
  if (!shifted) return null;
  const m = /^(?:Digit|Numpad)([0-9])$/.exec(e.code || "");
  return m ? m[1] : null;
}
const digitKey = (i) => (i < 9 ? String(i + 1) : i === 9 ? "0" : null);
const digitIndex = (d) => (d === "0" ? 9 : Number(d) - 1);
const plainKey = (e) => !e.ctrlKey && !e.altKey && !e.metaKey;

// ------------------------------------------------------------------------------ answers

/** Whether `q` is asked given the draft (its condition and its parent's, as in Python). */
function isAsked(q, byName, draft, depth = 0) {
  if (!q.when || depth > 50) return true;
  const parent = byName.get(q.when.question);
  if (!parent) return true;
  const wanted = Array.isArray(q.when.values) ? q.when.values : [];
  const value = draft[parent.name];
  const hit = Array.isArray(value)
    ? value.some((v) => wanted.some((w) => same(v, w)))
    : wanted.some((w) => same(value, w));
  return hit && isAsked(parent, byName, draft, depth + 1);
}

/** The value to send for one question: {empty} (unanswered), {problem}, or {value}. */
function checkAnswer(q, v, t = untranslated) {
  switch (q.type) {
    case "label":
      return v == null ? { empty: true } : { value: v };
    case "multi_label": {
      const chosen = (q.labels || []).filter((l) => Array.isArray(v) && v.includes(l));
      const min = q.min_selected || 0;
      if (chosen.length < min) {
        return chosen.length ? { problem: t("answer.at_least", { n: min }) } : { empty: true };
      }
      if (q.max_selected != null && chosen.length > q.max_selected) {
        return { problem: t("answer.at_most", { n: q.max_selected }) };
      }
      return { value: chosen }; // an empty list is an answer: none of these
    }
    case "rating":
      return typeof v === "number" ? { value: v } : { empty: true };
    case "preference": {
      if (!v || !v.choice) return { empty: true };
      const strength = v.choice === "tie" ? null : (v.strength ?? null);
      if ((q.strengths || []).length && v.choice !== "tie" && strength == null) {
        return { problem: t("answer.how_much") };
      }
      return { value: { choice: v.choice, strength } };
    }
    case "ranking":
      return Array.isArray(v) && v.length ? { value: [...v] } : { empty: true };
    case "text": {
      const text = typeof v === "string" ? v.trim() : "";
      if (!text) return { empty: true };
      if (q.max_length && text.length > q.max_length) {
        return { problem: t("answer.max_chars", { n: q.max_length }) };
      }
      return { value: text };
    }
    case "spans": {
      const spans = Array.isArray(v) ? v : [];
      return { value: [...spans].sort((x, y) => x.start - y.start || x.end - y.end) };
    }
    case "taxonomy": {
      if (q.multiple === false) return v ? { value: Array.isArray(v) ? v[0] : v } : { empty: true };
      const paths = q.paths || q.categories || [];
      return { value: paths.filter((p) => Array.isArray(v) && v.includes(p)) };
    }
    default:
      return v == null ? { empty: true } : { value: v };
  }
}

/** The draft a new item starts from: its pre-filled answer, plus defaults that are answers. */
function initialDraft(task, item) {
  const draft = {};
  const given = item.answer && typeof item.answer === "object" ? item.answer : {};
  for (const q of task.questions || []) {
    let v = clone(given[q.name]);
    if (q.type === "ranking") {
      const ok = Array.isArray(v) && same([...v].sort(), [...(q.options || [])].sort());
      v = ok ? v : [...(q.options || [])]; // the given order is a valid answer
    } else if (q.type === "multi_label" || q.type === "spans") {
      v = Array.isArray(v) ? v : [];
    } else if (q.type === "taxonomy" && q.multiple !== false) {
      v = Array.isArray(v) ? v : v ? [v] : [];
    } else if (q.type === "preference" && typeof v === "string") {
      v = { choice: v, strength: null };
    }
    if (v !== undefined) draft[q.name] = v;
  }
  return draft;
}

// ------------------------------------------------------------------------------ fields

function fillField(body, field, value, view) {
  if (value == null || typeof value !== "object") {
    body.append(h("div", { class: "lk-placeholder" }, view.t("field.no_value")));
    return;
  }
  if (field.type === "markdown") {
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
          return h(
            "div",
            { class: ["lk-msg", `lk-role-${kind}`] },
            h("div", { class: "lk-msg-role" }, role),
            h("div", { class: "lk-msg-text" }, String(m?.text ?? ""))
          );
        })
      )
    );
  } else if (field.type === "image") {
    body.append(imageView(field, value, view));
  } else {
    body.append(h("div", { class: "lk-text" }, String(value.text ?? "")));
  }
}

function imageView(field, value, view) {
  const frame = h("div", { class: "lk-image-frame" });
  const broken = (why) =>
    frame.replaceChildren(h("div", { class: "lk-placeholder" }, why || view.t("image.broken")));
  if (typeof value.missing === "string") {
    // A code from the kernel (ui/render.py), said in the annotator's language.
    const why =
      value.missing === "too_large"
        ? view.t("image.too_large", { mb: value.mb })
        : view.t("image.not_found");
    broken(view.t("image.missing", { why }));
    return frame;
  }
  let src = null;
  if (value.bytes instanceof DataView || value.bytes instanceof ArrayBuffer) {
    const mime = /^image\/[\w.+-]+$/.test(value.mime || "") ? value.mime : "image/png";
    src = URL.createObjectURL(new Blob([value.bytes], { type: mime }));
    view.urls.push(src);
  } else if (typeof value.url === "string" && /^https?:\/\//i.test(value.url)) {
    src = value.url;
  }
  if (!src) {
    broken();
    return frame;
  }
  const img = h("img", {
    class: ["lk-image", view.zoomed && "lk-zoomed"],
    alt: field.label || field.name,
    title: view.t("image.zoom_title", { key: view.zoomKey }),
    onerror: () => broken(),
    onload: () => frame.classList.add("lk-loaded"),
    onclick: () => view.toggleZoom(),
  });
  img.src = src;
  frame.append(img);
  if (view.zoomed) frame.classList.add("lk-zoomed");
  return frame;
}

// ------------------------------------------------------------------------------ questions
// Each question type is a small factory (q, api) -> {body, update(), key?(e) -> handled, …}.
// `api` reads and writes the draft; components never talk to the model.

function optionButton({ value, key, text, role, onPick, cls }) {
  return button(
    {
      class: ["lk-option", cls],
      "data-value": String(value),
      role,
      "aria-checked": "false",
      onclick: onPick,
    },
    kbd(key),
    h("span", { class: "lk-option-text" }, text)
  );
}

function markChosen(el, chosen) {
  el.classList.toggle("lk-selected", chosen);
  el.setAttribute("aria-checked", String(chosen));
}

function labelQuestion(q, api) {
  const labels = q.labels || [];
  const pick = (label) => api.set(label, { advance: true });
  const options = labels.map((label, i) =>
    optionButton({ value: label, key: digitKey(i), text: label, role: "radio", onPick: () => pick(label) })
  );
  return {
    body: h("div", { class: "lk-options", role: "radiogroup", "aria-labelledby": api.labelId }, options),
    update() {
      options.forEach((o, i) => markChosen(o, api.get() === labels[i]));
    },
    key(e) {
      const d = digitOf(e);
      if (d == null || digitIndex(d) >= labels.length) return false;
      pick(labels[digitIndex(d)]);
      return true;
    },
  };
}

function multiLabelQuestion(q, api) {
  const labels = q.labels || [];
  const toggle = (label) => {
    const chosen = new Set(api.get() || []);
    if (chosen.has(label)) chosen.delete(label);
    else if (q.max_selected != null && chosen.size >= q.max_selected) {
      api.flash(api.t("multi.at_most", { n: q.max_selected }));
      return;
    } else chosen.add(label);
    api.set(labels.filter((l) => chosen.has(l)));
  };
  const options = labels.map((label, i) =>
    optionButton({
      value: label,
      key: digitKey(i),
      text: label,
      role: "checkbox",
      cls: "lk-check",
      onPick: () => toggle(label),
    })
  );
  return {
    body: h("div", { class: "lk-options", role: "group", "aria-labelledby": api.labelId }, options),
    update() {
      const chosen = api.get() || [];
      options.forEach((o, i) => markChosen(o, chosen.includes(labels[i])));
    },
    key(e) {
      const d = digitOf(e);
      if (d == null || digitIndex(d) >= labels.length) return false;
      toggle(labels[digitIndex(d)]);
      return true;
    },
  };
}

function scaleValues(q) {
  const values = [];
  const step = q.step > 0 ? q.step : 1;
  for (let v = q.min ?? 1; v <= (q.max ?? 5) && values.length < 1000; v += step) values.push(v);
  return values;
}

function ratingQuestion(q, api) {
  const values = scaleValues(q);
  // Keys are the values themselves when they are single digits (0 = 10 on a 1–10 scale);
  // other scales are keyed by position.
  const byValue = values.every((v) => (v >= 0 && v <= 9) || (v === 10 && !values.includes(0)));
  const keyOf = (v, i) => (byValue ? String(v % 10) : digitKey(i));
  const pick = (v) => api.set(v, { advance: true });
  const options = values.map((v, i) =>
    optionButton({
      value: v,
      key: keyOf(v, i) === String(v) ? null : keyOf(v, i),
      text: String(v),
      role: "radio",
      onPick: () => pick(v),
    })
  );
  const ends =
    q.low_label || q.high_label
      ? h(
          "div",
          { class: "lk-scale-ends" },
          h("span", {}, q.low_label ? `${values[0]} = ${q.low_label}` : ""),
          h("span", {}, q.high_label ? `${values[values.length - 1]} = ${q.high_label}` : "")
        )
      : null;
  return {
    body: h(
      "div",
      { class: "lk-scale" },
      h("div", { class: "lk-options lk-rating", role: "radiogroup", "aria-labelledby": api.labelId }, options),
      ends
    ),
    update() {
      options.forEach((o, i) => markChosen(o, api.get() === values[i]));
    },
    key(e) {
      const d = digitOf(e);
      if (d != null) {
        const i = values.findIndex((v, k) => keyOf(v, k) === d);
        if (i < 0) return false;
        pick(values[i]);
        return true;
      }
      if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && plainKey(e)) {
        // Arrows step along the scale (reaches values without a digit, e.g. 10 on 0–10).
        const at = values.indexOf(api.get());
        const base = at < 0 ? Math.floor(values.length / 2) : at;
        const next = Math.max(0, Math.min(values.length - 1, base + (e.key === "ArrowLeft" ? -1 : 1)));
        api.set(values[at < 0 ? base : next]);
        return true;
      }
      return false;
    },
  };
}

function sliderQuestion(q, api) {
  const min = q.min ?? 0;
  const max = q.max ?? 100;
  const step = q.step > 0 ? q.step : 1;
  const snap = (v) => Math.max(min, Math.min(max, min + Math.round((v - min) / step) * step));
  let typed = "";
  let typedAt = 0;
  const range = h("input", {
    type: "range",
    class: "lk-slider",
    min,
    max,
    step,
    tabindex: "-1",
    "aria-labelledby": api.labelId,
    oninput: () => api.set(snap(Number(range.value))),
    onchange: () => api.focusRoot(),
  });
  const shown = h("output", { class: "lk-slider-value", "aria-live": "off" }, "—");
  return {
    body: h(
      "div",
      { class: "lk-slider-wrap" },
      h(
        "div",
        { class: "lk-slider-row" },
        h("span", { class: "lk-scale-end" }, String(min)),
        range,
        h("span", { class: "lk-scale-end" }, String(max)),
        shown
      ),
      q.low_label || q.high_label
        ? h(
            "div",
            { class: "lk-scale-ends" },
            h("span", {}, q.low_label ? `${min} = ${q.low_label}` : ""),
            h("span", {}, q.high_label ? `${max} = ${q.high_label}` : "")
          )
        : null,
      h("div", { class: "lk-hint" }, api.t("slider.hint"))
    ),
    update() {
      const v = api.get();
      const touched = typeof v === "number";
      range.value = String(touched ? v : snap((min + max) / 2));
      range.classList.toggle("lk-untouched", !touched);
      shown.textContent = touched ? String(v) : "—";
    },
    key(e) {
      const d = digitOf(e);
      if (d != null) {
        const now = performance.now();
        typed = now - typedAt < COMPOSE_MS && Number(typed + d) <= max ? typed + d : d;
        typedAt = now;
        api.set(snap(Number(typed)));
        return true;
      }
      if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && !e.ctrlKey && !e.altKey && !e.metaKey) {
        const v = api.get();
        const base = typeof v === "number" ? v : snap((min + max) / 2);
        const delta = (e.shiftKey ? 10 : 1) * step * (e.key === "ArrowLeft" ? -1 : 1);
        api.set(snap(base + delta));
        typed = "";
        return true;
      }
      return false;
    },
  };
}

function preferenceQuestion(q, api) {
  const options = q.options || [];
  const names =
    q.option_labels?.length === options.length
      ? q.option_labels
      : options.map((_, i) => String.fromCharCode(65 + i));
  const isBetter = (name) => api.t(options.length === 2 ? "pref.better" : "pref.best", { name });
  const strengths = q.strengths || [];
  const choices = options.map((o, i) => ({
    value: o,
    text: isBetter(names[i]),
    key: api.keyText(i === 0 ? "choose_a" : i === 1 ? "choose_b" : null),
  }));
  if (q.allow_tie !== false) {
    const tie = { value: "tie", text: api.t("pref.tie"), key: api.keyText("tie") };
    choices.splice(options.length === 2 ? 1 : options.length, 0, tie);
  }
  const current = () => api.get() || { choice: null, strength: null };
  const pick = (choice) => {
    // A strength belongs to its choice ("A is much better"): a new choice asks for it again.
    const before = current();
    const strength = choice === "tie" || choice !== before.choice ? null : (before.strength ?? null);
    const done = choice === "tie" || !strengths.length || strength != null;
    api.set({ choice, strength }, { advance: done });
  };
  const pickStrength = (strength) => {
    const { choice } = current();
    if (!choice || choice === "tie") {
      api.flash(choice ? api.t("pref.tie_no_strength") : api.t("pref.pick_first"));
      return;
    }
    api.set({ choice, strength }, { advance: true });
  };
  const choiceEls = choices.map((c) =>
    optionButton({ value: c.value, key: c.key, text: c.text, role: "radio", onPick: () => pick(c.value) })
  );
  const strengthEls = strengths.map((s, i) =>
    optionButton({ value: s, key: digitKey(i), text: s, role: "radio", cls: "lk-strength", onPick: () => pickStrength(s) })
  );
  const strengthLabel = h("span", { class: "lk-sub-label" }, api.t("pref.how_much"));
  return {
    body: h(
      "div",
      {},
      h("div", { class: "lk-options lk-preference", role: "radiogroup", "aria-labelledby": api.labelId }, choiceEls),
      strengths.length
        ? h(
            "div",
            { class: "lk-strengths", role: "radiogroup", "aria-label": api.t("pref.how_much") },
            strengthLabel,
            strengthEls
          )
        : null
    ),
    update() {
      const { choice, strength } = current();
      choiceEls.forEach((el, i) => markChosen(el, choice === choices[i].value));
      const open = !!choice && choice !== "tie";
      const i = options.indexOf(choice);
      strengthLabel.textContent = open
        ? api.t("pref.how_much_is", { name: names[i] ?? choice })
        : api.t("pref.how_much");
      strengthEls.forEach((el, k) => {
        markChosen(el, open && strength === strengths[k]);
        el.classList.toggle("lk-muted", !open);
        el.setAttribute("aria-disabled", String(!open));
      });
    },
    key(e) {
      const d = digitOf(e);
      if (d == null || !strengths.length || digitIndex(d) >= strengths.length) return false;
      pickStrength(strengths[digitIndex(d)]);
      return true;
    },
    pick,
    choices: () => choices.map((c) => c.value),
  };
}

function rankingQuestion(q, api) {
  let cursor = 0;
  let grabbed = false;
  let dragFrom = -1;
  const list = h("ol", { class: "lk-rank", "aria-labelledby": api.labelId });
  const order = () => api.get() || [...(q.options || [])];
  const move = (from, to) => {
    const next = [...order()];
    const [item] = next.splice(from, 1);
    next.splice(to, 0, item);
    api.set(next);
  };
  const render = () => {
    list.replaceChildren(
      ...order().map((option, i) =>
        h(
          "li",
          {
            class: [
              "lk-rank-item",
              "lk-option",
              api.isActive() && i === cursor && "lk-cursor",
              grabbed && i === cursor && "lk-grabbed",
            ],
            "data-value": option,
            draggable: "true",
            ondragstart: (e) => {
              dragFrom = i;
              e.dataTransfer.effectAllowed = "move";
              e.dataTransfer.setData("text/plain", option);
              e.currentTarget.classList.add("lk-dragging");
            },
            ondragover: (e) => {
              if (dragFrom < 0) return;
              e.preventDefault();
              e.dataTransfer.dropEffect = "move";
              e.currentTarget.classList.add("lk-drop-target");
            },
            ondragleave: (e) => e.currentTarget.classList.remove("lk-drop-target"),
            ondrop: (e) => {
              e.preventDefault();
              if (dragFrom >= 0 && dragFrom !== i) {
                cursor = i;
                move(dragFrom, i);
              }
              dragFrom = -1;
            },
            ondragend: () => {
              dragFrom = -1;
              render();
            },
            onclick: () => {
              cursor = i;
              api.activate();
              render();
            },
          },
          h("span", { class: "lk-rank-pos" }, String(i + 1)),
          h("span", { class: "lk-rank-grip", "aria-hidden": "true" }, "⠿"),
          h("span", { class: "lk-option-text" }, option)
        )
      )
    );
  };
  return {
    body: h(
      "div",
      {},
      list,
      h(
        "div",
        { class: "lk-hint" },
        api.t("rank.hint")
      )
    ),
    update: render,
    vertical: true,
    key(e) {
      const n = order().length;
      if ((e.key === "ArrowUp" || e.key === "ArrowDown") && plainKey(e) && !e.shiftKey) {
        const to = Math.max(0, Math.min(n - 1, cursor + (e.key === "ArrowUp" ? -1 : 1)));
        if (grabbed && to !== cursor) {
          const from = cursor;
          cursor = to;
          move(from, to);
          api.announce(api.t("rank.moved", { n: to + 1 }));
        } else {
          cursor = to;
          render();
        }
        return true;
      }
      if (e.key === " " && plainKey(e)) {
        grabbed = !grabbed;
        api.announce(
          grabbed ? api.t("rank.grabbed", { name: order()[cursor] }) : api.t("rank.dropped", { n: cursor + 1 })
        );
        render();
        return true;
      }
      return false;
    },
    deactivate() {
      grabbed = false;
      render();
    },
    activate: render,
  };
}

function textQuestion(q, api) {
  const area = h("textarea", {
    class: "lk-textarea",
    rows: "3",
    placeholder: q.placeholder || "",
    maxlength: q.max_length || null,
    "aria-labelledby": api.labelId,
    oninput: () => {
      api.set(area.value);
      paintCount();
    },
    onfocus: () => api.activate(),
  });
  const count = h("span", { class: "lk-count" });
  const paintCount = () => {
    const n = area.value.length;
    count.textContent = q.max_length && n > q.max_length * 0.8 ? `${n} / ${q.max_length}` : "";
  };
  return {
    body: h(
      "div",
      {},
      area,
      h(
        "div",
        { class: "lk-hint lk-text-hint" },
        `${api.t("text.hint")} `,
        count
      )
    ),
    update() {
      const v = api.get() ?? "";
      if (document.activeElement !== area && area.value !== v) area.value = v;
      paintCount();
    },
    enter() {
      area.focus({ preventScroll: true });
    },
    isEntered: () => document.activeElement === area,
  };
}

function spansQuestion(q, api) {
  const value = api.fieldValue(q.field);
  const text = value && typeof value.text === "string" ? value.text : "";
  const cps = codePointMaps(text);
  const tokens = tokenize(text);
  const labels = q.labels || [];
  const severities = q.severities || [];
  let cursor = 0;
  let anchor = null; // keyboard selection: token index where Shift+arrows started
  let selection = null; // mouse selection: {s, e} in UTF-16 units
  let clickSeverity = 0;
  let tokenEls = [];
  let drawn = null;

  const textEl = h("div", {
    class: "lk-span-text",
    "data-span-question": q.name,
  });
  const host = api.fieldBody(q.field);
  if (host) host.replaceChildren(textEl);
  const listEl = h("ul", { class: "lk-span-list" });
  const selectedEl = h("div", { class: "lk-span-selected" });
  const marks = () => api.get() || [];
  const sevIndex = (sev) => Math.max(0, severities.indexOf(sev));
  const digitRange = labels.length > 1 ? `1–${Math.min(labels.length, 9)}` : "1";
  const colour = (label) => `lk-lab-${Math.max(0, labels.indexOf(label)) % LABEL_COLOURS}`;

  function draw() {
    const all = marks();
    const key = JSON.stringify(all);
    if (key === drawn) return;
    drawn = key;
    const m16 = all.map((m, i) => ({ s: cps.u16(m.start), e: cps.u16(m.end), i, m }));
    const cuts = new Set([0, text.length]);
    for (const t of tokens) cuts.add(t.s).add(t.e);
    for (const m of m16) cuts.add(m.s).add(m.e);
    const points = [...cuts].sort((a, b) => a - b);
    tokenEls = tokens.map(() => []);
    const frag = document.createDocumentFragment();
    let t = 0;
    let group = null;
    let groupMark = -1;
    for (let k = 0; k + 1 < points.length; k++) {
      const a = points[k];
      const b = points[k + 1];
      while (t < tokens.length && tokens[t].e <= a) t++;
      const inToken = t < tokens.length && tokens[t].s <= a;
      const piece = text.slice(a, b);
      let node = piece;
      if (inToken) {
        node = h("span", { class: "lk-tok", "data-t": t }, piece);
        tokenEls[t].push(node);
      }
      const mark = m16.find((x) => x.s <= a && a < x.e);
      const markIndex = mark ? mark.i : -1;
      if (markIndex !== groupMark) {
        groupMark = markIndex;
        group = null;
        if (mark) {
          group = h("span", {
            class: ["lk-span", colour(mark.m.label), `lk-sev-${sevIndex(mark.m.severity)}`],
            "data-label": mark.m.label,
            "data-severity": mark.m.severity ?? "",
            title: mark.m.severity ? `${mark.m.label} · ${mark.m.severity}` : mark.m.label,
          });
          frag.append(group);
        }
      }
      (group || frag).append(node);
    }
    textEl.replaceChildren(frag);
    drawList(all);
  }

  function drawList(all) {
    const sorted = all.map((m, i) => ({ m, i })).sort((x, y) => x.m.start - y.m.start || x.m.end - y.m.end);
    listEl.replaceChildren(
      ...(sorted.length
        ? sorted.map(({ m, i }) => {
            const quote = text.slice(cps.u16(m.start), cps.u16(m.end));
            return h(
              "li",
              {
                class: "lk-span-row",
                onclick: () => {
                  cursor = Math.max(0, tokens.findIndex((t) => t.e > cps.u16(m.start)));
                  api.activate();
                  paint();
                },
              },
              h("span", { class: ["lk-swatch", colour(m.label), `lk-sev-${sevIndex(m.severity)}`] }),
              h("span", { class: "lk-span-quote" }, `“${quote.length > 80 ? `${quote.slice(0, 79)}…` : quote}”`),
              h("span", { class: "lk-span-what" }, m.severity ? `${m.label} · ${m.severity}` : m.label),
              button(
                {
                  class: "lk-remove",
                  "aria-label": api.t("spans.remove_label", { label: m.label }),
                  title: api.t("spans.remove"),
                  onclick: (e) => {
                    e.stopPropagation();
                    remove(i);
                  },
                },
                "×"
              )
            );
          })
        : [h("li", { class: "lk-span-empty" }, api.t("spans.none"))])
    );
  }

  /** Show the keyboard cursor and selection (classes only: no re-render). */
  function paint() {
    const active = api.isActive();
    const lo = anchor == null ? -1 : Math.min(anchor, cursor);
    const hi = anchor == null ? -1 : Math.max(anchor, cursor);
    tokenEls.forEach((els, i) => {
      for (const el of els) {
        el.classList.toggle("lk-cursor", active && i === cursor && !selection);
        el.classList.toggle("lk-sel", active && i >= lo && i <= hi);
      }
    });
    const range = currentRange();
    if (!range || !active) {
      selectedEl.textContent = "";
      return;
    }
    const what = selection || anchor != null ? api.t("spans.selected") : api.t("spans.at_cursor");
    const second = severities.length > 1 ? ` ${api.t("spans.shift_for", { severity: severities[1] })}` : "";
    const quote = text.slice(range[0], range[1]).slice(0, 120);
    selectedEl.textContent = `${api.t("spans.press", { what, quote, keys: digitRange })}${second}`;
  }

  function currentRange() {
    if (selection) return [selection.s, selection.e];
    if (!tokens.length) return null;
    if (anchor != null) {
      return [tokens[Math.min(anchor, cursor)].s, tokens[Math.max(anchor, cursor)].e];
    }
    return [tokens[cursor].s, tokens[cursor].e];
  }

  /** A mouse selection inside the text, as exact UTF-16 offsets of the original text. */
  function capture() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0) return;
    if (sel.isCollapsed) {
      // A plain click on a word puts the cursor there.
      const node = sel.anchorNode;
      const tok = (node?.nodeType === 3 ? node.parentElement : node)?.closest?.(".lk-tok");
      if (tok && textEl.contains(tok)) {
        cursor = Number(tok.dataset.t);
        selection = null;
        anchor = null;
        api.activate();
        paint();
      }
      return;
    }
    const r = sel.getRangeAt(0);
    if (!r.intersectsNode(textEl)) return;
    const whole = document.createRange();
    whole.selectNodeContents(textEl);
    const offset = (node, off) => {
      const pre = document.createRange();
      pre.setStart(textEl, 0);
      pre.setEnd(node, off);
      return pre.toString().length; // textEl holds exactly the field's text
    };
    const startsBefore = r.compareBoundaryPoints(Range.START_TO_START, whole) <= 0;
    const endsAfter = r.compareBoundaryPoints(Range.END_TO_END, whole) >= 0;
    let s = startsBefore ? 0 : offset(r.startContainer, r.startOffset);
    let e = endsAfter ? text.length : offset(r.endContainer, r.endOffset);
    while (s < e && /\s/.test(text[s])) s++;
    while (e > s && /\s/.test(text[e - 1])) e--;
    if (s >= e) return;
    selection = { s, e };
    anchor = null;
    const t = tokens.findIndex((tok) => tok.e > s);
    if (t >= 0) cursor = t;
    api.activate();
    paint();
  }

  function clearSelection() {
    const had = selection != null || anchor != null;
    if (selection) {
      const sel = window.getSelection();
      if (sel && sel.rangeCount && sel.getRangeAt(0).intersectsNode(textEl)) sel.removeAllRanges();
    }
    selection = null;
    anchor = null;
    paint();
    return had;
  }

  function apply(labelIndex, severityIndex) {
    const range = currentRange();
    if (!range || labelIndex >= labels.length) return;
    const start = cps.toCp[range[0]];
    const end = cps.toCp[range[1]];
    if (start >= end) return;
    const kept = marks().filter((m) => m.end <= start || m.start >= end);
    const replaced = marks().length - kept.length;
    const severity = severities.length ? severities[Math.min(severityIndex, severities.length - 1)] : null;
    kept.push({ start, end, label: labels[labelIndex], severity });
    kept.sort((a, b) => a.start - b.start || a.end - b.end);
    clearSelection();
    api.set(kept);
    api.announce(api.t("spans.marked", { label: severity ? `${labels[labelIndex]}, ${severity}` : labels[labelIndex] }));
    if (replaced) api.flash(api.t("spans.replaced", { n: replaced }));
  }

  function remove(index) {
    const next = marks().filter((_, i) => i !== index);
    api.set(next);
    api.announce(api.t("spans.removed"));
  }

  function removeAtCursor() {
    const range = currentRange();
    if (!range) return;
    const s = cps.toCp[range[0]];
    const e = Math.max(s + 1, cps.toCp[range[1]]);
    const index = marks().findIndex((m) => m.start < e && s < m.end);
    if (index >= 0) remove(index);
    else api.flash(api.t("spans.no_mark"));
  }

  const labelButtons = labels.map((label, i) =>
    optionButton({
      value: label,
      key: digitKey(i),
      text: label,
      cls: ["lk-span-label", `lk-lab-${i % LABEL_COLOURS}`],
      onPick: () => apply(i, clickSeverity),
    })
  );
  const severityButtons = severities.map((sev, i) =>
    optionButton({
      value: sev,
      key: i === 0 ? digitRange : i === 1 ? `⇧${digitRange}` : null,
      text: sev,
      role: "radio",
      cls: "lk-severity",
      onPick: () => {
        clickSeverity = i;
        severityButtons.forEach((b, k) => markChosen(b, k === clickSeverity));
      },
    })
  );
  severityButtons.forEach((b, k) => markChosen(b, k === clickSeverity));
  const body = h(
    "div",
    {},
    host ? null : textEl,
    h(
      "div",
      { class: "lk-hint" },
      api.t("spans.hint"),
      severities.length > 1 ? ` ${api.t("spans.hint_shift", { severity: severities[1] })}` : "",
      api.t("spans.hint_remove")
    ),
    selectedEl,
    h("div", { class: "lk-options lk-span-labels", role: "group", "aria-label": api.t("spans.labels") }, labelButtons),
    severities.length
      ? h(
          "div",
          { class: "lk-options lk-severities", role: "radiogroup", "aria-label": api.t("spans.severity_clicks") },
          h("span", { class: "lk-sub-label" }, api.t("spans.severity")),
          severityButtons
        )
      : null,
    listEl
  );
  return {
    body,
    update() {
      draw();
      paint();
    },
    activate: paint,
    deactivate: paint,
    capture,
    escape: clearSelection,
    key(e) {
      if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && plainKey(e) && tokens.length) {
        if (e.shiftKey && anchor == null) anchor = cursor;
        if (!e.shiftKey) anchor = null;
        if (selection && !e.shiftKey) selection = null;
        cursor = Math.max(0, Math.min(tokens.length - 1, cursor + (e.key === "ArrowLeft" ? -1 : 1)));
        paint();
        tokenEls[cursor]?.[0]?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
        return true;
      }
      const d = digitOf(e, true);
      if (d != null && digitIndex(d) < labels.length) {
        apply(digitIndex(d), e.shiftKey ? 1 : 0);
        return true;
      }
      if ((e.key === "x" || e.key === "Delete") && plainKey(e) && !e.shiftKey) {
        removeAtCursor();
        return true;
      }
      return false;
    },
  };
}

function taxonomyQuestion(q, api) {
  const paths = q.paths || q.categories || [];
  const multiple = q.multiple !== false;
  let cursor = 0;
  const chosen = () => {
    const v = api.get();
    return multiple ? (Array.isArray(v) ? v : []) : v ? [v] : [];
  };
  const toggle = (path) => {
    if (multiple) {
      const set = new Set(chosen());
      if (set.has(path)) set.delete(path);
      else set.add(path);
      api.set(paths.filter((p) => set.has(p)));
    } else {
      api.set(path);
    }
  };
  const rows = paths.map((path, i) => {
    const depth = (path.match(/\//g) || []).length;
    return button(
      {
        class: ["lk-tax-row", "lk-option", multiple ? "lk-check" : "lk-radio"],
        "data-value": path,
        role: multiple ? "checkbox" : "radio",
        "aria-checked": "false",
        title: path,
        style: { paddingLeft: `${0.5 + depth * 1.5}em` },
        onclick: () => {
          cursor = i;
          toggle(path);
        },
      },
      h("span", { class: "lk-option-text" }, path.split("/").pop())
    );
  });
  const summary = h("div", { class: "lk-hint" });
  return {
    body: h(
      "div",
      {},
      h("div", { class: "lk-tax", role: multiple ? "group" : "radiogroup", "aria-labelledby": api.labelId }, rows),
      summary
    ),
    vertical: true,
    update() {
      const picked = chosen();
      rows.forEach((row, i) => {
        markChosen(row, picked.includes(paths[i]));
        row.classList.toggle("lk-cursor", api.isActive() && i === cursor);
      });
      const none = multiple ? api.t("tax.none_multiple") : api.t("tax.none");
      const chosenText = picked.length ? api.t("tax.selected", { list: picked.join(", ") }) : none;
      summary.textContent = `${chosenText} ${multiple ? api.t("tax.keys_tick") : api.t("tax.keys_pick")}`;
    },
    activate() {
      this.update();
    },
    deactivate() {
      this.update();
    },
    key(e) {
      if ((e.key === "ArrowUp" || e.key === "ArrowDown") && plainKey(e) && !e.shiftKey) {
        cursor = Math.max(0, Math.min(paths.length - 1, cursor + (e.key === "ArrowUp" ? -1 : 1)));
        this.update();
        rows[cursor]?.scrollIntoView?.({ block: "nearest" });
        return true;
      }
      if (e.key === " " && plainKey(e) && paths.length) {
        toggle(paths[cursor]);
        return true;
      }
      return false;
    },
  };
}

const QUESTION_TYPES = {
  label: labelQuestion,
  multi_label: multiLabelQuestion,
  rating: (q, api) => (q.slider ? sliderQuestion(q, api) : ratingQuestion(q, api)),
  preference: preferenceQuestion,
  ranking: rankingQuestion,
  text: textQuestion,
  spans: spansQuestion,
  taxonomy: taxonomyQuestion,
};

// ------------------------------------------------------------------------------ the view

function createView(model, el) {
  const uid = `lk${Math.random().toString(36).slice(2, 9)}`;
  const life = new AbortController(); // every listener outside the item DOM: removed at once
  const timers = new Set();
  const later = (fn, ms) => {
    const id = setTimeout(() => {
      timers.delete(id);
      fn();
    }, ms);
    timers.add(id);
    return id;
  };
  const cancel = (id) => {
    clearTimeout(id);
    timers.delete(id);
  };

  const t = translator(() => model.get("strings"), () => model.get("locale"));
  const tn = t.nodes; // a string with nodes in its placeholders
  const S = {
    task: {},
    keys: {}, // action -> parsed key
    keySpecs: {},
    item: null,
    draft: {},
    suggested: new Set(),
    active: null,
    comps: new Map(), // question name -> {q, block, comp, problemEl}
    fieldBodies: new Map(),
    inflight: null, // {action, token, key, timer}
    unacked: null, // an action that timed out: retried with the same client_key
    localError: "",
    localErrorKind: "",
    traitErrorHidden: false,
    revealed: false,
    zoomed: false,
    diffOn: false,
    guidelinesOpen: false,
    keymapOpen: false,
    prefsOpen: false,
    levelOpen: false, // the "my level" panel
    resultDismissed: null, // the exam result the annotator closed (its JSON)
    resultRetake: null, // the exam the result screen's main button retakes
    keymapExam: false, // whether the key list was painted for an exam
    leaseDeadline: null, // performance.now() when the lease ends (from the kernel's seconds)
    lastActivity: performance.now(), // a key or the mouse: see heartbeat()
    form: null,
    itemStart: performance.now(),
    freshUntil: 0, // see doublePress
    freshAction: null,
    lastAction: null,
    noticeTimer: null,
    urls: [],
  };

  // ---- shell
  const root = h("div", {
    class: "lk-root",
    tabindex: "0",
    "data-lm-suppress-shortcuts": "true",
    role: "region",
    "aria-label": t("root.label"),
    lang: model.get("locale") || "en", // the app's own words; screen readers pronounce them so
  });
  const titleEl = h("div", { class: "lk-title", role: "heading", "aria-level": "2" });
  const annotatorEl = h("span", { class: "lk-annotator" });
  const positionEl = h("span", { class: "lk-position", hidden: true });
  const progressEl = h("div", { class: "lk-progress" });
  const timerEl = h("span", { class: "lk-timer", role: "timer", title: t("timer.title") }, "00:00");
  const focusHint = h("span", { class: "lk-focus-hint" }, t("focus.hint"));
  const guidelinesBtn = button({ class: "lk-tool", "aria-expanded": "false", onclick: () => toggleGuidelines() });
  const keysBtn = button({ class: "lk-tool", "aria-expanded": "false", onclick: () => toggleKeymap() });
  const header = h(
    "header",
    { class: "lk-header" },
    h("div", { class: "lk-heading" }, titleEl, h("div", { class: "lk-meta" }, annotatorEl, positionEl, focusHint)),
    progressEl,
    h("div", { class: "lk-tools" }, timerEl, guidelinesBtn, keysBtn)
  );
  const panelHead = (title, close) =>
    h(
      "div",
      { class: "lk-panel-head" },
      h("span", {}, title),
      button({ class: "lk-close", "aria-label": t("panel.close", { title }), onclick: close }, "×")
    );
  const guidelinesBody = h("div", { class: "lk-guidelines-body" });
  const guidelines = h(
    "section",
    { class: "lk-guidelines", hidden: true, "aria-label": t("guidelines.title"), id: `${uid}-guidelines` },
    panelHead(t("guidelines.title"), () => toggleGuidelines(false)),
    guidelinesBody
  );
  // The annotator's day, the lease, the support link and content settings (one row).
  const dayEl = h("div", { class: "lk-day" });
  const leaseEl = h("span", { class: "lk-lease", role: "status", hidden: true });
  const supportEl = h("a", { class: "lk-support", target: "_blank", rel: "noopener noreferrer", hidden: true });
  const prefsBtn = button({ class: "lk-tool lk-prefs-toggle", "aria-expanded": "false", onclick: () => togglePrefs() });
  const levelBtn = button({ class: "lk-tool lk-level-toggle", "aria-expanded": "false", onclick: () => toggleLevel() });
  const dayBar = h(
    "div",
    { class: "lk-daybar" },
    dayEl,
    h("span", { class: "lk-spacer" }),
    leaseEl,
    supportEl,
    levelBtn,
    prefsBtn
  );
  const prefsBody = h("div", { class: "lk-prefs-body" });
  const prefsEl = h("section", { class: "lk-prefs", hidden: true, "aria-label": t("prefs.title") });
  const levelBody = h("div", { class: "lk-level-body" });
  const levelEl = h("section", { class: "lk-level", hidden: true, "aria-label": t("level.title") });
  // During an exam: its name and progress, and (training) the verdict on the previous answer.
  const examEl = h("div", { class: "lk-exam-bar", hidden: true });
  const keymapBody = h("div", { class: "lk-keymap-body" });
  const keymapEl = h(
    "section",
    { class: "lk-keymap", hidden: true, role: "dialog", "aria-label": t("keys.title") },
    panelHead(t("keys.title"), () => toggleKeymap(false)),
    keymapBody
  );
  const errorText = h("div", { class: "lk-error-text" });
  const errorEl = h(
    "div",
    { class: "lk-error", role: "alert", hidden: true },
    errorText,
    button({ class: "lk-close", "aria-label": t("error.dismiss_label"), title: t("error.dismiss"), onclick: () => dismissError() }, "×")
  );
  const body = h("div", { class: "lk-body" });
  const noticeEl = h("div", { class: "lk-notice", role: "status", "aria-live": "polite" });
  const statusEl = h("div", { class: "lk-status" });
  const actionsEl = h("div", { class: "lk-actions", role: "toolbar", "aria-label": t("actions.label") });
  const live = h("div", { class: "lk-sr-only", "aria-live": "polite" });
  const footer = h("div", { class: "lk-footer" }, h("div", { class: "lk-footer-msgs" }, noticeEl, statusEl), actionsEl);
  prefsEl.append(panelHead(t("prefs.title"), () => togglePrefs(false)), prefsBody);
  levelEl.append(panelHead(t("level.title"), () => toggleLevel(false)), levelBody);
  root.append(header, dayBar, guidelines, prefsEl, levelEl, keymapEl, errorEl, examEl, body, footer, live);
  el.replaceChildren(root);

  // ---- small helpers
  const focusRoot = () => root.focus({ preventScroll: true });
  const keyText = (action) => (action && S.keySpecs[action] ? keyLabel(S.keySpecs[action]) : null);
  const matches = (e, action) => keyMatches(e, S.keys[action]);
  const announce = (text) => {
    live.textContent = "";
    later(() => (live.textContent = text), 30);
  };
  const questions = () => (Array.isArray(S.task.questions) ? S.task.questions : []);
  const byName = () => new Map(questions().map((q) => [q.name, q]));
  const visibleNames = () => {
    const map = byName();
    return questions().filter((q) => isAsked(q, map, S.draft)).map((q) => q.name);
  };
  const canAct = () => !S.inflight && !model.get("busy");
  /** Whether there is an item I answered before the one shown (the kernel says so). */
  const canBack = () => !!(model.get("progress") || {}).can_back;
  const inExam = () => model.get("state") === "exam";
  /** The finished exam's result, until the annotator closes it ({} or null: none). */
  const examResult = () => {
    const r = model.get("exam_result");
    return r && typeof r === "object" && r.exam != null ? r : null;
  };
  const resultShown = () => {
    const r = examResult();
    return !!r && ["labeling", "done", "exam"].includes(model.get("state")) && S.resultDismissed !== JSON.stringify(r);
  };
  /** Whether an item (work or exam) is on screen: not behind a break or an exam result. */
  const itemShown = () =>
    ["labeling", "exam"].includes(model.get("state")) && !!S.item && !paused() && !resultShown();

  // ---- traits -> shell
  function readKeys() {
    const given = model.get("keymap");
    S.keySpecs = { ...DEFAULT_KEYS, ...(given && typeof given === "object" ? given : {}) };
    S.keys = Object.fromEntries(Object.entries(S.keySpecs).map(([a, k]) => [a, parseKey(k)]));
  }

  function paintHeader() {
    const task = S.task;
    titleEl.textContent = task.title || t("root.label");
    root.setAttribute("aria-label", t("root.label_title", { title: task.title || "" }));
    annotatorEl.textContent = task.annotator ? t("header.annotator", { name: task.annotator }) : "";
    guidelinesBtn.hidden = !task.guidelines_html;
    guidelinesBody.innerHTML = typeof task.guidelines_html === "string" ? task.guidelines_html : ""; // sanitized by the kernel
    fill(guidelinesBtn, `${t("guidelines.title")} `, kbd(keyText("guidelines")));
    fill(keysBtn, `${t("keys.button")} `, kbd(keyText("help")));
  }

  const num = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);

  /** Today's answers and goal: the day panel's figures when there are some. */
  function todayAndGoal() {
    const p = model.get("progress") || {};
    const d = model.get("day") || {};
    const fromDay = Number.isFinite(Number(d.answers_today)) && d.answers_today != null;
    return [num(fromDay ? d.answers_today : p.today), num(d.daily_goal ?? p.daily_goal)];
  }

  function paintProgress() {
    const p = model.get("progress") || {};
    const [today, goal] = todayAndGoal();
    const stat = (key, value) => h("span", { class: "lk-stat" }, tn(key, { n: h("strong", {}, String(value)) }, value));
    const pct = goal > 0 ? Math.min(100, Math.round((today / goal) * 100)) : 0;
    fill(progressEl,
      stat("progress.done", num(p.done)),
      stat("progress.remaining", num(p.remaining)),
      h(
        "span",
        { class: "lk-stat lk-today" },
        h(
          "span",
          { class: "lk-today-count" },
          tn(goal > 0 ? "progress.today_goal" : "progress.today", {
            n: h("strong", {}, String(today)),
            goal: String(goal),
          })
        ),
        goal > 0
          ? h(
              "span",
              {
                class: "lk-bar",
                role: "progressbar",
                "aria-label": t("progress.goal_label"),
                "aria-valuemin": "0",
                "aria-valuemax": String(goal),
                "aria-valuenow": String(Math.min(today, goal)),
              },
              h("span", { class: ["lk-bar-fill", today >= goal && "lk-bar-full"], style: { width: `${pct}%` } })
            )
          : null,
        button(
          { class: "lk-link lk-goal-edit", title: t("goal.edit_title"), onclick: () => openGoalForm() },
          t("goal.edit")
        )
      )
    );
    const position = typeof p.position === "string" && p.position !== "new" ? p.position : "";
    positionEl.hidden = !position;
    positionEl.textContent = position ? position.charAt(0).toUpperCase() + position.slice(1) : "";
  }

  /** Tick on the item's whole seconds, so the timer never lags (restarted for each item). */
  function restartTimer() {
    if (S.tickTimer) cancel(S.tickTimer);
    const tick = () => {
      paintTimer();
      const elapsed = performance.now() - S.itemStart;
      S.tickTimer = later(tick, 1000 - (elapsed % 1000) + 10);
    };
    tick();
  }

  function paintTimer() {
    const running = itemShown();
    const median = num((model.get("day") || {}).median_item_seconds);
    timerEl.hidden = !running; // no item, no time on it (the all-done screen, a break)
    timerEl.textContent = running ? mmss(performance.now() - S.itemStart) : "";
    if (running && median >= 1) {
      timerEl.append(h("span", { class: "lk-median" }, ` ${t("timer.median", { time: mmss(median * 1000) })}`));
    }
    paintLease();
  }

  // ---- the day, the lease, wellbeing
  const money = (amount, currency) => {
    try {
      return new Intl.NumberFormat(model.get("locale") || "en", { style: "currency", currency }).format(amount);
    } catch {
      return `${num(amount).toFixed(2)} ${currency || ""}`.trim(); // an unknown currency code
    }
  };
  const duration = (seconds) => {
    const minutes = Math.floor(num(seconds) / 60);
    if (minutes < 60) return t("time.minutes", { m: minutes });
    return t("time.hours", { h: Math.floor(minutes / 60), m: String(minutes % 60).padStart(2, "0") });
  };

  function paintDay() {
    const d = model.get("day") || {};
    const parts = [];
    const streak = num(d.streak_days);
    if (streak > 0) {
      parts.push(h("span", { class: "lk-day-streak" }, t("day.streak", { n: streak })));
    }
    parts.push(h("span", { class: "lk-day-time" }, t("day.time", { time: duration(d.active_seconds_today) })));
    if (d.paid && d.currency) {
      const earned = t("day.earned", { today: money(num(d.earned_today), d.currency), week: money(num(d.earned_week), d.currency) });
      const rate = d.hourly_rate_week != null ? ` · ${t("day.rate", { rate: money(num(d.hourly_rate_week), d.currency) })}` : "";
      parts.push(h("span", { class: "lk-day-earned" }, earned + rate));
    }
    fill(dayEl, ...parts);
    paintProgress();
  }

  function readLease() {
    const lease = model.get("lease") || {};
    S.leaseState = lease.state || "none";
    S.leaseDeadline = lease.state === "held" ? performance.now() + num(lease.left) * 1000 : null;
    paintLease();
  }

  function paintLease() {
    const labeling = model.get("state") === "labeling" && S.item && !S.item.editing && !paused();
    let state = labeling ? S.leaseState : "none";
    const left = S.leaseDeadline == null ? 0 : (S.leaseDeadline - performance.now()) / 1000;
    if (state === "held" && left <= 0) state = "expired";
    leaseEl.hidden = state === "none" || !state;
    leaseEl.classList.toggle("lk-lease-expired", state === "expired");
    if (state === "held") {
      leaseEl.textContent =
        left >= 60 ? t("lease.held", { m: Math.ceil(left / 60) }) : t("lease.held_seconds", { s: Math.ceil(left) });
    } else if (state === "expired") {
      leaseEl.textContent = t("lease.expired");
    }
  }

  /** Every HEARTBEAT_MS: if the annotator did something in the last ACTIVE_MS, say so. */
  function heartbeat() {
    S.heartbeatTimer = later(heartbeat, HEARTBEAT_MS);
    const active = performance.now() - S.lastActivity < ACTIVE_MS;
    if (!active || !canAct() || model.get("state") !== "labeling" || !S.item || S.item.editing) return;
    model.send({ action: "heartbeat" }); // no ack: the kernel answers with the `lease` trait
  }

  function paintWellbeing() {
    const w = model.get("wellbeing") || {};
    const link = typeof w.support_link === "string" && SAFE_LINK.test(w.support_link) ? w.support_link : null;
    supportEl.hidden = !(link && (w.show_support || paused()));
    if (link) supportEl.href = link; // http(s) or mailto only (checked in the kernel too)
    supportEl.textContent = w.support_text || t("support.default");
    prefsBtn.replaceChildren(t("prefs.button"));
    paintPrefs();
  }

  function togglePrefs(open = !S.prefsOpen) {
    S.prefsOpen = open;
    prefsEl.hidden = !open;
    prefsBtn.setAttribute("aria-expanded", String(open));
    if (open) paintPrefs();
  }

  /** My settings: the daily goal and the content I do not want to see. */
  function paintPrefs() {
    if (!S.prefsOpen) return;
    const w = model.get("wellbeing") || {};
    const mine = new Set(Array.isArray(w.opt_outs) ? w.opt_outs : []);
    const categories = [...new Set([...(Array.isArray(w.categories) ? w.categories : []), ...mine])];
    const boxes = categories.map((c) =>
      h(
        "label",
        { class: "lk-optout" },
        h("input", { type: "checkbox", class: "lk-optout-box", value: c, checked: mine.has(c) }),
        ` ${c}`
      )
    );
    const save = h(
      "button",
      {
        type: "button",
        class: "lk-action lk-primary lk-optout-save",
        onclick: () => {
          const chosen = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
          sendSetting("set_opt_outs", { categories: chosen });
        },
      },
      t("prefs.save")
    );
    fill(prefsBody,
      h("div", { class: "lk-prefs-title" }, t("prefs.optouts_title")),
      h("div", { class: "lk-hint" }, t("prefs.optouts_hint")),
      categories.length ? h("div", { class: "lk-optouts" }, boxes) : h("div", { class: "lk-hint" }, t("prefs.no_categories")),
      categories.length ? save : null,
      h(
        "div",
        { class: "lk-prefs-goal" },
        t("prefs.goal", { goal: todayAndGoal()[1] || "—" }),
        " ",
        button({ class: "lk-link", onclick: () => openGoalForm() }, t("goal.edit"))
      )
    );
  }

  /** A small form in the day bar: the daily goal (checked again by the kernel). */
  function openGoalForm() {
    if (dayBar.querySelector(".lk-goal-form")) return;
    const input = h("input", {
      type: "number",
      class: "lk-goal-input",
      min: "1",
      max: "100000",
      step: "1",
      value: String(todayAndGoal()[1] || ""),
      "aria-label": t("goal.label"),
    });
    const close = () => {
      formEl.remove();
      focusRoot();
    };
    const save = () => {
      const goal = Number(input.value);
      if (!Number.isInteger(goal) || goal < 1 || goal > 100000) {
        setLocalError(t("error.goal"));
        return;
      }
      if (sendSetting("set_goal", { goal })) close();
    };
    input.onkeydown = (e) => {
      e.stopPropagation(); // typed into the goal box: never a shortcut
      if (e.key === "Enter") {
        e.preventDefault();
        save();
      } else if (e.key === "Escape") {
        e.preventDefault();
        close();
      }
    };
    const formEl = h(
      "span",
      { class: "lk-goal-form", role: "group", "aria-label": t("goal.label") },
      h("label", {}, `${t("goal.label")} `, input),
      h("button", { type: "button", class: "lk-action lk-primary lk-goal-save", onclick: save }, t("goal.save")),
      h("button", { type: "button", class: "lk-action", onclick: close }, t("form.cancel"))
    );
    dayBar.prepend(formEl);
    input.focus();
    input.select();
  }

  /** A setting (goal, opt-outs, leaving a break): acked like an action, the item stays. */
  function sendSetting(action, extra = {}) {
    if (!canAct()) return false;
    const key = newClientKey();
    S.inflight = { action, token: S.item ? S.item.token : null, key, timer: later(noAck, NO_ACK_MS) };
    S.lastKey = key;
    model.send({ action, client_key: key, ...extra });
    paintStatus();
    return true;
  }

  const paused = () => !!(model.get("pause") || {}).reason;

  function renderBreak() {
    closeItem();
    const pause = model.get("pause") || {};
    const w = model.get("wellbeing") || {};
    const limits = w.limits || {};
    const why = {
      hour: () => t("break.hour", { n: limits.per_hour ?? "" }),
      day: () => t("break.day", { n: limits.per_day ?? "" }),
      streak: () => t("break.streak", { n: limits.streak ?? "" }),
    }[pause.reason];
    const more = model.get("state") === "labeling" && !!S.item;
    const link = typeof w.support_link === "string" && SAFE_LINK.test(w.support_link) ? w.support_link : null;
    body.replaceChildren(
      h(
        "div",
        { class: "lk-break", role: "status", "data-reason": pause.reason || "" },
        h("div", { class: "lk-break-title" }, t("break.title")),
        h("div", { class: "lk-break-why" }, why ? why() : ""),
        h("div", { class: "lk-break-text" }, t("break.text")),
        link
          ? h("a", { class: "lk-support lk-break-support", href: link, target: "_blank", rel: "noopener noreferrer" },
              w.support_text || t("support.default"))
          : null,
        more
          ? button({ class: "lk-action lk-primary lk-break-continue", onclick: () => sendSetting("resume") }, t("break.continue"), kbd(keyText("submit")))
          : h("div", { class: "lk-break-nothing" }, t("break.nothing"))
      )
    );
  }

  function paintError() {
    const state = model.get("state");
    const trait = S.traitErrorHidden ? "" : model.get("error") || "";
    const text = state === "error" ? S.localError : S.localError || trait;
    errorText.textContent = text;
    errorEl.hidden = !text;
  }

  function setLocalError(text, kind = "") {
    S.localError = text;
    S.localErrorKind = kind;
    paintError();
  }

  function dismissError() {
    S.localError = "";
    S.traitErrorHidden = true;
    paintError();
    focusRoot();
  }

  function showNotice(text) {
    if (!text) return;
    noticeEl.textContent = text;
    noticeEl.classList.add("lk-show");
    if (S.noticeTimer) cancel(S.noticeTimer);
    S.noticeTimer = later(() => {
      noticeEl.classList.remove("lk-show");
      S.noticeTimer = later(() => (noticeEl.textContent = ""), 400);
    }, NOTICE_MS);
  }

  function toggleGuidelines(open = !S.guidelinesOpen) {
    S.guidelinesOpen = open && !!S.task.guidelines_html;
    guidelines.hidden = !S.guidelinesOpen;
    guidelinesBtn.setAttribute("aria-expanded", String(S.guidelinesOpen));
  }

  function toggleKeymap(open = !S.keymapOpen) {
    S.keymapOpen = open;
    keymapEl.hidden = !open;
    keysBtn.setAttribute("aria-expanded", String(open));
    // The overlay floats over the widget: make the widget tall enough to hold it (an output
    // area in Jupyter may clip what sticks out).
    root.style.minHeight = open ? `${keymapEl.offsetTop + keymapEl.offsetHeight + 16}px` : "";
  }

  /** The key map lists only the keys this task uses: a text task has no zoom, one question no
   * Tab between questions, a task without spans no span keys, a project without exams no exam keys. */
  function paintKeymap() {
    const row = (keys, what) => h("tr", {}, h("td", {}, keys.filter(Boolean).map((k) => kbd(k))), h("td", {}, what));
    const k = keyText;
    const qs = questions();
    const has = (...types) => qs.some((q) => types.includes(q.type));
    const digits = has("label", "multi_label", "rating", "spans") || qs.some((q) => q.type === "preference" && (q.strengths || []).length);
    const fields = Array.isArray(S.task.fields) ? S.task.fields : [];
    const compare = Array.isArray(S.task.compare) && S.task.compare.length === 2;
    const sensitive = !!(model.get("wellbeing") || {}).show_support || !!S.item?.sensitive;
    const exam = inExam();
    S.keymapExam = exam;
    const when = (applies, ...rows) => (applies ? rows : []);
    // During an exam the item is answered: skip, back, escalate and report are off.
    const actions = exam
      ? [
          [[k("submit"), "Ctrl+Enter"], t("keys.submit")],
          [[k("leave_exam")], t("keys.leave_exam")],
        ]
      : [
          [[k("submit"), "Ctrl+Enter"], t("keys.submit")],
          [[k("skip")], t("keys.skip")],
          [[k("back"), "Ctrl+Z"], t("keys.back")],
          [[k("forward")], t("keys.forward")],
          [[k("escalate")], t("keys.escalate")],
          [[k("report")], t("keys.report")],
        ];
    const sections = [
      [t("keys.actions"), actions],
      [t("keys.questions"), [
        ...when(qs.length > 1, [["Tab", "↓"], t("keys.next_question")], [["⇧Tab", "↑"], t("keys.prev_question")]),
        ...when(digits, [["1–9", "0"], t("keys.digits")]),
        ...when(has("preference"), [[k("choose_a"), k("choose_b"), k("tie")], t("keys.preference")]),
        ...when(has("rating", "spans"), [["←", "→"], t("keys.arrows")]),
        ...when(has("spans"), [["⇧←", "⇧→"], t("keys.spans_extend")], [["x", "Del"], t("keys.spans_remove")]),
        ...when(has("ranking", "taxonomy"), [["↑", "↓", "Space"], t("keys.lists")]),
      ]],
      [t("keys.view"), [
        ...when(!!S.task.guidelines_html, [[k("guidelines")], t("keys.guidelines")]),
        [[k("level")], t("keys.level")],
        [[k("help")], t("keys.help")],
        ...when(sensitive, [[k("reveal")], t("keys.reveal")]),
        ...when(compare, [[k("diff")], t("keys.diff")]),
        ...when(fields.some((f) => f.type === "image"), [[k("zoom")], t("keys.zoom")]),
        [["Esc"], t("keys.escape")],
      ]],
      ...when(!exam && openExams().length > 0, [t("keys.exam"), [
        [["1–9", "0"], t("keys.exam_start")],
        [[k("leave_exam")], t("keys.leave_exam")],
      ]]),
    ];
    fill(keymapBody,
      ...sections
        .filter(([, rows]) => rows.length)
        .map(([title, rows]) =>
          h(
            "div",
            { class: "lk-keymap-section" },
            h("div", { class: "lk-keymap-title" }, title),
            h("table", {}, h("tbody", {}, rows.map(([keys, what]) => row(keys, what))))
          )
        )
    );
  }

  function paintActions() {
    const state = model.get("state");
    const exam = inExam();
    const labeling = itemShown() && !exam; // an exam item has Submit and Leave only
    const doneScreen = state === "done" && !paused() && !resultShown();
    // `usable` false: shown, but off for now (Back on the first item), whatever canAct() says.
    const act = (cls, text, action, onClick, show = true, usable = true) =>
      show
        ? button(
            {
              class: ["lk-action", cls],
              disabled: !canAct() || !usable,
              "data-unusable": !usable,
              onclick: onClick,
              "aria-keyshortcuts": S.keySpecs[action] || null,
            },
            h("span", {}, text),
            kbd(keyText(action))
          )
        : null;
    fill(actionsEl,
      ...[
        act("lk-back", t("action.back"), "back", () => back(), labeling || doneScreen, canBack()),
        act("lk-forward", t("action.forward"), "forward", () => forward(), labeling && !!S.item.editing),
        act("lk-leave-exam", t("exam.leave"), "leave_exam", () => leaveExam(), exam && itemShown()),
        h("span", { class: "lk-spacer" }),
        act("lk-report", t("action.report"), "report", () => openForm("report"), labeling),
        act("lk-escalate", t("action.escalate"), "escalate", () => openForm("escalate"), labeling),
        act("lk-skip", t("action.skip"), "skip", () => skip(), labeling),
        act("lk-submit", t("action.submit"), "submit", () => submit(), itemShown()),
      ].filter(Boolean)
    );
    actionsEl.hidden = !(itemShown() || doneScreen);
    footer.hidden = actionsEl.hidden;
    paintStatus();
  }

  function paintStatus() {
    root.classList.toggle("lk-busy", !canAct());
    for (const b of actionsEl.querySelectorAll("button")) b.disabled = !canAct() || b.hasAttribute("data-unusable");
    if (!canAct()) {
      statusEl.textContent = t("status.saving");
      return;
    }
    if (!itemShown()) {
      statusEl.textContent = "";
      return;
    }
    const missing = collect().missing.length;
    statusEl.textContent = missing
      ? t("status.missing", { n: missing })
      : t("status.ready", { key: keyText("submit") });
    statusEl.classList.toggle("lk-ready", !missing);
  }

  // ---- states
  function paintState() {
    const state = model.get("state");
    root.dataset.state = state || "";
    if (resultShown()) {
      if (!body.querySelector(":scope > .lk-result")) renderResult();
    } else if (paused() && state !== "error") {
      if (!body.querySelector(":scope > .lk-break")) renderBreak();
    } else if ((state === "labeling" || state === "exam") && S.item) {
      if (!body.querySelector(":scope > .lk-labeling")) renderLabeling();
    } else if (state === "done") {
      renderDone();
    } else if (state === "error") {
      renderFatal();
    } else {
      body.replaceChildren(
        h("div", { class: "lk-loading", role: "status" }, h("span", { class: "lk-spinner", "aria-hidden": "true" }), t("status.loading"))
      );
    }
    if (S.keymapExam !== inExam()) paintKeymap(); // an exam has fewer keys
    paintExam();
    paintError();
    paintActions();
    paintTimer();
    paintWellbeing();
  }

  function renderDone() {
    closeItem();
    const p = model.get("progress") || {};
    // "Done" may mean "no work for me now": before an exam, or sent back to retake one.
    const st = standing();
    const locked = openExams().length > 0 && !num(p.done);
    const title = st.status === "retry" ? t("done.retry") : locked ? t("done.locked") : t("done.title");
    body.replaceChildren(
      h(
        "div",
        { class: "lk-done", role: "status" },
        st.status === "retry" || locked ? null : h("div", { class: "lk-done-mark", "aria-hidden": "true" }, "✓"),
        h("div", { class: "lk-done-title" }, title),
        pathBlock(),
        h(
          "div",
          { class: "lk-done-counts" },
          h("span", {}, tn("done.answered", { n: h("strong", {}, String(num(p.done))) }, num(p.done))),
          h(
            "span",
            {},
            tn(todayAndGoal()[1] ? "done.today_goal" : "done.today", {
              n: h("strong", {}, String(todayAndGoal()[0])),
              goal: String(todayAndGoal()[1]),
            })
          ),
          Number(p.remaining) > 0
            ? h("span", {}, tn("done.remaining", { n: h("strong", {}, String(p.remaining)) }, num(p.remaining)))
            : h("span", {}, t("done.complete"))
        ),
        canBack() ? h("div", { class: "lk-hint" }, t("done.back_hint", { key: keyText("back") })) : null
      )
    );
  }

  // ---- my level, exams, training feedback, exam results
  // The kernel decides all of it (labelkit.gold): these screens show the `standing`, `exam`,
  // `feedback` and `exam_result` traits. Their sentences (requires, reasons) are data.
  const standing = () => {
    const st = model.get("standing");
    return st && typeof st === "object" ? st : {};
  };
  const openExams = () => {
    const list = standing().exams;
    return Array.isArray(list) ? list.filter((x) => x && typeof x === "object" && x.available !== false) : [];
  };
  const percent = (v) => {
    try {
      return new Intl.NumberFormat(model.get("locale") || "en", { style: "percent", maximumFractionDigits: 0 }).format(num(v));
    } catch {
      return `${Math.round(num(v) * 100)}%`;
    }
  };
  const statusName = (s) =>
    ({ active: t("standing.active"), retry: t("standing.retry"), suspended: t("standing.suspended") })[s] ?? String(s ?? "—");
  const when = (iso) => {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    try {
      return new Intl.DateTimeFormat(model.get("locale") || "en", { dateStyle: "medium", timeStyle: "short" }).format(date);
    } catch {
      return date.toISOString().slice(0, 16).replace("T", " ");
    }
  };

  function startExam(name) {
    if (!sendSetting("exam_start", { name })) return;
    toggleLevel(false);
  }

  const leaveExam = () => inExam() && sendSetting("exam_leave");

  /** The exams one may take now; `keys`: each with its start button and digit (1–9, 0). */
  function examList(exams, { keys = true } = {}) {
    if (!exams.length) return h("div", { class: "lk-hint lk-no-exams" }, t("exams.none"));
    const rows = exams.map((x, i) => {
      const left = x.attempts_left;
      const facts = [
        t("exams.level", { level: num(x.level) }),
        t("exams.pass_rate", { pct: percent(x.pass_rate) }),
        t("exams.questions", { n: num(x.questions) }),
        x.language ? t("exams.language", { language: String(x.language) }) : null,
        left == null ? null : t("exams.attempts_left", { n: num(left) }),
        x.best_score == null ? null : t("exams.best", { pct: percent(x.best_score) }),
      ];
      const label = x.in_progress ? t("exams.resume") : x.training ? t("exams.practice") : t("exams.start");
      return h(
        "li",
        { class: ["lk-exam", x.training && "lk-exam-training"], "data-exam": String(x.name) },
        h(
          "div",
          { class: "lk-exam-text" },
          h("span", { class: "lk-exam-name" }, String(x.name)),
          x.training ? h("span", { class: "lk-badge lk-practice-badge" }, t("exams.practice_badge")) : null,
          h("span", { class: "lk-exam-facts" }, facts.filter(Boolean).join(" · "))
        ),
        keys
          ? button(
              { class: "lk-action lk-primary lk-exam-start", onclick: () => startExam(String(x.name)) },
              h("span", {}, label),
              kbd(digitKey(i))
            )
          : null
      );
    });
    return h(
      "div",
      { class: "lk-exam-list" },
      h("ol", { class: "lk-exams" }, rows),
      keys ? h("div", { class: "lk-hint" }, t("exams.keys_hint")) : null
    );
  }

  /** On the all-done screen: what the next level requires and the exams to take (if any). */
  function pathBlock() {
    const st = standing();
    const exams = openExams();
    if (st.status !== "retry" && !exams.length) return null;
    const requires = st.next_level && typeof st.next_level.requires === "string" ? st.next_level.requires : "";
    return h(
      "div",
      { class: "lk-path" },
      h("div", { class: "lk-path-title" }, t("path.title")),
      requires ? h("div", { class: "lk-path-requires" }, requires) : null,
      examList(exams)
    );
  }

  function paintLevelButton() {
    const st = standing();
    levelBtn.hidden = st.level == null;
    fill(levelBtn, `${t("level.button", { level: num(st.level) })} `, kbd(keyText("level")));
  }

  function toggleLevel(open = !S.levelOpen) {
    if (open && standing().level == null) return; // nothing to show (no standing sent)
    S.levelOpen = open;
    levelEl.hidden = !open;
    levelBtn.setAttribute("aria-expanded", String(open));
    if (open) {
      paintLevel();
      sendSetting("standing"); // fresh figures (they may have moved since the page opened)
    }
  }

  /** The "my level" panel: level and status, gold accuracy, the next level, exams, history. */
  function paintLevel() {
    if (!S.levelOpen) return;
    const st = standing();
    const gold = st.gold && typeof st.gold === "object" ? st.gold : {};
    const goldLine =
      gold.accuracy == null
        ? t("level.gold_none", { n: num(gold.count), min: num(gold.min_count) })
        : t("level.gold", { pct: percent(gold.accuracy), n: num(gold.count) });
    const requires = st.next_level && typeof st.next_level.requires === "string" ? st.next_level.requires : "";
    const history = Array.isArray(st.history) ? st.history.filter((e) => e && typeof e === "object") : [];
    fill(levelBody,
      h(
        "div",
        { class: ["lk-level-summary", `lk-status-${st.status === "retry" || st.status === "suspended" ? st.status : "active"}`] },
        t("level.summary", { level: num(st.level), status: statusName(st.status) })
      ),
      h("div", { class: "lk-level-gold" }, goldLine, " ", h("span", { class: "lk-hint" }, t("level.gold_lag"))),
      requires
        ? h("div", { class: "lk-level-next" }, h("div", { class: "lk-prefs-title" }, t("level.next")), h("div", { class: "lk-level-requires" }, requires))
        : null,
      h("div", { class: "lk-prefs-title" }, t("level.exams")),
      inExam() ? h("div", { class: "lk-hint" }, t("level.exams_during")) : examList(openExams()),
      h("div", { class: "lk-prefs-title" }, t("level.history")),
      history.length
        ? h(
            "ol",
            { class: "lk-history" },
            history.map((e) =>
              h(
                "li",
                { class: ["lk-history-row", `lk-history-${["level", "status", "exam", "warning"].includes(e.kind) ? e.kind : "other"}`] },
                h("span", { class: "lk-history-what" }, historyWhat(e)),
                h("span", { class: "lk-history-when" }, [when(e.at), e.actor && e.actor !== "system" ? t("level.by", { actor: String(e.actor) }) : null].filter(Boolean).join(" · ")),
                h("span", { class: "lk-history-why" }, String(e.reason ?? ""))
              )
            )
          )
        : h("div", { class: "lk-hint" }, t("level.no_history"))
    );
  }

  function historyWhat(e) {
    const before = e.old ?? "—";
    const after = e.new ?? "—";
    if (e.kind === "level") return t("history.level", { before, after });
    if (e.kind === "status") return t("history.status", { before: statusName(e.old), after: statusName(e.new) });
    if (e.kind === "exam") {
      const name = String(e.old ?? "");
      if (e.new === "passed") return t("history.exam_passed", { name });
      if (e.new === "failed") return t("history.exam_failed", { name });
      return t("history.exam", { name });
    }
    return t("history.warning");
  }

  /** Training: whether the previous answer was right, and the gold item's explanation. */
  function feedbackBlock() {
    const fb = model.get("feedback");
    if (!fb || typeof fb !== "object" || fb.score == null) return null;
    const score = num(fb.score);
    const [cls, text] =
      score >= 0.999
        ? ["lk-fb-right", t("feedback.right")]
        : score <= 0
          ? ["lk-fb-wrong", t("feedback.wrong")]
          : ["lk-fb-partly", t("feedback.partly", { pct: percent(score) })];
    return h(
      "div",
      { class: ["lk-feedback", cls], role: "status" },
      h("span", { class: "lk-fb-mark", "aria-hidden": "true" }, cls === "lk-fb-right" ? "✓" : cls === "lk-fb-wrong" ? "✗" : "◐"),
      h("span", { class: "lk-fb-cue" }, text),
      fb.explanation ? h("span", { class: "lk-fb-explanation" }, String(fb.explanation)) : null
    );
  }

  /** The bar above an exam item: "Exam NAME — answered/total", a hint, training feedback. */
  function paintExam() {
    const x = model.get("exam");
    const show = inExam() && itemShown() && x && typeof x === "object" && x.name != null;
    examEl.hidden = !show;
    if (!show) {
      examEl.replaceChildren();
      return;
    }
    const vars = { name: String(x.name), answered: num(x.answered), total: num(x.total) };
    fill(examEl,
      h(
        "div",
        { class: "lk-exam-head" },
        h("span", { class: "lk-exam-title" }, x.training ? t("exam.header_practice", vars) : t("exam.header", vars)),
        h(
          "span",
          {
            class: "lk-bar",
            role: "progressbar",
            "aria-label": t("exam.progress_label"),
            "aria-valuemin": "0",
            "aria-valuemax": String(vars.total),
            "aria-valuenow": String(vars.answered),
          },
          h("span", { class: "lk-bar-fill", style: { width: `${vars.total ? Math.round((vars.answered / vars.total) * 100) : 0}%` } })
        )
      ),
      h("div", { class: "lk-hint lk-exam-hint" }, x.training ? t("exam.hint_practice") : t("exam.hint")),
      x.training ? feedbackBlock() : null
    );
  }

  /** The result of the exam just finished: score, and the new level or what is left. */
  function renderResult() {
    closeItem();
    const r = examResult();
    const name = String(r.exam);
    const passed = !!r.passed;
    const again = !passed && openExams().some((x) => x.name === r.exam);
    S.resultRetake = again ? name : null;
    const left = r.attempts_left;
    const attempts =
      passed || r.training
        ? null
        : left == null
          ? t("result.attempts_unlimited")
          : num(left) === 0
            ? t("result.no_attempts")
            : t("result.attempts_left", { n: num(left) });
    const work = model.get("state") === "labeling" && !!S.item;
    const title = r.training ? t("result.practice", { name }) : passed ? t("result.passed", { name }) : t("result.failed", { name });
    body.replaceChildren(
      h(
        "div",
        { class: ["lk-result", passed ? "lk-passed" : "lk-failed"], role: "status", "data-passed": String(passed) },
        h("div", { class: "lk-result-mark", "aria-hidden": "true" }, passed ? "✓" : "✗"),
        h("div", { class: "lk-result-title" }, title),
        h(
          "div",
          { class: "lk-result-score" },
          t("result.score", { score: percent(r.score), needed: percent(r.pass_rate), n: num(r.answered) })
        ),
        passed && !r.training ? h("div", { class: "lk-result-level" }, t("result.level", { level: num(r.level) })) : null,
        attempts ? h("div", { class: "lk-result-attempts" }, attempts) : null,
        r.training ? feedbackBlock() : null,
        h(
          "div",
          { class: "lk-result-actions" },
          again
            ? button(
                { class: "lk-action lk-primary lk-retake", onclick: () => startExam(name) },
                h("span", {}, r.training ? t("result.practice_again") : t("result.retake")),
                kbd(keyText("submit"))
              )
            : null,
          button(
            { class: ["lk-action", "lk-result-close", !again && "lk-primary"], onclick: () => closeResult() },
            h("span", {}, work ? t("result.to_work") : t("result.close")),
            kbd(again ? "Esc" : keyText("submit"))
          )
        )
      )
    );
  }

  function closeResult() {
    const r = examResult();
    if (!r) return;
    S.resultDismissed = JSON.stringify(r);
    S.itemStart = performance.now(); // the result screen is not time on the next item
    body.replaceChildren();
    paintState();
    focusRoot();
  }

  /** Keys on the result screen: the main button's key (a double press is ignored), Esc. */
  function resultKey(e) {
    if (!matches(e, "submit")) return false;
    if (performance.now() < S.freshUntil || !canAct()) return true; // the last answer's key
    if (S.resultRetake) startExam(S.resultRetake);
    else closeResult();
    return true;
  }

  function renderFatal() {
    closeItem();
    body.replaceChildren(
      h(
        "div",
        { class: "lk-fatal", role: "alert" },
        h("div", { class: "lk-fatal-title" }, t("fatal.title")),
        h("div", { class: "lk-fatal-text" }, model.get("error") || t("fatal.unknown")),
        h("div", { class: "lk-hint" }, t("fatal.hint"))
      )
    );
  }

  // ---- an item
  function revokeUrls() {
    for (const url of S.urls) URL.revokeObjectURL(url);
    S.urls = [];
  }

  function closeItem() {
    S.compareParts = null;
    S.sensitiveParts = null;
    S.comps = new Map();
    S.fieldBodies = new Map();
    S.form = null;
    revokeUrls();
  }

  function loadItem() {
    const item = model.get("item");
    const token = item && typeof item === "object" ? item.token : null;
    if (token && S.item && token === S.item.token) {
      S.item = item;
      return;
    }
    S.item = item && typeof item === "object" ? item : null;
    S.freshAction = S.inflight?.action ?? S.lastAction; // what brought this item (see doublePress)
    S.inflight && cancel(S.inflight.timer);
    S.inflight = null;
    S.unacked = null;
    S.localError = "";
    S.revealed = false;
    S.zoomed = false;
    S.itemStart = performance.now();
    S.freshUntil = S.itemStart + DOUBLE_PRESS_MS;
    restartTimer();
    if (!S.item) {
      paintState();
      return;
    }
    S.draft = initialDraft(S.task, S.item);
    S.suggested = new Set(Array.isArray(S.item.suggested) ? S.item.suggested : []);
    if (S.item.sensitive) paintKeymap(); // its reveal key
    if (itemShown()) renderLabeling();
    paintState();
    // Bring the new item's top into view when the annotator was scrolled down to the actions:
    // in the next frame, so reading the layout does not hold back the new item.
    cancelAnimationFrame(S.scrollFrame);
    S.scrollFrame = requestAnimationFrame(() => {
      if (root.getBoundingClientRect().top < 0) root.scrollIntoView({ block: "start" });
    });
    const focused = document.activeElement;
    if (!focused || focused === document.body || root.contains(focused)) focusRoot();
  }

  function renderLabeling() {
    const oldUrls = S.urls;
    S.active = null; // the blocks are new: nothing is highlighted yet
    S.urls = [];
    S.comps = new Map();
    S.fieldBodies = new Map();
    S.form = null;
    S.compareParts = null;
    S.sensitiveParts = null;
    const item = S.item;
    const itemEl = renderFields(item);
    const questionsEl = h("div", { class: "lk-questions" });
    const formHost = h("div", { class: "lk-form-host" });
    body.replaceChildren(h("div", { class: "lk-labeling" }, itemEl, questionsEl, formHost));
    for (const q of questions()) {
      const entry = renderQuestion(q);
      if (entry) questionsEl.append(entry.block);
    }
    for (const url of oldUrls) URL.revokeObjectURL(url);
    refreshQuestions();
    // Start at the first question the item did not pre-fill (a list left empty is a valid
    // answer, "none", but still one the annotator has to look at).
    const visible = visibleNames();
    const given = S.item.answer && typeof S.item.answer === "object" ? S.item.answer : {};
    const first =
      visible.find((n) => !(n in given) || checkAnswer(S.comps.get(n).q, S.draft[n], t).empty) ?? visible[0];
    if (first) setActive(first, { scroll: false, quiet: true });
  }

  function renderFields(item) {
    const fields = Array.isArray(S.task.fields) ? S.task.fields : [];
    const values = item.fields && typeof item.fields === "object" ? item.fields : {};
    const pair = S.task.compare;
    const compare =
      Array.isArray(pair) && pair.length === 2 && pair.every((n) => fields.some((f) => f.name === n)) ? pair : null;
    // The dataset's text is in the item's language (when the import said it), not the app's.
    const lang = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(item.language || "") ? item.language : "";
    const fieldEl = (f, extraClass, head) => {
      const bodyEl = h("div", { class: ["lk-field-body", extraClass && `${extraClass}-body`], lang });
      fillField(bodyEl, f, values[f.name], view);
      S.fieldBodies.set(f.name, bodyEl);
      return h(
        "div",
        { class: ["lk-field", `lk-field-${f.name}`, `lk-type-${f.type}`, extraClass], "data-field": f.name },
        head ||
          h(
            "div",
            { class: "lk-field-label" },
            f.label || f.name,
            f.type === "image"
              ? h("span", { class: "lk-field-hint" }, " · ", tn("image.zoom_hint", { key: kbd(keyText("zoom")) }))
              : null
          ),
        bodyEl
      );
    };
    const content = h("div", { class: "lk-fields" });
    for (const f of fields) if (!compare || !compare.includes(f.name)) content.append(fieldEl(f));
    if (compare) content.append(renderCompare(compare.map((n) => fields.find((f) => f.name === n)), values, fieldEl));
    const itemEl = h("div", { class: "lk-item" });
    if (item.editing) {
      itemEl.append(
        h(
          "div",
          { class: "lk-editing" },
          tn("editing.hint", { save: kbd(keyText("submit")), forward: kbd(keyText("forward")) })
        )
      );
    }
    itemEl.append(content);
    if (item.sensitive) {
      const warnings = Array.isArray(item.warnings) ? item.warnings.map(String) : [];
      const w = model.get("wellbeing") || {};
      const mine = Array.isArray(w.opt_outs) ? w.opt_outs : [];
      const overlay = h(
        "div",
        { class: "lk-sensitive", role: "group", "aria-label": t("warning.title") },
        h(
          "div",
          { class: "lk-sensitive-card" },
          h(
            "div",
            { class: "lk-sensitive-title" },
            warnings.length ? t("warning.title_with", { categories: warnings.join(", ") }) : t("warning.title")
          ),
          h("div", {}, t("warning.text")),
          button({ class: "lk-reveal", onclick: () => toggleReveal(true) }, `${t("warning.show")} `, kbd(keyText("reveal"))),
          warnings.length
            ? button(
                {
                  class: "lk-link lk-optout-these",
                  onclick: () => sendSetting("set_opt_outs", { categories: [...new Set([...mine, ...warnings])] }),
                },
                t("warning.opt_out")
              )
            : null
        )
      );
      const hideBar = h(
        "div",
        { class: "lk-sensitive-bar" },
        `${t("warning.shown")} `,
        button({ class: "lk-link", onclick: () => toggleReveal(false) }, `${t("warning.hide")} `, kbd(keyText("reveal")))
      );
      itemEl.prepend(hideBar);
      itemEl.append(overlay);
      S.sensitiveParts = { content, overlay, hideBar };
      paintSensitive();
    } else {
      S.sensitiveParts = null;
    }
    return itemEl;
  }

  function paintSensitive() {
    const parts = S.sensitiveParts;
    if (!parts) return;
    const hidden = !S.revealed;
    parts.content.classList.toggle("lk-blurred", hidden);
    parts.content.inert = hidden; // no reading, selecting or clicking through the blur
    if (hidden) parts.content.setAttribute("aria-hidden", "true");
    else parts.content.removeAttribute("aria-hidden");
    parts.overlay.hidden = !hidden;
    parts.hideBar.hidden = hidden;
  }

  function toggleReveal(open = !S.revealed) {
    if (!S.sensitiveParts) return false;
    S.revealed = open;
    paintSensitive();
    announce(open ? t("warning.announce_shown") : t("warning.announce_hidden"));
    return true;
  }

  function renderCompare(pair, values, fieldEl) {
    const pref = questions().find(
      (q) => q.type === "preference" && Array.isArray(q.options) && pair.every((f) => q.options.includes(f.name))
    );
    const tag = (f, i) => {
      const k = pref ? pref.options.indexOf(f.name) : i;
      return pref?.option_labels?.[k] ?? (i === 0 ? "A" : "B");
    };
    const panes = pair.map((f, i) =>
      fieldEl(
        f,
        "lk-pane",
        h(
          "div",
          { class: "lk-pane-head" },
          h("span", { class: "lk-pane-tag" }, tag(f, i)),
          h("span", { class: "lk-field-label" }, f.label || f.name)
        )
      )
    );
    const bodies = pair.map((f) => S.fieldBodies.get(f.name));
    // Scroll together (proportionally): the pane the user scrolls drives the other one.
    let driver = null;
    let release = null;
    bodies.forEach((src, i) => {
      const dst = bodies[1 - i];
      src.onscroll = () => {
        if (driver && driver !== src) return;
        driver = src;
        const ratio = src.scrollTop / Math.max(1, src.scrollHeight - src.clientHeight);
        dst.scrollTop = ratio * (dst.scrollHeight - dst.clientHeight);
        if (release) cancel(release);
        release = later(() => (driver = null), 100);
      };
    });
    const diffBtn = button(
      { class: "lk-tool lk-diff-toggle", "aria-pressed": "false", onclick: () => toggleDiff() },
      `${t("diff.button")} `,
      kbd(keyText("diff"))
    );
    const legend = h("span", { class: "lk-diff-legend" });
    S.compareParts = { pair, values, bodies, diffBtn, legend, diff: undefined, showing: false };
    const el = h(
      "div",
      { class: "lk-compare-wrap" },
      h("div", { class: "lk-compare-bar" }, diffBtn, legend),
      h("div", { class: "lk-compare" }, panes)
    );
    paintDiff();
    return el;
  }

  function paintDiff() {
    const parts = S.compareParts;
    if (!parts) return;
    const owned = new Set(questions().filter((q) => q.type === "spans").map((q) => q.field));
    const texts = parts.pair.map((f) => plainText(f, parts.values[f.name]));
    const usable = texts.every((t) => typeof t === "string") && !parts.pair.some((f) => owned.has(f.name));
    let diff = null;
    if (S.diffOn && usable) {
      if (parts.diff === undefined) parts.diff = wordDiff(texts[0], texts[1]);
      diff = parts.diff;
    }
    parts.diffBtn.setAttribute("aria-pressed", String(S.diffOn));
    parts.diffBtn.classList.toggle("lk-selected", S.diffOn);
    fill(parts.legend,
      !S.diffOn
        ? ""
        : !usable
          ? t("diff.unusable")
          : !diff
            ? t("diff.too_long", { n: DIFF_MAX_WORDS })
            : h(
                "span",
                {},
                tn("diff.legend", {
                  removed: h("span", { class: "lk-diff-del" }, t("diff.removed")),
                  added: h("span", { class: "lk-diff-ins" }, t("diff.added")),
                })
              )
    );
    if (parts.showing === !!diff) return; // panes already show what they should
    parts.showing = !!diff;
    parts.pair.forEach((f, i) => {
      const bodyEl = parts.bodies[i];
      if (owned.has(f.name)) return;
      bodyEl.replaceChildren();
      if (diff) {
        const [words, cls] = i === 0 ? [diff.a, "lk-diff-del"] : [diff.b, "lk-diff-ins"];
        bodyEl.append(h("div", { class: "lk-text lk-diff" }, diffNodes(texts[i], words, cls)));
      } else {
        fillField(bodyEl, f, parts.values[f.name], view);
      }
    });
  }

  function toggleDiff() {
    if (!S.compareParts) return false;
    S.diffOn = !S.diffOn;
    paintDiff();
    announce(S.diffOn ? t("diff.on") : t("diff.off"));
    return true;
  }

  function toggleZoom() {
    const images = body.querySelectorAll(".lk-image");
    if (!images.length) return false;
    S.zoomed = !S.zoomed;
    for (const img of images) {
      img.classList.toggle("lk-zoomed", S.zoomed);
      img.parentElement?.classList.toggle("lk-zoomed", S.zoomed);
    }
    return true;
  }

  // `view` is what field renderers need from this closure.
  const view = {
    t,
    get zoomKey() {
      return keyText("zoom");
    },
    get urls() {
      return S.urls;
    },
    get zoomed() {
      return S.zoomed;
    },
    toggleZoom,
  };

  // ---- questions
  function renderQuestion(q) {
    const factory = QUESTION_TYPES[q.type];
    const labelId = `${uid}-q-${q.name}`;
    const problemEl = h("div", { class: "lk-q-problem", hidden: true });
    const suggestedEl = h(
      "span",
      { class: "lk-badge lk-suggested-badge", title: t("question.suggested_title") },
      t("question.suggested")
    );
    const block = h("section", {
      class: ["lk-question", `lk-qtype-${q.type}`],
      "data-question": q.name,
      "data-type": q.type,
      "aria-labelledby": labelId,
      onmousedown: () => setActive(q.name, { scroll: false }),
    });
    let flashTimer = null;
    const api = {
      labelId,
      t,
      get: () => S.draft[q.name],
      set: (value, opts) => setAnswer(q.name, value, opts),
      activate: () => setActive(q.name, { scroll: false }),
      isActive: () => S.active === q.name,
      keyText,
      fieldValue: (name) => S.item?.fields?.[name],
      fieldBody: (name) => S.fieldBodies.get(name),
      announce,
      focusRoot,
      flash: (text) => {
        problemEl.textContent = text;
        problemEl.hidden = false;
        announce(text);
        if (flashTimer) cancel(flashTimer);
        flashTimer = later(() => {
          if (!block.classList.contains("lk-missing")) problemEl.hidden = true;
        }, NOTICE_MS);
      },
    };
    const comp = factory
      ? factory(q, api)
      : { body: h("div", { class: "lk-placeholder" }, t("question.unsupported", { type: q.type })), update() {} };
    append(
      block,
      h(
        "div",
        { class: "lk-q-head" },
        h("span", { class: "lk-q-label", id: labelId }, q.label || q.name),
        q.required
          ? h("span", { class: "lk-required", title: t("question.required") }, "*", h("span", { class: "lk-sr-only" }, ` (${t("question.required")})`))
          : h("span", { class: "lk-optional" }, t("question.optional")),
        suggestedEl
      ),
      q.help ? h("div", { class: "lk-help" }, q.help) : null,
      comp.body,
      problemEl
    );
    const entry = { q, block, comp, problemEl, suggestedEl };
    S.comps.set(q.name, entry);
    return entry;
  }

  function setAnswer(name, value, { advance = false } = {}) {
    S.draft[name] = value;
    S.suggested.delete(name); // the annotator changed it: no longer just the model's suggestion
    const entry = S.comps.get(name);
    if (entry) {
      entry.block.classList.remove("lk-missing");
      entry.problemEl.hidden = true;
    }
    if (S.localErrorKind === "missing") {
      const missing = collect().missing;
      setLocalError(missing.length ? missingMessage(missing) : "", missing.length ? "missing" : "");
    }
    refreshQuestions();
    if (advance) {
      const visible = visibleNames();
      const i = visible.indexOf(name);
      if (i >= 0 && i + 1 < visible.length) setActive(visible[i + 1], { scroll: true });
    }
  }

  function refreshQuestions() {
    const visible = new Set(visibleNames());
    for (const [name, entry] of S.comps) {
      entry.block.hidden = !visible.has(name);
      const suggested = S.suggested.has(name);
      entry.block.classList.toggle("lk-suggested", suggested);
      entry.suggestedEl.hidden = !suggested;
      entry.comp.update();
    }
    if (S.active && !visible.has(S.active)) {
      const names = questions().map((q) => q.name);
      const after = names.slice(names.indexOf(S.active)).find((n) => visible.has(n));
      setActive(after ?? [...visible].pop() ?? null, { scroll: false, quiet: true });
    }
    paintStatus();
  }

  function setActive(name, { scroll = false, quiet = false } = {}) {
    if (S.active === name) return;
    const old = S.comps.get(S.active);
    S.active = name;
    if (old) {
      old.block.classList.remove("lk-active");
      old.block.removeAttribute("aria-current");
      old.comp.deactivate?.();
    }
    const entry = S.comps.get(name);
    if (!entry) return;
    entry.block.classList.add("lk-active");
    entry.block.setAttribute("aria-current", "true");
    entry.comp.activate?.();
    if (scroll) entry.block.scrollIntoView({ block: "nearest" });
    if (!quiet) announce(entry.q.required ? t("question.announce_required", { label: entry.q.label }) : entry.q.label);
  }

  function moveActive(delta, { wrap = false, enterText = false } = {}) {
    const visible = visibleNames();
    if (!visible.length) return false;
    let i = visible.indexOf(S.active);
    if (i < 0) i = delta > 0 ? -1 : visible.length;
    let j = i + delta;
    if (wrap) j = (j + visible.length) % visible.length;
    j = Math.max(0, Math.min(visible.length - 1, j));
    focusRoot();
    setActive(visible[j], { scroll: true });
    const entry = S.comps.get(visible[j]);
    if (enterText && entry?.comp.enter) entry.comp.enter();
    return true;
  }

  /** The answer to send, and what is missing (Python validates again; this is for speed). */
  function collect() {
    const map = byName();
    const answer = {};
    const missing = [];
    for (const q of questions()) {
      if (!isAsked(q, map, S.draft)) continue; // hidden: its answer is dropped
      const r = checkAnswer(q, S.draft[q.name], t);
      if (r.problem) missing.push({ q, why: r.problem });
      else if (r.empty) {
        if (q.required) missing.push({ q, why: "required" });
      } else answer[q.name] = r.value;
    }
    return { answer, missing };
  }

  function missingMessage(missing) {
    const names = missing.map(({ q, why }) => (why === "required" ? q.label : `${q.label} (${why})`));
    return t("submit.missing", { names: names.join(", ") });
  }

  // ---- actions
  function send(action, extra = {}) {
    if (!canAct()) return false;
    const token = S.item ? S.item.token : null;
    const retry = S.unacked && S.unacked.action === action && S.unacked.token === token;
    const key = retry ? S.unacked.key : newClientKey();
    S.unacked = null;
    S.inflight = { action, token, key, timer: later(noAck, NO_ACK_MS) };
    S.lastKey = key;
    S.lastAction = action;
    // back/forward carry a client_key too: it is how their ack is recognised here.
    model.send({ action, token, client_key: key, ...extra });
    paintStatus();
    return true;
  }

  function noAck() {
    if (!S.inflight) return;
    S.unacked = S.inflight;
    S.inflight = null;
    setLocalError(t("error.no_reply"));
    paintStatus();
    setFormBusy(false);
  }

  function onAck(msg) {
    // The next item may arrive before the ack (it clears `inflight`): the key is remembered.
    if (msg.client_key == null || msg.client_key !== S.lastKey) return;
    S.lastKey = null;
    const refresh = S.inflight?.action === "standing"; // brings no notice of its own
    if (S.inflight && S.inflight.key === msg.client_key) {
      cancel(S.inflight.timer);
      S.inflight = null;
    }
    if (!msg.ok) {
      setLocalError(msg.error || t("error.failed"));
      setFormBusy(false);
    } else if (!refresh) {
      showNotice(model.get("notice")); // the same notice twice is no trait change
    }
    paintStatus();
  }

  /** True (and says so) when this action repeats, too soon, the one that brought this item. */
  function doublePress(action) {
    if (action !== S.freshAction || performance.now() >= S.freshUntil) return false;
    S.freshUntil = 0; // a third press is deliberate
    showNotice(t("notice.double_press"));
    return true;
  }

  function submit() {
    if (!canAct() || !S.item || doublePress("submit")) return;
    const { answer, missing } = collect();
    if (missing.length) {
      for (const { q, why } of missing) {
        const entry = S.comps.get(q.name);
        entry.block.classList.add("lk-missing");
        entry.problemEl.textContent = why === "required" ? t("submit.required") : t("submit.incomplete", { why });
        entry.problemEl.hidden = false;
      }
      setLocalError(missingMessage(missing), "missing");
      setActive(missing[0].q.name, { scroll: true, quiet: true });
      return;
    }
    send("submit", { answer });
  }

  const skip = () => S.item && !doublePress("skip") && send("skip");
  function back() {
    if (!canBack()) {
      showNotice(t("error.no_earlier")); // said here: no need to ask the kernel
      return;
    }
    send("back");
  }
  function forward() {
    if (!S.item?.editing) {
      showNotice(t("notice.newest"));
      return;
    }
    send("forward");
  }

  // ---- escalate / report forms
  function openForm(kind) {
    if (!canAct() || !S.item) return;
    const host = body.querySelector(".lk-form-host");
    if (!host) return;
    const errorLine = h("div", { class: "lk-form-error", role: "alert" });
    const note = h("textarea", {
      class: "lk-reason",
      rows: "2",
      maxlength: "2000",
      placeholder: kind === "escalate" ? t("escalate.placeholder") : t("report.placeholder"),
      "aria-label": kind === "escalate" ? t("escalate.reason_label") : t("report.note_label"),
    });
    const title = kind === "escalate" ? t("escalate.title") : t("report.title");
    const reasonText = {
      disturbing: t("report.disturbing"),
      "broken or unreadable": t("report.broken"),
      spam: t("report.spam"),
      other: t("report.something_else"),
    };
    let preset = -1;
    const presets = REPORT_REASONS.map((reason, i) =>
      h(
        "button",
        {
          type: "button",
          class: "lk-option",
          role: "radio",
          "aria-checked": "false",
          "data-value": reason,
          tabindex: "-1",
          onclick: () => choose(i),
        },
        kbd(String(i + 1)),
        h("span", { class: "lk-option-text" }, reasonText[reason] ?? reason)
      )
    );
    const choose = (i) => {
      preset = i;
      presets.forEach((p, k) => markChosen(p, k === i));
      note.focus({ preventScroll: true });
    };
    const presetGroup =
      kind === "report"
        ? h("div", { class: "lk-options lk-presets", role: "radiogroup", "aria-label": t("report.what"), tabindex: "0" }, presets)
        : null;
    const sendBtn = h(
      "button",
      { type: "button", class: "lk-action lk-primary", onclick: () => sendForm() },
      `${t("form.send")} `,
      kbd("Enter")
    );
    const cancelBtn = h("button", { type: "button", class: "lk-action", onclick: () => closeForm() }, `${t("form.cancel")} `, kbd("Esc"));
    const form = h(
      "div",
      { class: ["lk-form", `lk-form-${kind}`], role: "group", "aria-label": title },
      h("div", { class: "lk-form-title" }, title),
      presetGroup,
      note,
      errorLine,
      h("div", { class: "lk-form-actions" }, sendBtn, cancelBtn)
    );
    const sendForm = () => {
      if (!canAct()) return;
      const text = note.value.trim();
      let reason = text;
      if (kind === "report") {
        const name = REPORT_REASONS[preset];
        if (!name) return formError(t("report.choose"));
        if (name === "other" && !text) return formError(t("report.say"));
        reason = text ? `${name}: ${text}` : name;
      }
      if (!reason) return formError(t("error.reason"));
      errorLine.textContent = "";
      if (send(kind, { reason })) setFormBusy(true);
    };
    const formError = (text) => {
      errorLine.textContent = text;
    };
    S.form = { kind, el: form, sendForm, presetGroup, choose, presets, note, cancel: () => closeForm() };
    host.replaceChildren(form);
    form.scrollIntoView({ block: "nearest" });
    (presetGroup || note).focus({ preventScroll: true });
  }

  function setFormBusy(busy) {
    if (!S.form) return;
    for (const c of S.form.el.querySelectorAll("button, textarea")) c.disabled = busy;
    if (!busy) S.form.note.focus({ preventScroll: true });
  }

  function closeForm() {
    if (!S.form) return;
    S.form.el.remove();
    S.form = null;
    focusRoot();
  }

  function formKey(e) {
    const f = S.form;
    e.stopPropagation(); // keys typed in the form are the form's, never shortcuts
    if (!f) return;
    if (e.key === "Escape") {
      e.preventDefault();
      closeForm();
    } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      f.sendForm();
    } else if (f.presetGroup && e.target === f.presetGroup) {
      const d = digitOf(e);
      if (d != null && digitIndex(d) < REPORT_REASONS.length) {
        e.preventDefault();
        f.choose(digitIndex(d));
      } else if (/^Arrow/.test(e.key)) {
        e.preventDefault();
        const at = f.presets.findIndex((p) => p.classList.contains("lk-selected"));
        const step = e.key === "ArrowLeft" || e.key === "ArrowUp" ? -1 : 1;
        const i = (at + step + REPORT_REASONS.length) % REPORT_REASONS.length;
        f.presets.forEach((p, k) => markChosen(p, k === i));
        f.choose(i);
        f.presetGroup.focus({ preventScroll: true });
      }
    }
  }

  // ---- keys
  function onKeyDown(e) {
    S.lastActivity = performance.now(); // the annotator is here: see heartbeat()
    if (e.isComposing || e.keyCode === 229) return; // an IME is composing: not ours
    const t = e.target;
    const inForm = t !== root && !!t.closest?.(".lk-form");
    const inText =
      t !== root && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "range") || t.isContentEditable);
    const sends =
      (e.key === "Enter" && (e.ctrlKey || e.metaKey)) ||
      (!inForm && !inText && (matches(e, "submit") || matches(e, "skip")));
    if (sends && e.repeat) {
      e.preventDefault(); // a held key sends once
      e.stopPropagation();
      return;
    }
    if (!sends) S.freshUntil = 0; // the annotator is working on the new item
    if (inForm) return formKey(e);
    if (inText) return textKey(e);
    if (handleKey(e)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  /** Keys inside a question's text box go to the text box, but for these few. */
  function textKey(e) {
    e.stopPropagation();
    if (e.key === "Escape") {
      e.preventDefault();
      focusRoot();
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      focusRoot();
      submit();
    } else if (e.key === "Tab" && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault(); // Tab would leave the widget: move between questions instead
      moveActive(e.shiftKey ? -1 : 1, { wrap: true, enterText: true });
    }
  }

  function handleKey(e) {
    if (e.key === "Escape") return escape();
    if (matches(e, "help")) return toggleKeymap(), true;
    if (matches(e, "guidelines")) return toggleGuidelines(), true;
    if (matches(e, "level")) return toggleLevel(), true;
    if (resultShown()) return resultKey(e);
    const state = model.get("state");
    const exam = state === "exam";
    if (!exam && !paused() && (S.levelOpen || state === "done")) {
      // A list of exams is on screen (the level panel, or all done): its digits start them.
      const d = digitOf(e);
      const chosen = d == null ? null : openExams()[digitIndex(d)];
      if (chosen) return startExam(String(chosen.name)), true;
    }
    if (paused()) {
      // The break screen: its button's key goes on (when there is other work); nothing else.
      // (Not the second half of the double press that answered the last item.)
      const fresh = performance.now() < S.freshUntil;
      if (matches(e, "submit") && !fresh && model.get("state") === "labeling") return sendSetting("resume"), true;
      return false;
    }
    const isUndo = (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "z";
    const labeling = (state === "labeling" || exam) && !!S.item;
    if (!labeling) {
      if (state === "done" && (matches(e, "back") || isUndo)) return back(), true;
      return false;
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) return submit(), true;
    if (isUndo) {
      if (exam) return false;
      return back(), true;
    }
    const entry = S.comps.get(S.active);
    if (entry?.comp.key?.(e)) return true;
    if (matches(e, "submit")) return submit(), true;
    if (exam) {
      // An exam item is answered: no skip, back, escalate or report (the kernel refuses them too).
      if (matches(e, "leave_exam")) return leaveExam(), true;
    } else {
      if (matches(e, "forward")) return forward(), true;
      if (matches(e, "back")) return back(), true;
      if (matches(e, "skip")) return skip(), true;
      if (matches(e, "escalate")) return openForm("escalate"), true;
      if (matches(e, "report")) return openForm("report"), true;
    }
    if (matches(e, "reveal")) return toggleReveal();
    if (matches(e, "diff")) return toggleDiff();
    if (matches(e, "zoom")) return toggleZoom();
    for (const [action, choice] of [["choose_a", 0], ["choose_b", 1], ["tie", "tie"]]) {
      if (matches(e, action)) return choosePreference(choice);
    }
    if (e.key === "Tab" && !e.ctrlKey && !e.altKey && !e.metaKey) {
      if (!e.shiftKey && entry?.comp.enter && !entry.comp.isEntered?.()) return entry.comp.enter(), true;
      return moveActive(e.shiftKey ? -1 : 1, { wrap: true, enterText: true });
    }
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && plainKey(e) && !e.shiftKey) {
      return moveActive(e.key === "ArrowDown" ? 1 : -1);
    }
    return false;
  }

  /** a / b / t work from anywhere when the task has exactly one (visible) preference question. */
  function choosePreference(which) {
    const prefs = questions().filter((q) => q.type === "preference");
    if (prefs.length !== 1 || !visibleNames().includes(prefs[0].name)) return false;
    const entry = S.comps.get(prefs[0].name);
    const choices = prefs[0].options || [];
    const choice = which === "tie" ? (prefs[0].allow_tie !== false ? "tie" : null) : choices[which];
    if (!choice || !entry) return false;
    setActive(prefs[0].name, { scroll: true, quiet: true });
    entry.comp.pick(choice);
    return true;
  }

  function escape() {
    if (S.keymapOpen) return toggleKeymap(false), true;
    if (S.prefsOpen) return togglePrefs(false), true;
    if (S.levelOpen) return toggleLevel(false), true;
    if (S.form) return closeForm(), true;
    if (resultShown()) return closeResult(), true;
    if (S.comps.get(S.active)?.comp.escape?.()) return true;
    root.blur(); // give the keys back to the page (JupyterLab, Voila)
    return true;
  }

  // ---- wiring
  const signal = life.signal;
  // Activity for the heartbeat: the mouse here; keys in onKeyDown (one keydown listener only).
  const active = () => (S.lastActivity = performance.now());
  for (const event of ["mousedown", "mousemove", "wheel"]) {
    root.addEventListener(event, active, { signal, passive: true });
  }
  root.addEventListener("keydown", onKeyDown, { signal });
  root.addEventListener(
    "mousedown",
    (e) => {
      if (!e.target.closest?.(".lk-actions")) S.freshUntil = 0; // a click on the item itself
    },
    { signal }
  );
  root.addEventListener(
    "mouseup",
    () => {
      // A mouse selection that ends outside the span text still counts.
      for (const entry of S.comps.values()) entry.comp.capture?.();
    },
    { signal }
  );
  root.addEventListener(
    "click",
    (e) => {
      // Clicked buttons do not take focus (see button()); keep the keys working after a click.
      const t = e.target;
      if (!t.closest?.("textarea, input:not([type=range]), .lk-form, a, .lk-goal-edit, .lk-goal-form, .lk-prefs")) {
        focusRoot();
      }
    },
    { signal }
  );

  const handlers = {
    "change:task": () => {
      S.task = model.get("task") || {};
      paintHeader();
      paintKeymap();
      if (S.item) {
        S.draft = initialDraft(S.task, S.item);
        if (itemShown()) renderLabeling();
      }
      paintState();
    },
    "change:keymap": () => {
      readKeys();
      paintHeader();
      paintKeymap();
      if (itemShown()) {
        const active = S.active;
        renderLabeling(); // key hints live in the question blocks; the draft is kept
        if (active && S.comps.has(active)) setActive(active, { quiet: true });
      }
      paintActions();
    },
    "change:item": loadItem,
    "change:state": () => paintState(),
    "change:progress": () => {
      paintProgress();
      paintActions(); // Back is usable once there is an earlier item
      if (model.get("state") === "done" && !paused() && !resultShown()) renderDone();
    },
    "change:error": () => {
      S.traitErrorHidden = false;
      if (model.get("error")) S.localError = "";
      if (model.get("state") === "error") renderFatal();
      paintError();
    },
    "change:notice": () => showNotice(model.get("notice")),
    "change:strings": () => {
      // The language changed (rare): repaint everything that holds text.
      paintHeader();
      paintKeymap();
      paintDay();
      paintWellbeing();
      paintLevelButton();
      paintLevel();
      if (itemShown()) renderLabeling();
      else body.replaceChildren(); // the screen shown is painted again in the new language
      paintState();
    },
    "change:day": () => {
      paintDay();
      if (model.get("state") === "done" && !paused() && !resultShown()) renderDone(); // its counts
    },
    "change:lease": () => readLease(),
    "change:wellbeing": () => {
      paintWellbeing();
      paintKeymap(); // the reveal key, when sensitive content may come
      if (S.prefsOpen) paintPrefs();
    },
    "change:pause": () => {
      body.replaceChildren(); // the break screen comes or goes: render again
      if (itemShown()) {
        renderLabeling();
        S.itemStart = performance.now(); // the break is not time on the item
      }
      paintState();
    },
    "change:busy": () => paintStatus(),
    "change:standing": () => {
      paintLevelButton();
      paintKeymap(); // the exam keys, when exams are open
      paintLevel();
      // The screens that list exams show the new list (a result's retake button too).
      if (resultShown()) renderResult();
      else if (model.get("state") === "done" && !paused()) renderDone();
    },
    "change:exam": () => paintExam(),
    "change:feedback": () => {
      paintExam();
      if (resultShown()) renderResult(); // a practice's last answer comes after its result
    },
    "change:exam_result": () => {
      if (examResult()) {
        // A new result: the Enter that answered the last item must not press its button.
        S.resultDismissed = null;
        S.freshUntil = performance.now() + DOUBLE_PRESS_MS;
        S.freshAction = "submit";
      }
      body.replaceChildren();
      paintState();
    },
    "msg:custom": (msg) => {
      if (msg && msg.type === "ack") onAck(msg);
    },
  };
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);


  // ---- first paint
  readKeys();
  S.task = model.get("task") || {};
  paintHeader();
  paintKeymap();
  paintDay();
  readLease();
  paintWellbeing();
  paintLevelButton();
  toggleGuidelines(false);
  restartTimer();
  S.heartbeatTimer = later(heartbeat, HEARTBEAT_MS);
  const firstItem = model.get("item");
  S.item = null;
  if (firstItem) loadItem();
  else paintState();
  // Focus once the element is in the page (anywidget may render before attaching it).
  let focusTries = 0;
  let focusFrame = 0;
  const focusWhenAttached = () => {
    if (root.isConnected) focusRoot();
    else if (focusTries++ < 60) focusFrame = requestAnimationFrame(focusWhenAttached);
  };
  focusWhenAttached();

  return {
    destroy() {
      life.abort();
      for (const [event, fn] of Object.entries(handlers)) model.off(event, fn);
      cancelAnimationFrame(focusFrame);
      cancelAnimationFrame(S.scrollFrame);
      for (const id of timers) clearTimeout(id);
      timers.clear();
      if (S.inflight) clearTimeout(S.inflight.timer);
      revokeUrls();
      root.remove();
    },
  };
}

export default {
  render({ model, el }) {
    const view = createView(model, el);
    return () => view.destroy();
  },
};
