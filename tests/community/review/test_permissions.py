"""Who may do what: every review and moderation action against every role.

Roles: anonymous, volunteer, the correction's author, historian, moderator, suspended volunteer.
"allowed" is checked by its effect in the database, "denied" by the refusal and the absence of
any effect, "login" by a redirect to the login page (pages) or 401 (API).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from community.models import Comment, Correction, ModerationAction, Profile, Report, Vote
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db
ROLES = ["anonymous", "volunteer", "author", "historian", "moderator", "suspended"]


def user_for(role, people):
    return None if role == "anonymous" else people["author" if role == "author" else role]


def page_client(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/accounts/login/" in response["Location"]


def vote_api(user, correction, people):
    response = api_client_for(user).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json")
    done = Vote.objects.filter(correction=correction).exists()
    return response, done


def vote_page(user, correction, people):
    response = page_client(user).post(f"/corrections/{correction.pk}/vote/", {"value": "1"})
    return response, Vote.objects.filter(correction=correction).exists()


def decide_api(user, correction, people):
    response = api_client_for(user).post(
        f"/api/v1/corrections/{correction.pk}/decision/", {"decision": "reject", "reason": "Wrong"}, format="json"
    )
    correction.refresh_from_db()
    return response, correction.status == "rejected"


def comment(user, correction, people):
    response = page_client(user).post("/comments/new/", {"correction": correction.pk, "body": "Nice <b>work</b>"})
    return response, Comment.objects.exists()


def report(user, correction, people):
    response = page_client(user).post(f"/report/correction/{correction.pk}/", {"reason": "Looks vandalised"})
    return response, Report.objects.exists()


def hide(user, correction, people):
    response = page_client(user).post(
        "/moderation/hide/", {"kind": "correction", "pk": correction.pk, "hidden": "1", "reason": "spam"}
    )
    correction.refresh_from_db()
    return response, correction.hidden_at is not None


def suspend(user, correction, people):
    response = page_client(user).post("/moderation/users/volunteer3/suspend/", {"suspend": "1", "reason": "spam"})
    return response, Profile.objects.get(user=people["volunteer3"]).suspended_at is not None


def moderation_page(path):
    def view(user, correction, people):
        response = page_client(user).get(path)
        return response, response.status_code == 200

    view.__name__ = f"view {path}"
    return view


def notifications_page(user, correction, people):
    response = page_client(user).get("/notifications/")
    return response, response.status_code == 200


def correction_page(user, correction, people):
    response = page_client(user).get(f"/corrections/{correction.pk}/")
    return response, response.status_code == 200


EVERYONE = dict.fromkeys(ROLES, "allowed")
SIGNED_IN = {"anonymous": "login", "volunteer": "allowed", "author": "allowed", "historian": "allowed",
             "moderator": "allowed", "suspended": "denied"}  # fmt: skip
VOTERS = {**SIGNED_IN, "author": "denied"}
MODERATORS = {"anonymous": "login", "volunteer": "denied", "author": "denied", "historian": "denied",
              "moderator": "allowed", "suspended": "denied"}  # fmt: skip
READERS = {**SIGNED_IN, "suspended": "allowed"}

MATRIX = [
    (correction_page, EVERYONE),
    (vote_api, VOTERS),
    (vote_page, VOTERS),
    (decide_api, MODERATORS),
    (comment, SIGNED_IN),
    (report, SIGNED_IN),
    (hide, MODERATORS),
    (suspend, MODERATORS),
    (moderation_page("/moderation/"), MODERATORS),
    (moderation_page("/moderation/log/"), MODERATORS),
    (moderation_page("/moderation/gold/"), MODERATORS),
    (notifications_page, READERS),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "expected"), MATRIX, ids=[a.__name__ for a, _ in MATRIX])
def test_permission_matrix(action, expected, role, people, correction):
    response, done = action(user_for(role, people), correction, people)
    outcome = expected[role]
    if outcome == "allowed":
        assert done, (response.status_code, getattr(response, "content", b"")[:300])
        assert response.status_code in (200, 201, 302)
    elif outcome == "login":
        assert not done
        assert response.status_code == 401 or is_login_redirect(response), response.status_code
    else:
        assert not done
        # API and guarded pages refuse outright; form posts redirect back with the reason, or show
        # the form again with it.
        assert response.status_code in (403, 302, 200), response.status_code
        if response.status_code == 302:
            assert not is_login_redirect(response)
        if response.status_code == 200:
            assert b"suspended" in response.content


def test_moderator_actions_are_all_in_the_audit_log(people, correction):
    moderator = page_client(people["moderator"])
    moderator.post("/moderation/hide/", {"kind": "correction", "pk": correction.pk, "hidden": "1", "reason": "spam"})
    moderator.post("/moderation/hide/", {"kind": "correction", "pk": correction.pk, "hidden": "0"})
    moderator.post("/moderation/users/volunteer3/suspend/", {"suspend": "1", "reason": "abuse"})
    moderator.post("/moderation/users/volunteer3/suspend/", {"suspend": "0"})
    api_client_for(people["moderator"]).post(
        f"/api/v1/corrections/{correction.pk}/decision/", {"decision": "reject", "reason": "Wrong"}, format="json"
    )
    actions = list(ModerationAction.objects.order_by("id").values_list("action", "target_type", "moderator__username"))
    assert actions == [
        ("hide", "correction", "mod"),
        ("unhide", "correction", "mod"),
        ("suspend", "user", "mod"),
        ("unsuspend", "user", "mod"),
        ("reject", "correction", "mod"),
    ]
    page = moderator.get("/moderation/log/").content.decode()
    assert page.count("<tr>") == 6 and "abuse" in page


def test_a_hidden_correction_is_gone_for_everyone_but_its_author_and_moderators(people, correction):
    from community.review.moderation import content_hide

    content_hide(moderator=people["moderator"], kind="correction", obj=correction, reason="spam")
    assert page_client(None).get(f"/corrections/{correction.pk}/").status_code == 404
    assert page_client(people["volunteer"]).get(f"/corrections/{correction.pk}/").status_code == 404
    assert page_client(people["author"]).get(f"/corrections/{correction.pk}/").status_code == 200
    response = api_client_for(people["volunteer"]).post(
        f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json"
    )
    assert response.status_code == 404
    assert Correction.objects.get(pk=correction.pk).hidden_at is not None


def test_moderators_cannot_suspend_each_other_but_admins_can(people):
    from tests.community.conftest import person

    other = person("mod2", role="moderator")
    response = page_client(people["moderator"]).post("/moderation/users/mod2/suspend/", {"suspend": "1", "reason": "x"})
    assert response.status_code == 302 and Profile.objects.get(user=other).suspended_at is None
    admin = person("admin1", role="admin")
    page_client(admin).post("/moderation/users/mod2/suspend/", {"suspend": "1", "reason": "x"})
    assert Profile.objects.get(user=other).suspended_at is not None


def test_nobody_votes_on_corrections_of_a_hidden_photo_the_owner_included(people, photo):
    """One rule decides who may vote: the page's form and the service refuse the same people."""
    from colorization.models import Photo
    from community.review.decisions import ReviewConflict, vote_cast
    from community.review.permissions import can_vote
    from tests.community.conftest import correction_for

    correction = correction_for(photo, people["volunteer"])
    owner = photo.owner
    assert can_vote(owner, correction) == (True, "")
    Photo.objects.filter(pk=photo.pk).update(hidden_at=timezone.now())
    correction = Correction.objects.select_related("photo").get(pk=correction.pk)
    for user in (owner, people["volunteer2"], people["historian"], people["moderator"]):
        allowed, why = can_vote(user, correction)
        assert not allowed and "hidden" in why
        with pytest.raises(ReviewConflict) as refused:
            vote_cast(correction_id=correction.pk, voter=user, value=1)
        assert refused.value.code == "hidden"
    response = api_client_for(owner).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "hidden"
    assert not Vote.objects.exists()


def test_the_correction_page_and_the_vote_service_agree(people, correction):
    from community.review.decisions import ReviewConflict, vote_cast
    from community.review.permissions import can_vote

    Correction.objects.filter(pk=correction.pk).update(hidden_at=timezone.now())
    correction.refresh_from_db()
    assert can_vote(people["volunteer"], correction)[0] is False
    with pytest.raises(ReviewConflict) as refused:
        vote_cast(correction_id=correction.pk, voter=people["volunteer"], value=1)
    assert refused.value.code == "hidden"
