// Small DOM helpers. Every value from the API goes in as text (never innerHTML), so nothing it says can run.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "value" || name === "checked" || name === "selected") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let idCounter = 0;
export const uid = (prefix = "f") => `${prefix}-${++idCounter}`;

// --- announcements ---------------------------------------------------------------------------------

/** Said by screen readers without moving focus (the page's polite live region). */
export function announce(text) {
  const status = document.getElementById("status");
  // Emptied first: the same words twice in a row are announced twice.
  status.textContent = "";
  requestAnimationFrame(() => { status.textContent = text; });
}

/** The page-wide error (role=alert): an ApiError as the API worded it, or any other error's message. */
export function showAlert(error) {
  const alert = document.getElementById("alert");
  if (!error) { alert.hidden = true; alert.replaceChildren(); return; }
  clear(alert, ...errorContent(error));
  alert.hidden = false;
}

/** The API's own words: its `message`, then each `field: problem` it named. */
export function errorContent(error) {
  const body = error && error.body;
  const parts = [h("strong", {}, body && body.message ? body.message : String(error.message || error))];
  if (body && Array.isArray(body.fields) && body.fields.length) {
    parts.push(h("ul", {}, body.fields.map((f) => h("li", {}, h("code", {}, f.field), ": ", f.problem))));
  }
  return parts;
}

/** Shows an error inside a form: the whole of it in the form's alert box, and each named field marked invalid. */
export function showFormError(form, error) {
  clearFormError(form);
  const box = form.querySelector(".form-error");
  if (box) { clear(box, ...errorContent(error)); box.hidden = false; }
  const fields = (error && error.body && error.body.fields) || [];
  for (const problem of fields) {
    const input = form.querySelector(`[data-field="${CSS.escape(problem.field)}"]`);
    if (!input) continue;
    const note = h("span", { class: "field-error", id: uid("err") }, `${problem.field}: ${problem.problem}`);
    input.setAttribute("aria-invalid", "true");
    // The problem is read with the field, after its hint (kept aside to be restored when the error clears).
    const hint = input.getAttribute("aria-describedby");
    if (hint && !input.dataset.hint) input.dataset.hint = hint;
    input.setAttribute("aria-describedby", [input.dataset.hint, note.id].filter(Boolean).join(" "));
    input.after(note);
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

export function clearFormError(form) {
  const box = form.querySelector(".form-error");
  if (box) { box.hidden = true; box.replaceChildren(); }
  form.querySelectorAll(".field-error").forEach((n) => n.remove());
  form.querySelectorAll("[aria-invalid]").forEach((n) => {
    n.removeAttribute("aria-invalid");
    if (n.dataset.hint) n.setAttribute("aria-describedby", n.dataset.hint);
    else n.removeAttribute("aria-describedby");
  });
}

export const formErrorBox = () => h("div", { class: "error form-error", role: "alert", hidden: true });

// --- form fields: one label per control, always ------------------------------------------------------

export function field(label, control, hint) {
  const id = control.id || (control.id = uid("in"));
  const hintEl = hint ? h("span", { class: "muted", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), hintEl, control);
}

export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs },
    options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, text)));
}

export function radios(legend, name, options, value) {
  return h("fieldset", {}, h("legend", {}, legend),
    options.map(([v, text]) => h("label", {}, h("input", { type: "radio", name, value: v, checked: v === value }), text)));
}

// --- time -------------------------------------------------------------------------------------------

const dateTime = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });
const shortDateTime = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

export const formatTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");
export const formatShort = (iso) => (iso ? shortDateTime.format(new Date(iso)) : "—");

/** A machine-readable time element, shown in the reader's own time zone. */
export const time = (iso, short = false) => (iso ? h("time", { datetime: iso }, short ? formatShort(iso) : formatTime(iso)) : "—");

export function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function ago(iso) {
  if (!iso) return "—";
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  return seconds >= 0 ? `${duration(seconds)} ago` : `in ${duration(seconds)}`;
}

/** A value for <input type="datetime-local"> in the reader's zone. */
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** <input type="datetime-local">'s value (the reader's zone) as an ISO instant, or "" when empty. */
export const inputToIso = (value) => (value ? new Date(value).toISOString() : "");

// --- badges -------------------------------------------------------------------------------------------

export const STATUS_WORDS = { triggered: "Triggered", acknowledged: "Acknowledged", on_hold: "On hold", resolved: "Resolved", closed: "Closed" };

export const statusBadge = (status) => h("span", { class: `badge status-${status}` }, STATUS_WORDS[status] || status);
export const priorityBadge = (priority) =>
  priority ? h("span", { class: `badge priority-${priority}` }, priority) : h("span", { class: "muted" }, "unclassified");

// --- a repeating refresh that never overlaps itself and stops with its page ---------------------------

export function every(ms, task) {
  let timer = null;
  let stopped = false;
  let failing = false;  // the alert is this refresh's own: cleared when it works again
  const run = async () => {
    try {
      await task();
      if (failing) { showAlert(null); failing = false; }
    } catch (error) {
      if (!stopped) { showAlert(error); failing = true; }
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  timer = setTimeout(run, ms);
  return () => { stopped = true; clearTimeout(timer); };
}

/** A table cell that stacks as "label: value" at phone width (its content kept in one box for the grid). */
export const cell = (label, ...content) => h("td", { "data-label": label }, h("span", {}, ...content));

/** Hands text fetched with the person's token to the browser as a file to save (a link could not carry the token). */
export function saveFile(text, type, filename) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);  // (at once, some browsers would cancel the download)
}

