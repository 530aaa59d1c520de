"""Data of the site: jobs and their callbacks, gallery images and albums, the credit ledger,
moderation, the inspiration gallery, the JSON API's tokens, keys and webhooks and the inbox's
notices, one module each.

Rows here hold state; the rules that change it live in the domain modules (jobs.py,
credits.py, ingest.py, moderation.py). In particular nothing but `gallery.jobs` writes
`Job.status`, nothing but `gallery.credits` writes the ledger or a balance, and nothing but
`gallery.audit` writes the audit log.
"""

from .api import (  # noqa: F401
    ApiSubmission,
    ApiToken,
    IdempotencyKey,
    TokenScope,
    WebhookAttempt,
    WebhookDelivery,
    WebhookState,
)
from .credits import (  # noqa: F401
    LEDGER_REASONS_BY_KIND,
    CreditAccount,
    CreditTransaction,
    LedgerReason,
    SignupAttempt,
)
from .images import (  # noqa: F401
    NOT_TRASHED,
    PUBLICLY_VISIBLE,
    STORED_KEY_FIELDS,
    Album,
    AlbumItem,
    FacetCount,
    Image,
    ImageQuerySet,
    Triage,
    not_trashed,
    publicly_visible,
)
from .inspiration import (  # noqa: F401
    InspirationEntry,
    Tag,
)
from .jobs import (  # noqa: F401
    ACTIVE_STATUSES,
    CallbackDelivery,
    Job,
    JobFailure,
    JobKind,
    JobQuerySet,
    JobStatus,
)
from .moderation import (  # noqa: F401
    AuditAction,
    AuditEntry,
    Report,
    SensitiveCategory,
    SensitiveWord,
)
from .notifications import (  # noqa: F401
    CREDIT_NOTICE_KINDS,
    JOB_NOTICE_KINDS,
    Notice,
    NoticeKind,
    NoticePreference,
)
from .storage import Reconciliation  # noqa: F401
