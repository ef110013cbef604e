"""The guide's post-deployment checklist, and which ``verify`` checks cover each item.

Shared by the Done screen and anything else that reports on a finished setup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.verify import VerifyReport

# deployment-guide.md, "Post-Deployment Checklist": each item with the id prefixes of
# the verify checks that cover it (empty: only the user can tell).
CHECKLIST: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Verify HTTPS and security headers", ("https:", "header:")),
    ("Test authentication flow (signup, login, logout)", ()),
    ("Verify email sending (check Resend logs)", ()),
    ("Test payment processing (Stripe test mode)", ("route:stripe-webhook",)),
    ("Monitor Sentry for errors", ()),
    ("Check Web Vitals in Sentry", ()),
    ("Verify database backups are scheduled", ()),
    ("Test image upload and processing", ()),
    ("Monitor CI/CD pipeline runs", ()),
    ("Check CDN caching headers", ("caching:", "cdn:")),
    ("Verify rate limiting is working", ("rate-limit",)),
    ("Test database migration process", ()),
)


def item_verdict(report: VerifyReport, prefixes: tuple[str, ...]) -> str | None:
    """ "pass" when the covering checks passed, "fail" when one failed, else None."""
    covering = [c for c in report.checks if any(c.id.startswith(p) for p in prefixes)]
    if any(c.status == "fail" for c in covering):
        return "fail"
    if any(c.status == "pass" for c in covering):
        return "pass"
    return None
