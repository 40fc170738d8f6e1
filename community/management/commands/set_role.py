from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from community.accounts.services import role_set
from community.models import Role


class Command(BaseCommand):
    help = "Set a user's role: volunteer, historian, moderator or admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help=", ".join(Role.values))

    def handle(self, *args, username, role, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user called {username!r}.") from None
        try:
            role_set(user=user, role=role)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{username} is now {role}.")
