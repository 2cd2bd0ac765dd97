// The incident list: filters (status, priority, team, service, time, search), refreshed every few seconds.
// Status, priority and team are the API's own filters; service, time and search are applied here.

import { enc, get } from "./api.js";
import { STATUS_WORDS, ago, announce, cell, clear, every, field, h, priorityBadge, select, showAlert, statusBadge, time } from "./dom.js";

export const REFRESH_MS = 5000;
const PAGES_AT_MOST = 3;  // 300 incidents: past that, the filters narrow the list
const OPEN = ["triggered", "acknowledged", "on_hold"];
const SINCE = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

/** Every incident the API's filters give (newest first, up to PAGES_AT_MOST pages); `more` when some were left. */
export async function fetchIncidents({ status, priority, team } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < PAGES_AT_MOST; page += 1) {
    const query = new URLSearchParams({ limit: "100" });
    if (status) query.set("status", status);
    if (priority) query.set("priority", priority);
    if (team) query.set("team", team);
    if (cursor) query.set("cursor", cursor);
    const answer = await get(`/incidents?${query}`);
    items.push(...answer.items);
    cursor = answer.cursor;
    if (!cursor) break;
  }
  return { items, more: Boolean(cursor) };
}

export function matches(incident, filters, now = Date.now()) {
  if (filters.status === "open" && !OPEN.includes(incident.status)) return false;
  if (filters.service && incident.service !== filters.service) return false;
  if (filters.since && SINCE[filters.since] && now - Date.parse(incident.opened_at) > SINCE[filters.since] * 1000) return false;
  if (filters.reporter && incident.reporter !== filters.reporter) return false;
  const words = (filters.q || "").toLowerCase().split(/\s+/).filter(Boolean);
  const text = [incident.reference, incident.title, incident.description, incident.service, incident.team, incident.assignee, incident.category]
    .filter(Boolean).join(" ").toLowerCase();
  return words.every((word) => text.includes(word));
}

/** A short "what is the SLA doing" for a row: the clock that matters next. */
export function slaSummary(incident) {
  const status = incident.sla_status;
  if (!status) return "—";
  const clock = status.response.state !== "met" ? ["response", status.response] : ["resolution", status.resolution];
  const [name, view] = clock;
  if (view.state === "met") return "met";
  if (view.state === "breached") return `${name} breached`;
  if (view.state === "paused") return `${name} paused`;
  const left = Math.max(0, (Date.parse(view.due_at) - Date.now()) / 1000);
  return `${name} due ${ago(new Date(Date.now() + left * 1000).toISOString())}${view.state === "at_risk" ? " (at risk)" : ""}`;
}

/** The list as a table (stacked cards at phone width). `rows` are incidents. */
export function incidentTable(rows, caption) {
  return h("table", { class: "stack incidents" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ["Incident", "Title", "Status", "Priority", "Team · service", "Opened", "SLA"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((i) => h("tr", { "data-reference": i.reference },
      cell("Incident", h("a", { href: `#/incidents/${enc(i.reference)}`, "data-ref": i.reference }, i.reference)),
      // Cut to one line with an ellipsis at table width (console.css); the whole title on hover and on its page.
      h("td", { "data-label": "Title", class: "title" }, h("span", { title: i.title }, i.title)),
      cell("Status", statusBadge(i.status)),
      cell("Priority", priorityBadge(i.priority)),
      cell("Team · service", [i.team, i.service].filter(Boolean).join(" · ") || "—"),
      cell("Opened", time(i.opened_at, true), h("span", { class: "muted" }, ` (${ago(i.opened_at)})`)),
      cell("SLA", slaSummary(i)),
    ))));
}

/** Re-renders `container` only when what it shows changed; keeps focus on the same incident's link. */
export function replaceKeepingFocus(container, node) {
  const focused = document.activeElement && container.contains(document.activeElement) ? document.activeElement.dataset.ref : null;
  clear(container, node);
  if (focused) {
    const again = container.querySelector(`[data-ref="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

/** What changed between two lists, in words: new incidents and status changes. */
export function changes(before, after) {
  if (!before) return [];
  const known = new Map(before.map((i) => [i.reference, i]));
  const said = [];
  for (const incident of after) {
    const earlier = known.get(incident.reference);
    if (!earlier) said.push(`New: ${incident.reference} ${incident.title}`);
    else if (earlier.status !== incident.status) said.push(`${incident.reference} is now ${STATUS_WORDS[incident.status] || incident.status}`);
  }
  return said;
}

export function render(main, ctx, { query }) {
  const filters = {
    q: query.get("q") || "", status: query.has("status") ? query.get("status") : "open", priority: query.get("priority") || "",
    team: query.get("team") || "", service: query.get("service") || "", since: query.get("since") || "",
  };
  const results = h("div", { "aria-busy": "true" }, h("p", {}, "Loading incidents…"));
  const updated = h("p", { class: "muted" });
  const form = h("form", { class: "filters card", role: "search", "aria-label": "Filter incidents", onsubmit: (e) => { e.preventDefault(); } });
  main.append(h("h1", { tabindex: "-1" }, "Incidents"), form, updated, results);

  const teamSelect = select("team", [["", "Any team"]], filters.team);
  const serviceSelect = select("service", [["", "Any service"]], filters.service);
  form.append(
    field("Search", h("input", { type: "search", name: "q", value: filters.q, autocomplete: "off" })),
    field("Status", select("status", [["open", "Open"], ["", "Any status"], ...Object.entries(STATUS_WORDS)], filters.status)),
    field("Priority", select("priority", [["", "Any priority"], ...["P1", "P2", "P3", "P4", "P5"].map((p) => [p, p])], filters.priority)),
    field("Team", teamSelect),
    field("Service", serviceSelect),
    field("Opened", select("since", [["", "Any time"], ["1h", "In the last hour"], ["24h", "In the last 24 hours"], ["7d", "In the last 7 days"], ["30d", "In the last 30 days"]], filters.since)),
  );
  // Teams and services to choose from: the directory's for an admin, else those of the incidents seen so far.
  const offer = (selectEl, entries) => {
    const known = new Set([...selectEl.options].map((o) => o.value));
    for (const [value, text] of entries) {
      if (value && !known.has(value)) selectEl.append(h("option", { value, selected: value === filters[selectEl.name] }, text));
    }
  };
  // A value from the address the API does not know (a bookmarked `status=bogus`) stays shown as what is applied,
  // rather than the select silently showing its first option; the API's 422 then says what is wrong with it.
  for (const selectEl of [form.elements.status, form.elements.priority]) {
    const value = filters[selectEl.name];
    if (![...selectEl.options].some((o) => o.value === value)) {
      offer(selectEl, [[value, value]]);
      selectEl.setAttribute("aria-invalid", "true");
      selectEl.addEventListener("change", () => selectEl.removeAttribute("aria-invalid"), { once: true });
    }
  }
  if (filters.team) offer(teamSelect, [[filters.team, filters.team]]);
  if (filters.service) offer(serviceSelect, [[filters.service, filters.service]]);
  ctx.directory().then((dir) => {
    if (!dir) return;
    offer(teamSelect, dir.teams.map((t) => [t.id, t.name || t.id]));
    offer(serviceSelect, dir.services.map((s) => [s.id, s.id]));
  }).catch(showAlert);

  let shown = null;
  let signature = null;
  let fetched = null;  // {key, items, more}: the API's answer for the API-side filters
  const apiKey = () => JSON.stringify([filters.status === "open" ? "" : filters.status, filters.priority, filters.team]);

  async function load(announceChanges, refetch = true) {
    const key = apiKey();
    if (refetch || !fetched || fetched.key !== key) {
      const [status, priority, team] = JSON.parse(key);
      let answer;
      try {
        answer = await fetchIncidents({ status, priority, team });
      } catch (error) {
        // Nothing fetched yet for these filters (first load, or the filters just changed): the list must not keep
        // saying "Loading…" or show another filter's incidents. A failed refresh keeps the list it had.
        if (key === apiKey() && (!fetched || fetched.key !== key)) {
          signature = null;
          shown = null;
          results.setAttribute("aria-busy", "false");
          replaceKeepingFocus(results, h("p", { class: "error" }, `The incidents could not be loaded: ${error.message}`));
        }
        throw error;
      }
      if (key !== apiKey()) return;  // the filters changed while this was loading: their own load shows them
      fetched = { key, ...answer };
      offer(teamSelect, answer.items.map((i) => [i.team, i.team]));
      offer(serviceSelect, answer.items.map((i) => [i.service, i.service]));
    }
    const rows = fetched.items.filter((i) => matches(i, filters));
    const next = JSON.stringify([filters, rows.map((i) => [i.reference, i.status, i.priority, i.version, i.sla_status])]);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`;
    results.setAttribute("aria-busy", "false");
    if (next === signature) return;
    const said = announceChanges ? changes(shown, rows) : [];
    shown = rows;
    signature = next;
    const caption = `${rows.length} incident${rows.length === 1 ? "" : "s"}${fetched.more ? " (the newest 300 only: narrow the filters to see older ones)" : ""}`;
    replaceKeepingFocus(results, rows.length ? incidentTable(rows, caption) : h("p", {}, "No incidents match these filters."));
    if (said.length) announce(said.slice(0, 3).join(". "));
  }

  form.addEventListener("input", () => {
    const data = new FormData(form);
    for (const key of Object.keys(filters)) filters[key] = String(data.get(key) || "");
    const kept = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    if (filters.status === "") kept.set("status", "");  // "any status" differs from the default (open)
    history.replaceState(null, "", `#/incidents?${kept}`);
    shown = null;  // a new filter is not news to announce
    load(false, false).catch(showAlert);
  });

  load(false).catch(showAlert);
  return every(REFRESH_MS, () => load(true));
}
