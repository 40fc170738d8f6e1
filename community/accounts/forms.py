from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from community.models import HistorianRequest, Profile


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used for password resets and notifications.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("display_name", "affiliation", "bio")
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}


class HistorianRequestForm(forms.ModelForm):
    evidence_url = forms.URLField(required=False, assume_scheme="https", label="A page that confirms it (optional)")

    class Meta:
        model = HistorianRequest
        fields = ("statement", "evidence_url")
        widgets = {"statement": forms.Textarea(attrs={"rows": 5})}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
