// Self-service for any employee: report an incident in plain words (what is wrong, which service, how bad,
// mapped to impact and urgency) and follow one's own reports.

import { enc, get, post } from "./api.js";
import { announce, clear, clearFormError, every, field, formErrorBox, h, radios, select, showAlert, showFormError } from "./dom.js";
import { REFRESH_MS, changes, incidentTable, replaceKeepingFocus } from "./incidents.js";

// "How bad" in an employee's words → the impact × urgency the priority matrix reads (rules.yaml).
export const IMPACT = [
  ["high", "Many people: a whole site, all customers, or everyone in a department"],
  ["medium", "Some people: a team, or some customers"],
  ["low", "Just me, or a few people"],
];
export const URGENCY = [
  ["high", "Work has stopped: nobody affected can do their job"],
  ["medium", "Work is slowed down, or there is a clumsy workaround"],
  ["low", "It can wait: an annoyance, not a blocker"],
];

function reportForm(ctx, services, onReported) {
  const service = services
    ? select("service", [["", "I don't know"], ...services.map((s) => [s.id, s.id])], "")
    : h("input", { type: "text", name: "service", autocomplete: "off" });
  service.dataset.field = "body.service";
  const title = h("input", { type: "text", name: "title", autocomplete: "off", "data-field": "body.title", "aria-required": "true" });
  const description = h("textarea", { name: "description", rows: 5, "data-field": "body.description" });
  const done = h("div", { role: "status" });
  const impact = radios("How many people are affected?", "impact", IMPACT, "medium");
  const urgency = radios("How much does it stop work?", "urgency", URGENCY, "medium");
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "h-report" },
    h("h2", { id: "h-report" }, "What is wrong?"), formErrorBox(),
    field("In one line, what is wrong?", title, "For example: “Checkout page shows an error after paying”"),
    field("More details (optional)", description, "What you did, what you saw, since when"),
    field("Which service?", service),
    impact, urgency,
    h("div", { class: "form-buttons" }, h("button", { type: "submit" }, "Report incident")), done);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    done.replaceChildren();
    const data = new FormData(form);
    const body = {
      title: String(data.get("title") || "").trim(),
      description: String(data.get("description") || "").trim(),
      impact: data.get("impact"),
      urgency: data.get("urgency"),
    };
    const chosen = String(data.get("service") || "").trim();
    if (chosen) body.service = chosen;
    try {
      const incident = await post("/incidents", body);
      clear(done, h("p", { class: "notice" }, "Reported as ", h("a", { href: `#/incidents/${enc(incident.reference)}` }, incident.reference),
        `: ${incident.title}. The team on call has been told; follow it under My reports.`));
      announce(`Reported as ${incident.reference}.`);
      form.reset();
      onReported(incident);
    } catch (error) {
      showFormError(form, error);
    }
  });
  return form;
}

// GET /incidents?reporter=me: everyone's own reports (a reporter may list no other incidents).
async function ownReports() {
  return (await get("/incidents?reporter=me&limit=100")).items;
}

function myReports(ctx, container) {
  let shown = null;
  let signature = null;
  return async (announceChanges) => {
    const rows = await ownReports();
    const next = JSON.stringify(rows.map((i) => [i.reference, i.status, i.version]));
    if (next === signature) return;
    const said = announceChanges ? changes(shown, rows) : [];
    shown = rows;
    signature = next;
    replaceKeepingFocus(container, rows.length ? incidentTable(rows, `${rows.length} report${rows.length === 1 ? "" : "s"} by you`)
      : h("p", {}, "You have not reported any incident yet."));
    if (said.length) announce(said.slice(0, 3).join(". "));
  };
}

export function render(main, ctx, { mine }) {
  const list = h("div", { "aria-busy": "true" }, h("p", {}, "Loading your reports…"));
  const load = myReports(ctx, list);
  if (mine) {
    main.append(h("h1", { tabindex: "-1" }, "My reports"),
      h("p", {}, "Incidents you reported, refreshed every few seconds. ", ctx.may("report") ? h("a", { href: "#/report" }, "Report another") : null),
      list);
  } else {
    const formBox = h("div", {}, h("p", {}, "Loading…"));
    main.append(h("h1", { tabindex: "-1" }, "Report an incident"),
      h("p", {}, "Something broken or slow? Tell us here; the team on call is told at once."), formBox,
      h("section", { class: "card", "aria-labelledby": "h-mine" }, h("h2", { id: "h-mine" }, "Your reports"), list));
    ctx.directory().catch(() => null).then((dir) => clear(formBox, reportForm(ctx, dir && dir.services, () => load(false).catch(showAlert))));
  }
  load(false).then(() => list.setAttribute("aria-busy", "false")).catch(showAlert);
  return every(REFRESH_MS, () => load(true));
}
