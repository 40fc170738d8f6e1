from __future__ import annotations

from django import forms
from django.conf import settings

from colorization.models import Licence

ACCEPT = "image/*,.tif,.tiff,.heic,.heif,video/*,.mp4,.mov,.mkv,.webm,.avi"  # photographs and film clips


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)]


class PhotoMetadataForm(forms.Form):
    title = forms.CharField(
        max_length=300, required=False, help_text="Leave empty to use each file's name when uploading several."
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    year_from = forms.IntegerField(required=False, min_value=1826, max_value=2100, label="Year (or from)")
    year_to = forms.IntegerField(required=False, min_value=1826, max_value=2100, label="To year")
    genre = forms.ChoiceField(choices=[])
    place = forms.CharField(max_length=300, required=False)
    source_archive = forms.CharField(max_length=300, required=False, label="Source archive")
    source_reference = forms.CharField(max_length=500, required=False, label="Source URL or reference")
    licence = forms.ChoiceField(choices=Licence.choices, initial=Licence.UNKNOWN)
    credit_line = forms.CharField(max_length=300, required=False, label="Credit line")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["genre"].choices = [(g, g.capitalize()) for g in settings.CHROMA_GENRES]
        self.fields["genre"].initial = "unknown"


class PhotoUploadForm(PhotoMetadataForm):
    images = MultipleFileField(label="Photographs")
