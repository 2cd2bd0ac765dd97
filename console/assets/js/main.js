// The console's shell: config, sign-in, navigation and the hash router (#/incidents, #/incidents/INC-3, …).
// Hash routes need no server rewrites, so the folder works as it is from an S3 bucket behind CloudFront.

import { ApiError, get, loadConfig, useToken } from "./api.js";
import { beginCognito, completeCognito, currentToken, forget, localPeople, signInLocal, signOut, storedSession } from "./auth.js";
import { clear, errorContent, h, showAlert } from "./dom.js";
import { ROLE_NAMES, may } from "./roles.js";
import * as incidents from "./incidents.js";
import * as incident from "./incident.js";
import * as oncall from "./oncall.js";
import * as report from "./report.js";
import * as reports from "./reports.js";
import * as directory from "./directory.js";
import * as account from "./account.js";

const main = document.getElementById("main");
let me = null;
let leavePage = null;
let directoryCache = null;

const PAGES = [
  { path: "/incidents", title: "Incidents", may: "read_incidents", page: incidents },
  { path: "/on-call", title: "On call", may: "read_oncall", page: oncall },
  { path: "/reports", title: "Reports", may: "read_reports", page: reports },
  { path: "/report", title: "Report an incident", may: "report", page: report },
  { path: "/my-reports", title: "My reports", may: "read_own_reports", page: report, mine: true },
  { path: "/directory", title: "Directory", may: "read_directory", page: directory },
  { path: "/account", title: "Your account", may: "account", page: account },
];

function route() {
  const [rawPath, rawQuery] = location.hash.replace(/^#/, "").split("?");
  const parts = (rawPath || "/").split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(rawQuery || "") };
}

const ctx = {
  get me() { return me; },
  may: (what) => may(me, what),
  /** The effective directory as everyone may read it (GET /directory), once per session; null if refused. */
  async directory(fresh = false) {
    if (!ctx.may("read_directory")) return null;
    if (fresh || !directoryCache) {
      directoryCache = get("/directory").then((d) => d.directory).catch((error) => {
        directoryCache = null;
        if (error instanceof ApiError && error.status === 403) return null;
        throw error;
      });
    }
    return directoryCache;
  },
  personName(id, dir) {
    const person = dir && dir.people.find((p) => p.id === id);
    return person ? `${person.name} (${id})` : id;
  },
  go: (hash) => { location.hash = hash; },
};

function renderNav() {
  const nav = document.getElementById("nav");
  const current = `/${route().parts[0] || ""}`;
  clear(nav, h("ul", {}, PAGES.filter((p) => ctx.may(p.may)).map((p) =>
    h("li", {}, h("a", { href: `#${p.path}`, "aria-current": current === p.path ? "page" : null }, p.title)))));
  nav.hidden = false;
  const who = document.getElementById("who");
  const roles = (me.roles || []).map((r) => ROLE_NAMES[r] || r).join(", ") || "no role";
  clear(who, h("span", {}, "Signed in as ", h("strong", {}, me.name || me.person), ` (${roles})`),
    h("button", { type: "button", onclick: () => { if (!signOut()) location.reload(); } }, "Sign out"));
  who.hidden = false;
}

function defaultPath() {
  const first = PAGES.find((p) => ctx.may(p.may));
  return first ? first.path : "/report";
}

async function show(firstLoad = false) {
  if (leavePage) { leavePage(); leavePage = null; }
  showAlert(null);
  const { parts, query } = route();
  const path = `/${parts[0] || ""}`;
  let entry = PAGES.find((p) => p.path === path);
  if (!entry) { location.replace(`#${defaultPath()}`); return; }
  renderNav();
  clear(main);
  if (!ctx.may(entry.may) && !(entry.page === incidents && parts[1] && ctx.may("read_own_reports"))) {
    main.append(h("h1", { tabindex: "-1" }, entry.title), h("p", { class: "error" }, `Your roles do not allow this page. Ask an admin for access.`));
  } else if (entry.page === incidents && parts[1]) {
    leavePage = incident.render(main, ctx, parts[1], { query });  // ?do=acknowledge: a chat card's link (incident.js)
  } else {
    leavePage = entry.page.render(main, ctx, { parts: parts.slice(1), query, mine: Boolean(entry.mine) });
  }
  document.title = `${entry.title} · firebell`;
  // A new page is announced by moving focus to its heading (not on the first load: the page is simply read).
  if (!firstLoad) requestAnimationFrame(() => { const heading = main.querySelector("h1"); if (heading) heading.focus(); });
}

// --- sign-in -------------------------------------------------------------------------------------------

async function renderSignIn(config, reason) {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  document.title = "Sign in · firebell";
  const page = clear(main, h("h1", { tabindex: "-1" }, "Sign in to firebell"));
  if (reason) page.append(h("div", { class: "error", role: "alert" }, ...errorContent(reason)));
  if (config.auth === "cognito") {
    page.append(h("p", {}, "Sign in with your company account."),
      h("button", { type: "button", onclick: () => beginCognito().catch((e) => showAlert(e)) }, "Sign in"));
    return;
  }
  page.append(h("p", {}, "Local runtime: choose who you are. There is no password; each person's roles come from config/firebell.yaml."));
  let people;
  try {
    people = await localPeople();
  } catch (error) {
    page.append(h("div", { class: "error", role: "alert" }, ...errorContent(error)));
    return;
  }
  const list = h("ul", { class: "people-list", "aria-label": "People" });
  for (const person of people) {
    const roles = (person.roles || []).map((r) => ROLE_NAMES[r] || r).join(", ");
    list.append(h("li", {}, h("button", {
      type: "button",
      "aria-label": `Sign in as ${person.name} (${person.id}), ${roles || "no role"}`,
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          await signInLocal(person.id);
          await start(config);
        } catch (error) {
          button.disabled = false;
          showAlert(error);
        }
      },
    }, h("strong", {}, person.name), ` (${person.id})`, h("span", { class: "roles" }, roles || "no role"))));
  }
  page.append(list);
}

async function start(config) {
  try {
    me = await get("/auth/me");
  } catch (error) {
    forget();
    await renderSignIn(config, error);
    return;
  }
  showAlert(null);
  if (!location.hash.startsWith("#/")) location.replace(`#${defaultPath()}`);
  await show(true);
}

async function boot() {
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    clear(main, h("h1", {}, "firebell"), h("div", { class: "error", role: "alert" }, ...errorContent(error)));
    return;
  }
  useToken(currentToken, (error) => {
    forget();
    me = null;
    if (leavePage) { leavePage(); leavePage = null; }
    renderSignIn(config, error);
  });
  if (config.auth === "cognito") {
    try {
      await completeCognito();
    } catch (error) {
      await renderSignIn(config, error);
      return;
    }
  }
  if (!storedSession()) { await renderSignIn(config); return; }
  await start(config);
}

window.addEventListener("hashchange", () => { if (me && location.hash.startsWith("#/")) show(); });
// The skip link moves focus without touching the hash (the router owns it).
document.querySelector(".skip-link").addEventListener("click", (event) => { event.preventDefault(); main.focus(); });
boot();
