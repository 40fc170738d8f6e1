// Votes without a page reload (progressive enhancement: without JavaScript the form posts normally).
// The tally updates at once (optimistically) and is then replaced by the server's numbers; when a
// vote decides the correction, the page reloads to show the decision. Otherwise the parts the server
// computes (approval interval, the votes list, the card's count) are re-read from the page itself.

const panel = document.getElementById("review");
const form = document.getElementById("vote-form");

function csrfToken() {
  const input = form.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function setTally(votes) {
  for (const [key, value] of Object.entries(votes)) {
    const el = panel.querySelector(`[data-tally="${key}"]`);
    if (el) el.textContent = Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  }
}

function readTally() {
  const out = {};
  for (const el of panel.querySelectorAll("[data-tally]")) out[el.dataset.tally] = Number(el.textContent);
  return out;
}

function payload(value) {
  const body = { value, comment: form.querySelector("textarea[name=comment]").value };
  const field = (name) => (form.querySelector(`[name=${name}]`)?.value || "").trim();
  const source = { text: field("evidence_text"), url: field("evidence_url"), archive_reference: field("evidence_archive_reference") };
  if (source.text || source.url || source.archive_reference) body.evidence = [source];
  return body;
}

// Swap in the server's current rendering of the parts a vote changes (no reload, focus stays put).
async function refreshFromServer() {
  const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const selector of ["#approval-interval", "#votes-block", "[data-card-tally]"]) {
    const current = document.querySelector(selector);
    const replacement = fresh.querySelector(selector);
    if (current && replacement) current.replaceWith(document.importNode(replacement, true));
  }
  const tally = {};
  for (const el of fresh.querySelectorAll("#tally [data-tally]")) tally[el.dataset.tally] = Number(el.textContent);
  setTally(tally);
}

if (panel && form) {
  const feedback = document.getElementById("vote-feedback");
  const buttons = [...form.querySelectorAll("button[name=value]")];
  form.addEventListener("submit", async (event) => {
    const button = event.submitter;
    if (!button || !window.fetch) return;
    event.preventDefault();
    const value = Number(button.value);
    const previous = readTally();
    const pressed = buttons.find((b) => b.getAttribute("aria-pressed") === "true");
    const optimistic = { ...previous };
    if (pressed) optimistic[Number(pressed.value) === 1 ? "up" : "down"] -= 1;
    optimistic[value === 1 ? "up" : "down"] += 1;
    setTally({ up: optimistic.up, down: optimistic.down });
    buttons.forEach((b) => { b.disabled = true; b.setAttribute("aria-pressed", String(b === button)); });
    feedback.textContent = "Sending your vote…";
    try {
      const response = await fetch(panel.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify(payload(value)),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        setTally(previous);
        buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === pressed)));
        feedback.textContent = body.detail || `Your vote did not count (error ${response.status}). Try again.`;
        return;
      }
      setTally(body.correction.votes);
      if (body.decided) {
        feedback.textContent = `Your vote decided it: the correction is ${body.decided}. Reloading…`;
        window.location.reload();
        return;
      }
      feedback.textContent = `You voted ${value === 1 ? "plausible" : "not plausible"}; you can change your vote until the correction is decided.`;
      await refreshFromServer().catch(() => {});
    } catch (error) {
      setTally(previous);
      feedback.textContent = "The network failed; your vote was not sent. Try again.";
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
}
