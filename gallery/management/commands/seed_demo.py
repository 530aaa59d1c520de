"""Create the demo staff user `make run` prints, with credits to try every kind of job."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from gallery import credits


class Command(BaseCommand):
    help = "Create (or keep) the demo staff user and give it credits."

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=settings.DEMO_STAFF_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(settings.DEMO_STAFF_PASSWORD)
            user.save()
        if credits.balance_of(user) < 100:
            credits.grant(user=user, amount=200, reason="demo credits")
        self.stdout.write(
            f"demo staff user: {user.username} / {settings.DEMO_STAFF_PASSWORD} "
            f"({'created' if created else 'exists'}, {credits.balance_of(user)} credits)"
        )
