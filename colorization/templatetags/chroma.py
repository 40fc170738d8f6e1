from django import template
from django.core.files.storage import default_storage

register = template.Library()


@register.filter
def storage_url(key: str | None) -> str:
    """A storage key (as annotated by a query) -> its URL, through whatever storage is configured."""
    return default_storage.url(key) if key else ""
