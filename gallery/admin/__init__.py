"""Staff tools in the Django admin: jobs, the ledger, credits, moderation, the audit trail and
the users' notices.

Admin actions are ways in, like views: they ask for what they need on an
intermediate page (a reason, a confirmation), then call one domain function per object —
credits.refund_by_staff, credits.grant / credits.adjust_by_staff, jobs.retry,
moderation.resolve_report, moderation.set_image_hidden — which writes the audit entry in the
same transaction. Jobs, ledger rows, accounts and audit entries are read-only here: their
rows are written only by gallery.jobs and gallery.credits.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

# Importing the modules registers their admins; one module per area.
from . import api, audit, jobs, ledger, moderation, notices  # noqa: F401

admin.site.site_header = _("Gallery AIGC staff")
admin.site.site_title = _("Gallery AIGC staff")
admin.site.index_title = _("Jobs, credits and moderation")
