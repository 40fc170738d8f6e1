"""Votes on corrections of hidden photos are refused for everyone, through the API and the form."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from colorization.models import Photo
from community.models import Vote

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["volunteer", "historian", "moderator"])
def test_nobody_votes_on_a_correction_of_a_hidden_photo(api, people, correction, role):
    Photo.objects.filter(pk=correction.photo_id).update(hidden_at=timezone.now())
    user = people[role]
    response = api(user).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json")
    assert response.status_code in (404, 409)  # moderators see it (409 hidden); others do not (404)
    if response.status_code == 409:
        assert response.json()["error"] == "hidden"
    page = Client()
    page.force_login(user)
    form = page.post(f"/corrections/{correction.pk}/vote/", {"value": "1"}, follow=True)
    assert form.status_code in (404, 200)
    if form.status_code == 200:
        assert b"hidden by a moderator" in form.content
    assert not Vote.objects.exists()
