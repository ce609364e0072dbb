"""Whether anybody could use an invite locked to an e-mail address or a domain, here.

A locked link is redeemed only by someone whose sign-in confirms the address (invites.py):
an employee provider or a local employee account confirms addresses in the employee
domains, and only a guest provider confirms anybody else's. A self-made local guest account
proves nothing, so it never meets a lock. Where nothing can confirm the address, the link
would be dead on arrival: the moderator is told so when creating it, with what works instead.
"""

from __future__ import annotations

from innovate.i18n import gettext as _
from innovate.settings import Settings


def employee_domains(settings: Settings) -> set[str]:
    """Domains whose addresses an employee sign-in confirms."""
    domains = set(settings.employee_domain_list)
    for provider in settings.sign_in_providers:
        if provider.is_employee_provider:
            domains.update(provider.employee_domains)
    return domains


def confirms_outside_addresses(settings: Settings) -> bool:
    """Whether a guest sign-in provider is set up (it confirms the addresses of outsiders)."""
    return any(not p.is_employee_provider for p in settings.sign_in_providers)


def lock_warning(settings: Settings, email: str | None, domain: str | None) -> str | None:
    """What to tell the moderator about a link locked to ``email`` or ``domain``, if nobody
    could ever use it; ``None`` when the lock can be met (or there is none)."""
    locked_to = domain if domain else (email.rpartition("@")[2] if email else None)
    if locked_to is None or locked_to in employee_domains(settings):
        return None
    if confirms_outside_addresses(settings):
        return None
    if settings.local_guest_signup:
        return _("Nobody can use this link yet: no sign-in here confirms addresses outside the company, so the "
                 "e-mail lock cannot be met. Create a link without an e-mail or domain lock, for one use and a "
                 "short time, and send it to them yourself. They can then create a guest account with a password.")
    return _("Nobody can use this link yet: no sign-in here confirms addresses outside the company, so the "
             "e-mail lock cannot be met. Create a link without an e-mail or domain lock, for one use and a short "
             "time, and send it to them yourself. Or ask an administrator to add a guest sign-in provider (such as "
             "Google or Microsoft).")
