"""Real headless Chromium (Debian's package) driven by Playwright's Python package."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Playwright's sync API runs an event loop in this thread; the ORM calls the tests
# make in between are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CHROMA_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"FAILED-{request.node.name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot of the failure: {path}")
    context.close()


def screenshot(page, name: str) -> Path:
    """Keep a picture of a key page for people to look at."""
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def image_loaded(image, timeout: float = 15) -> bool:
    """Whether the image (a locator) has loaded within ``timeout`` seconds.

    Images load after the page does (lazy ones once they are near the viewport), so a check right after
    navigation races them; the CSP refuses wait_for_function, so this polls from Python.
    """
    deadline = time.monotonic() + timeout
    while not image.evaluate("img => img.complete && img.naturalWidth > 0"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def no_drafts_sent(monkeypatch):
    from colorization.tasks import colorize_draft

    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)


def render_now(draft) -> None:
    """What a worker does, in this process."""
    from colorization import drafting

    assert drafting.draft_claim(draft.pk)
    drafting.drafts_render(draft.pk)


@pytest.fixture
def site(settings, make_photo, tiny_base_model, no_drafts_sent):
    """One of each page type's subject: a photo with a rendered draft, a correction building on
    another, a model and a failed training run; a moderator and the corrections' author."""
    from colorization.model_registry import base_model
    from colorization.models import TrainingRun
    from tests.community.conftest import correction_for, person

    trusted = settings.CHROMA_VOTE_TRUSTED_REPUTATION
    moderator = person("mod", role="moderator", reputation=trusted)
    author = person("author", reputation=trusted)
    photo = make_photo(author, title="Tram on Woodward Avenue", year_from=1915, place="Detroit")
    draft = photo.drafts.get()
    render_now(draft)
    first = correction_for(photo, author, note="Detroit United Railway trams were red")
    second = correction_for(photo, author, base_correction=first, note="The awning was green")
    model = base_model()
    run = TrainingRun.objects.create(era="1900-1919", parent=model, status="failed", error="No examples yet.")
    return {
        "moderator": moderator,
        "author": author,
        "photo": photo,
        "draft": draft,
        "correction": second,
        "model": model,
        "run": run,
    }


@pytest.fixture
def context_at(browser):
    """Pages at a chosen viewport size."""
    contexts = []

    def make(width: int, height: int, *, bypass_csp: bool = True):
        # bypass_csp: axe is injected as an inline script, which the site's policy rightly refuses.
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=bypass_csp)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()
