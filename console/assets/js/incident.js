// One incident: summary, SLA, who was paged when, occurrences, related alerts, the whole timeline, and the
// actions the signed-in person's roles allow in the incident's state. Refreshes itself like the list.

import { api, enc, get } from "./api.js";
import { announce, cell, clear, duration, every, h, priorityBadge, saveFile, showAlert, statusBadge, time } from "./dom.js";
import { openForm } from "./dialog.js";
import { REFRESH_MS, incidentTable } from "./incidents.js";
import { mayOn } from "./roles.js";

const OPEN = ["triggered", "acknowledged", "on_hold"];
const reasonField = (label) => ({ name: "reason", label, type: "textarea", optional: true });

// Each action: the role grant it needs (roles.js), the states it applies in, its route and its form (none: one press).
export const ACTIONS = [
  { name: "acknowledge", label: "Acknowledge", when: ["triggered"], path: "acknowledge", done: "acknowledged" },
  { name: "note", label: "Add note", when: [...OPEN, "resolved"], path: "notes", done: "note added",
    fields: [{ name: "text", label: "Note", type: "textarea" }] },
  { name: "hold", label: "Put on hold", when: ["acknowledged"], path: "hold", done: "put on hold",
    fields: [reasonField("What is it waiting on? (optional)")] },
  { name: "resume", label: "Resume", when: ["on_hold"], path: "resume", done: "resumed" },
  { name: "escalate", label: "Escalate", when: ["triggered", "acknowledged"], path: "escalate", done: "escalated to the next level",
    fields: [reasonField("Why escalate? (optional)")] },
  { name: "reassign", label: "Reassign", when: OPEN, path: "reassign", done: "reassigned",
    fields: [{ name: "to", label: "Reassign to", type: "person" }] },
  { name: "resolve", label: "Resolve", when: OPEN, path: "resolve", done: "resolved",
    fields: [{ name: "resolution_notes", label: "Resolution notes", type: "textarea" }] },
  { name: "reopen", label: "Reopen", when: ["resolved"], path: "reopen", done: "reopened",
    fields: [reasonField("Why reopen? (optional)")] },
  { name: "post_update", label: "Post stakeholder update", when: [...OPEN, "resolved"], path: "updates", done: "stakeholder update posted",
    fields: [{ name: "message", label: "Update for stakeholders", type: "textarea" }] },
  { name: "run_drill", label: "End drill", when: (i) => i.drill && i.status !== "closed", url: (ref) => `/drills/${enc(ref)}/end`,
    done: "drill ended: resolved and closed, every timer stopped" },
  { name: "link_problem", label: "Link to problem", when: () => true, path: "problem", done: "linked to the problem", directoryChanged: true,
    fields: [{ name: "problem", label: "Problem record id (Directory → Problems), e.g. PRB-1" }] },
  { name: "complete_review", label: "Complete review", when: (i) => Boolean(i.review && !i.review.completed_at), path: "review",
    done: "review completed", fields: [{ name: "summary", label: "Review summary", type: "textarea" }] },
];

const applies = (action, incident) => (typeof action.when === "function" ? action.when(incident) : action.when.includes(incident.status));

const PAGING = ["routed", "paged", "notification_sent", "notification_failed", "notification_held", "page_skipped", "escalation_exhausted", "incident_manager", "reassigned"];
const OCCURRENCES = ["opened", "occurrence", "alarm_state", "change_event", "reopened"];
const SLA_WORDS = { running: "on track", at_risk: "at risk", breached: "breached", paused: "paused (on hold)", met: "met" };

const facts = (pairs) => h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
  .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));

function slaClock(name, view) {
  if (!view) return null;
  let left = "";
  if (view.state !== "met") {
    const seconds = (Date.parse(view.due_at) - Date.now()) / 1000;
    left = view.state === "paused" ? `; ${duration(view.seconds_left)} left when resumed`
      : seconds >= 0 ? `; ${duration(seconds)} left` : `; overdue by ${duration(seconds)}`;
  }
  return [name, h("span", {}, h("span", { class: `badge sla-${view.state}` }, SLA_WORDS[view.state] || view.state), ` due `, time(view.due_at), left)];
}

function linkedProblems(incident, dir) {
  const linked = ((dir && dir.problems) || []).filter((p) => (p.incidents || []).includes(incident.reference));
  return linked.length ? linked.map((p, i) => [i ? "; " : "", h("a", { href: "#/directory/problems" }, p.id),
    ` ${p.title} (${(p.status || "investigating").replace("_", " ")})`]) : null;
}

function summary(incident, ctx, dir) {
  const person = (id) => (id ? ctx.personName(id, dir) : null);
  const review = incident.review;
  const known = incident.known_error;
  const last = incident.previously;
  return facts([
    ["Known error", known ? [h("a", { href: "#/directory/problems" }, known.problem), ` ${known.title}. `, h("strong", {}, "Workaround: "), known.workaround] : null],
    ["Problems", linkedProblems(incident, dir)],
    ["Last time", last ? [h("a", { href: `#/incidents/${encodeURIComponent(last.reference)}` }, last.reference), ` resolved${last.resolved_by ? ` by ${person(last.resolved_by)}` : ""}: ${last.resolution_notes}`] : null],
    ["Status", statusBadge(incident.status)],
    ["Priority", [priorityBadge(incident.priority), incident.impact ? ` impact ${incident.impact} × urgency ${incident.urgency}` : ""]],
    ["Category", incident.category],
    ["Team", incident.team],
    ["Service", incident.service],
    ["Assignee", person(incident.assignee)],
    ["Incident manager", person(incident.incident_manager)],
    ["Reported by", person(incident.reporter)],
    ["Source", incident.source],
    ["Opened", time(incident.opened_at)],
    ["Acknowledged", incident.acknowledged_at ? [time(incident.acknowledged_at), ` by ${person(incident.acknowledged_by)}`] : null],
    ["Resolved", incident.resolved_at ? [time(incident.resolved_at), ` by ${person(incident.resolved_by)}`] : null],
    ["Resolution notes", incident.resolution_notes],
    ["Closed", incident.closed_at ? [time(incident.closed_at), incident.closure_notes ? ` — ${incident.closure_notes}` : ""] : null],
    ["Post-incident review", review ? (review.completed_at ? [`done by ${person(review.completed_by)} `, time(review.completed_at), `: ${review.summary}`]
      : [`owner ${person(review.owner)}, due `, time(review.due_at)]) : null],
    ["Stakeholder updates", incident.updates ? [`due every ${incident.updates.every_minutes} min; last `, incident.updates.last_update_at ? time(incident.updates.last_update_at) : "none yet"] : null],
    ["Description", incident.description ? h("pre", {}, incident.description) : null],
  ]);
}

const entryRow = (entry) => h("tr", {},
  cell("When", time(entry.at)),
  cell("What", entry.kind.replaceAll("_", " ")),
  cell("Who", entry.details.person || (entry.details.people || []).join(", ") || entry.actor),
  cell("Detail", entry.message));

function entryTable(entries, caption) {
  if (!entries.length) return h("p", { class: "muted" }, `${caption}: none.`);
  return h("table", { class: "stack" }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ["When", "What", "Who", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, entries.map(entryRow)));
}

const entryList = (entries) => h("ol", { class: "timeline" }, entries.map((e) => h("li", {},
  h("span", { class: "when" }, time(e.at)), " ", h("span", { class: "kind" }, e.kind.replaceAll("_", " ")), " — ", e.message,
  h("span", { class: "muted" }, ` (${e.actor})`))));

function alerts(incident, related) {
  const alarm = incident.alarm;
  const parts = [];
  if (alarm) {
    parts.push(h("h3", {}, `CloudWatch alarm ${alarm.name}`), facts([
      ["State", alarm.state], ["Reason", alarm.reason], ["Description", alarm.description],
      ["Metric", alarm.metric ? `${alarm.namespace || ""} ${alarm.metric}` : null],
      ["Dimensions", Object.entries(alarm.dimensions || {}).map(([k, v]) => `${k}=${v}`).join(", ")],
      ["Region", alarm.region], ["Changed", time(alarm.changed_at)],
    ]));
  }
  if (Object.keys(incident.labels || {}).length) parts.push(h("h3", {}, "Labels"), facts(Object.entries(incident.labels)));
  if ((incident.links || []).length) {
    parts.push(h("h3", {}, "Links"), h("ul", {}, incident.links.map((l) => h("li", {},
      /^https?:\/\//.test(l.href || "") ? h("a", { href: l.href, rel: "noopener noreferrer" }, l.text || l.href) : (l.text || l.href)))));
  }
  if (Object.keys(incident.custom_details || {}).length) parts.push(h("h3", {}, "Details from the source"), h("pre", {}, JSON.stringify(incident.custom_details, null, 2)));
  if (related && related.length) parts.push(incidentTable(related, `Other incidents on ${incident.service}`));
  if (!parts.length) parts.push(h("p", { class: "muted" }, "No alert is attached: this incident was reported by hand."));
  return parts;
}

/** The post-incident review: what it found, its action items (each with a Done button), and what the person may
 * do with it (write its findings, add an action, download it as Markdown). */
function reviewSection(incident, ctx, { act, download }) {
  const review = incident.review;
  if (!review) return h("p", { class: "muted" }, "No post-incident review: P1 and P2 incidents get one when they are resolved.");
  const mayWrite = mayOn(ctx.me, "write_review", incident);
  const rows = review.actions.map((a) => h("tr", {}, cell("#", String(a.number)), cell("Action", a.text), cell("Owner", a.owner),
    cell("Due", time(a.due_at, true)),
    cell("Done", a.done_at ? [time(a.done_at, true), ` by ${a.done_by}`] : ctx.may("complete_action")
      ? h("button", { type: "button", class: "secondary", "aria-label": `Action ${a.number} done`,
        onclick: () => act({ path: `review/actions/${a.number}/done`, done: `action ${a.number} done` }, undefined).catch(showAlert) }, "Done")
      : "not yet")));
  const buttons = [
    mayWrite ? h("button", { type: "button", class: "secondary", onclick: (event) => openForm({
      title: `Review findings: ${incident.reference}`, submitLabel: "Save", returnFocus: event.currentTarget,
      fields: [{ name: "root_cause", label: "Root cause", type: "textarea", value: review.root_cause },
        { name: "contributing_factors", label: "Contributing factors (one a line)", type: "textarea", optional: true, value: review.contributing_factors.join("\n") }],
      submit: (v) => act({ path: "review", done: "review findings saved", method: "PUT" },
        { root_cause: v.root_cause, contributing_factors: v.contributing_factors.split("\n").map((f) => f.trim()).filter(Boolean) }),
    }) }, "Write findings") : null,
    mayWrite ? h("button", { type: "button", class: "secondary", onclick: async (event) => {
      const button = event.currentTarget;
      const people = await ctx.directory().then((d) => d && d.people);
      openForm({ title: `Add an action: ${incident.reference}`, submitLabel: "Add action", returnFocus: button, people,
        fields: [{ name: "text", label: "What will be done", type: "textarea" }, { name: "owner", label: "Owner", type: "person" },
          { name: "due_at", label: "Due (your time)", type: "datetime" }],
        submit: (v) => act({ path: "review/actions", done: "action added" }, v) });
    } }, "Add action") : null,
    h("button", { type: "button", class: "secondary", onclick: () => download().catch(showAlert) }, "Download as Markdown"),
  ];
  return [
    h("dl", { class: "facts" },
      h("dt", {}, "Owner"), h("dd", {}, review.owner, review.completed_at ? " (done)" : [", due ", time(review.due_at)]),
      h("dt", {}, "Root cause"), h("dd", {}, review.root_cause || "—"),
      h("dt", {}, "Contributing factors"), h("dd", {}, review.contributing_factors.length ? h("ul", {}, review.contributing_factors.map((f) => h("li", {}, f))) : "—")),
    rows.length ? h("table", { class: "stack" }, h("caption", {}, "Action items"),
      h("thead", {}, h("tr", {}, ["#", "Action", "Owner", "Due", "Done"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
      : h("p", { class: "muted" }, "No action items yet."),
    h("div", { class: "actions" }, buttons),
  ];
}

/** Closed incidents most like this one (GET /incidents/{id}/similar), with how each was resolved. */
function similarList(items) {
  if (!items.length) return h("p", { class: "muted" }, "No resolved or closed incident of the last 180 days looks like this one.");
  return h("ul", { class: "similar" }, items.map((s) => {
    const why = [s.same_alert ? "same alert" : null, s.same_service ? "same service" : null, s.text_similarity >= 0.2 ? "similar wording" : null].filter(Boolean);
    return h("li", {}, h("a", { href: `#/incidents/${encodeURIComponent(s.reference)}` }, s.reference), `: ${s.title} `,
      h("span", { class: "muted" }, `(${why.join(", ") || "similar"}; ${Math.round(s.score * 100)} %)`),
      h("br"), s.resolution_notes
        ? ["Resolved", s.resolved_by ? ` by ${s.resolved_by}` : "", s.seconds_to_resolve !== null ? ` in ${duration(s.seconds_to_resolve)}` : "", `: ${s.resolution_notes}`]
        : h("span", { class: "muted" }, "No resolution notes."));
  }));
}

/** The hash without `do=…` (history.replaceState: no new page, no hashchange), so a reload does not ask again. */
function dropDo() {
  const [path, raw] = location.hash.split("?");
  const query = new URLSearchParams(raw || "");
  if (!query.has("do")) return;
  query.delete("do");
  const rest = query.toString();
  history.replaceState(history.state, "", `${location.pathname}${location.search}${path}${rest ? `?${rest}` : ""}`);
}

export function render(main, ctx, reference, { query } = {}) {
  const heading = h("h1", { tabindex: "-1" }, reference);
  // `?do=acknowledge`: a chat card's Acknowledge link (domain/chat.py: teams_card). Opening a link never acts
  // (link scanners and previews open them too): the person is asked, and only their click acknowledges.
  let asked = Boolean(query && query.get("do") === "acknowledge");
  let promptKey = null;
  let acknowledging = false;
  const prompt = h("section", { class: "prompt", "aria-labelledby": "do-prompt", hidden: true });
  const badges = h("p");
  const actions = h("div", { class: "actions", role: "group", "aria-label": "Actions" });
  const sections = {};
  for (const [key, title] of [["summary", "Summary"], ["sla", "SLA"], ["paging", "Who was paged, when"], ["occurrences", "Occurrences"], ["alerts", "Related alerts"], ["similar", "Similar incidents"], ["review", "Post-incident review"], ["drill", "Drill report"], ["timeline", "Timeline"]]) {
    sections[key] = h("div");
    sections[`${key}Section`] = h("section", { class: "card", "aria-labelledby": `h-${key}` }, h("h2", { id: `h-${key}` }, title), sections[key]);
  }
  // Back to the list the person may open: a reporter's is their own reports, not every incident.
  const back = ctx.may("read_incidents") ? h("a", { href: "#/incidents" }, "← All incidents")
    : ctx.may("read_own_reports") ? h("a", { href: "#/my-reports" }, "← My reports") : null;
  const body = [prompt, badges, actions, sections.summarySection, h("div", { class: "columns" }, sections.slaSection, sections.occurrencesSection),
    sections.pagingSection, sections.alertsSection, ctx.may("read_incidents") ? sections.similarSection : null, sections.reviewSection, sections.drillSection, sections.timelineSection].filter(Boolean);
  main.append(...[back ? h("p", {}, back) : null, heading, ...body].filter(Boolean));
  sections.drillSection.hidden = true;

  let incident = null;
  let signature = null;
  async function downloadReview() {
    saveFile(await get(`/incidents/${enc(reference)}/review.md`, { text: true }), "text/markdown", `${reference}-review.md`);
  }
  let actionKey = null;
  let related = null;
  let similar = null;

  async function act(action, values) {
    await api(action.method || "POST", action.url ? action.url(reference) : `/incidents/${enc(reference)}/${action.path}`, { body: values ?? {} });
    announce(`${reference} ${action.done}.`);
    if (action.directoryChanged) await ctx.directory(true).catch(() => null);
    await load(true);
  }

  /** The question `?do=acknowledge` asks, or why there is nothing to ask: already acknowledged, resolved, not theirs. */
  function renderPrompt(dir) {
    if (!asked || acknowledging || !incident) return;
    const ref = incident.reference;
    const who = (id) => (!id ? "" : id === ctx.me.person ? " by you" : ` by ${ctx.personName(id, dir)}`);
    const ask = incident.status === "triggered" && mayOn(ctx.me, "acknowledge", incident);
    const key = ask ? "ask" : JSON.stringify([incident.status, incident.acknowledged_by, incident.resolved_by]);
    if (key === promptKey) return;  // unchanged: kept as it is (and the focus where it is)
    const hadFocus = prompt.contains(document.activeElement);
    promptKey = key;
    prompt.hidden = false;
    if (ask) {
      clear(prompt, h("p", { id: "do-prompt" }, h("strong", {}, `Acknowledge ${ref} now?`), " This stops paging."),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: (event) => acknowledgeNow(event.currentTarget) }, "Acknowledge"),
          h("button", { type: "button", class: "secondary", onclick: () => settle(null) }, "Not now")));
    } else {
      const words = {
        triggered: `${ref} is waiting to be acknowledged, but your roles do not allow you to acknowledge it.`,
        acknowledged: `${ref} is already acknowledged${who(incident.acknowledged_by)}.`,
        on_hold: `${ref} is already acknowledged${who(incident.acknowledged_by)}, and now on hold.`,
        resolved: `${ref} is already resolved${who(incident.resolved_by)}.`,
        closed: `${ref} is already resolved${who(incident.resolved_by)} and closed.`,
      };
      clear(prompt, h("p", { id: "do-prompt" }, words[incident.status] || `${ref} is ${incident.status}: there is nothing to acknowledge.`));
    }
    if (hadFocus) heading.focus();  // its button went (someone else acted meanwhile): focus stays on the page
  }

  /** Ends the question: a note of what happened (or nothing, "Not now"), and no `?do=` in the address any more. */
  function settle(note) {
    asked = false;
    dropDo();
    if (note) clear(prompt, h("p", { id: "do-prompt" }, note));
    else { clear(prompt); prompt.hidden = true; }
    heading.focus();
  }

  async function acknowledgeNow(button) {
    const buttons = [...prompt.querySelectorAll("button")];
    buttons.forEach((b) => { b.disabled = true; });
    acknowledging = true;
    try {
      await act(ACTIONS.find((a) => a.name === "acknowledge"), {});  // what the page's own Acknowledge button does
      acknowledging = false;
      if (prompt.isConnected) settle(`You acknowledged ${incident.reference}: paging has stopped.`);
    } catch (error) {
      acknowledging = false;
      showAlert(error);
      buttons.forEach((b) => { b.disabled = false; });
      if (button.isConnected) button.focus();
      load(true).catch(() => null);  // e.g. someone acknowledged it first: the prompt says so
    }
  }

  function renderActions() {
    const allowed = ACTIONS.filter((a) => mayOn(ctx.me, a.name, incident) && applies(a, incident));
    const key = allowed.map((a) => a.name).join(",");
    if (key === actionKey) return;
    const focused = actions.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    actionKey = key;
    clear(actions, allowed.map((action) => h("button", {
      type: "button", "data-action": action.name, class: action.name === "acknowledge" ? null : "secondary",
      onclick: async (event) => {
        const button = event.currentTarget;  // (null once the handler awaits)
        if (!action.fields) {
          button.disabled = true;
          try {
            await act(action, {});
            if (!button.isConnected) heading.focus();  // its button is gone (acknowledged): focus stays on the page
          } catch (error) { showAlert(error); button.disabled = false; }
          return;
        }
        const people = action.fields.some((f) => f.type === "person") ? await ctx.directory().then((d) => d && d.people) : null;
        openForm({ title: `${action.label}: ${reference}`, fields: action.fields, people, submitLabel: action.label,
          submit: (values) => act(action, values), returnFocus: button, afterClose: () => heading.focus() });
      },
    }, action.label)));
    if (focused) { const again = actions.querySelector(`[data-action="${focused}"]`); if (again) again.focus(); }
  }

  async function load(force = false) {
    const [fresh, timeline] = await Promise.all([get(`/incidents/${enc(reference)}`), get(`/incidents/${enc(reference)}/timeline`)]);
    incident = fresh;
    const dir = await ctx.directory().catch(() => null);
    clear(sections.sla, facts([slaClock("Response", fresh.sla_status && fresh.sla_status.response), slaClock("Resolution", fresh.sla_status && fresh.sla_status.resolution)].filter(Boolean)));
    if (!fresh.sla_status) clear(sections.sla, h("p", { class: "muted" }, "No SLA yet: it starts when the incident is classified."));
    const next = JSON.stringify([fresh.version, timeline.items.length, fresh.occurrences]);
    renderActions();
    renderPrompt(dir);
    if (!force && next === signature) return;
    const announceChange = signature !== null && !force;
    signature = next;
    heading.textContent = `${fresh.reference}: ${fresh.title}`;
    document.title = `${fresh.reference} · firebell`;
    clear(badges, statusBadge(fresh.status), " ", priorityBadge(fresh.priority), fresh.drill ? [" ", h("span", { class: "badge drill" }, "Drill")] : null);
    clear(sections.summary, summary(fresh, ctx, dir));
    const items = timeline.items;
    clear(sections.paging, entryTable(items.filter((e) => PAGING.includes(e.kind)), "Pages and notifications"));
    clear(sections.occurrences, h("p", {}, `Seen ${fresh.occurrences} time${fresh.occurrences === 1 ? "" : "s"}; last `, time(fresh.last_seen_at), "."),
      entryList(items.filter((e) => OCCURRENCES.includes(e.kind))));
    if (related === null && fresh.service && ctx.may("read_incidents")) {
      related = await get(`/incidents?limit=100`).then((page) => page.items.filter((i) => i.service === fresh.service && i.reference !== fresh.reference).slice(0, 5)).catch(() => []);
    }
    clear(sections.alerts, alerts(fresh, related));
    if (similar === null && ctx.may("read_incidents")) {
      similar = await get(`/incidents/${enc(reference)}/similar`).then((answer) => answer.items).catch(() => null);
      clear(sections.similar, similar ? similarList(similar) : h("p", { class: "muted" }, "Similar incidents could not be read."));
    }
    clear(sections.review, reviewSection(fresh, ctx, { act, download: downloadReview }));
    sections.reviewSection.hidden = Boolean(fresh.drill);
    if (fresh.drill) {
      sections.drillSection.hidden = false;
      const report = await get(`/drills/${enc(reference)}`);
      clear(sections.drill, h("p", {}, report.acknowledged_by ? `Acknowledged by ${report.acknowledged_by} ${duration(report.seconds_to_acknowledge)} after the start.` : "Not acknowledged yet."),
        h("table", { class: "stack" }, h("caption", {}, "Each responder"),
          h("thead", {}, h("tr", {}, ["Person", "Paged after", "Acknowledged in"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, report.responders.map((r) => h("tr", {}, cell("Person", r.person), cell("Paged after", duration(r.seconds_to_first_page)),
            cell("Acknowledged in", r.seconds_to_acknowledge === null ? "—" : duration(r.seconds_to_acknowledge)))))));
    }
    clear(sections.timeline, entryList(items));
    if (announceChange) announce(`${fresh.reference} changed: ${items[items.length - 1].message}`);
  }

  // Refused or missing: one sentence instead of empty sections, and no refreshing (it would only fail again).
  let stop = () => {};
  load().catch((error) => {
    showAlert(error);
    const words = error.status === 403
      ? `You may not see ${reference}.${ctx.may("read_incidents") ? "" : " Your roles let you read only the incidents you reported."}`
      : error.status === 404 ? `${reference} was not found.` : null;
    if (!words) return;
    stop();
    body.forEach((node) => node.remove());
    heading.after(h("p", { class: "error" }, words));
  });
  stop = every(REFRESH_MS, () => load());
  return () => stop();
}
