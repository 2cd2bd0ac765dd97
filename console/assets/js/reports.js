// Reports for a period (GET /reports; docs/reports.md): MTTA/MTTR with a bar per week, SLA compliance, escalations,
// noisy alerts and problem candidates, on-call load by time band; the period's incidents as CSV
// (GET /reports/incidents.csv, fetched with the token and handed to the browser as a file).

import { get, post } from "./api.js";
import { announce, append, cell, clear, duration, field, h, saveFile, select, showAlert } from "./dom.js";

const DAY = 24 * 3600 * 1000;
const PERIODS = [["7", "Last 7 days"], ["30", "Last 30 days"], ["90", "Last 90 days"], ["365", "Last 365 days"], ["custom", "Dates of your choice"]];
const SOURCES = [["", "All sources"], ["cloudwatch_alarm", "CloudWatch alarms"], ["pagerduty_events", "PagerDuty Events API"],
  ["alertmanager", "Alertmanager"], ["email", "Email"], ["api", "Reported (API, console, CLI)"]];

const seconds = (value) => (value === null || value === undefined ? "—" : duration(value));
const percent = (part, whole) => (whole ? `${Math.round((100 * part) / whole)} %` : "—");

function table(caption, headings, rows) {
  if (!rows.length) return h("p", { class: "muted" }, `${caption}: none in this period.`);
  return h("table", { class: "stack" }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows));
}

/** A bar whose width is the value's share of the largest: the number is always written beside it. */
function bar(value, largest, label) {
  if (value === null || value === undefined) return label;
  const share = largest ? Math.max(0.02, (value || 0) / largest) : 0;  // of the cell's 60 %: the rest is for the number
  const shown = h("span", { class: "bar", "aria-hidden": "true" });
  shown.style.width = `${(60 * share).toFixed(1)}%`;  // (CSSOM: the console's CSP refuses style attributes)
  return h("span", { class: "bar-cell" }, shown, h("span", {}, label));
}

export function render(main, ctx) {
  const period = select("period", PERIODS, "30");
  const team = select("team", [["", "All teams"]], "");
  const priority = select("priority", [["", "All priorities"], ...["P1", "P2", "P3", "P4", "P5"].map((p) => [p, p])], "");
  const service = select("service", [["", "All services"]], "");
  const source = select("source", SOURCES, "");
  const from = h("input", { type: "date", name: "from" });
  const to = h("input", { type: "date", name: "to" });
  const dates = [field("From (your time, from midnight)", from), field("To (your time, up to midnight after)", to)];
  const showDates = () => dates.forEach((d) => { d.hidden = period.value !== "custom"; });
  period.addEventListener("change", showDates);
  showDates();
  const download = h("button", { type: "button", class: "secondary" }, "Download CSV");
  const body = h("div", {}, h("p", {}, "Loading…"));
  const form = h("form", { class: "card", "aria-label": "Which incidents" },
    h("div", { class: "form-grid report-filters" }, field("Period", period), ...dates, field("Team", team), field("Service", service),
      field("Priority", priority), field("Source", source)),
    h("div", { class: "form-buttons" }, h("button", { type: "submit" }, "Show"), download));
  append(main, [h("h1", { tabindex: "-1" }, "Reports"), ctx.may("run_drill") ? drillCard(ctx) : null, form, body]);

  ctx.directory().then((dir) => {
    if (!dir) return;
    dir.teams.forEach((t) => team.append(h("option", { value: t.id }, t.name || t.id)));
    (dir.services || []).forEach((s) => service.append(h("option", { value: s.id }, s.name || s.id)));
  }).catch(() => {});

  // [start, end) of the period: the last N days up to now, or the chosen dates from local midnight to the midnight
  // after the last one (the API refuses a reversed or over-400-day period, naming the field).
  const span = () => {
    if (period.value !== "custom") {
      const end = new Date();
      return [new Date(end.getTime() - Number(period.value) * DAY), end];
    }
    const start = from.valueAsDate ? new Date(`${from.value}T00:00`) : new Date(Date.now() - 30 * DAY);
    const end = to.valueAsDate ? new Date(new Date(`${to.value}T00:00`).getTime() + DAY) : new Date();
    return [start, end];
  };

  const query = () => {
    const [start, end] = span();
    const params = new URLSearchParams({ from: start.toISOString(), to: end.toISOString() });
    for (const [name, control] of [["team", team], ["service", service], ["priority", priority], ["source", source]]) {
      if (control.value) params.set(name, control.value);
    }
    return params;
  };

  async function load() {
    const params = query();
    const [start, end] = span();
    params.set("bucket", end - start > 90 * DAY ? "month" : "week");
    const report = await get(`/reports?${params}`);
    clear(body, ...sections(report));
    const which = period.value === "custom" ? `${start.toLocaleDateString()} to ${new Date(end - 1).toLocaleDateString()}`
      : PERIODS.find(([v]) => v === period.value)[1].toLowerCase();
    announce(`Report for ${which}: ${report.incidents} incidents`);
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load().catch(showAlert); });
  download.addEventListener("click", async () => {
    try {
      saveFile(await get(`/reports/incidents.csv?${query()}`, { text: true }), "text/csv", "incidents.csv");
    } catch (error) { showAlert(error); }
  });
  load().catch(showAlert);
}

/** Start a drill: a practice incident paged through the real policy and schedules (POST /drills). */
function drillCard(ctx) {
  const service = select("service", [["", "The default team's"]], "");
  ctx.directory().then((dir) => { if (dir) dir.services.forEach((s) => service.append(h("option", { value: s.id }, s.id))); }).catch(() => {});
  const start = h("button", { type: "submit", class: "secondary" }, "Start drill");
  const card = h("form", { class: "card", "aria-labelledby": "h-drill" }, h("h2", { id: "h-drill" }, "Training drill"),
    h("p", { class: "muted" }, "Pages whoever is on call now, with every message marked as a drill; the drill's page says how fast each responder answered. Drills are left out of the reports."),
    field("Service", service), h("div", { class: "form-buttons" }, start));
  card.addEventListener("submit", async (event) => {
    event.preventDefault();
    start.disabled = true;
    try {
      const incident = await post("/drills", service.value ? { service: service.value } : {});
      ctx.go(`#/incidents/${encodeURIComponent(incident.reference)}`);
    } catch (error) { showAlert(error); } finally { start.disabled = false; }
  });
  return card;
}

function usd(amount) {
  return amount < 0.01 ? `$${amount.toFixed(4)}` : `$${amount.toFixed(2)}`;
}

function costText(cost) {
  if (cost.aws_usd === null) return "— (no incident here has an estimate yet)";
  const messaging = cost.messaging_usd ? `; emails and SMS ${usd(cost.messaging_usd)}` : "";
  const over = `${cost.estimated_incidents} incident${cost.estimated_incidents === 1 ? "" : "s"}`;
  return `${usd(cost.aws_usd)} for ${over} (${usd(cost.aws_usd_per_incident * 1000)} per 1,000)${messaging}`;
}

function sections(report) {
  const periods = report.by_period;
  const largest = Math.max(0, ...periods.map((p) => p.mttr.p50_seconds || 0), ...periods.map((p) => p.mtta.p50_seconds || 0));
  const sla = report.sla;
  const esc = report.escalations;
  return [
    h("section", { class: "card", "aria-labelledby": "h-summary" }, h("h2", { id: "h-summary" }, "Summary"),
      h("dl", { class: "facts summary" },
        h("dt", {}, "Incidents"), h("dd", {}, String(report.incidents), report.drills_excluded ? ` (${report.drills_excluded} drills left out)` : ""),
        h("dt", {}, "Time to acknowledge (MTTA)"), h("dd", {}, `median ${seconds(report.mtta.p50_seconds)}, 90 % within ${seconds(report.mtta.p90_seconds)}, mean ${seconds(report.mtta.mean_seconds)}`),
        h("dt", {}, "Time to resolve (MTTR)"), h("dd", {}, `median ${seconds(report.mttr.p50_seconds)}, 90 % within ${seconds(report.mttr.p90_seconds)}, mean ${seconds(report.mttr.mean_seconds)}`),
        h("dt", {}, "Time to first page"), h("dd", {}, `median ${seconds(report.time_to_first_page.p50_seconds)}`),
        h("dt", {}, "Resolved by their alert's recovery"), h("dd", {}, report.auto_resolved_share === null ? "—" : `${Math.round(report.auto_resolved_share * 100)} %`),
        h("dt", {}, "Escalations"), h("dd", {}, `${esc.by_timeout} by timeout, ${esc.by_hand} by hand, ${esc.reassignments} reassignments; ${esc.reached_incident_manager} reached the incident manager`),
        h("dt", {}, "AWS cost (estimated)"), h("dd", {}, costText(report.cost)))),
    h("section", { class: "card", "aria-labelledby": "h-trend" }, h("h2", { id: "h-trend" }, "Median MTTA and MTTR over time"),
      table(`${periods.length} ${report.filter.bucket}${periods.length === 1 ? "" : "s"}`, ["Period", "Incidents", "MTTA (median)", "MTTR (median)"],
        periods.map((p) => h("tr", {}, cell("Period", p.key), cell("Incidents", String(p.incidents)),
          cell("MTTA (median)", bar(p.mtta.p50_seconds, largest, seconds(p.mtta.p50_seconds))),
          cell("MTTR (median)", bar(p.mttr.p50_seconds, largest, seconds(p.mttr.p50_seconds))))))),
    h("section", { class: "card", "aria-labelledby": "h-sla" }, h("h2", { id: "h-sla" }, "SLA compliance"),
      table("Targets met, by priority", ["Priority", "Incidents", "Response met", "Resolution met"],
        sla.map((r) => h("tr", {}, cell("Priority", r.priority), cell("Incidents", String(r.incidents)),
          cell("Response met", `${percent(r.response_met, r.response_met + r.response_breached)} (${r.response_breached} breached)`),
          cell("Resolution met", `${percent(r.resolution_met, r.resolution_met + r.resolution_breached)} (${r.resolution_breached} breached)`)))),
      report.breaches.length ? h("p", {}, "Breached: ", report.breaches.map((b, i) => [i ? ", " : "",
        h("a", { href: `#/incidents/${encodeURIComponent(b.reference)}` }, b.reference), ` (${b.target})`])) : null),
    h("section", { class: "card", "aria-labelledby": "h-alerts" }, h("h2", { id: "h-alerts" }, "Noisy alerts"),
      table("Top alerts by incidents", ["Alert", "Incidents", "Occurrences", "Flaps"],
        report.top_alerts_by_incidents.map((a) => h("tr", {}, cell("Alert", a.alert), cell("Incidents", String(a.incidents)),
          cell("Occurrences", String(a.occurrences)), cell("Flaps", String(a.flaps))))),
      report.problem_candidates.length ? h("div", {}, h("h3", {}, "Problem candidates (3 or more incidents within 30 days)"),
        h("ul", {}, report.problem_candidates.map((c) => h("li", {}, `${c.kind} ${c.key}: ${c.incidents} incidents (${c.references.join(", ")})`)))) : null),
    h("section", { class: "card", "aria-labelledby": "h-load" }, h("h2", { id: "h-load" }, "On-call load"),
      h("p", { class: "muted" }, "Interruptions are SMS, in each person's own time zone: business 08–18 Monday to Friday, sleep 22–08."),
      table("People", ["Person", "Pages", "Interruptions: business / off hours / sleep", "Acknowledged", "Hours on call"],
        report.on_call.map((p) => h("tr", {}, cell("Person", p.person),
          cell("Pages", String(p.pages)),
          cell("Interruptions: business / off hours / sleep", `${p.interruptions.business} / ${p.interruptions.off_hours} / ${p.interruptions.sleep} (${p.time_zone})`),
          cell("Acknowledged", String(p.acknowledgements)), cell("Hours on call", p.hours_on_call === null ? "— (not for a filtered report)" : String(p.hours_on_call)))))),
  ];
}
