// Submitting: the hint set with a note and evidence (JSON), or a manual colorization
// (multipart) with the same note and evidence. Errors are shown next to their fields and
// nothing typed is lost.

import { apiError, csrfToken } from "./api.js";

let rowCounter = 0;

export function setupEvidence({ list, template, addButton, max }) {
  const add = (values = {}) => {
    if (list.children.length >= max) return;
    const row = template.content.firstElementChild.cloneNode(true);
    const n = ++rowCounter;
    for (const input of row.querySelectorAll("input")) {
      const id = `evidence-${n}-${input.dataset.field}`;
      input.id = id;
      input.previousElementSibling.htmlFor = id;
      input.value = values[input.dataset.field] || "";
    }
    row.querySelector("[data-remove]").addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      (next?.querySelector("input") || addButton).focus();
      addButton.disabled = false;
    });
    list.append(row);
    addButton.disabled = list.children.length >= max;
    return row;
  };
  addButton.addEventListener("click", () => add()?.querySelector("input").focus());
  add();
  // Rows with nothing typed are left out; a link or reference without a text is an error the server explains.
  return () =>
    [...list.children]
      .map((row) => Object.fromEntries([...row.querySelectorAll("input")].map((i) => [i.dataset.field, i.value.trim()])))
      .filter((item) => item.text || item.url || item.archive_reference);
}

export function setupSubmission({ form, config, hints, readEvidence, onSubmitted }) {
  const status = form.querySelector("#form-status");
  const errorSlots = {
    note: form.querySelector("#note-error"),
    evidence: form.querySelector("#evidence-error"),
    hints: form.querySelector("#hints-error"),
    image: form.querySelector("#image-error"),
  };
  const buttons = [form.querySelector("#submit-hints"), form.querySelector("#submit-manual")];

  const clearErrors = () => {
    for (const slot of Object.values(errorSlots)) {
      slot.hidden = true;
      slot.textContent = "";
    }
    status.textContent = "";
    status.classList.remove("error");
  };

  const showError = (error) => {
    let placed = false;
    for (const [field, messages] of Object.entries(error.fields || {})) {
      const slot = errorSlots[field] || (field.startsWith("base_") ? errorSlots.hints : null);
      if (!slot) continue;
      slot.textContent = [].concat(messages).join(" ");
      slot.hidden = false;
      placed = true;
    }
    status.textContent = placed ? "Please fix what is marked above; nothing was saved." : error.message;
    status.classList.add("error");
    const first = Object.values(errorSlots).find((slot) => !slot.hidden);
    (first || status).scrollIntoView({ block: "center" });
  };

  const base = () => {
    const body = {};
    if (config.base_correction) body.base_correction = config.base_correction;
    else body.base_draft = config.base_draft;
    return body;
  };

  const send = async (init, busyText) => {
    clearErrors();
    buttons.forEach((b) => (b.disabled = true));
    status.textContent = busyText;
    try {
      const response = await fetch(config.api.corrections, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken(), ...(init.headers || {}) },
        body: init.body,
      });
      if (!response.ok) throw await apiError(response);
      const correction = await response.json();
      status.textContent = `Correction ${correction.id} submitted. Taking you to the photo page…`;
      onSubmitted(correction);
    } catch (error) {
      showError(error);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (hints.isEmpty) {
      clearErrors();
      showError({ fields: { hints: "Place at least one colour hint or brush stroke, or set an overall colour, first." } });
      return;
    }
    const body = { ...base(), hints: hints.toJSON(), note: form.note.value, evidence: readEvidence() };
    send({ headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }, "Submitting your hints…");
  });

  form.querySelector("#submit-manual").addEventListener("click", () => {
    const file = form.querySelector("#manual-file").files[0];
    if (!file) {
      clearErrors();
      showError({ fields: { image: "Choose the colour image to upload first." } });
      return;
    }
    const data = new FormData();
    for (const [key, value] of Object.entries(base())) data.append(key, value);
    data.append("image", file);
    data.append("note", form.note.value);
    data.append("evidence", JSON.stringify(readEvidence()));
    send({ body: data }, "Uploading and checking your colorization against the original…");
  });
}
