"""Issue 22, accessibility: every control is reachable and operable from the keyboard, the editor
included. A volunteer with no pointer places hints, moves them, colours one, switches tools, removes
one and submits a correction; on every main page type Tab reaches each visible control in turn, shows
where the focus is, and leaves the page at the end (no trap)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from community.models import Correction
from tests.browser.conftest import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password"


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, *, backwards: bool = False, limit: int = 150) -> int:
    """Press Tab (or Shift+Tab) until `selector` has the focus; how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if focused(page, selector):
            return presses
    raise AssertionError(f"Tab never reached {selector}")


def hint_rows(page) -> list[str]:
    return [" ".join(text.split()) for text in page.locator("#hint-list .hint-row .hint-name").all_inner_texts()]


def test_a_correction_made_and_submitted_with_the_keyboard_alone(page, live_server, site):
    photo, draft = site["photo"], site["draft"]
    log_in(page, live_server, "mod", PASSWORD)
    page.goto(f"{live_server.url}/photos/{photo.pk}/edit/?draft={draft.pk}")
    page.locator("#editor[data-ready=true]").wait_for()

    # The photograph is reached with Tab like any control; arrows move a crosshair, Enter places a hint.
    tab_to(page, "#editor-overlay")
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "Enter"):
        page.keyboard.press(key)
    cx, cy = photo.width // 2, photo.height // 2
    assert hint_rows(page) == [f"Hint 1 at ({cx + 3}, {cy}), 3 px"]
    # The new hint is selected: the arrows move it (Shift for bigger steps).
    for key in ("ArrowDown", "ArrowDown", "ArrowLeft"):
        page.keyboard.press(key)
    assert hint_rows(page) == [f"Hint 1 at ({cx + 2}, {cy + 2}), 3 px"]
    # Enter lets the hint go; the crosshair moves on and a second hint goes down.
    for key in ("Enter", "ArrowUp", "ArrowUp", "ArrowUp", "ArrowUp", "Enter"):
        page.keyboard.press(key)
    assert hint_rows(page)[1] == f"Hint 2 at ({cx + 3}, {cy - 4}), 3 px"

    # The colour, typed as a code, goes to the selected hint (hint 2) only.
    tab_to(page, "#hint-color-value", backwards=True)
    page.keyboard.press("Control+A")
    page.keyboard.type("#2060a0")
    page.keyboard.press("Enter")
    colours = page.locator("#hint-list .hint-row input[type=color]")
    assert colours.nth(1).input_value() == "#2060a0"
    first_colour = colours.nth(0).input_value()
    assert first_colour != "#2060a0"
    # A code that is not a colour is refused in words, and changes nothing.
    page.keyboard.press("Control+A")
    page.keyboard.type("reddish")
    page.keyboard.press("Enter")
    assert page.locator("#hint-color-value").get_attribute("aria-invalid") == "true"
    assert "not a colour code" in page.locator("#hint-color-error").inner_text()
    assert colours.nth(1).input_value() == "#2060a0"
    page.keyboard.press("Control+A")
    page.keyboard.type("#2060a0")
    page.keyboard.press("Enter")
    assert page.locator("#hint-color-error").is_hidden()

    # Tools: the radio group takes the arrow keys; a new tool lets the selected hint go.
    tab_to(page, "button[data-tool][aria-checked=true]", backwards=True)
    page.keyboard.press("ArrowDown")
    assert page.locator("button[data-tool=brush]").get_attribute("aria-checked") == "true"
    assert focused(page, "button[data-tool=brush]")
    assert page.locator("#hint-list .hint-row[aria-current=true]").count() == 0
    page.keyboard.press("h")  # and the shortcuts
    assert page.locator("button[data-tool=point]").get_attribute("aria-checked") == "true"

    # Remove hint 1 with its Delete button; the focus stays in the list.
    tab_to(page, "#hint-list button[aria-label='Delete Hint 1']")
    page.keyboard.press("Enter")
    assert hint_rows(page) == [f"Hint 1 at ({cx + 3}, {cy - 4}), 3 px"]
    assert page.evaluate("document.activeElement.closest('#hint-list') !== null")
    # Select the remaining hint from the list, then Delete on the photograph removes it; Z brings it back.
    tab_to(page, "#hint-list button.hint-name", backwards=True)
    page.keyboard.press("Enter")
    assert page.locator("#hint-list .hint-row").get_attribute("aria-current") == "true"
    tab_to(page, "#editor-overlay")
    page.keyboard.press("Delete")
    assert hint_rows(page) == []
    page.keyboard.press("z")
    assert hint_rows(page) == [f"Hint 1 at ({cx + 3}, {cy - 4}), 3 px"]

    # Submitting with no note nor source asks first; Escape goes back to the note.
    tab_to(page, "#submit-hints")
    page.keyboard.press("Enter")
    assert focused(page, "#evidence-confirm")
    page.keyboard.press("Tab")
    assert focused(page, "#evidence-confirm-add")
    page.keyboard.press("Escape")
    assert focused(page, "#note") and page.locator("#evidence-confirm").is_hidden()
    page.keyboard.type("Museum restoration: the livery was blue.")
    page.keyboard.press("Tab")
    assert focused(page, "#evidence-rows input[data-field=text]")
    page.keyboard.type("Restored car 317 at the Henry Ford museum")
    tab_to(page, "#submit-hints")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/photos/{photo.pk}/#corrections$"))
    correction = Correction.objects.get(photo=photo, author=site["moderator"])
    assert correction.note == "Museum restoration: the livery was blue."
    assert [(p["x"], p["y"], p["color"]) for p in correction.hints["points"]] == [(cx + 3, cy - 4, "#2060a0")]
    assert correction.evidence.get().text == "Restored car 317 at the Henry Ford museum"


# Everything Tab should stop at: visible, enabled, not taken out of the order; of a radio group only
# the checked button (or the first), as the browser does.
CONTROLS = """() => {
  const candidates = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex], [contenteditable=true]");
  const seenRadio = new Set();
  const out = [];
  for (const el of candidates) {
    if (el.disabled || el.tabIndex < 0 || el.closest("[inert]")) continue;
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const box = el.getBoundingClientRect();
    if (box.width * box.height === 0) continue;
    if (el.type === "radio") {
      const group = `${el.form?.id}:${el.name}`;
      const checked = document.querySelector(`input[type=radio][name="${CSS.escape(el.name)}"]:checked`);
      if (seenRadio.has(group) || (checked && checked !== el)) continue;
      seenRadio.add(group);
    }
    el.dataset.kb = String(out.length);
    out.push(describe(el));
  }
  return out;
  function describe(el) {
    const name = (el.getAttribute("aria-label") || el.textContent || el.name || el.id || "").trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} ${JSON.stringify(name)}`;
  }
}"""

# The element with the focus, and whether it shows it: an outline or a ring that is not the default's absence.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const ring = s.boxShadow && s.boxShadow !== "none";
  return { kb: el.dataset.kb ?? null, shown: Boolean(outline || ring), what: el.outerHTML.slice(0, 120) };
}"""


def walk_with_tab(page) -> dict:
    """Tab from the top of the page to its end; what was reached, in what order, and how it showed."""
    controls = page.evaluate(CONTROLS)
    # Start where a page load starts: before the first control (a focus point that Tab itself skips).
    page.evaluate(
        """() => { const start = document.createElement("span"); start.tabIndex = -1;
        document.body.prepend(start); start.focus(); }"""
    )
    order, unseen_focus, strangers, ended = [], [], [], False
    for _ in range(len(controls) + 15):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUS)
        if now is None:
            ended = True  # the focus left the page: past the last control, nothing held it
            break
        if now["kb"] is None:
            strangers.append(now["what"])
            continue
        index = int(now["kb"])
        if order and index == order[0]:
            ended = True  # wrapped round to the first control
            break
        order.append(index)
        if not now["shown"]:
            unseen_focus.append(controls[index])
    return {
        "controls": controls,
        "missed": [controls[i] for i in range(len(controls)) if i not in order],
        "repeated": len(order) != len(set(order)),
        "unseen_focus": unseen_focus,
        "strangers": strangers,
        "ended": ended,
    }


@pytest.mark.slow
def test_tab_reaches_every_control_of_every_main_page_with_visible_focus(context_at, live_server, site):
    page = context_at(1280, 900, bypass_csp=False)
    photo, correction = site["photo"], site["correction"]
    pages = {
        "login": reverse("login"),
        "home": reverse("home"),
        "gallery": reverse("gallery"),
        "photo": reverse("photo-detail", args=[photo.pk]),
        "correction": reverse("correction-detail", args=[correction.pk]),
        "editor": reverse("correction-editor", args=[photo.pk]) + f"?draft={site['draft'].pk}",
        "review": reverse("needs-review"),
        "upload": reverse("upload"),
        "profile": reverse("profile", args=["author"]),
        "collections": reverse("collection-list"),
        "moderation": reverse("moderation-queue"),
        "models": reverse("model-list"),
        "model": reverse("model-detail", args=[site["model"].slug]),
    }
    problems, sizes = {}, {}
    for name, path in pages.items():
        if name == "home":
            log_in(page, live_server, "mod", PASSWORD)
        page.goto(f"{live_server.url}{path}")
        if name == "editor":
            page.locator("#editor[data-ready=true]").wait_for()
        walk = walk_with_tab(page)
        sizes[name] = len(walk["controls"])
        found = {key: walk[key] for key in ("missed", "unseen_focus", "strangers") if walk[key]}
        if walk["repeated"] or not walk["ended"]:
            found["trap"] = "the focus came back to a control before the end of the page"
        if found:
            problems[name] = found
    print("controls per page:", sizes)
    ARTIFACTS.mkdir(exist_ok=True)
    assert all(count >= 5 for count in sizes.values()), sizes
    assert not problems, problems
