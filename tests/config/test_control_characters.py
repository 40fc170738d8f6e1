"""Every text field of the API's write serializers and of the site's forms refuses control characters."""

from __future__ import annotations

import django.forms
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from colorization import forms as colorization_forms
from community.accounts import forms as account_forms
from community.gallery import views as gallery_views
from community.review import views as review_views
from tests.conftest import api_client_for

BAD = ["\x00", "\x01", "\x1f", "\x7f"]


def _write_text_fields():
    """``(method, path, content type, field)`` for every string property of every request body in the schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for content_type, body in operation.get("requestBody", {}).get("content", {}).items():
                ref = body["schema"].get("$ref", "")
                properties = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
                for name, prop in properties.items():
                    if prop.get("type") == "string" and prop.get("format") != "binary" and not prop.get("readOnly"):
                        yield method, path.replace("{id}", "1").replace("{slug}", "base"), content_type, name


API_FIELDS = sorted(set(_write_text_fields()))


def test_the_api_has_text_fields_to_check():
    names = {field for *_, field in API_FIELDS}
    assert {"title", "place", "note", "comment", "reason", "username"} <= names


@pytest.mark.parametrize(("method", "path", "content_type", "field"), API_FIELDS)
def test_every_api_text_field_refuses_control_characters(owner, make_photo, method, path, content_type, field):
    photo = make_photo(owner)  # so that photos/{id}/ exists and its owner edits it
    path = path.replace("/photos/1/", f"/photos/{photo.pk}/")
    client = api_client_for(owner)
    fmt = "json" if content_type == "application/json" else "multipart"
    for char in BAD:
        response = getattr(client, method)(path, {field: f"a{char}b"}, format=fmt)
        assert response.status_code == 400, (path, field, char)
        assert field in response.json()["fields"]


FORMS = {
    colorization_forms.PhotoUploadForm: "/upload/",
    colorization_forms.PhotoMetadataForm: "/upload/",
    review_views.ReportForm: "/report/photo/1/",
    review_views.GoldForm: "/moderation/gold/",
    gallery_views.CollectionForm: "/collections/new/",
    account_forms.SignupForm: "/accounts/signup/",
    account_forms.ProfileForm: "/accounts/profile/",
    account_forms.HistorianRequestForm: "/accounts/verification/",
    account_forms.DecisionForm: "/moderation/verification/1/",
}


def _project_forms():
    found, stack = set(), [django.forms.Form, django.forms.ModelForm]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith(("colorization", "community")):
                found.add(sub)
    return found


def test_every_form_of_the_site_is_checked():
    assert _project_forms() <= set(FORMS)


@pytest.mark.parametrize("form_class", list(FORMS), ids=lambda f: f.__name__)
def test_every_form_text_field_refuses_control_characters(moderator, form_class):
    client = Client()
    client.force_login(moderator)
    text_fields = [
        name
        for name, field in form_class.base_fields.items()
        if isinstance(field, django.forms.CharField | django.forms.ChoiceField)
    ]
    assert text_fields
    for name in text_fields:
        for char in BAD:
            response = client.post(FORMS[form_class], {name: f"a{char}b"})
            assert response.status_code == 400, (form_class.__name__, name, char)
            assert name in response.content.decode()


def test_a_lone_surrogate_in_json_is_refused_like_a_control_character(owner):
    """JSON's "\\ud800" decodes to a lone surrogate, which no UTF-8 column can store: a 400 naming the field."""
    from tests.conftest import api_client_for

    body = b'{"title": "Tram \\ud83d"}'
    response = api_client_for(owner).generic("POST", "/api/v1/photos/1/preview/", body, "application/json")
    assert response.status_code == 400
    assert "title" in response.json()["fields"] and "surrogate" in response.json()["detail"]


def test_the_schema_pattern_is_the_rule():
    import re

    from colorization.text import SCHEMA_PATTERN, SCHEMA_PATTERN_NOT_BLANK, control_character

    for text in ("Tram on Main Street", "line\nbreak\ttab", "", " ", "\x0b", "a\x00b", "\x7f", "é 😀"):
        assert bool(re.match(SCHEMA_PATTERN, text)) == (control_character(text) is None), repr(text)
    assert not re.match(SCHEMA_PATTERN_NOT_BLANK, " \t\n") and re.match(SCHEMA_PATTERN_NOT_BLANK, " x ")
