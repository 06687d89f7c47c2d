"""Who may open which address: every URL pattern of the project, with what each role gets.

MATRIX maps each URL pattern, as its full route (what tests/test_access_matrix.py finds walking the URL
resolver), to the requests made on it: an address filled in from the walk's objects, a method, and the answer per
role. Every object of the walk belongs to the municipality of the `editor`, `signatory` and `officer` (own);
the `foreign_*` roles act for another municipality. A GET reads a page; a POST with an empty body stands for a
write: refused with 403 or 404, answered with 200, 302 or 400 when allowed (the savepoint around each request
undoes what it changes).

A new URL pattern without an entry fails the walk, naming the pattern. Add its entry here: to the dictionary of
its part below (PORTAL, ACCOUNTS, SERVICE, OPERATIONS, MINISTRY, API, API_FOR_MACHINES, BACK_OFFICE), with the answer
each role should get.
"""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "anonymous"
OWN = ("editor", "signatory", "officer")
FOREIGN = ("foreign_editor", "foreign_signatory", "foreign_officer")
MUNICIPAL = OWN + FOREIGN
AGENCY = ("assessor", "approver")
STAFF = AGENCY + ("analyst", "superuser")
ROLES = (ANONYMOUS, *MUNICIPAL, *STAFF)

# What a request answers: a status code, or where a redirect (302) leads.
Expected = int | str
OK, BAD_REQUEST, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 400, 401, 403, 404, 405
MOVED = 301
LOGIN = "302 to the login"
ADMIN_LOGIN = "302 to the back office's login"
REAUTHENTICATE = "302 to re-authentication"
REDIRECT = "302 elsewhere"


@dataclass(frozen=True)
class Access:
    """One request: `url` is filled in from the walk's objects, e.g. "/applications/{draft.public_id}/"."""

    url: str
    expect: dict[str, Expected]
    method: str = "GET"


def answers(default: Expected, **roles: Expected) -> dict[str, Expected]:
    """The same answer for every role, except those named."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    return {role: roles.get(role, default) for role in ROLES}


def portal(own: Expected = OK, *, foreign: Expected = NOT_FOUND, staff: Expected = NOT_FOUND, **roles) -> dict:
    """A portal page on an object of the own municipality: anonymous visitors are sent to the login."""
    groups = {**dict.fromkeys(OWN, own), **dict.fromkeys(FOREIGN, foreign), **dict.fromkeys(STAFF, staff)}
    return answers(LOGIN, **{**groups, **roles, ANONYMOUS: roles.get(ANONYMOUS, LOGIN)})


def logged_in(answer: Expected = OK, **roles) -> dict:
    """A page for everyone logged in."""
    return answers(answer, **{ANONYMOUS: LOGIN, **roles})


def totals(answer: Expected = OK, **roles) -> dict:
    """The ministry's pages: ministry and agency only (ministry.permissions.can_view_totals)."""
    return answers(FORBIDDEN, **{ANONYMOUS: LOGIN, **dict.fromkeys(AGENCY + ("analyst",), answer), **roles})


def back_office(agency: Expected = OK, *, superuser: Expected | None = None, **roles) -> dict:
    """A back-office page: only staff get past the back office's login."""
    everyone_else = dict.fromkeys((ANONYMOUS, *MUNICIPAL, "analyst"), ADMIN_LOGIN)
    staff = {**dict.fromkeys(AGENCY, agency), "superuser": agency if superuser is None else superuser}
    return answers(ADMIN_LOGIN, **{**everyone_else, **staff, **roles})


# What agency staff read of a municipality's case outside the back office: its letters.
AGENCY_READS = dict.fromkeys(AGENCY, OK)


def get(url: str, expect: dict) -> tuple[Access, ...]:
    return (Access(url, expect),)


def _may(permissions: str, letters: str) -> Expected:
    return OK if set(permissions) & set(letters) else FORBIDDEN


def model_admin(
    path: str, obj: str, *, agency: str = "v", superuser: str = "vacd", superuser_finds: bool = True
) -> dict[str, tuple[Access, ...]]:
    """The six addresses Django's admin gives a model, for an object `obj` (a field of the walk, e.g. "tranche.pk").

    `agency` and `superuser` are what each may do with the model in the back office: v(iew), a(dd), c(hange),
    d(elete), as the model's admin and the agency group's permissions (accounts.services.AGENCY_PERMISSIONS) allow.
    Without `superuser_finds`, the model's admin shows only what the agency's selectors give agency staff, so the
    superuser, who has no agency role, finds no object: the admin sends him back to its index.
    """
    base = f"/admin/{path}/"
    item = f"{base}{{{obj}}}/"

    def each(letters: str, *, on_object: bool = False) -> dict:
        if on_object and not superuser_finds and _may(superuser, letters) == OK:
            return back_office(_may(agency, letters), superuser=REDIRECT)
        return back_office(_may(agency, letters), superuser=_may(superuser, letters))

    return {
        f"admin/{path}/": get(base, each("vc")),
        f"admin/{path}/add/": get(f"{base}add/", each("a")),
        f"admin/{path}/<path:object_id>/history/": get(f"{item}history/", each("vc", on_object=True)),
        f"admin/{path}/<path:object_id>/delete/": get(f"{item}delete/", each("d", on_object=True)),
        f"admin/{path}/<path:object_id>/change/": get(f"{item}change/", each("vc", on_object=True)),
        # The bare object address redirects to its change page, for every staff user.
        f"admin/{path}/<path:object_id>/": get(item, back_office(REDIRECT)),
    }


# --- the portal -----------------------------------------------------------------------------------------

APPLICATION = "/applications/{%s.public_id}/"
DRAFT, SUBMITTED, GRANT = APPLICATION % "draft", APPLICATION % "submitted", APPLICATION % "grant"
DRAFT_ATTACHMENT = DRAFT + "attachments/{draft_attachment.pk}/"
SUBMITTED_ATTACHMENT = SUBMITTED + "attachments/{submitted_attachment.pk}/"
ACCOUNTABILITY = GRANT + "accountability/{year}/"

PORTAL: dict[str, tuple[Access, ...]] = {
    # Staff land on their own pages: the ministry's dashboard, the back office.
    "": get("/", logged_in(assessor=REDIRECT, approver=REDIRECT, analyst=REDIRECT)),
    "applications/": get("/applications/", logged_in()),
    # A tranche's page with its moments and the countdown, and the server's clock the countdown reads.
    "tranches/<slug:slug>/": get("/tranches/{tranche.slug}/", logged_in()),
    "server-time/": (Access("/server-time/", answers(OK)), Access("/server-time/", answers(NOT_ALLOWED), "POST")),
    "tranches/<slug:slug>/apply/": (
        Access("/tranches/{tranche.slug}/apply/", portal(foreign=OK, staff=FORBIDDEN)),
        Access("/tranches/{tranche.slug}/apply/", portal(foreign=OK, staff=FORBIDDEN), "POST"),
    ),
    "applications/<uuid:public_id>/": (
        Access(DRAFT, portal()),
        Access(SUBMITTED, portal()),
        Access(GRANT, portal()),
    ),
    "applications/<uuid:public_id>/edit/": (
        Access(DRAFT + "edit/", portal()),
        Access(DRAFT + "edit/", portal(), "POST"),
        Access(SUBMITTED + "edit/", portal(FORBIDDEN)),
        Access(GRANT + "edit/", portal(FORBIDDEN)),
    ),
    "applications/<uuid:public_id>/submit/": (
        Access(DRAFT + "submit/", portal()),
        # Without the declaration ticked the page is shown again, with the error.
        Access(DRAFT + "submit/", portal(FORBIDDEN, signatory=OK), "POST"),
        Access(SUBMITTED + "submit/", portal()),
    ),
    "applications/<uuid:public_id>/ready/": (
        Access(DRAFT + "ready/", portal(NOT_ALLOWED, foreign=NOT_ALLOWED, staff=NOT_ALLOWED)),
        Access(DRAFT + "ready/", portal(FORBIDDEN, signatory=OK), "POST"),
    ),
    # After submitting: the confirmation and the receipt as PDF; a draft has none.
    "applications/<uuid:public_id>/received/": (
        Access(SUBMITTED + "received/", portal()),
        Access(DRAFT + "received/", portal(NOT_FOUND)),
    ),
    "applications/<uuid:public_id>/receipt.pdf": (
        Access(SUBMITTED + "receipt.pdf", portal()),
        Access(DRAFT + "receipt.pdf", portal(NOT_FOUND)),
    ),
    "applications/<uuid:public_id>/ask-signatory/": (
        Access(DRAFT + "ask-signatory/", portal(NOT_ALLOWED, foreign=NOT_ALLOWED, staff=NOT_ALLOWED)),
        Access(DRAFT + "ask-signatory/", portal(REDIRECT, signatory=FORBIDDEN), "POST"),
        Access(SUBMITTED + "ask-signatory/", portal(FORBIDDEN), "POST"),
    ),
    "applications/<uuid:public_id>/withdraw/": (
        Access(SUBMITTED + "withdraw/", portal(FORBIDDEN, signatory=OK)),
        Access(SUBMITTED + "withdraw/", portal(FORBIDDEN, signatory=OK), "POST"),
        Access(DRAFT + "withdraw/", portal(FORBIDDEN)),
    ),
    "applications/<uuid:public_id>/attachments/": (
        Access(DRAFT + "attachments/", portal(NOT_ALLOWED, foreign=NOT_ALLOWED, staff=NOT_ALLOWED)),
        Access(DRAFT + "attachments/", portal(), "POST"),
        Access(SUBMITTED + "attachments/", portal(FORBIDDEN), "POST"),
    ),
    "applications/<uuid:public_id>/attachments/<int:attachment_id>/": (
        Access(DRAFT_ATTACHMENT, portal()),
        Access(SUBMITTED_ATTACHMENT, portal()),
    ),
    # Removing asks first: the page, and a POST without the confirmation, show what would go.
    "applications/<uuid:public_id>/attachments/<int:attachment_id>/delete/": (
        Access(DRAFT_ATTACHMENT + "delete/", portal()),
        Access(DRAFT_ATTACHMENT + "delete/", portal(), "POST"),
        Access(SUBMITTED_ATTACHMENT + "delete/", portal(FORBIDDEN)),
        Access(SUBMITTED_ATTACHMENT + "delete/", portal(FORBIDDEN), "POST"),
    ),
    # Progress, change requests and accountability of a grant.
    "progress/": get("/progress/", logged_in()),
    "applications/<uuid:public_id>/progress/": (
        Access(GRANT + "progress/", portal()),
        Access(DRAFT + "progress/", portal(NOT_FOUND)),
    ),
    "applications/<uuid:public_id>/progress/edit/": (
        Access(GRANT + "progress/edit/", portal()),
        Access(GRANT + "progress/edit/", portal(), "POST"),
    ),
    "applications/<uuid:public_id>/progress/submit/": (
        Access(GRANT + "progress/submit/", portal(NOT_ALLOWED, foreign=NOT_ALLOWED, staff=NOT_ALLOWED)),
        Access(GRANT + "progress/submit/", portal(FORBIDDEN, signatory=NOT_FOUND), "POST"),
    ),
    "applications/<uuid:public_id>/changes/": get(GRANT + "changes/", portal()),
    "applications/<uuid:public_id>/changes/new/": (
        Access(GRANT + "changes/new/", portal(FORBIDDEN, signatory=OK)),
        Access(GRANT + "changes/new/", portal(FORBIDDEN, signatory=OK), "POST"),
    ),
    "accountability/": get("/accountability/", logged_in()),
    "applications/<uuid:public_id>/accountability/": get(GRANT + "accountability/", portal()),
    # This year's report has been certified: nobody changes it any more.
    "applications/<uuid:public_id>/accountability/<int:year>/": get(ACCOUNTABILITY, portal(FORBIDDEN)),
    "applications/<uuid:public_id>/accountability/<int:year>/offer/": (
        Access(ACCOUNTABILITY + "offer/", portal(NOT_ALLOWED, foreign=NOT_ALLOWED, staff=NOT_ALLOWED)),
        Access(ACCOUNTABILITY + "offer/", portal(REDIRECT, officer=FORBIDDEN), "POST"),
    ),
    "applications/<uuid:public_id>/accountability/<int:year>/certify/": (
        Access(ACCOUNTABILITY + "certify/", portal(FORBIDDEN), "POST"),
    ),
    # Decision letters and the other letters of a case, and waiving a grant. The agency reads every letter; the
    # ministry none.
    "decisions/<uuid:public_id>/letter.pdf": get("/decisions/{decision.public_id}/letter.pdf", portal(**AGENCY_READS)),
    "decisions/<uuid:public_id>/letter.html": get(
        "/decisions/{decision.public_id}/letter.html", portal(**AGENCY_READS)
    ),
    "decisions/letters/<uuid:public_id>/letter.pdf": get(
        "/decisions/letters/{letter.public_id}/letter.pdf", portal(**AGENCY_READS)
    ),
    "decisions/letters/<uuid:public_id>/letter.html": get(
        "/decisions/letters/{letter.public_id}/letter.html", portal(**AGENCY_READS)
    ),
    "decisions/applications/<uuid:public_id>/waive/": (
        Access("/decisions/applications/{grant.public_id}/waive/", portal(FORBIDDEN, signatory=OK)),
        Access("/decisions/applications/{grant.public_id}/waive/", portal(FORBIDDEN, signatory=OK), "POST"),
    ),
    "notifications/": get("/notifications/", logged_in()),
    "notifications/language/": (
        Access("/notifications/language/", logged_in(NOT_ALLOWED)),
        Access("/notifications/language/", logged_in(REDIRECT), "POST"),
    ),
}

# --- logging in and the account -------------------------------------------------------------------------

ACCOUNTS: dict[str, tuple[Access, ...]] = {
    "i18n/setlang/": (
        Access("/i18n/setlang/", answers(REDIRECT)),
        Access("/i18n/setlang/", answers(REDIRECT), "POST"),
    ),
    "login/": (Access("/login/", answers(OK)), Access("/login/", answers(OK), "POST")),
    "logout/": (Access("/logout/", answers(NOT_ALLOWED)), Access("/logout/", answers(LOGIN), "POST")),
    # Everyone here has given the second factor already, or needs none.
    "account/second-factor/": get("/account/second-factor/", logged_in(REDIRECT)),
    "account/confirm-identity/": get("/account/confirm-identity/", logged_in()),
    "account/password/change/": get("/account/password/change/", logged_in()),
    "account/password/change/done/": get("/account/password/change/done/", logged_in()),
    "account/password/reset/": get("/account/password/reset/", answers(OK)),
    "account/password/reset/sent/": get("/account/password/reset/sent/", answers(OK)),
    "account/password/reset/<uidb64>/<token>/": get("/account/password/reset/MQ/set-password/", answers(OK)),
    "account/password/reset/done/": get("/account/password/reset/done/", answers(OK)),
    # Staff have an authenticator app already; municipal users may add one. The QR code exists only during set-up.
    "account/two-factor/setup/": get("/account/two-factor/setup/", logged_in(**dict.fromkeys(STAFF, REDIRECT))),
    "account/two-factor/qrcode/": get("/account/two-factor/qrcode/", logged_in(NOT_FOUND)),
    "account/two-factor/setup/complete/": get(
        "/account/two-factor/setup/complete/", logged_in(**dict.fromkeys(MUNICIPAL, LOGIN))
    ),
    "account/two-factor/recovery-codes/": get(
        "/account/two-factor/recovery-codes/", logged_in(**dict.fromkeys(MUNICIPAL, LOGIN))
    ),
    # eHerkenning: to the broker, and the broker's answer, refused without its code and state. The stand-in broker
    # (routed with EHERKENNING_MOCK, as in the tests) refuses an authorization without its parameters.
    "eherkenning/login/": (
        Access("/eherkenning/login/", answers(REDIRECT)),
        Access("/eherkenning/login/", answers(NOT_ALLOWED), "POST"),
    ),
    "eherkenning/callback/": (
        Access("/eherkenning/callback/", answers(FORBIDDEN)),
        Access("/eherkenning/callback/", answers(NOT_ALLOWED), "POST"),
    ),
    "mock-eherkenning/authorization/": (
        Access("/mock-eherkenning/authorization/", answers(BAD_REQUEST)),
        Access("/mock-eherkenning/authorization/", answers(BAD_REQUEST), "POST"),
    ),
    "mock-eherkenning/token/": (
        Access("/mock-eherkenning/token/", answers(NOT_ALLOWED)),
        Access("/mock-eherkenning/token/", answers(UNAUTHENTICATED), "POST"),
    ),
    "mock-eherkenning/jwks/": (
        Access("/mock-eherkenning/jwks/", answers(OK)),
        Access("/mock-eherkenning/jwks/", answers(NOT_ALLOWED), "POST"),
    ),
}

# --- the service pages: for everyone, logged in or not ---------------------------------------------------

SERVICE: dict[str, tuple[Access, ...]] = {
    "privacy/": (Access("/privacy/", answers(OK)), Access("/privacy/", answers(NOT_ALLOWED), "POST")),
    "toegankelijkheid/": get("/toegankelijkheid/", answers(OK)),
    "contact/": get("/contact/", answers(OK)),
    "favicon.ico": get("/favicon.ico", answers(MOVED)),
}

# --- operations: without a login, for load balancers ---------------------------------------------------

OPERATIONS: dict[str, tuple[Access, ...]] = {
    "health/live": (Access("/health/live", answers(OK)), Access("/health/live", answers(NOT_ALLOWED), "POST")),
    "health/ready": get("/health/ready", answers(OK)),
}

# --- the ministry ---------------------------------------------------------------------------------------

MINISTRY: dict[str, tuple[Access, ...]] = {
    "ministerie/": get("/ministerie/", totals()),
    "ministerie/export/<slug:table>.<slug:file_format>": (
        Access("/ministerie/export/tranches.csv", totals()),
        Access("/ministerie/export/tranches.xlsx", totals()),
        Access("/ministerie/export/nothing.csv", totals(NOT_FOUND)),
    ),
    "ministerie/voortgangsbrief/": get("/ministerie/voortgangsbrief/", totals()),
    "ministerie/verantwoording/": get("/ministerie/verantwoording/", totals()),
}

# --- the API --------------------------------------------------------------------------------------------


def api(answer: Expected = OK, **roles) -> dict:
    """An endpoint of the read-only API: the ministry and the agency (ministry.permissions.can_view_totals)."""
    return answers(FORBIDDEN, **{**dict.fromkeys(AGENCY + ("analyst",), answer), **roles})


API: dict[str, tuple[Access, ...]] = {
    "api/schema/": get("/api/schema/", answers(OK, anonymous=FORBIDDEN)),
    "api/docs/": get("/api/docs/", logged_in()),
    "api/v1/": get("/api/v1/", answers(OK, anonymous=FORBIDDEN)),
    "api/v1/^tranches/$": (
        Access("/api/v1/tranches/", api()),
        Access("/api/v1/tranches/", api(NOT_ALLOWED), "POST"),
    ),
    "api/v1/^tranches/(?P<slug>[^/.]+)/$": get("/api/v1/tranches/{grant.tranche.slug}/", api()),
    # No totals have been computed in the walk: the letter's paragraph is not there yet.
    "api/v1/^tranches/(?P<slug>[^/.]+)/letter/$": get("/api/v1/tranches/{grant.tranche.slug}/letter/", api(NOT_FOUND)),
    "api/v1/^totals/$": get("/api/v1/totals/", api()),
}

# --- the back office ------------------------------------------------------------------------------------

# The apps with models in the back office, in the order of INSTALLED_APPS: the route of the app index lists them.
ADMIN_APPS = (
    "auth",
    "otp_totp",
    "otp_static",
    "axes",
    "accounts",
    "grants",
    "applications",
    "allocation",
    "realisation",
    "notifications",
)
RUN = "/admin/allocation/allocationrun/{run.pk}/"
TRANCHE = "/admin/grants/tranche/{tranche.pk}/"
OBJECTION = "/admin/allocation/objection/{objection.pk}/"
RECLAIM = "/admin/realisation/reclaim/{reclaim.pk}/"

BACK_OFFICE: dict[str, tuple[Access, ...]] = {
    # Addresses of pages that moved to the app of their stage, redirected for everyone.
    **{
        rf"^admin/{old}/(?P<rest>.*)$": get(f"/admin/{old}/", answers(MOVED))
        for old in (
            "grants/allocationrun",
            "grants/decision",
            "grants/settlement",
            "applications/progressreport",
            "applications/grantfollowup",
        )
    },
    # Agency staff land on their workbench, everyone else on the list of pages.
    "admin/": get("/admin/", back_office()),
    # django-two-factor-auth sends the back office's login to the one login page, which asks the second factor.
    "admin/login/": get("/admin/login/", answers(LOGIN)),
    "admin/logout/": get("/admin/logout/", answers(REDIRECT, **dict.fromkeys(AGENCY + ("superuser",), NOT_ALLOWED))),
    "admin/password_change/": get("/admin/password_change/", back_office()),
    "admin/password_change/done/": get("/admin/password_change/done/", back_office()),
    "admin/autocomplete/": get("/admin/autocomplete/", back_office(FORBIDDEN)),
    "admin/jsi18n/": get("/admin/jsi18n/", back_office()),
    "admin/r/<path:content_type_id>/<path:object_id>/": get(
        "/admin/r/{application_type.pk}/{submitted.pk}/", back_office(NOT_FOUND)
    ),
    rf"admin/^(?P<app_label>{'|'.join(ADMIN_APPS)})/$": (
        Access("/admin/grants/", back_office()),
        Access("/admin/auth/", back_office(NOT_FOUND, superuser=OK)),
    ),
    "admin/(?P<url>.*)$": get("/admin/nothing-here/", back_office(NOT_FOUND)),
    # Accounts, the second factor and the lockout: the superuser's.
    **model_admin("auth/group", "group.pk", agency=""),
    **model_admin("otp_totp/totpdevice", "totp_device.pk", agency=""),
    "admin/otp_totp/totpdevice/<int:pk>/config/": get(
        "/admin/otp_totp/totpdevice/{totp_device.pk}/config/", back_office(FORBIDDEN, superuser=OK)
    ),
    "admin/otp_totp/totpdevice/<int:pk>/qrcode/": get(
        "/admin/otp_totp/totpdevice/{totp_device.pk}/qrcode/", back_office(FORBIDDEN, superuser=OK)
    ),
    **model_admin("otp_static/staticdevice", "static_device.pk", agency=""),
    **model_admin("axes/accessattempt", "access_attempt.pk", agency="", superuser="vcd"),
    **model_admin("axes/accesslog", "access_log.pk", agency="", superuser="vcd"),
    **model_admin("axes/accessfailurelog", "access_failure.pk", agency="", superuser="vcd"),
    **model_admin("accounts/user", "users[editor].pk", agency=""),
    "admin/accounts/user/<id>/password/": get(
        "/admin/accounts/user/{users[editor].pk}/password/", back_office(FORBIDDEN, superuser=OK)
    ),
    **model_admin("accounts/auditentry", "audit_entry.pk", agency="", superuser="v"),
    "admin/accounts/auditentry/export/": get(
        "/admin/accounts/auditentry/export/", back_office(FORBIDDEN, superuser=OK)
    ),
    # The rules of a call.
    **model_admin("grants/municipality", "municipality.pk", superuser="v"),
    **model_admin("grants/targetgroup", "target_group.pk", superuser="v"),
    **model_admin("grants/housingtype", "housing_type.pk", superuser="v"),
    **model_admin("grants/scheme", "scheme.pk", agency="vac"),
    **model_admin("grants/tranche", "tranche.pk", agency="vac"),
    "admin/grants/tranche/^([^/]+)/history/([^/]+)/$": get(
        TRANCHE + "history/{tranche_history.history_id}/", back_office()
    ),
    "admin/grants/tranche/<path:object_id>/amendments/<int:amendment_id>/confirm/": (
        Access(TRANCHE + "amendments/{amendment.pk}/confirm/", back_office()),
        Access(TRANCHE + "amendments/{amendment.pk}/confirm/", back_office(REDIRECT), "POST"),
    ),
    "admin/grants/tranche/<path:object_id>/amendments/<int:amendment_id>/discard/": (
        Access(TRANCHE + "amendments/{amendment.pk}/discard/", back_office()),
        Access(TRANCHE + "amendments/{amendment.pk}/discard/", back_office(REDIRECT), "POST"),
    ),
    "admin/grants/tranche/<path:object_id>/import-applications/": (
        Access(TRANCHE + "import-applications/", back_office()),
        Access(TRANCHE + "import-applications/", back_office(), "POST"),
    ),
    "admin/grants/tranche/<path:object_id>/lottery-seed/": get(TRANCHE + "lottery-seed/", back_office()),
    "admin/grants/tranche/<path:object_id>/prepare-allocation/": get(TRANCHE + "prepare-allocation/", back_office()),
    "admin/grants/tranche/<path:object_id>/reserve-list/": get(TRANCHE + "reserve-list/", back_office()),
    # Applications: from submission on; a draft is not found in the back office.
    **model_admin("applications/application", "submitted.pk", superuser="v", superuser_finds=False),
    "admin/applications/application/<path:object_id>/history/": get(
        "/admin/applications/application/{submitted.pk}/history/", back_office(superuser=NOT_FOUND)
    ),
    "admin/applications/application/^([^/]+)/history/([^/]+)/$": (
        Access(
            "/admin/applications/application/{submitted.pk}/history/{submitted_history.history_id}/",
            back_office(superuser=NOT_FOUND),
        ),
        Access(
            "/admin/applications/application/{draft.pk}/history/{draft_history.history_id}/",
            back_office(NOT_FOUND),
        ),
    ),
    "admin/applications/application/<path:object_id>/attachments/<int:attachment_id>/": (
        Access(
            "/admin/applications/application/{submitted.pk}/attachments/{submitted_attachment.pk}/",
            back_office(superuser=NOT_FOUND),
        ),
        Access("/admin/applications/application/{draft.pk}/attachments/{draft_attachment.pk}/", back_office(NOT_FOUND)),
    ),
    # The steps of the assessment on the application page: a step not possible now sends back to the page.
    "admin/applications/application/<path:object_id>/steps/<slug:step>/": (
        Access("/admin/applications/application/{submitted.pk}/steps/start_review/", back_office(superuser=NOT_FOUND)),
        Access(
            "/admin/applications/application/{submitted.pk}/steps/start_review/",
            back_office(REDIRECT, superuser=NOT_FOUND),
            "POST",
        ),
        Access(
            "/admin/applications/application/{submitted.pk}/steps/mark_eligible/",
            back_office(REDIRECT, superuser=NOT_FOUND),
        ),
        Access("/admin/applications/application/{draft.pk}/steps/start_review/", back_office(NOT_FOUND)),
    ),
    # Allocation, decisions, objections and letters.
    **model_admin("allocation/decision", "decision.pk", superuser="v", superuser_finds=False),
    "admin/allocation/decision/<path:object_id>/withdraw/": (
        Access("/admin/allocation/decision/{decision.pk}/withdraw/", back_office(superuser=NOT_FOUND)),
        Access("/admin/allocation/decision/{decision.pk}/withdraw/", back_office(superuser=NOT_FOUND), "POST"),
    ),
    **model_admin("allocation/waiver", "waiver.pk", superuser=""),
    **model_admin("allocation/withdrawal", "withdrawal.pk", superuser=""),
    **model_admin("allocation/objection", "objection.pk", superuser="v", superuser_finds=False),
    "admin/allocation/objection/register/": get(
        "/admin/allocation/objection/register/", back_office(superuser=FORBIDDEN)
    ),
    **{
        f"admin/allocation/objection/<path:object_id>/{step}/": (
            Access(OBJECTION + f"{step}/", back_office(superuser=NOT_FOUND)),
            Access(OBJECTION + f"{step}/", back_office(posted, superuser=NOT_FOUND), "POST"),
        )
        # Waiving the hearing asks nothing more: the empty POST does it.
        for step, posted in (
            ("handler", OK),
            ("excuse", OK),
            ("extend", OK),
            ("hearing", OK),
            ("waive", REDIRECT),
            ("decide", OK),
        )
    },
    **model_admin("allocation/letter", "letter.pk", superuser="v", superuser_finds=False),
    "admin/allocation/letter/<path:object_id>/<str:file_format>/download/": (
        Access("/admin/allocation/letter/{letter.pk}/pdf/download/", back_office(superuser=NOT_FOUND)),
        Access("/admin/allocation/letter/{letter.pk}/html/download/", back_office(superuser=NOT_FOUND)),
    ),
    **model_admin("allocation/allocationrun", "run.pk", superuser="v"),
    "admin/allocation/allocationrun/<path:object_id>/confirm/": (
        Access(RUN + "confirm/", back_office()),
        Access(RUN + "confirm/", back_office(REDIRECT), "POST"),
    ),
    "admin/allocation/allocationrun/<path:object_id>/discard/": (
        Access(RUN + "discard/", back_office()),
        Access(RUN + "discard/", back_office(REDIRECT), "POST"),
    ),
    "admin/allocation/allocationrun/<path:object_id>/ranked-list.csv": get(RUN + "ranked-list.csv", back_office()),
    **model_admin("allocation/lotteryseed", "seed.pk", superuser="v"),
    **model_admin("allocation/allocationevent", "event.pk", superuser="v"),
    # After the grant: change requests, reclaims, progress, settlement, accountability.
    **model_admin("realisation/changerequest", "change_request.pk", superuser="v"),
    "admin/realisation/changerequest/<path:object_id>/assess/": (
        Access("/admin/realisation/changerequest/{change_request.pk}/assess/", back_office()),
        Access("/admin/realisation/changerequest/{change_request.pk}/assess/", back_office(), "POST"),
    ),
    **model_admin("realisation/reclaim", "reclaim.pk", superuser="v"),
    "admin/realisation/reclaim/worklist/": get("/admin/realisation/reclaim/worklist/", back_office()),
    "admin/realisation/reclaim/prepare/<uuid:public_id>/": (
        Access("/admin/realisation/reclaim/prepare/{grant.public_id}/", back_office()),
        Access("/admin/realisation/reclaim/prepare/{grant.public_id}/", back_office(), "POST"),
    ),
    **{
        f"admin/realisation/reclaim/<path:object_id>/{step}/": (
            Access(RECLAIM + f"{step}/", back_office()),
            Access(RECLAIM + f"{step}/", back_office(**posted), "POST"),
        )
        for step, posted in (
            ("confirm", {"approver": REDIRECT}),
            ("discard", dict.fromkeys(AGENCY, REDIRECT)),
            ("payment", {}),
        )
    },
    **model_admin("realisation/progressreport", "progress_report.pk", superuser="v"),
    **model_admin("realisation/grantfollowup", "grant.pk", superuser="v"),
    **model_admin("realisation/settlement", "settlement.pk", superuser="v"),
    **model_admin("realisation/accountabilityreport", "accountability_report.pk", superuser="v"),
    # Notifications.
    **model_admin("notifications/reminder", "reminder.pk", superuser="v"),
    **model_admin("notifications/delivery", "delivery.pk", superuser="v"),
    **model_admin("notifications/trancheremindersettings", "reminder_settings.pk", agency="vac"),
    "admin/notifications/trancheremindersettings/^([^/]+)/history/([^/]+)/$": get(
        "/admin/notifications/trancheremindersettings/{reminder_settings.pk}/history/"
        "{reminder_settings_history.history_id}/",
        back_office(),
    ),
}

# --- the API for machines (docs/api.md) -----------------------------------------------------------------

NO_CONTENT, CONFLICT = 204, 409
API_ID = "(?P<public_id>[^/.]+)"
API_ATTACHMENTS = "applications/(?P<application_public_id>[^/.]+)/attachments"
API_DRAFT, API_SUBMITTED = "/api/v1/applications/{draft.public_id}/", "/api/v1/applications/{submitted.public_id}/"
API_DECISION = "/api/v1/decisions/{decision.public_id}/"
API_LETTER = "/api/v1/letters/{letter.public_id}/"
API_REPORT = "/api/v1/progress-reports/{progress_report.public_id}/"


def machines(own: Expected = OK, *, foreign: Expected = NOT_FOUND, agency: Expected = NOT_FOUND, **roles) -> dict:
    """Applications, decisions, letters and progress reports: municipal users and agency staff, each finding what
    their selectors give them; the ministry, a superuser without a role and a request without a login get 403."""
    groups = {**dict.fromkeys(OWN, own), **dict.fromkeys(FOREIGN, foreign), **dict.fromkeys(AGENCY, agency)}
    return answers(FORBIDDEN, **{**groups, **roles})


def routed(route: str, *accesses: Access) -> dict[str, tuple[Access, ...]]:
    """A route of the API's router."""
    return {f"api/v1/^{route}/$": accesses}


API_FOR_MACHINES: dict[str, tuple[Access, ...]] = {
    # Every logged-in user manages their own tokens; none exists in the walk. An empty POST lacks the name.
    **routed(
        "tokens",
        Access("/api/v1/tokens/", answers(OK, anonymous=FORBIDDEN)),
        Access("/api/v1/tokens/", answers(BAD_REQUEST, anonymous=FORBIDDEN), "POST"),
    ),
    **routed(
        "tokens/(?P<pk>[^/.]+)",
        Access("/api/v1/tokens/0/", answers(NOT_FOUND, anonymous=FORBIDDEN), "DELETE"),
        Access("/api/v1/tokens/0/", answers(NOT_ALLOWED, anonymous=FORBIDDEN)),
    ),
    # Agency staff see applications from submission on; an empty POST is incomplete, or not theirs to make.
    **routed(
        "applications",
        Access("/api/v1/applications/", machines(foreign=OK, agency=OK)),
        Access("/api/v1/applications/", machines(BAD_REQUEST, foreign=BAD_REQUEST, agency=FORBIDDEN), "POST"),
    ),
    **routed(
        f"applications/{API_ID}",
        Access(API_DRAFT, machines()),
        Access(API_SUBMITTED, machines(agency=OK)),
        Access(API_DRAFT, machines(), "PATCH"),
        Access(API_SUBMITTED, machines(FORBIDDEN, agency=FORBIDDEN), "PATCH"),
    ),
    # Only a signatory confirms, submits and withdraws: the application is submitted already (409, as on the portal),
    # and withdrawing needs a reason.
    **{
        key: value
        for action, signatory in (("ready", CONFLICT), ("submit", CONFLICT), ("withdraw", BAD_REQUEST))
        for key, value in routed(
            f"applications/{API_ID}/{action}",
            Access(API_SUBMITTED + f"{action}/", machines(FORBIDDEN, signatory=signatory, agency=FORBIDDEN), "POST"),
        ).items()
    },
    # The assessment is the agency's: a review starts; the other steps need a reason or a review first.
    **{
        key: value
        for action, agency in (
            ("start-review", OK),
            ("request-information", BAD_REQUEST),
            ("mark-eligible", BAD_REQUEST),
            ("mark-ineligible", BAD_REQUEST),
        )
        for key, value in routed(
            f"applications/{API_ID}/{action}",
            Access(API_SUBMITTED + f"{action}/", machines(FORBIDDEN, agency=agency), "POST"),
        ).items()
    },
    **routed(
        API_ATTACHMENTS,
        Access(API_DRAFT + "attachments/", machines()),
        Access(API_SUBMITTED + "attachments/", machines(agency=OK)),
        Access(API_DRAFT + "attachments/", machines(BAD_REQUEST), "POST"),
        Access(API_SUBMITTED + "attachments/", machines(FORBIDDEN, agency=FORBIDDEN), "POST"),
    ),
    **routed(
        f"{API_ATTACHMENTS}/(?P<pk>[0-9]+)",
        Access(API_DRAFT + "attachments/{draft_attachment.pk}/", machines()),
        Access(API_SUBMITTED + "attachments/{submitted_attachment.pk}/", machines(agency=OK)),
        Access(API_DRAFT + "attachments/{draft_attachment.pk}/", machines(NO_CONTENT), "DELETE"),
        Access(
            API_SUBMITTED + "attachments/{submitted_attachment.pk}/", machines(FORBIDDEN, agency=FORBIDDEN), "DELETE"
        ),
    ),
    **routed(
        f"{API_ATTACHMENTS}/(?P<pk>[0-9]+)/file",
        Access(API_DRAFT + "attachments/{draft_attachment.pk}/file/", machines()),
        Access(API_SUBMITTED + "attachments/{submitted_attachment.pk}/file/", machines(agency=OK)),
    ),
    **routed("decisions", Access("/api/v1/decisions/", machines(foreign=OK, agency=OK))),
    **routed(f"decisions/{API_ID}", Access(API_DECISION, machines(agency=OK))),
    **routed(f"decisions/{API_ID}/letter/pdf", Access(API_DECISION + "letter/pdf/", machines(agency=OK))),
    **routed(f"decisions/{API_ID}/letter/html", Access(API_DECISION + "letter/html/", machines(agency=OK))),
    **routed("letters", Access("/api/v1/letters/", machines(foreign=OK, agency=OK))),
    **routed(f"letters/{API_ID}", Access(API_LETTER, machines(agency=OK))),
    **routed(f"letters/{API_ID}/pdf", Access(API_LETTER + "pdf/", machines(agency=OK))),
    **routed(f"letters/{API_ID}/html", Access(API_LETTER + "html/", machines(agency=OK))),
    # The walk's report is submitted: agency staff read it, and submitting it again is refused.
    **routed(
        "progress-reports",
        Access("/api/v1/progress-reports/", machines(foreign=OK, agency=OK)),
        Access("/api/v1/progress-reports/", machines(BAD_REQUEST, foreign=BAD_REQUEST, agency=FORBIDDEN), "POST"),
    ),
    **routed(f"progress-reports/{API_ID}", Access(API_REPORT, machines(agency=OK))),
    **routed(
        f"progress-reports/{API_ID}/submit",
        Access(API_REPORT + "submit/", machines(FORBIDDEN, signatory=BAD_REQUEST, agency=FORBIDDEN), "POST"),
    ),
}

MATRIX: dict[str, tuple[Access, ...]] = {
    **PORTAL,
    **ACCOUNTS,
    **SERVICE,
    **OPERATIONS,
    **MINISTRY,
    **API,
    **API_FOR_MACHINES,
    **BACK_OFFICE,
}
