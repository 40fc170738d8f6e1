// Submitting: the hint set with a note and evidence (JSON), or a manual colorization
// (multipart) with the same note and evidence. Errors are shown next to their fields and
// nothing typed is lost.

import { apiError, csrfToken } from "./api.js";

let rowCounter = 0;

// Evidence per colour: a row cites the hints ticked in the hint list when "Cite for selected hints"
// is pressed (kept by hint id, so deleting or adding hints later does not shift them; turned into
// "points/N" / "strokes/N" references when sent), or says they are inferred (no source).
export function setupEvidence({ list, template, addButton, max, selectedHints = () => [], hintRefs = () => new Map() }) {
  const add = (values = {}) => {
    if (list.children.length >= max) return;
    const row = template.content.firstElementChild.cloneNode(true);
    const n = ++rowCounter;
    for (const input of row.querySelectorAll("input[data-field]")) {
      const id = `evidence-${n}-${input.dataset.field}`;
      input.id = id;
      input.previousElementSibling.htmlFor = id;
      input.value = values[input.dataset.field] || "";
    }
    const supports = row.querySelector("[data-supports]");
    const describe = () => {
      const refs = hintRefs();
      const ids = JSON.parse(row.dataset.hintIds || "[]").filter((id) => refs.has(id));
      supports.textContent = ids.length
        ? `${row.querySelector("[data-inferred]").checked ? "Inferred" : "Supports"}: ${ids.map((id) => refs.get(id).name).join(", ")}.`
        : "Supports the whole correction.";
    };
    row.describe = describe;
    row.querySelector("[data-cite]").addEventListener("click", () => {
      row.dataset.hintIds = JSON.stringify(selectedHints());
      describe();
    });
    row.querySelector("[data-inferred]").addEventListener("change", describe);
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
  // Rows with nothing typed are left out. Each row that is sent remembers its place in the request
  // (data-sent), so an error about evidence[i] can be shown next to the row the volunteer typed.
  const read = () => {
    const items = [];
    [...list.children].forEach((row) => {
      const item = Object.fromEntries(
        [...row.querySelectorAll("input[data-field]")].map((i) => [i.dataset.field, i.value.trim()]),
      );
      const refs = hintRefs();
      const hints = JSON.parse(row.dataset.hintIds || "[]")
        .filter((id) => refs.has(id))
        .map((id) => refs.get(id).ref);
      if (hints.length) item.hints = hints;
      if (hints.length && row.querySelector("[data-inferred]").checked) item.kind = "inferred";
      delete row.dataset.sent;
      if (item.text || item.url || item.archive_reference || item.kind === "inferred") {
        row.dataset.sent = String(items.length);
        items.push(item);
      }
    });
    return items;
  };
  read.rows = () => [...list.children];
  read.refresh = () => [...list.children].forEach((row) => row.describe?.());
  return read;
}

// The server names evidence problems as a client writes them ("evidence[0] url must be …");
// a volunteer sees them next to the source, in plain words.
function plainEvidenceMessage(message) {
  const text = message.replace(/^evidence\[\d+\](\.\w+)?:?\s*/, "");
  if (/url must be/i.test(text)) return "The link must be a web address starting with http:// or https://.";
  if (/needs a text/i.test(text)) return "Say what the source shows (the first box), not only where it is.";
  if (/too long/i.test(text)) return "This source is too long: at most 1000 characters for the text and for the link.";
  if (/unknown fields|must be an object/i.test(text)) return "This source could not be read; remove it and add it again.";
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// The same checks the server makes, before anything is sent.
function evidenceProblem(item) {
  if (!item.text) return "Say what the source shows (the first box), not only where it is.";
  if (item.url && !/^https?:\/\/\S+$/i.test(item.url)) return "The link must be a web address starting with http:// or https://.";
  return null;
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

  // Asked in the page (not window.confirm) when a correction has neither a note nor a source.
  const confirmBox = document.createElement("div");
  confirmBox.className = "confirm";
  confirmBox.id = "evidence-confirm";
  confirmBox.setAttribute("role", "alertdialog");
  confirmBox.setAttribute("aria-labelledby", "evidence-confirm-text");
  confirmBox.tabIndex = -1;
  confirmBox.hidden = true;
  confirmBox.innerHTML = `<p id="evidence-confirm-text"><strong>Submit without a note or a source?</strong>
    Reviewers decide on evidence: a sentence about why these colours, or a source, makes your correction much
    more likely to be accepted.</p>
    <div class="buttons"><button type="button" class="button" id="evidence-confirm-add">Add a note or a source</button>
    <button type="button" class="button button-quiet" id="evidence-confirm-submit">Submit anyway</button></div>`;
  form.querySelector(".submit-row").after(confirmBox);
  let pending = null;
  const askFirst = (submit) => {
    if (form.note.value.trim() || readEvidence().length) return submit();
    pending = submit;
    confirmBox.hidden = false;
    confirmBox.focus();
  };
  confirmBox.querySelector("#evidence-confirm-add").addEventListener("click", () => {
    confirmBox.hidden = true;
    pending = null;
    form.note.focus();
  });
  confirmBox.querySelector("#evidence-confirm-submit").addEventListener("click", () => {
    confirmBox.hidden = true;
    const submit = pending;
    pending = null;
    submit?.();
  });
  confirmBox.addEventListener("keydown", (event) => {
    if (event.key === "Escape") confirmBox.querySelector("#evidence-confirm-add").click();
  });

  // Problems in the typed sources, shown next to their rows before anything is sent.
  const checkEvidence = () => {
    readEvidence();
    let ok = true;
    for (const row of rows()) {
      if (row.dataset.sent === undefined) continue;
      const item = Object.fromEntries([...row.querySelectorAll("input")].map((i) => [i.dataset.field, i.value.trim()]));
      const problem = evidenceProblem(item);
      if (problem) {
        rowError(row, problem);
        ok = false;
      }
    }
    if (!ok) {
      status.textContent = "Please fix what is marked above; nothing was saved.";
      status.classList.add("error");
      form.querySelector(".evidence-row-error")?.scrollIntoView({ block: "center" });
    }
    return ok;
  };

  const rows = () => (readEvidence.rows ? readEvidence.rows() : []);
  const rowError = (row, message) => {
    let slot = row.querySelector(".evidence-row-error");
    if (!slot) {
      slot = document.createElement("p");
      slot.className = "evidence-row-error";
      slot.id = `${row.querySelector("input").id}-error`;
      row.append(slot);
    }
    slot.textContent = message;
    for (const input of row.querySelectorAll("input[data-field]")) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", slot.id);
    }
  };
  const clearErrors = () => {
    for (const slot of Object.values(errorSlots)) {
      slot.hidden = true;
      slot.textContent = "";
    }
    for (const row of rows()) {
      row.querySelector(".evidence-row-error")?.remove();
      for (const input of row.querySelectorAll("input[data-field]")) {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    }
    confirmBox.hidden = true;
    status.textContent = "";
    status.classList.remove("error");
  };

  const showError = (error) => {
    let placed = false;
    for (const [field, messages] of Object.entries(error.fields || {})) {
      if (field.startsWith("evidence")) {
        // "evidence[2]" in the field name or at the start of the message: the row that was sent as item 2.
        let unplaced = [];
        for (const message of [].concat(messages)) {
          const index = (field.match(/\[(\d+)\]/) || String(message).match(/^evidence\[(\d+)\]/) || [])[1];
          const row = index !== undefined && rows().find((r) => r.dataset.sent === index);
          if (row) {
            rowError(row, plainEvidenceMessage(String(message)));
            placed = true;
          } else unplaced.push(plainEvidenceMessage(String(message)));
        }
        if (unplaced.length) {
          errorSlots.evidence.textContent = unplaced.join(" ");
          errorSlots.evidence.hidden = false;
          placed = true;
        }
        continue;
      }
      const slot = errorSlots[field] || (field.startsWith("base_") ? errorSlots.hints : null);
      if (!slot) continue;
      slot.textContent = [].concat(messages).join(" ");
      slot.hidden = false;
      placed = true;
    }
    status.textContent = placed ? "Please fix what is marked above; nothing was saved." : error.message;
    status.classList.add("error");
    const first = form.querySelector(".evidence-row-error") || Object.values(errorSlots).find((slot) => !slot.hidden);
    (first || status).scrollIntoView({ block: "center" });
  };

  const base = () => {
    const body = {};
    if (config.base_correction) body.base_correction = config.base_correction;
    else body.base_draft = config.base_draft;
    if (config.frame != null) body.frame = config.frame; // a film clip's keyframe
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
    clearErrors();
    if (!checkEvidence()) return;
    askFirst(() => {
      const body = { ...base(), hints: hints.toJSON(), note: form.note.value, evidence: readEvidence() };
      send({ headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }, "Submitting your hints…");
    });
  });

  form.querySelector("#submit-manual").addEventListener("click", () => {
    const file = form.querySelector("#manual-file").files[0];
    if (!file) {
      clearErrors();
      showError({ fields: { image: "Choose the colour image to upload first." } });
      return;
    }
    clearErrors();
    if (!checkEvidence()) return;
    askFirst(() => {
      const data = new FormData();
      for (const [key, value] of Object.entries(base())) data.append(key, value);
      data.append("image", file);
      data.append("note", form.note.value);
      data.append("evidence", JSON.stringify(readEvidence()));
      send({ body: data }, "Uploading and checking your colorization against the original…");
    });
  });
}
