"""Review pages: the rule where people vote, votes with badges, comments (escaped), reports, hiding,
notifications with the unread count, queues, profiles and the leaderboard."""

from __future__ import annotations

import pytest
from django.test import Client

from community.models import Comment, Notification, Report, ReportStatus
from community.review import comments, decisions, moderation
from tests.community.conftest import correction_for, person

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_correction_page_states_the_rule_and_offers_the_vote(people, correction, settings):
    settings.CHROMA_REVIEW_MIN_VOTES = 5
    page = client_for(people["volunteer"]).get(f"/corrections/{correction.pk}/").content.decode()
    assert "at least 5 votes" in page and "verified historian" in page and "Wilson" in page
    assert 'id="vote-form"' in page and "js/vote.js" in page
    own = client_for(people["author"]).get(f"/corrections/{correction.pk}/").content.decode()
    assert 'id="vote-form"' not in own and "You cannot vote on your own correction." in own
    anonymous = client_for().get(f"/corrections/{correction.pk}/").content.decode()
    assert "Sign in to vote." in anonymous
    moderator = client_for(people["moderator"]).get(f"/corrections/{correction.pk}/").content.decode()
    assert "Decide as a moderator" in moderator


def test_the_correction_page_says_each_thing_once(people, correction, photo):
    """Issue 22: no second "Correction N by X", "Build on this correction", status, tally or interval."""
    import re

    from django.utils.html import strip_tags

    building = correction_for(photo, people["volunteer"], base_correction=correction, note="The awning was green")
    decisions.vote_cast(correction_id=building.pk, voter=people["historian"], value=1)
    html = client_for(people["volunteer2"]).get(f"/corrections/{building.pk}/").content.decode()
    text = " ".join(strip_tags(html[html.index("<main") : html.index("</main>")]).split())
    assert text.count(f"Correction {building.pk}") == 1  # the heading
    assert text.count("by volunteer") == 1 and text.count("Build on this correction") == 1
    assert text.count("Pending review") == 1
    assert text.count("1 for, 0 against (1 by historians)") == 1 and "Votes:" not in text
    assert text.count("95% interval") == 1 and len(re.findall(r"\d+%–\d+%", text)) == 1
    # On the photo page each correction card keeps its own status and tally.
    photo_page = client_for().get(f"/photos/{photo.pk}/").content.decode()
    assert "Votes: 1 for, 0 against (1 by historians)" in photo_page
    assert not re.search(r"<figure>\s*</figure>", photo_page)  # no empty "before" beside a first correction


def test_votes_show_the_historian_badge_and_comments(people, correction):
    decisions.vote_cast(
        correction_id=correction.pk, voter=people["historian"], value=1, comment="Seen in the <archive>"
    )
    page = client_for().get(f"/corrections/{correction.pk}/").content.decode()
    votes = page[page.index('id="votes"') :]
    assert 'title="Verified historian">Historian</span>' in votes
    assert "Seen in the &lt;archive&gt;" in votes


def test_a_vote_through_the_form_and_a_change(people, correction):
    client = client_for(people["volunteer"])
    response = client.post(f"/corrections/{correction.pk}/vote/", {"value": "1", "comment": "fine"}, follow=True)
    assert "Your vote counted." in response.content.decode()
    response = client.post(
        f"/corrections/{correction.pk}/vote/",
        {"value": "-1", "evidence_text": "Museum catalogue 1912", "evidence_url": "https://example.org/cat"},
        follow=True,
    )
    assert "Your vote is changed." in response.content.decode()
    assert "Museum catalogue 1912" in response.content.decode()
    response = client.post(
        f"/corrections/{correction.pk}/vote/",
        {"value": "1", "evidence_text": "x", "evidence_url": "javascript:alert(1)"},
        follow=True,
    )
    assert "must be an http(s) address" in response.content.decode()
    correction.refresh_from_db()
    assert (correction.votes_up, correction.votes_down) == (0, 1)


def test_comments_are_plain_text_and_escaped_on_photos_and_corrections(people, correction, photo):
    client = client_for(people["volunteer"])
    client.post("/comments/new/", {"photo": photo.pk, "body": "<script>alert(1)</script>\nsecond line"})
    client.post("/comments/new/", {"correction": correction.pk, "body": "<b>bold?</b>"})
    photo_page = client_for().get(f"/photos/{photo.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in photo_page and "<script>alert(1)" not in photo_page
    assert "Report this photo" not in photo_page  # anonymous
    correction_page = client_for().get(f"/corrections/{correction.pk}/").content.decode()
    assert "&lt;b&gt;bold?&lt;/b&gt;" in correction_page
    assert Notification.objects.filter(recipient=people["author"], verb="commented").count() == 2


def test_empty_and_long_comments_are_refused(people, photo):
    client = client_for(people["volunteer"])
    response = client.post("/comments/new/", {"photo": photo.pk, "body": "   "}, follow=True)
    assert "Write something first." in response.content.decode()
    response = client.post("/comments/new/", {"photo": photo.pk, "body": "x" * 5001}, follow=True)
    assert "at most 5000" in response.content.decode()
    assert not Comment.objects.exists()


def test_reports_reach_the_moderators_who_hide_and_resolve(people, photo):
    comment = comments.comment_add(author=people["volunteer"], body="Buy cheap watches", photo=photo)
    reporter = client_for(people["volunteer2"])
    assert reporter.get(f"/report/comment/{comment.pk}/").status_code == 200
    response = reporter.post(f"/report/comment/{comment.pk}/", {"reason": "Spam advertising"})
    assert response.status_code == 302
    report = Report.objects.get()
    queue = client_for(people["moderator"]).get("/moderation/").content.decode()
    assert "Spam advertising" in queue and "Buy cheap watches" in queue
    mod = client_for(people["moderator"])
    mod.post("/moderation/hide/", {"kind": "comment", "pk": comment.pk, "hidden": "1", "reason": "spam"})
    mod.post(f"/moderation/reports/{report.pk}/", {"status": "resolved", "resolution": "hidden"})
    report.refresh_from_db()
    assert report.status == ReportStatus.RESOLVED and report.resolved_by == people["moderator"]
    assert "Buy cheap watches" not in client_for().get(f"/photos/{photo.pk}/").content.decode()
    assert "Buy cheap watches" in client_for(people["moderator"]).get(f"/photos/{photo.pk}/").content.decode()


def test_hiding_sends_content_hidden_after_commit(people, photo, django_capture_on_commit_callbacks):
    from community.review.signals import content_hidden

    seen = []

    def listener(sender, kind, obj, photo_id, hidden, **kwargs):
        seen.append((kind, obj.pk, photo_id, hidden))

    content_hidden.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            moderation.content_hide(moderator=people["moderator"], kind="photo", obj=photo, reason="copyright")
        with django_capture_on_commit_callbacks(execute=True):
            moderation.content_hide(moderator=people["moderator"], kind="photo", obj=photo, hidden=False)
    finally:
        content_hidden.disconnect(listener)
    assert seen == [("photo", photo.pk, photo.pk, True), ("photo", photo.pk, photo.pk, False)]


def test_hiding_an_accepted_correction_withdraws_its_training_example(
    people, correction, django_capture_on_commit_callbacks
):
    from colorization.models import TrainingExample

    with django_capture_on_commit_callbacks(execute=True):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason="ok"
        )
    example = TrainingExample.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        moderation.content_hide(moderator=people["moderator"], kind="correction", obj=correction, reason="plagiarised")
    example.refresh_from_db()
    assert example.withdrawn_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        moderation.content_hide(moderator=people["moderator"], kind="correction", obj=correction, hidden=False)
    example.refresh_from_db()
    assert example.withdrawn_at is None


def test_suspended_people_cannot_take_part(people, correction, photo):
    with pytest.raises(Exception, match="suspended"):
        comments.comment_add(author=people["suspended"], body="hello", photo=photo)
    with pytest.raises(Exception, match="suspended"):
        decisions.vote_cast(correction_id=correction.pk, voter=people["suspended"], value=1)
    with pytest.raises(Exception, match="suspended"):
        moderation.report_create(reporter=people["suspended"], kind="photo", obj=photo, reason="because")


def test_notifications_page_and_unread_count(people, correction):
    decisions.vote_cast(correction_id=correction.pk, voter=people["historian"], value=1)
    client = client_for(people["author"])
    home = client.get("/").content.decode()
    assert 'aria-label="Notifications, 1 unread"' in home
    page = client.get("/notifications/").content.decode()
    assert "A historian voted for your correction" in page
    notification = Notification.objects.get(recipient=people["author"])
    response = client.get(f"/notifications/{notification.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/corrections/{correction.pk}/"
    assert "unread" not in client.get("/").content.decode().split("nav-notifications")[1][:80]
    assert client_for(people["volunteer"]).get(f"/notifications/{notification.pk}/").status_code == 404


def test_needs_review_is_oldest_first_and_historians_see_theirs_first(people, photo, settings):
    older = correction_for(photo, people["volunteer"])
    newer = correction_for(photo, people["volunteer2"])
    decisions.vote_cast(correction_id=older.pk, voter=people["historian2"], value=1)
    from community.review.queues import needs_review

    def queue(user) -> list[int]:
        return [item.pk for item in needs_review(user)]

    assert queue(people["volunteer3"]) == [older.pk, newer.pk]
    assert queue(people["historian"]) == [newer.pk, older.pk]  # newer has no historian vote yet
    assert queue(people["volunteer"]) == [newer.pk]  # not your own
    assert queue(people["historian2"]) == [newer.pk]  # not what you voted on
    page = client_for(people["historian"]).get("/review/").content.decode()
    assert page.index(f"correction {newer.pk}") < page.index(f"correction {older.pk}")


def test_the_review_queue_items_escape_what_people_wrote_and_cut_long_notes(people, photo):
    """The queue's items are built in Python (issue 25): the same escaping and cuts as the template's."""
    photo.title = 'Tram <script>alert("x")</script> & bus'
    photo.save(update_fields=["title"])
    long_note = "Livery " + "maroon " * 60
    first = correction_for(photo, people["volunteer"], note="<b>red</b> & green")
    second = correction_for(photo, people["volunteer2"], note=long_note, historian_votes=1, votes_up=2)
    page = client_for(people["volunteer3"]).get("/review/").content.decode()
    items = page.split('class="review-queue-item"')[1:]
    assert len(items) == 2 and "<script>" not in page and "<b>red</b>" not in page
    title = "Tram &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; bus"
    assert f'<a href="/corrections/{first.pk}/">{title} — correction {first.pk}</a>' in items[0]
    assert f'alt="Correction {first.pk} of {title}"' in items[0] and 'src="/media/' in items[0]
    assert "<p>&lt;b&gt;red&lt;/b&gt; &amp; green</p>" in items[0]
    assert f"by {people['volunteer'].username}, now · 0 for, 0 against" in items[0]
    assert "no historian has voted yet" in items[0] and "no historian has voted yet" not in items[1]
    assert f"correction {second.pk}</a>" in items[1] and "2 for, 0 against" in items[1]
    assert "Manually colorized by a volunteer" in items[1]
    cut = items[1].split("</p><p>")[-1].split("</p>")[0]
    assert cut.endswith("…") and len(cut) == 200 and long_note.startswith(cut[:-1])


def test_a_hints_correction_in_the_queue_shows_its_render_and_the_model_that_made_it(people, photo):
    from colorization.models import Draft, DraftPurpose, DraftStatus
    from community.models import Correction, CorrectionKind

    render = Draft.objects.create(
        photo=photo,
        purpose=DraftPurpose.CORRECTION,
        status=DraftStatus.DONE,
        render_size=256,
        saturation=1.0,
        model_slug="colornet-base",
        model_version="6",
        thumbnail="drafts/render-thumb.jpg",
    )
    hinted = correction_for(photo, people["volunteer"], render=render)
    waiting = correction_for(photo, people["volunteer2"])  # no render yet
    Correction.objects.filter(pk__in=[hinted.pk, waiting.pk]).update(kind=CorrectionKind.HINTS, image="", thumbnail="")
    hinted.refresh_from_db()
    page = client_for(people["volunteer3"]).get("/review/").content.decode()
    items = page.split('class="review-queue-item"')[1:]
    assert len(items) == 1 and f"correction {hinted.pk}</a>" in items[0] and f"correction {waiting.pk}<" not in page
    assert f'alt="Correction {hinted.pk} of Tram on Main Street (AI-colorized with hints)"' in items[0]
    assert 'src="/media/drafts/render-thumb.jpg?' in items[0]  # signed
    assert "AI-colorized with volunteer hints · model colornet-base v6 · colours are an estimate" in items[0]
    assert hinted.label in items[0]  # the one label, on the queue and on the correction


def test_needs_correction_lists_drafts_without_a_community_version_and_flagged_ones(
    people, make_photo, quiet_broker, tiny_base_model, settings
):
    from colorization.models import Draft, DraftStatus
    from community.review.queues import needs_correction

    settings.CHROMA_GOLD_RATE = 0
    waiting, done, flagged, undrafted = (make_photo(people["author"], title=t) for t in ("W", "D", "F", "U"))
    Draft.objects.exclude(photo=undrafted).update(status=DraftStatus.DONE)
    for p in (done, flagged):
        decisions.correction_decide(
            correction_id=correction_for(p, people["volunteer"]).pk,
            moderator=people["moderator"],
            decision="accept",
            reason="ok",
        )
    accepted = flagged.corrections.get()
    moderation.report_create(reporter=people["volunteer2"], kind="correction", obj=accepted, reason="Wrong uniform")
    assert needs_correction(people["volunteer3"]) == [flagged, waiting]  # flagged first
    assert client_for().get("/review/needs-correction/").status_code == 200


def test_my_contributions_profile_and_leaderboard(people, correction):
    decisions.correction_decide(
        correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason="ok"
    )
    mine = client_for(people["author"]).get("/me/contributions/").content.decode()
    assert f"/corrections/{correction.pk}/" in mine and "Accepted" in mine
    profile = client_for().get("/people/author/").content.decode()
    assert "1 accepted" in profile and "Correction accepted" in profile
    historian = client_for().get("/people/historian/").content.decode()
    assert 'title="Verified historian">Historian</span>' in historian
    person("nobody")  # no reputation: not on the board
    board = client_for().get("/leaderboard/").content.decode().split('id="leaderboard"')[1]
    assert board.index(">author<") < board.index(">volunteer<")  # 20 points against 10
    assert "suspended" not in board and "nobody" not in board


def test_gold_page_creates_a_gold_photo(people, quiet_broker, tiny_base_model):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from community.models import GoldStandard
    from tests.community.conftest import colour_png

    upload = SimpleUploadedFile("truth.png", colour_png(seed=9), content_type="image/png")
    response = client_for(people["moderator"]).post(
        "/moderation/gold/", {"image": upload, "title": "Peasant girls, 1909", "licence": "public-domain"}
    )
    gold = GoldStandard.objects.get()
    assert response.status_code == 302 and response["Location"] == gold.photo.get_absolute_url()
    grey = SimpleUploadedFile("grey.png", __import__("tests.images", fromlist=["png"]).png(), content_type="image/png")
    page = client_for(people["moderator"]).post("/moderation/gold/", {"image": grey, "title": "G", "licence": "cc0"})
    assert "COLOUR" in page.content.decode()


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_pages_do_not_grow_queries_with_votes_comments_or_queue_length(people, photo, settings):
    settings.CHROMA_REVIEW_MIN_HISTORIANS = 9  # keep everything pending
    correction = correction_for(photo, people["author"])
    reader = client_for(people["volunteer"])
    decisions.vote_cast(correction_id=correction.pk, voter=people["historian"], value=1, evidence=[{"text": "a"}])
    comments.comment_add(author=people["historian"], body="one", correction=correction)
    correction_for(photo, people["author"])
    few = [_queries(reader, u) for u in (f"/corrections/{correction.pk}/", "/review/", f"/photos/{photo.pk}/")]
    for i in range(6):
        voter = person(f"extra{i}", role="historian")
        decisions.vote_cast(correction_id=correction.pk, voter=voter, value=1, evidence=[{"text": f"e{i}"}])
        comments.comment_add(author=voter, body=f"comment {i}", correction=correction)
        comments.comment_add(author=voter, body=f"photo comment {i}", photo=photo)
        correction_for(photo, voter)
    many = [_queries(reader, u) for u in (f"/corrections/{correction.pk}/", "/review/", f"/photos/{photo.pk}/")]
    assert many == few, (few, many)
