// "How pages reach me" on the account page (docs/notification-rules.md): the signed-in person's email, phone and
// time zone, their notification rules in words, an editor for them (PUT /me/notification-rules), and changing
// their email or phone, which counts only once the code sent to it comes back (POST /me/contact-methods, then
// POST /me/contact-methods/verify). Every value shown is the API's answer; nothing is checked here before sending.

import { api, get, post } from "./api.js";
import { clear, clearFormError, errorContent, field, formErrorBox, h, showAlert, showFormError, uid } from "./dom.js";

const CHANNELS = [["sms", "SMS"], ["email", "Email"]];
const URGENCIES = [["high", "High urgency (P1, P2)"], ["low", "Low urgency (P3–P5)"]];
const DEFAULT_RULE = { via: ["sms", "email"], follow_up: null };
const KINDS = { phone: "phone number", email: "email address" };

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch { return ""; }
}

// --- the rules in words --------------------------------------------------------------------------------

/** ["sms", "email"] → "SMS and email"; [] → "nothing". */
function channelWords(via) {
  const order = (c) => { const i = CHANNELS.findIndex(([known]) => known === c); return i < 0 ? CHANNELS.length : i; };
  const names = [...(via || [])].sort((a, b) => order(a) - order(b)).map((c) => (c === "sms" ? "SMS" : c));
  return names.length ? names.join(" and ") : "nothing";
}

const hhmm = (value) => String(value || "").slice(0, 5);

/** One urgency's rule: "email at once, then SMS every 5 min, 2 times, until acknowledged." */
export function ruleWords(rule) {
  const now = channelWords(rule.via);
  const next = rule.follow_up;
  if (!next) return `${now}.`;
  const minutes = `${Number(next.every_minutes)} min`;
  const again = Number(next.times) > 1 ? `every ${minutes}, ${next.times} times, until acknowledged` : `after ${minutes}, unless acknowledged`;
  return `${now} at once, then ${channelWords(next.via)} ${again}.`;
}

/** The person's rules as sentences, or null when they have none (a page is then an SMS and an email). */
export function rulesInWords(rules, timeZone) {
  if (!rules) return null;
  const lines = URGENCIES.map(([urgency, title]) => `${title}: ${ruleWords(rules[urgency] || DEFAULT_RULE)}`);
  const quiet = rules.quiet_hours;
  if (quiet) {
    lines.push(`Quiet hours ${hhmm(quiet.start)}–${hhmm(quiet.end)} (${timeZone || "no time zone set"}): `
      + `low urgency ${quiet.low === "email" ? "reaches you by email only" : "waits"}.`);
  }
  return lines;
}

// --- showing a refusal beside the part of the form it is about -----------------------------------------

function mark(control, text) {
  const note = h("span", { class: "field-error", id: uid("err") }, text);
  control.setAttribute("aria-invalid", "true");
  const hint = control.getAttribute("aria-describedby");
  if (hint && !control.dataset.hint) control.dataset.hint = hint;
  control.setAttribute("aria-describedby", [control.dataset.hint, note.id].filter(Boolean).join(" "));
  control.after(note);
}

/**
 * showFormError, and: a problem the API names as the whole `body` but words as "notification_rules.quiet_hours: …"
 * (a rule about the entry as a whole) is also shown beside that part (after it, for a fieldset). Focus goes to the
 * first control named, as in every form of the console, or else to the form's error message.
 */
function showProblems(form, error) {
  showFormError(form, error);
  for (const problem of (error && error.body && error.body.fields) || []) {
    const path = problem.field === "body" && /^([a-z_]+(?:\.[a-z_]+)*): /.exec(problem.problem || "");
    if (!path) continue;
    const part = form.querySelector(`[data-field="${CSS.escape(`body.${path[1]}`)}"]`);
    if (part && part.getAttribute("aria-invalid") !== "true") mark(part, `${problem.field}: ${problem.problem}`);
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first && first.matches("input, select, textarea") && !first.closest("[hidden]")) first.focus();
  else form.querySelector(".form-error").focus();
}

function errorBox() {
  const box = formErrorBox();
  box.setAttribute("tabindex", "-1");
  return box;
}

/** A result message that takes focus (so a screen reader reads it, and the keyboard continues from there). */
function result(holder, ...content) {
  const message = h("p", { class: "notice", tabindex: "-1" }, ...content);
  clear(holder, message);
  message.focus();
}

// --- the section ---------------------------------------------------------------------------------------

function checkboxes(legend, name, via, dataField) {
  return h("fieldset", { class: "choices", "data-field": dataField }, h("legend", {}, legend),
    CHANNELS.map(([value, label]) => h("label", {}, h("input", { type: "checkbox", name, value, checked: (via || []).includes(value) }), label)));
}

const numberInput = (name, value, min, max, dataField) =>
  h("input", { type: "number", name, value: value ?? "", min, max, step: "1", "data-field": dataField });

/** A checkbox that shows or hides the controls it turns on (hidden controls are not sent). */
function toggle(label, name, on, details) {
  details.id = details.id || uid("more");
  const box = h("input", { type: "checkbox", name, checked: on, "aria-expanded": String(on), "aria-controls": details.id });
  details.hidden = !on;
  box.addEventListener("change", () => {
    details.hidden = !box.checked;
    box.setAttribute("aria-expanded", String(box.checked));
  });
  return h("label", { class: "toggle" }, box, label);
}

export function reachSection(ctx) {
  const summary = h("div", { "aria-busy": "true" }, h("p", {}, "Loading…"));
  const rulesHolder = h("div");
  const rulesResult = h("div");
  const codes = h("div");
  const contactHolder = h("div");
  const contactResult = h("div");
  let state = null;

  const section = h("section", { class: "card reach", "aria-labelledby": "h-reach" },
    h("h2", { id: "h-reach" }, "How pages reach me"),
    h("p", { class: "muted" }, "What reaches you when you are paged, by the incident's urgency. High urgency is a P1 or P2, or an incident not ",
      "prioritised yet; low is P3 to P5. What is not a page (reminders, updates, resolutions) is an email. Changes apply within seconds."),
    summary,
    h("h3", { id: "h-rules" }, "Change my rules"), rulesHolder, rulesResult,
    h("h3", { id: "h-contact" }, "Change my email or phone"),
    h("p", { class: "muted" }, "We send a code to the new one; nothing changes until you type it here (it expires in 10 minutes)."),
    codes, contactHolder, contactResult);

  /** The GET /me/notifications shape, whatever the answer lacks filled in as "none". */
  function take(answer) {
    const a = answer && typeof answer === "object" ? answer : {};
    state = {
      email: a.email || null, phone: a.phone || null, time_zone: a.time_zone || null,
      notification_rules: a.notification_rules && typeof a.notification_rules === "object" ? a.notification_rules : null,
      waiting_for_code: Array.isArray(a.waiting_for_code) ? a.waiting_for_code : [],
    };
  }

  function renderSummary() {
    const words = rulesInWords(state.notification_rules, state.time_zone);
    const rules = state.notification_rules;
    const usesSms = !rules || ["high", "low"].some((u) => {
      const rule = rules[u] || DEFAULT_RULE;
      return (rule.via || []).includes("sms") || (rule.follow_up && (rule.follow_up.via || []).includes("sms"));
    });
    clear(summary,
      h("dl", { class: "facts" },
        h("dt", {}, "Email"), h("dd", { id: "my-email" }, state.email || "none"),
        h("dt", {}, "Phone"), h("dd", { id: "my-phone" }, state.phone || "none"),
        h("dt", {}, "Time zone"), h("dd", { id: "my-time-zone" }, state.time_zone || "not set (quiet hours need one)"),
        h("dt", {}, "Rules"), h("dd", { id: "my-rules" }, words
          ? h("ul", { class: "rule-words" }, words.map((line) => h("li", {}, line)))
          : "No rules: every page is an SMS and an email")),
      usesSms && !state.phone ? h("p", { class: "muted" }, "You have no phone number: an SMS cannot reach you.") : null,
      !state.email ? h("p", { class: "muted" }, "You have no email address: an email cannot reach you.") : null);
    summary.setAttribute("aria-busy", "false");
  }

  // --- the rules editor ---

  function urgencyFieldset(urgency, title, rule) {
    const path = `body.notification_rules.${urgency}`;
    const follow = rule.follow_up;
    const details = h("div", { class: "follow-up" },
      h("div", { class: "form-grid" },
        field("Every (minutes)", numberInput(`${urgency}-every`, follow ? follow.every_minutes : 5, 1, 120, `${path}.follow_up.every_minutes`), "1 to 120"),
        field("Times", numberInput(`${urgency}-times`, follow ? follow.times : 2, 1, 10, `${path}.follow_up.times`), "1 to 10")),
      checkboxes("By", `${urgency}-follow-via`, follow ? follow.via : ["sms"], `${path}.follow_up.via`));
    return h("fieldset", { class: "urgency", "data-field": path }, h("legend", {}, title),
      checkboxes("At once", `${urgency}-via`, rule.via, `${path}.via`),
      h("div", { "data-field": `${path}.follow_up` }, toggle("Then, until someone acknowledges, follow up", `${urgency}-follow`, Boolean(follow), details)),
      details);
  }

  function renderRulesForm() {
    const rules = state.notification_rules;
    const quiet = rules && rules.quiet_hours;
    const zone = browserZone();
    const timeZone = h("input", { type: "text", name: "time_zone", value: state.time_zone || "", autocomplete: "off",
      spellcheck: "false", list: "zone-suggestions", "data-field": "body.time_zone" });
    const useZone = zone ? h("button", { type: "button", class: "secondary", onclick: () => { timeZone.value = zone; timeZone.focus(); } }, `Use ${zone}`) : null;
    const quietDetails = h("div", {},
      h("div", { class: "form-grid" },
        field("From", h("input", { type: "time", name: "quiet-start", value: quiet ? hhmm(quiet.start) : "22:00", "data-field": "body.notification_rules.quiet_hours.start" })),
        field("Until", h("input", { type: "time", name: "quiet-end", value: quiet ? hhmm(quiet.end) : "07:00", "data-field": "body.notification_rules.quiet_hours.end" }))),
      h("fieldset", { class: "choices", "data-field": "body.notification_rules.quiet_hours.low" }, h("legend", {}, "Low urgency in quiet hours"),
        [["nothing", "Waits: nothing reaches me"], ["email", "Email only"]].map(([value, label]) =>
          h("label", {}, h("input", { type: "radio", name: "quiet-low", value, checked: (quiet ? quiet.low : "nothing") === value }), label))));
    const form = h("form", { "aria-labelledby": "h-rules", novalidate: true },
      errorBox(),
      h("div", { class: "urgencies" }, URGENCIES.map(([urgency, title]) => urgencyFieldset(urgency, title, (rules && rules[urgency]) || DEFAULT_RULE))),
      h("fieldset", { class: "quiet", "data-field": "body.notification_rules.quiet_hours" }, h("legend", {}, "Quiet hours"),
        toggle("Hold back low-urgency pages at night (quiet hours)", "quiet", Boolean(quiet), quietDetails), quietDetails,
        field("My time zone", timeZone, `An IANA name, such as Europe/London: quiet hours are kept in it.${zone ? ` This browser's is ${zone}.` : ""}`),
        h("datalist", { id: "zone-suggestions" }, [...new Set([zone, state.time_zone].filter(Boolean))].map((z) => h("option", { value: z }))),
        useZone ? h("div", { class: "actions" }, useZone) : null),
      h("div", { class: "form-buttons" }, h("button", { type: "submit" }, "Save rules"),
        h("button", { type: "button", class: "secondary", onclick: () => save(form, null) }, "Use defaults")));
    form.addEventListener("submit", (event) => { event.preventDefault(); save(form, read(form)); });
    clear(rulesHolder, form);
  }

  /** The form as notification_rules; a number field that is not a number goes as typed, for the API to word it. */
  function read(form) {
    const via = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
    const number = (name) => {
      const raw = form.elements[name].value.trim();
      return raw === "" ? null : Number.isFinite(Number(raw)) ? Number(raw) : raw;
    };
    const rules = {};
    for (const [urgency] of URGENCIES) {
      rules[urgency] = {
        via: via(`${urgency}-via`),
        follow_up: form.elements[`${urgency}-follow`].checked
          ? { every_minutes: number(`${urgency}-every`), times: number(`${urgency}-times`), via: via(`${urgency}-follow-via`) } : null,
      };
    }
    rules.quiet_hours = form.elements.quiet.checked
      ? { start: form.elements["quiet-start"].value, end: form.elements["quiet-end"].value, low: form.elements["quiet-low"].value || "nothing" } : null;
    return rules;
  }

  async function save(form, rules) {
    clearFormError(form);
    rulesResult.replaceChildren();
    const body = { notification_rules: rules };
    const zone = form.elements.time_zone.value.trim();
    if (rules && zone) body.time_zone = zone;  // (left out: the one kept stays)
    const buttons = [...form.querySelectorAll("button")];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      take(await api("PUT", "/me/notification-rules", { body }));
    } catch (error) {
      buttons.forEach((b) => { b.disabled = false; });
      showProblems(form, error);
      return;
    }
    renderSummary();
    renderRulesForm();
    result(rulesResult, rules ? "Saved: pages reach you as the rules above say." : "Back to the defaults: every page is an SMS and an email.");
  }

  // --- email and phone ---

  function renderCodes() {
    clear(codes, state.waiting_for_code.map((waiting) => {
      const kind = KINDS[waiting.kind] || waiting.kind;
      const said = h("p", { id: uid("sent") }, `We sent a code to ${waiting.value}, the new ${kind}. It expires at `,
        h("time", { datetime: waiting.expires_at }, new Date(waiting.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })), ".");
      const code = h("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "12",
        "aria-required": "true", "data-field": "body.code", spellcheck: "false" });
      const form = h("form", { class: "code-form", "aria-label": `Code for ${waiting.value}`, "data-kind": waiting.kind, novalidate: true },
        said, errorBox(), field(`Code sent to ${waiting.value}`, code, "6 digits"),
        h("div", { class: "form-buttons" }, h("button", { type: "submit" }, `Verify ${kind}`)));
      code.setAttribute("aria-describedby", `${said.id} ${code.getAttribute("aria-describedby")}`);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearFormError(form);
        contactResult.replaceChildren();
        try {
          take(await post("/me/contact-methods/verify", { kind: waiting.kind, code: code.value.trim() }));
        } catch (error) {
          showProblems(form, error);
          return;
        }
        renderSummary();
        renderCodes();
        result(contactResult, `Your ${kind} is now ${state[waiting.kind] || waiting.value}.`);
      });
      return form;
    }));
  }

  function renderContactForm() {
    const kind = h("select", { name: "kind", "data-field": "body.kind" },
      [["phone", "Phone number"], ["email", "Email address"]].map(([v, t]) => h("option", { value: v }, t)));
    const value = h("input", { type: "tel", name: "value", autocomplete: "tel", "aria-required": "true", "data-field": "body.value", spellcheck: "false" });
    const hints = { phone: "In international form, such as +447700900123.", email: "Such as name@example.com." };
    const valueField = field("New phone number or email address", value, hints.phone);
    const hint = valueField.querySelector(".muted");
    kind.addEventListener("change", () => {
      const phone = kind.value === "phone";
      value.type = phone ? "tel" : "email";
      value.autocomplete = phone ? "tel" : "email";
      hint.textContent = hints[kind.value];
    });
    const form = h("form", { "aria-labelledby": "h-contact", novalidate: true },
      errorBox(), h("div", { class: "form-grid" }, field("What to change", kind), valueField),
      h("div", { class: "form-buttons" }, h("button", { type: "submit" }, "Send a code")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFormError(form);
      contactResult.replaceChildren();
      let sent;
      try {
        sent = await post("/me/contact-methods", { kind: kind.value, value: value.value.trim() });
      } catch (error) {
        showProblems(form, error);
        return;
      }
      try { take(await get("/me/notifications")); } catch {
        state.waiting_for_code = [...state.waiting_for_code.filter((w) => w.kind !== sent.kind), sent];
      }
      renderCodes();
      value.value = "";
      const codeForm = codes.querySelector(`form[data-kind="${CSS.escape(sent.kind)}"]`);
      if (codeForm) codeForm.elements.code.focus();  // described by "We sent a code to …": read with the field
    });
    clear(contactHolder, form);
  }

  async function load() {
    try {
      take(await get("/me/notifications"));
    } catch (error) {
      clear(summary, h("div", { class: "error", role: "alert" }, ...errorContent(error)));
      summary.setAttribute("aria-busy", "false");
      return;
    }
    renderSummary();
    renderRulesForm();
    renderCodes();
    renderContactForm();
  }

  load().catch(showAlert);
  return section;
}
