// Who is on call now across every schedule, the signed-in person's own shifts, and taking or giving a shift:
// an override (POST /admin/schedules/{id}/overrides), validated by the directory like any admin change.

import { enc, get, post } from "./api.js";
import { announce, cell, clear, clearFormError, every, field, formErrorBox, h, inputToIso, localInputValue, radios, select, showAlert, showFormError, time } from "./dom.js";

const SHIFT_DAYS = 28;
const HOUR = 3600 * 1000;

/** The VEVENTs of an iCalendar feed as [{start, end, summary}] (ISO instants); lines unfolded per RFC 5545. */
export function parseCalendar(text) {
  const lines = text.replace(/\r\n[ \t]/g, "").split(/\r?\n/);
  const events = [];
  let current = null;
  const instant = (v) => v.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z");
  for (const line of lines) {
    if (line === "BEGIN:VEVENT") current = {};
    else if (line === "END:VEVENT" && current) { events.push(current); current = null; }
    else if (current) {
      const [name, ...rest] = line.split(":");
      const value = rest.join(":");
      if (name.startsWith("DTSTART")) current.start = instant(value);
      else if (name.startsWith("DTEND")) current.end = instant(value);
      else if (name === "SUMMARY") current.summary = value.replace(/\\([,;\\])/g, "$1");
    }
  }
  return events;
}

export function render(main, ctx) {
  const now = h("div", {}, h("p", {}, "Loading…"));
  const mine = h("div", {}, h("p", {}, "Loading…"));
  const formBox = h("div");
  main.append(h("h1", { tabindex: "-1" }, "On call"),
    h("section", { class: "card", "aria-labelledby": "h-now" }, h("h2", { id: "h-now" }, "On call now"), now),
    h("section", { class: "card", "aria-labelledby": "h-mine" }, h("h2", { id: "h-mine" }, `Your shifts, next ${SHIFT_DAYS} days`), mine),
    formBox);

  let dir = null;
  let shiftForm = null;

  async function loadNow() {
    dir = await ctx.directory(true);
    if (!dir) { clear(now, h("p", {}, "Your roles do not allow reading the schedules.")); return; }
    const answers = await Promise.all(dir.schedules.map((s) => get(`/schedules/${enc(s.id)}/on-call`).catch((error) => ({ error }))));
    const rows = dir.schedules.map((schedule, i) => {
      const answer = answers[i];
      const who = answer.error ? h("span", { class: "error" }, answer.error.message) : ctx.personName(answer.person.id, dir);
      const you = !answer.error && answer.person.id === ctx.me.person ? h("strong", {}, " (you)") : null;
      const take = ctx.may("take_shift") && !you && !answer.error ? h("button", {
        type: "button", class: "secondary", "aria-label": `Take over ${schedule.name || schedule.id}`,
        onclick: () => fill({ schedule: schedule.id, mode: "take", start: new Date(), end: new Date(Date.now() + HOUR) }),
      }, "Take over…") : null;
      return h("tr", {}, cell("Schedule", schedule.name || schedule.id), cell("On call", who, you),
        cell("Action", take || "—"));
    });
    clear(now, rows.length ? h("table", { class: "stack" }, h("caption", {}, `${rows.length} schedule${rows.length === 1 ? "" : "s"}, at ${new Date().toLocaleTimeString()}`),
      h("thead", {}, h("tr", {}, ["Schedule", "On call", "Action"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
      : h("p", {}, "No schedules in the directory."));
  }

  async function loadMine() {
    if (!dir) { clear(mine, h("p", { class: "muted" }, "—")); return; }
    const person = ctx.me.person;
    const feeds = await Promise.all(dir.schedules.map((s) =>
      get(`/schedules/${enc(s.id)}/calendar.ics?person=${enc(person)}&days=${SHIFT_DAYS}`, { text: true }).then(parseCalendar).then((events) => events.map((e) => ({ ...e, schedule: s })))));
    const shifts = feeds.flat().filter((s) => Date.parse(s.end) > Date.now()).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    if (!shifts.length) { clear(mine, h("p", {}, `You have no shifts in the next ${SHIFT_DAYS} days.`)); return; }
    clear(mine, h("table", { class: "stack" }, h("caption", {}, `${shifts.length} shift${shifts.length === 1 ? "" : "s"}`),
      h("thead", {}, h("tr", {}, ["Schedule", "From", "To", "Action"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, shifts.map((shift) => h("tr", {},
        cell("Schedule", shift.schedule.name || shift.schedule.id),
        cell("From", Date.parse(shift.start) <= Date.now() ? "now" : time(shift.start, true)),
        cell("To", time(shift.end, true)),
        cell("Action", ctx.may("take_shift") ? h("button", {
          type: "button", class: "secondary", "aria-label": `Give away ${shift.schedule.name || shift.schedule.id} shift ending ${new Date(shift.end).toLocaleString()}`,
          onclick: () => fill({ schedule: shift.schedule.id, mode: "give", start: new Date(Math.max(Date.now(), Date.parse(shift.start))), end: new Date(shift.end) }),
        }, "Give away…") : "—"))))));
  }

  function renderForm() {
    if (!ctx.may("take_shift") || !dir) return;
    const schedule = select("schedule", dir.schedules.map((s) => [s.id, s.name || s.id]), "");
    const person = select("person", [["", "Choose a person"], ...dir.people.filter((p) => p.id !== ctx.me.person).map((p) => [p.id, `${p.name} (${p.id})`])], "");
    person.dataset.field = "body.person";
    const start = h("input", { type: "datetime-local", name: "start", "data-field": "body.start", value: localInputValue(new Date()) });
    const end = h("input", { type: "datetime-local", name: "end", "data-field": "body.end", value: localInputValue(new Date(Date.now() + HOUR)) });
    const done = h("div", { role: "status" });
    const mode = radios("Who will be on call", "mode", [["take", "Me: I take the shift"], ["give", "Someone else: I give my shift to…"]], "take");
    const personField = field("Give to", person);
    shiftForm = h("form", { class: "card", "aria-labelledby": "h-shift", novalidate: true },
      h("h2", { id: "h-shift" }, "Take or give a shift"),
      h("p", { class: "muted" }, "Adds an override to the schedule: whoever it names is on call in that time, instead of the rotation."),
      formErrorBox(), h("div", { class: "form-grid" }, field("Schedule", schedule), h("div", {}, mode, personField),
        field("From (your time)", start), field("Until (your time)", end)),
      h("div", { class: "form-buttons" }, h("button", { type: "submit" }, "Add override")), done);
    const showPerson = () => { personField.hidden = shiftForm.elements.mode.value !== "give"; };
    shiftForm.addEventListener("change", showPerson);
    showPerson();
    shiftForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFormError(shiftForm);
      done.replaceChildren();
      const form = shiftForm.elements;
      const giving = form.mode.value === "give";
      const body = { person: giving ? form.person.value : ctx.me.person, start: inputToIso(form.start.value), end: inputToIso(form.end.value) };
      try {
        await post(`/admin/schedules/${enc(form.schedule.value)}/overrides`, body);
        const words = `${ctx.personName(body.person, dir)} is on call for ${form.schedule.selectedOptions[0].textContent} from ${new Date(body.start).toLocaleString()} to ${new Date(body.end).toLocaleString()}.`;
        clear(done, h("p", { class: "notice" }, `Override added: ${words}`));
        announce(`Override added: ${words}`);
        await loadNow();
        await loadMine();
      } catch (error) {
        showFormError(shiftForm, error);
      }
    });
    clear(formBox, shiftForm);
  }

  function fill({ schedule, mode, start, end }) {
    const form = shiftForm.elements;
    form.schedule.value = schedule;
    form.mode.value = mode;
    form.start.value = localInputValue(start);
    form.end.value = localInputValue(end);
    shiftForm.dispatchEvent(new Event("change"));
    (mode === "give" ? form.person : form.start).focus();
  }

  loadNow().then(() => { renderForm(); return loadMine(); }).catch(showAlert);
  return every(30000, loadNow);
}
