// What each role may do, as docs/access.md says: used only to show the buttons a person may press.
// The API decides (deny by default); a button shown wrongly would only earn a 403.

// Everyone signed in reads the directory (GET /directory, without phone numbers or routing keys).
const READ = ["read_incidents", "read_oncall", "read_reports", "read_directory", "account"];
const REPORT = ["report", "read_own_reports", "read_directory", "account"];
const WORK = ["acknowledge", "note", "hold", "resume", "escalate", "reassign", "resolve", "reopen", "take_shift", "complete_action", "link_problem"];
const MANAGE = ["post_update", "complete_review", "write_review", "run_drill", "edit_problems"];

const GRANTS = {
  viewer: READ,
  reporter: REPORT,
  responder: [...READ, ...REPORT, ...WORK],
  incident_manager: [...READ, ...REPORT, ...WORK, ...MANAGE],
  admin: [...READ, ...REPORT, ...WORK, ...MANAGE, "edit_directory"],
};

export const ROLE_NAMES = {
  viewer: "viewer", reporter: "reporter", responder: "responder", incident_manager: "incident manager", admin: "admin",
};

/** `me` is GET /auth/me's answer; a machine (IAM) may call every route. */
export function may(me, what) {
  if (!me) return false;
  if (me.kind === "machine") return true;
  return (me.roles || []).some((role) => (GRANTS[role] || []).includes(what));
}

// What a role may do only on what is the person's own (firebell/domain/access.py: `own`): a reporter reopens an
// incident they reported (it is not fixed, they say), a responder completes the review they own.
const OWN = {
  reopen: ["reporter", (incident, me) => incident.reporter === me.person],
  complete_review: ["responder", (incident, me) => Boolean(incident.review && incident.review.owner === me.person)],
  write_review: ["responder", (incident, me) => Boolean(incident.review && incident.review.owner === me.person)],
};

/** may(), or allowed on this incident because it is the person's own. */
export function mayOn(me, what, incident) {
  if (may(me, what)) return true;
  const own = OWN[what];
  return Boolean(me && own && (me.roles || []).includes(own[0]) && own[1](incident, me));
}
