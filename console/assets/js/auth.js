// Sign-in (docs/access.md). Local runtime: pick a person, no password. AWS: Cognito's hosted UI with the
// authorization-code grant and PKCE; the ID token goes to the API as `Authorization: Bearer`.
// Tokens live in sessionStorage: one tab, one person, gone when the tab closes.

import { api, currentConfig } from "./api.js";

const SESSION = "firebell.session";
const PKCE = "firebell.pkce";
const EARLY_SECONDS = 60;  // refresh a Cognito token this long before it expires

export function storedSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION) || "null");
    if (session && session.token) return session;
  } catch { /* a damaged entry is no session */ }
  return null;
}

const keep = (session) => sessionStorage.setItem(SESSION, JSON.stringify(session));
export const forget = () => sessionStorage.removeItem(SESSION);

/** The token to send now: refreshed first when it is about to expire (Cognito), null when there is none. */
export async function currentToken() {
  const session = storedSession();
  if (!session) return null;
  const expiresAt = session.expires_at ? Date.parse(session.expires_at) : Infinity;
  if (Date.now() < expiresAt - EARLY_SECONDS * 1000) return session.token;
  if (session.refresh_token) {
    try {
      return (await refreshCognito(session)).token;
    } catch { /* fall through: the API answers 401 and the console signs out */ }
  }
  return Date.now() < expiresAt ? session.token : null;
}

// --- local runtime ---------------------------------------------------------------------------------

/** The people of the local directory, with their roles: GET /auth/local/people. */
export async function localPeople() {
  return (await api("GET", "/auth/local/people", { anonymous: true })).items;
}

export async function signInLocal(person) {
  const answer = await api("POST", "/auth/local/sign-in", { body: { person }, anonymous: true });
  keep({ kind: "local", token: answer.token, expires_at: answer.expires_at });
  return answer;
}

// --- Cognito hosted UI, authorization code + PKCE ------------------------------------------------------

/** config.json's Cognito part, as the stack writes it: sign_in_url (the hosted UI's base URL), client_id,
 * redirect_uri, and optionally logout_uri and scopes. */
function cognito() {
  const config = currentConfig();
  const missing = ["sign_in_url", "client_id", "redirect_uri"].filter((key) => !config[key]);
  if (missing.length) throw new Error(`config.json: ${missing.join(", ")} missing for Cognito sign-in`);
  const scopes = Array.isArray(config.scopes) ? config.scopes.join(" ") : config.scopes || "openid email profile";
  return { ...config, domain: String(config.sign_in_url).replace(/\/+$/, ""), scopes };
}

const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomString = (size = 32) => base64url(crypto.getRandomValues(new Uint8Array(size)));

/** Leaves for the hosted UI; it comes back to redirect_uri with ?code=…&state=…. */
export async function beginCognito() {
  const { domain, client_id: clientId, redirect_uri: redirectUri, scopes } = cognito();
  const verifier = randomString(48);
  const state = randomString(16);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, back: location.hash }));
  const query = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri, state,
    scope: scopes, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${domain}/oauth2/authorize?${query}`);
}

/**
 * On the way back from the hosted UI: trades the code for tokens. Answers true when it signed in, false when
 * this page load is not a return from it; throws with the hosted UI's or the token endpoint's own words.
 */
export async function completeCognito() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return false;
  const pending = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  // The code is single-use and must not stay in the address bar or the history.
  history.replaceState(null, "", location.pathname + (pending && pending.back ? pending.back : ""));
  if (params.has("error")) throw new Error(`Sign-in failed: ${params.get("error_description") || params.get("error")}`);
  if (!pending || pending.state !== params.get("state")) throw new Error("Sign-in failed: the answer does not belong to this tab's sign-in; sign in again.");
  const { domain, client_id: clientId, redirect_uri: redirectUri } = cognito();
  const tokens = await tokenRequest(domain, {
    grant_type: "authorization_code", client_id: clientId, code: params.get("code"), redirect_uri: redirectUri, code_verifier: pending.verifier,
  });
  keep(sessionFrom(tokens, tokens.refresh_token));
  return true;
}

async function refreshCognito(session) {
  const { domain, client_id: clientId } = cognito();
  const tokens = await tokenRequest(domain, { grant_type: "refresh_token", client_id: clientId, refresh_token: session.refresh_token });
  const renewed = sessionFrom(tokens, session.refresh_token);  // Cognito sends no new refresh token (nor, refreshing, always an access token)
  if (!renewed.access_token) renewed.access_token = session.access_token;
  keep(renewed);
  return renewed;
}

async function tokenRequest(domain, form) {
  const response = await fetch(`${domain}/oauth2/token`, {
    method: "POST", credentials: "omit",
    headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.id_token) throw new Error(`Sign-in failed: ${answer.error_description || answer.error || `HTTP ${response.status}`}`);
  return answer;
}

function sessionFrom(tokens, refreshToken) {
  const claims = JSON.parse(atob(tokens.id_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  // The access token is for Cognito's own user API only (MFA set-up); the API takes the ID token.
  return { kind: "cognito", token: tokens.id_token, access_token: tokens.access_token, refresh_token: refreshToken,
    expires_at: new Date(claims.exp * 1000).toISOString() };
}

/**
 * Calls Cognito's user API for the signed-in person (`action`: AssociateSoftwareToken, VerifySoftwareToken,
 * SetUserMFAPreference, GetUser) with their access token. Throws with Cognito's own words.
 */
export async function cognitoUserApi(action, body = {}) {
  await currentToken();  // refreshes both tokens when they are about to expire
  const session = storedSession();
  if (!session || session.kind !== "cognito" || !session.access_token) throw new Error("MFA is set up with a Cognito sign-in; sign in again.");
  const { user_api_url: url, region } = currentConfig();
  let response;
  try {
    response = await fetch(`${url || `https://cognito-idp.${region}.amazonaws.com`}/`, {
      method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}` },
      body: JSON.stringify({ AccessToken: session.access_token, ...body }),
    });
  } catch (error) {
    throw new Error(`Cognito could not be reached (${error.message}). Check your connection and try again.`);
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`Cognito refused: ${answer.message || answer.Message || answer.__type || `HTTP ${response.status}`}`);
  return answer;
}

/** Signs out of this tab; with Cognito, of the hosted UI too (its logout returns to the console). */
export function signOut() {
  const session = storedSession();
  forget();
  if (session && session.kind === "cognito") {
    const { domain, client_id: clientId, redirect_uri: redirectUri, logout_uri: logoutUri } = cognito();
    location.assign(`${domain}/logout?${new URLSearchParams({ client_id: clientId, logout_uri: logoutUri || redirectUri })}`);
    return true;
  }
  return false;
}
