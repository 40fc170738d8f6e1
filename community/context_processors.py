import functools

from django.urls import get_script_prefix, reverse

# The header's links: reversed once per process (and script prefix), not on every page.
NAV = (
    "home",
    "gallery",
    "needs-correction",
    "needs-review",
    "collection-list",
    "upload",
    "model-list",
    "notifications",
    "my-photos",
    "my-contributions",
    "moderation-queue",
    "logout",
    "login",
    "signup",
    "api-docs",
    "feed-accepted",
    "leaderboard",
    "healthz",
)


@functools.lru_cache(maxsize=8)
def _nav_urls(prefix: str) -> dict[str, str]:
    return {name.replace("-", "_"): reverse(name) for name in NAV}


def roles(request):
    """Expose the signed-in user's profile to templates (for badges and the moderator menu), and the
    header's links."""
    from community.accounts.services import viewer_profile

    return {"current_profile": viewer_profile(request), "nav": _nav_urls(get_script_prefix())}
