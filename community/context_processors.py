def roles(request):
    """Expose the signed-in user's profile to templates (for badges and the moderator menu)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_profile": None}
    from community.accounts.services import profile_for

    return {"current_profile": profile_for(user)}
