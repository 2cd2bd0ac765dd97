// A form in a modal <dialog>: the browser keeps focus inside it and Escape closes it. Nothing is checked here
// before sending: the API's refusal is shown in its own words, each named field marked beside its control.

import { append, clearFormError, field, formErrorBox, h, inputToIso, select, showFormError } from "./dom.js";

/**
 * fields: [{name, label, type: "textarea" | "text" | "person" | "json" | "datetime", optional, value, hint}]; people: the
 * directory's people for "person" fields (a text box when unknown); submit(values) answers a promise, and
 * a rejection (ApiError) keeps the dialog open with the error. afterClose: where focus goes when the button
 * that opened it is gone (an acknowledged incident no longer has its Acknowledge button).
 */
export function openForm({ title, intro, fields, people, submitLabel, submit, returnFocus, afterClose }) {
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const dialog = h("dialog", { "aria-labelledby": titleId });
  const form = h("form", { novalidate: true });
  const controls = fields.map((f) => {
    let control;
    if (f.type === "person" && people && people.length) {
      control = select(f.name, [["", "Choose a person"], ...people.map((p) => [p.id, `${p.name} (${p.id})`])], f.value || "");
    } else if (f.type === "datetime") {  // the reader's local time; submit() gets it as an ISO instant
      control = h("input", { type: "datetime-local", name: f.name, value: f.value || "" });
    } else if (f.type === "textarea" || f.type === "json") {
      control = h("textarea", { name: f.name, rows: f.type === "json" ? 14 : 4, spellcheck: f.type === "json" ? "false" : null }, f.value || "");
    } else {
      control = h("input", { type: "text", name: f.name, value: f.value || "", autocomplete: "off", readonly: f.readonly || null });
    }
    control.dataset.field = f.dataField || `body.${f.name}`;
    if (!f.optional) control.setAttribute("aria-required", "true");
    return field(f.label, control, f.hint);
  });
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Cancel");
  const send = h("button", { type: "submit" }, submitLabel);
  form.append(formErrorBox(), ...controls, h("div", { class: "form-buttons" }, send, cancel));
  append(dialog, [h("h2", { id: titleId }, title), intro ? h("p", {}, intro) : null, form]);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const values = {};
    for (const f of fields) {
      const raw = form.elements[f.name].value;
      values[f.name] = f.type === "json" ? raw : f.type === "datetime" ? inputToIso(raw) : raw.trim();
    }
    send.disabled = true;
    try {
      await submit(values);
      dialog.close();
    } catch (error) {
      showFormError(form, error);
    } finally {
      send.disabled = false;
    }
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (returnFocus && returnFocus.isConnected) returnFocus.focus();
    else if (afterClose) afterClose();
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = form.querySelector("textarea, input, select");
  if (first) first.focus();
  return dialog;
}
