"""A historian reviews a correction: the vote decides it and it becomes the photo's community version."""

from __future__ import annotations

import pytest

from colorization.models import TrainingExample
from community.models import Correction, CorrectionStatus
from community.review import decisions
from tests.browser.conftest import log_in, screenshot
from tests.community.conftest import correction_for, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_drafts_sent(monkeypatch):
    """No draft is sent to a broker; the community's slow steps (the training example, e-mail), which
    acceptance queues for a worker after its commit, run here at once, as a worker would run them."""
    from colorization.tasks import colorize_draft
    from community.tasks import add_training_example, send_notification_email

    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)
    for task in (add_training_example, send_notification_email):
        monkeypatch.setattr(task, "delay", lambda *args, task=task: task.apply(args=args))


def test_a_historians_vote_accepts_the_correction_and_it_becomes_the_community_version(
    page, live_server, settings, make_photo, tiny_base_model, no_drafts_sent
):
    trusted = settings.CHROMA_VOTE_TRUSTED_REPUTATION
    author = person("author", reputation=trusted)
    person("historian", role="historian")
    photo = make_photo(author, title="Tram on Woodward Avenue", year_from=1915)
    correction = correction_for(photo, author, note="Detroit United Railway trams were red")
    for name in ("volunteer1", "volunteer2"):
        decisions.vote_cast(correction_id=correction.pk, voter=person(name, reputation=trusted), value=1)

    log_in(page, live_server, "historian", "a-long-test-password")
    page.goto(f"{live_server.url}/review/")
    item = page.locator(f"#review-queue a[href='/corrections/{correction.pk}/']")
    assert "no historian has voted yet" in page.locator("#review-queue").inner_text()
    screenshot(page, "review-queue")
    item.click()
    page.wait_for_url(f"{live_server.url}/corrections/{correction.pk}/")
    assert "verified historian" in page.locator("#rule-text").inner_text()
    assert page.locator("[data-tally=up]").inner_text() == "2"

    page.fill("#vote-comment", "The 1915 livery was red, as in the DUR annual report.")
    page.click("button.vote-up")  # vote.js posts to the API; the decision reloads the page
    page.locator("#review-status", has_text="Accepted").wait_for()
    assert "by the community's votes" in page.locator("#review-status").inner_text()
    votes = page.locator("#votes").inner_text()
    assert "historian" in votes and "Historian" in votes and "DUR annual report" in votes
    screenshot(page, "correction-accepted")

    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED and correction.historian_votes == 1
    assert TrainingExample.objects.filter(source=f"correction:{correction.pk}").exists()

    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    caption = page.locator("#viewer figcaption").inner_text()
    assert "the community version" in caption
    assert page.locator("#colour-layer").get_attribute("src").endswith(Correction.objects.get().image.url)
    assert (
        page.locator(f".correction-item[data-correction='{correction.pk}']").get_attribute("data-status") == "accepted"
    )
    screenshot(page, "photo-with-community-version")
