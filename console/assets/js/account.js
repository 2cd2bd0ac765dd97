// Your account: two-step sign-in with an authenticator app (TOTP). Cognito's hosted UI asks for the code at
// every sign-in once it is on, but never offers to set it up while MFA is optional for the pool: this page does,
// through Cognito's user API with the person's access token (AssociateSoftwareToken → VerifySoftwareToken →
// SetUserMFAPreference). The key is shown as text and as an otpauth:// link, which opens an authenticator app on
// a phone; no QR code (it would need a library for one screen). Below it, for a person (not a machine): how pages
// reach them (reach.js).

import { currentConfig } from "./api.js";
import { cognitoUserApi } from "./auth.js";
import { announce, clear, clearFormError, field, formErrorBox, h, showAlert, showFormError } from "./dom.js";
import { reachSection } from "./reach.js";

const TOTP = "SOFTWARE_TOKEN_MFA";

export function render(main, ctx) {
  const box = h("div", {}, h("p", {}, "Loading…"));
  main.append(h("h1", { tabindex: "-1" }, "Your account"),
    h("section", { class: "card", "aria-labelledby": "h-mfa" }, h("h2", { id: "h-mfa" }, "Two-step sign-in"), box));
  if (ctx.me && ctx.me.kind === "person") main.append(reachSection(ctx));  // (a machine has no contacts of its own)
  if (currentConfig().auth !== "cognito") {
    clear(box, h("p", {}, "The local runtime has no passwords. Deployed, this page sets up two-step sign-in with an authenticator app."));
    return null;
  }

  async function load() {
    const user = await cognitoUserApi("GetUser");
    const on = (user.UserMFASettingList || []).includes(TOTP);
    const email = ((user.UserAttributes || []).find((a) => a.Name === "email") || {}).Value || user.Username;
    if (on) {
      clear(box, h("p", { class: "notice" }, "On: every sign-in asks for the code your authenticator app shows."),
        h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: () => turnOff().catch(showAlert) }, "Turn off two-step sign-in")));
    } else {
      clear(box, h("p", {}, "Off. With it on, a stolen password alone cannot sign in as you: each sign-in also asks for a ",
        "6-digit code from an authenticator app on your phone (Google Authenticator, Microsoft Authenticator, 1Password, …)."),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => begin(email).catch(showAlert) }, "Set up an authenticator app")));
    }
  }

  async function begin(email) {
    const { SecretCode: secret } = await cognitoUserApi("AssociateSoftwareToken");
    const label = encodeURIComponent(`firebell:${email}`);
    const link = `otpauth://totp/${label}?${new URLSearchParams({ secret, issuer: "firebell" })}`;
    const code = h("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", "aria-required": "true" });
    const device = h("input", { type: "text", name: "device", autocomplete: "off" });
    const form = h("form", { "aria-labelledby": "h-setup", novalidate: true },
      h("h3", { id: "h-setup" }, "Add firebell to your authenticator app"),
      h("ol", {},
        h("li", {}, "In the app, add an account and type this key (spaces do not matter): ",
          h("code", { id: "mfa-key" }, secret.replace(/(.{4})/g, "$1 ").trim()), ". On this phone: ", h("a", { href: link }, "open it in your authenticator app"), "."),
        h("li", {}, "Type the 6-digit code the app shows for firebell.")),
      formErrorBox(),
      h("div", { class: "form-grid" }, field("Code from the app", code), field("Name of this device (optional)", device, "For example: work phone")),
      h("div", { class: "form-buttons" }, h("button", { type: "submit" }, "Turn on two-step sign-in")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFormError(form);
      try {
        const verified = await cognitoUserApi("VerifySoftwareToken", {
          UserCode: code.value.replace(/\s/g, ""), ...(device.value.trim() ? { FriendlyDeviceName: device.value.trim() } : {}),
        });
        if (verified.Status !== "SUCCESS") throw new Error("Cognito did not accept the code: check the app's clock and try the next code.");
        await cognitoUserApi("SetUserMFAPreference", { SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } });
        announce("Two-step sign-in is on.");
        await load();
      } catch (error) {
        showFormError(form, error);
        code.setAttribute("aria-invalid", "true");
        code.focus();
      }
    });
    clear(box, form);
    code.focus();
  }

  async function turnOff() {
    await cognitoUserApi("SetUserMFAPreference", { SoftwareTokenMfaSettings: { Enabled: false, PreferredMfa: false } });
    announce("Two-step sign-in is off.");
    await load();
  }

  load().catch(showAlert);
  return null;
}
