// The directory (people, teams, schedules, escalation policies, services, problems) as the functions see it, and, for
// admins, editing it through the admin API: an entry as JSON, validated against the whole directory there.

import { api, enc, get } from "./api.js";
import { announce, append, cell, clear, h, showAlert, time } from "./dom.js";
import { openForm } from "./dialog.js";

const KINDS = [
  ["people", "People", "person"],
  ["teams", "Teams", "team"],
  ["schedules", "Schedules", "schedule"],
  ["escalation_policies", "Escalation policies", "escalation policy"],
  ["services", "Services", "service"],
  ["problems", "Problems", "problem"],
  ["webhooks", "Webhooks", "webhook", "admin"],  // (admins only: a subscriber's URL may carry its own token)
  ["chat_channels", "Chat channels", "chat channel", "admin"],  // (admins only: a Teams or Google Chat URL carries its token)
];

// What "Add" starts from: the fields config/firebell.yaml gives each kind.
const TEMPLATES = {
  people: { name: "", email: "", phone: "", slack_user_id: "", roles: ["responder"] },
  teams: { name: "", escalation_policy: "", manager: "", incident_managers: [], stakeholders: [] },
  schedules: { name: "", time_zone: "UTC", layers: [{ name: "weekly", rotation: { type: "weekly", start: "2026-01-05", handoff: "09:00" }, members: [] }] },
  escalation_policies: { repeat: 0, levels: [{ delay_minutes: 5, targets: [{ schedule: "" }] }] },
  services: { team: "", alarm_name_prefixes: [], namespaces: [] },
  problems: { title: "", status: "investigating", description: "", root_cause: "", workaround: "", match: { alerts: [], keywords: [], services: [] }, incidents: [] },
  webhooks: { url: "https://", description: "", events: [], teams: [], services: [], enabled: true },
  // Slack: the channel's id; Teams or Google Chat: {"kind": "teams", "url": "https://…"} instead of the channel.
  chat_channels: { kind: "slack", channel: "C0…", description: "", events: [], teams: [], services: [], enabled: true },
};

const list = (values) => (values && values.length ? values.join(", ") : "—");
const target = (t) => Object.entries(t).map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(", ");
const allWhenEmpty = (values) => (values && values.length ? values.join(", ") : "all");
const CHAT_KINDS = { slack: "Slack", teams: "Microsoft Teams", google_chat: "Google Chat" };
// A Teams or Google Chat webhook's URL carries its token (Google Chat's in its query, Teams' in its path): its host only.
const hostOf = (url) => { try { return new URL(url).host || "?"; } catch { return "(not a URL)"; } };
// A restriction window (daily or weekly, domain/restrictions.py) in words: "daily 09:00–17:00", "fri 18:00 → mon 08:00".
const windowText = (w) => (w.type === "daily" ? `daily ${w.start}–${w.end}` : `${w.start_day} ${w.start} → ${w.end_day} ${w.end}`);
const span = (from, to) => [time(from, true), " → ", time(to, true)];

// Columns per kind: [heading, (entry) => content].
const COLUMNS = {
  people: [["Name", (p) => p.name], ["Email", (p) => p.email || "—"], ["Phone", (p) => p.phone || "—", "admin"],
    ["Slack", (p) => p.slack_user_id || "—", "admin"], ["Roles", (p) => list(p.roles)]],
  teams: [["Name", (t) => t.name], ["Escalation policy", (t) => t.escalation_policy], ["Manager", (t) => t.manager || "—"],
    ["Incident managers", (t) => list(t.incident_managers)], ["Stakeholders", (t) => list(t.stakeholders)],
    // Working-hours routing (docs/schedules.md): the first rule matching when paging starts picks the policy.
    ["Routing rules", (t) => ((t.routing_rules || []).length ? h("ol", {}, t.routing_rules.map((r) => h("li", {},
      `${r.name}: ${r.page_nobody ? "nobody paged" : r.escalation_policy}${r.priorities ? ` (${r.priorities.join(", ")})` : ""}, ${r.restrictions.map(windowText).join("; ")} ${r.time_zone}`))) : "—")]],
  schedules: [["Name", (s) => s.name], ["Time zone", (s) => s.time_zone],
    ["Layers", (s) => h("ul", {}, s.layers.map((l) => h("li", {}, `${l.name}: ${l.rotation.type} from ${l.rotation.start} at ${l.rotation.handoff}; ${list(l.members)}`,
      (l.restrictions || []).length ? `; on call ${l.restrictions.map(windowText).join("; ")}` : "")))],
    ["Overrides", (s) => ((s.overrides || []).length ? h("ul", {}, s.overrides.map((o) => h("li", {}, `${o.person}: `, span(o.start, o.end)))) : "—")]],
  escalation_policies: [["Levels", (p) => h("ol", {}, p.levels.map((l) => h("li", {}, `${l.targets.map(target).join("; ")}, ${l.delay_minutes} min to acknowledge`)))],
    ["Repeat", (p) => String(p.repeat ?? 0)]],
  services: [["Team", (s) => s.team || "—"], ["Alarm name prefixes", (s) => list(s.alarm_name_prefixes)], ["Namespaces", (s) => list(s.namespaces)],
    ["Maintenance windows", (s) => ((s.maintenance_windows || []).length ? h("ul", {}, s.maintenance_windows.map((w) => h("li", {}, span(w.start, w.end), w.reason ? ` (${w.reason})` : ""))) : "—")]],
  problems: [["Title", (p) => p.title], ["Status", (p) => (p.status || "investigating").replace("_", " ")], ["Root cause", (p) => p.root_cause || "—"],
    ["Workaround", (p) => p.workaround || "—"],
    ["Matches", (p) => { const m = p.match || {}; return [...(m.alerts || []).map((a) => `alert ${a}`), (m.keywords || []).length ? `all of: ${m.keywords.join(", ")}` : null, (m.services || []).length ? `on ${m.services.join(", ")}` : null].filter(Boolean).join("; ") || "—"; }],
    ["Incidents", (p) => list(p.incidents)]],
  webhooks: [["URL", (w) => w.url], ["Events", (w) => list(w.events) === "—" ? "all" : list(w.events)],
    ["Teams, services", (w) => [...(w.teams || []), ...(w.services || [])].join(", ") || "all"], ["Enabled", (w) => (w.enabled === false ? "no (paused)" : "yes")]],
  chat_channels: [["Kind", (c) => CHAT_KINDS[c.kind] || c.kind],
    ["Channel or URL", (c) => (c.kind === "slack" ? c.channel || "—" : c.url ? `${hostOf(c.url)}/…` : "—")],
    ["Events", (c) => allWhenEmpty(c.events)], ["Teams", (c) => allWhenEmpty(c.teams)], ["Services", (c) => allWhenEmpty(c.services)],
    ["Enabled", (c) => (c.enabled === false ? "no (paused)" : "yes")]],
};

export function render(main, ctx, { parts }) {
  const admin = ctx.may("edit_directory");
  const kinds = KINDS.filter(([, , , only]) => admin || only !== "admin");
  const kind = kinds.find(([k]) => k === parts[0]) ? parts[0] : "people";
  const [, title, singular] = kinds.find(([k]) => k === kind);
  // Incident managers write problem records too, through /problems (functions/api/problems.py); removing stays an admin's.
  const editor = admin || (kind === "problems" && ctx.may("edit_problems"));
  const entryUrl = (id) => (admin ? `/admin/${kind}/${enc(id)}` : `/problems/${enc(id)}`);
  const body = h("div", { "aria-busy": "true" }, h("p", {}, "Loading…"));
  append(main, [h("h1", { tabindex: "-1" }, `Directory: ${title}`),
    h("nav", { class: "subnav", "aria-label": "Directory" }, h("ul", {}, kinds.map(([k, t]) =>
      h("li", {}, h("a", { href: `#/directory/${k}`, "aria-current": k === kind ? "page" : null }, t))))),
    admin ? h("p", { class: "muted" }, "Changes are stored as admin changes over config/firebell.yaml and reach every function within seconds; ",
      "each is checked against the whole directory first.") : null,
    editor ? h("div", { class: "actions" }, h("button", { type: "button", onclick: (e) => edit(null, e.currentTarget) }, `Add ${singular}`)) : null,
    body]);

  async function load() {
    // Admins read the admin API's view: phone numbers, where each entry comes from, problems with the changes.
    const snapshot = await get(admin ? "/admin/directory" : "/directory");
    ctx.directory(true).catch(() => null);  // other pages read the new directory too
    const entries = snapshot.directory[kind] || [];
    const sources = (snapshot.sources || {})[kind] || {};
    const columns = COLUMNS[kind].filter(([, , only]) => admin || only !== "admin");  // GET /directory has no phones
    const problems = snapshot.problems || [];
    clear(body, problems.length ? h("div", { class: "error", role: "alert" }, "The admin changes no longer fit config/firebell.yaml and are not applied: ",
      h("ul", {}, problems.map((p) => h("li", {}, h("code", {}, p.field), `: ${p.problem}`)))) : null,
    entries.length ? h("table", { class: "stack" }, h("caption", {}, `${entries.length} ${entries.length === 1 ? singular : title.toLowerCase()}`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Id"), columns.map(([t]) => h("th", { scope: "col" }, t)),
        admin ? h("th", { scope: "col" }, "Source") : null, editor ? h("th", { scope: "col" }, "Actions") : null)),
      h("tbody", {}, entries.map((entry) => h("tr", {},
        h("th", { scope: "row", "data-label": "Id" }, h("span", {}, entry.id)),
        columns.map(([t, value]) => cell(t, value(entry))),
        admin ? cell("Source", sources[entry.id] || "file") : null,
        editor ? cell("Actions", h("div", { class: "actions" },
          h("button", { type: "button", class: "secondary", "aria-label": `Edit ${singular} ${entry.id}`, onclick: (e) => edit(entry.id, e.currentTarget) }, "Edit"),
          kind === "webhooks" ? h("button", { type: "button", class: "secondary", "aria-label": `Signing secret of webhook ${entry.id}`,
            onclick: (e) => showSecret(entry.id, e.currentTarget) }, "Secret") : null,
          admin && sources[entry.id] && sources[entry.id] !== "file" ? h("button", { type: "button", class: "secondary", "aria-label": `Revert ${singular} ${entry.id} to the file's`,
            onclick: (e) => confirmThen("revert", entry.id, e.currentTarget) }, "Revert") : null,
          admin ? h("button", { type: "button", class: "danger", "aria-label": `Remove ${singular} ${entry.id}`, onclick: (e) => confirmThen("remove", entry.id, e.currentTarget) }, "Remove") : null)) : null))))
      : h("p", {}, `No ${title.toLowerCase()}.`));
    body.setAttribute("aria-busy", "false");
  }

  async function edit(id, opener) {
    let current = null;
    if (id) {
      try { current = await api("GET", entryUrl(id), { withEtag: true }); } catch (error) { showAlert(error); return; }
    }
    const entry = current ? { ...current.body.entry } : { ...TEMPLATES[kind] };
    delete entry.id;
    openForm({
      title: id ? `Edit ${singular} ${id}` : `Add ${singular}`,
      intro: id ? `Version ${current.body.version} (${current.body.source}). A change someone saved since is refused, not overwritten.` : null,
      fields: [
        { name: "id", label: "Id", value: id || "", dataField: "path.id" },
        { name: "entry", label: `The ${singular}, as JSON`, type: "json", value: JSON.stringify(entry, null, 2), dataField: "body",
          hint: "Every field but the id, which the Id box gives." },
      ],
      submitLabel: "Save",
      returnFocus: opener,
      submit: async (values) => {
        let rawBody = values.entry;
        try {
          const parsed = JSON.parse(values.entry);
          if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) rawBody = JSON.stringify({ id: values.id, ...parsed });
        } catch { /* not JSON: sent as typed, for the API to refuse in its own words (400 invalid_json) */ }
        const headers = current && current.etag ? { "If-Match": current.etag } : {};
        await api("PUT", entryUrl(values.id), { rawBody, headers });
        announce(`${singular} ${values.id} saved.`);
        await load();
      },
    });
  }

  async function showSecret(id, opener) {
    let answer;
    try { answer = await get(`/admin/webhooks/${enc(id)}/secret`); } catch (error) { showAlert(error); return; }
    openForm({
      title: `Signing secret of webhook ${id}`,
      intro: "Give it to the receiver: it verifies each delivery with any Standard Webhooks library (docs/webhooks.md).",
      fields: [{ name: "secret", label: "Secret", value: answer.secret, readonly: true, optional: true }],
      submitLabel: "Done", returnFocus: opener, submit: async () => {},
    });
  }

  function confirmThen(what, id, opener) {
    const removing = what === "remove";
    openForm({
      title: removing ? `Remove ${singular} ${id}?` : `Revert ${singular} ${id}?`,
      intro: removing ? "It is removed from the directory everyone uses, also when config/firebell.yaml defines it. Entries that name it must be changed first."
        : "The admin change is dropped: config/firebell.yaml's entry applies again.",
      fields: [], submitLabel: removing ? "Remove" : "Revert", returnFocus: opener, afterClose: () => main.querySelector("h1").focus(),
      submit: async () => {
        if (removing) await api("DELETE", `/admin/${kind}/${enc(id)}`);
        else await api("POST", `/admin/${kind}/${enc(id)}/revert`);
        announce(`${singular} ${id} ${removing ? "removed" : "reverted"}.`);
        await load();
      },
    });
  }

  load().catch(showAlert);
}
