// Who is on call now across every schedule (GET /on-call), the signed-in person's own shifts
// (GET /people/{id}/shifts), and taking or giving a shift: an override (POST /admin/schedules/{id}/overrides),
// validated by the directory like any admin change; and the person's secret calendar feed address
// (POST/DELETE /me/calendar-feed), which calendar apps subscribe to without signing in.

import { api, currentConfig, enc, get, post } from "./api.js";
import { announce, append, cell, clear, clearFormError, every, field, formErrorBox, h, inputToIso, localInputValue, radios, select, showAlert, showFormError, time } from "./dom.js";

const SHIFT_DAYS = 28;
const HOUR = 3600 * 1000;

export function render(main, ctx) {
  const now = h("div", {}, h("p", {}, "Loading…"));
  const mine = h("div", {}, h("p", {}, "Loading…"));
  const formBox = h("div");
  const feedBox = h("div", {}, h("p", {}, "Loading…"));
  append(main, [h("h1", { tabindex: "-1" }, "On call"),
    h("section", { class: "card", "aria-labelledby": "h-now" }, h("h2", { id: "h-now" }, "On call now"), now),
    h("section", { class: "card", "aria-labelledby": "h-mine" }, h("h2", { id: "h-mine" }, `Your shifts, next ${SHIFT_DAYS} days`), mine),
    ctx.me.kind === "person" ? h("section", { class: "card", "aria-labelledby": "h-feed" },
      h("h2", { id: "h-feed" }, "Your shifts in your calendar app"), feedBox) : null,
    formBox]);

  let schedules = null;  // [{schedule, name, person}] from GET /on-call
  let people = null;  // the directory's people, for admins (others name a person by id)
  let shiftForm = null;
  const scheduleName = (id) => (schedules.find((s) => s.schedule === id) || {}).name || id;

  async function loadNow() {
    const answer = await get("/on-call");
    schedules = answer.schedules;
    const rows = schedules.map((entry) => {
      const who = entry.person ? `${entry.person.name || entry.person.id} (${entry.person.id})` : h("span", { class: "muted" }, entry.vacancy ? `nobody (${entry.vacancy})` : "nobody");
      const you = entry.person && entry.person.id === ctx.me.person ? h("strong", {}, " (you)") : null;
      const take = ctx.may("take_shift") && !you ? h("button", {
        type: "button", class: "secondary", "aria-label": `Take over ${entry.name || entry.schedule}`,
        onclick: () => fill({ schedule: entry.schedule, mode: "take", start: new Date(), end: new Date(Date.now() + HOUR) }),
      }, "Take over…") : null;
      return h("tr", {}, cell("Schedule", entry.name || entry.schedule), cell("On call", who, you), cell("Action", take || "—"));
    });
    clear(now, rows.length ? h("table", { class: "stack" }, h("caption", {}, `${rows.length} schedule${rows.length === 1 ? "" : "s"}, at ${new Date(answer.at).toLocaleTimeString()}`),
      h("thead", {}, h("tr", {}, ["Schedule", "On call", "Action"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
      : h("p", {}, "No schedules in the directory."));
  }

  async function loadMine() {
    const answer = await get(`/people/${enc(ctx.me.person)}/shifts?days=${SHIFT_DAYS}`);
    const shifts = answer.shifts;
    if (!shifts.length) { clear(mine, h("p", {}, `You have no shifts in the next ${SHIFT_DAYS} days.`)); return; }
    clear(mine, h("table", { class: "stack" }, h("caption", {}, `${shifts.length} shift${shifts.length === 1 ? "" : "s"}`),
      h("thead", {}, h("tr", {}, ["Schedule", "From", "To", "Action"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, shifts.map((shift) => h("tr", {},
        cell("Schedule", scheduleName(shift.schedule)),
        cell("From", Date.parse(shift.start) <= Date.now() ? "now" : time(shift.start, true)),
        cell("To", time(shift.end, true)),
        cell("Action", ctx.may("take_shift") ? h("button", {
          type: "button", class: "secondary", "aria-label": `Give away ${scheduleName(shift.schedule)} shift ending ${new Date(shift.end).toLocaleString()}`,
          onclick: () => fill({ schedule: shift.schedule, mode: "give", start: new Date(Math.max(Date.now(), Date.parse(shift.start))), end: new Date(shift.end) }),
        }, "Give away…") : "—"))))));
  }

  function renderForm() {
    if (!ctx.may("take_shift") || !schedules.length) return;
    const schedule = select("schedule", schedules.map((s) => [s.schedule, s.name || s.schedule]), "");
    const person = people
      ? select("person", [["", "Choose a person"], ...people.filter((p) => p.id !== ctx.me.person).map((p) => [p.id, `${p.name} (${p.id})`])], "")
      : h("input", { type: "text", name: "person", autocomplete: "off" });
    person.dataset.field = "body.person";
    const start = h("input", { type: "datetime-local", name: "start", "data-field": "body.start", value: localInputValue(new Date()) });
    const end = h("input", { type: "datetime-local", name: "end", "data-field": "body.end", value: localInputValue(new Date(Date.now() + HOUR)) });
    const done = h("div", { role: "status" });
    const mode = radios("Who will be on call", "mode", [["take", "Me: I take the shift"], ["give", "Someone else: I give my shift to…"]], "take");
    const personField = field(people ? "Give to" : "Give to (their id in the directory)", person);
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
        const who = body.person === ctx.me.person ? `${ctx.me.name} (${ctx.me.person})` : ctx.personName(body.person, people && { people });
        const words = `${who} is on call for ${form.schedule.selectedOptions[0].textContent} from ${new Date(body.start).toLocaleString()} to ${new Date(body.end).toLocaleString()}.`;
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

  async function loadFeed(made = null) {
    const feed = made || await get("/me/calendar-feed");
    const act = (label, method, attrs = {}) => h("button", {
      type: "button", ...attrs,
      onclick: async () => {
        try {
          const answer = await api(method, "/me/calendar-feed");
          announce(method === "POST" ? "New calendar address made; the previous one no longer works." : "Calendar address revoked.");
          await loadFeed(method === "POST" ? answer : null);
        } catch (error) { showAlert(error); }
      },
    }, label);
    const about = h("p", {}, "Subscribe to a secret address in Google Calendar, Outlook or Apple Calendar to see your shifts on every ",
      "schedule there. Anyone who has the address can read your shifts: make a new one (the old stops working) or revoke it if it leaks.");
    const parts = [about];
    if (made && made.path) {
      const url = new URL(currentConfig().api + made.path, location.href).href;
      const input = h("input", { type: "text", readonly: true, value: url, id: "feed-url", onfocus: (e) => e.currentTarget.select() });
      parts.push(field("Your calendar address (shown this once: copy it now)", input),
        h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: async () => {
          try { await navigator.clipboard.writeText(url); announce("Address copied."); } catch { input.select(); announce("Select the address and copy it."); }
        } }, "Copy address")));
    } else if (feed.active) {
      parts.push(h("p", {}, "You have an address, made ", time(feed.created_at, true), ". It was shown once; make a new one to see it again."));
    } else {
      parts.push(h("p", { class: "muted" }, "You have no calendar address."));
    }
    parts.push(h("div", { class: "actions" }, act(feed.active ? "Make a new address" : "Make an address", "POST"),
      feed.active ? act("Revoke", "DELETE", { class: "danger" }) : null));
    clear(feedBox, ...parts);
  }

  if (ctx.me.kind === "person") loadFeed().catch(showAlert);
  Promise.all([loadNow(), ctx.directory().then((d) => { people = d && d.people; }).catch(() => null)])
    .then(() => { renderForm(); return loadMine(); }).catch(showAlert);
  return every(30000, loadNow);
}
