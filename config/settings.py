"""Settings, read from the environment.

Without any environment the service runs with DEBUG off and needs SECRET_KEY; DEBUG=1 (as `make run` and
the tests set it) gives the embedded defaults: SQLite, Celery tasks executed eagerly. With DATABASE_URL and
REDIS_URL set it runs on PostgreSQL, Redis and real Celery worker and beat
processes. See docs/operations.md for every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Off unless asked for: a production host that forgets the variable must not show tracebacks.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="embedded-only-not-a-secret" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The proxies (addresses or networks) whose X-Request-Start header gives a request's moment of arrival
# (applications/middleware.py, docker/nginx.conf). Empty: the moment is taken when the application gets the request.
REQUEST_START_PROXIES = env.list("REQUEST_START_PROXIES", default=[])

INSTALLED_APPS = [
    # Django's admin with the back office's own site: agency staff start on their workbench.
    "config.apps.BackOfficeConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "two_factor",
    "axes",
    # The stages of a grant's life, each depending only on those above it (docs/architecture.md).
    "accounts",
    "grants",
    "applications",
    "allocation",
    "realisation",
    "ministry",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    # Before everything: the moment a request arrived is the receipt instant of a submission (docs/rules.md).
    "applications.middleware.ArrivalMiddleware",
    # Before the rest: every response, redirects and refusals included, carries the request id and is logged.
    "config.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that it can turn a locked-out login into the lockout page (docs/security.md).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A kept connection is checked before a request reuses it, so that a database restart costs only the requests in
# flight at that moment (docs/operations.md, "Opening day").
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The embedded setup's SQLite: writers wait for each other (up to 20 seconds) instead of failing at once with
# "database is locked". IMMEDIATE takes the write lock when a transaction begins: two transactions that both
# read and then write would otherwise deadlock, and SQLite refuses one of them without waiting.
SQLITE_OPTIONS = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)
# PostgreSQL: parameters bound by the server, and a query prepared on its connection when it runs the second time,
# so that PostgreSQL parses and plans the same queries once per connection instead of on every request: half of
# its CPU at the opening (docs/benchmarks.md, "Opening day"). Off behind a pooler that cannot keep prepared
# statements (PgBouncer in transaction mode before 1.21): DATABASE_PREPARED_STATEMENTS=0.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": 1,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses every attempt while the username or the address is locked out.
    "axes.backends.AxesStandaloneBackend",
    # Passwords; for municipal users only while MUNICIPAL_PASSWORD_LOGIN is on.
    "accounts.eherkenning.PasswordBackend",
    # Municipal users: eHerkenning through an OpenID Connect broker (docs/security.md, "eHerkenning").
    "accounts.eherkenning.EHerkenningBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Attachments: what the content must be, not what the file name says.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# The worker keeps the LOGGING below (JSON lines with the request id) instead of installing its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The heartbeat task lives outside the apps, where autodiscovery would not find it.
CELERY_IMPORTS = ["config.health"]
CELERY_BEAT_SCHEDULE = {
    # Every night at 02:30 in CELERY_TIMEZONE (Europe/Amsterdam), besides the refresh after each allocation.
    "refresh-totals-nightly": {"task": "ministry.tasks.refresh_totals", "schedule": crontab(hour=2, minute=30)},
    # Every quarter of an hour: decide the reminders due and send what is pending (docs/notifications.md). The
    # weekly digest falls due on Monday at 08:00 and the reminders of a day at 09:00, which a sweep then finds.
    "send-reminders": {"task": "notifications.tasks.sweep_reminders", "schedule": crontab(minute="*/15")},
    # Every night at 03:15: remove or anonymise personal data past its retention period (docs/privacy.md).
    "apply-retention-nightly": {"task": "accounts.tasks.apply_retention", "schedule": crontab(hour=3, minute=15)},
    # Every minute: proves that beat schedules and a worker runs; /health/ready reports its age.
    "health-heartbeat": {"task": "config.health.heartbeat", "schedule": 60.0},
}

# How long personal data is kept, in whole years (docs/privacy.md); the nightly apply_retention job removes or
# anonymises what is older.
RETENTION_YEARS = {
    "audit_log": env.int("RETENTION_AUDIT_LOG_YEARS", default=7),
    "login_audit_log": env.int("RETENTION_LOGIN_AUDIT_LOG_YEARS", default=2),
    "idle_account": env.int("RETENTION_IDLE_ACCOUNT_YEARS", default=1),
    "contact_person": env.int("RETENTION_CONTACT_PERSON_YEARS", default=7),
    "draft": env.int("RETENTION_DRAFT_YEARS", default=1),
    "email": env.int("RETENTION_EMAIL_YEARS", default=2),
}
# Rules the nightly task leaves to a command run by another database user, e.g. `audit_log` where the application's
# user may not delete audit entries.
RETENTION_TASK_SKIP = env.list("RETENTION_TASK_SKIP", default=[])

# The API (docs/api.md). The session comes first, so that a request without credentials is a 403 as on the site; a
# bad token is a 401 (accounts.api.exception_handler).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.BearerTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "accounts.openapi.ApiSchema",
    "DEFAULT_PAGINATION_CLASS": "accounts.authentication.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.authentication.UserThrottle"],
    # Requests per user, e.g. 5000/hour; empty for no limit (the tests, except those of the limit).
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_THROTTLE_RATE", default="120/minute") or None},
    "EXCEPTION_HANDLER": "accounts.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Thuisfonds API",
    "DESCRIPTION": (
        "Regeling huisvesting aandachtsgroepen: applications, decisions, letters, progress reports, tranches and "
        "totals. Authentication, errors, idempotency and limits: docs/api.md."
    ),
    "VERSION": "1.0.0",
    # The API documentation page loads Swagger UI from our own static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and its documentation page are for logged-in users only (config/urls.py).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Choice sets that share a field name get a name of their own instead of a generated one.
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "applications.models.Status",
        "AttachmentKindEnum": "applications.models.AttachmentKind",
    },
}

SESSION_COOKIE_HTTPONLY = True
# Idle time after which a session ends; accounts.middleware.SessionActivityMiddleware moves the end on while the
# session is used. A confirmation asks the password again when it was entered longer than
# REAUTHENTICATION_AGE ago. Both in seconds (docs/security.md).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
REAUTHENTICATION_AGE = env.int("REAUTHENTICATION_AGE", default=15 * 60)

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures a username, and separately an address, is
# locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Failures are not forgotten at a successful login: that would reset the count of every username tried from the
# same address, so one valid account would allow endless guessing at others. Logins go to the audit log instead.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
# The client's address, for the lockout and the audit log: the connecting one, or, when the proxy in front replaces
# X-Forwarded-For with the address it sees (TRUST_X_FORWARDED_FOR=1), that header's single address.
if env.bool("TRUST_X_FORWARDED_FOR", default=False):
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = 0
# An eHerkenning login passes the broker's own checks; a refused mandate is no guessed password.
AXES_WHITELIST_CALLABLE = "accounts.eherkenning.is_eherkenning_attempt"

# eHerkenning through an OpenID Connect broker (mozilla-django-oidc; docs/security.md, "eHerkenning"). With
# EHERKENNING_MOCK, which only DEBUG allows, the service is its own broker at /mock-eherkenning/; an endpoint given
# as a path is on this server.
EHERKENNING_MOCK = DEBUG and env.bool("EHERKENNING_MOCK", default=True)


def _broker_endpoint(name: str) -> str:
    if EHERKENNING_MOCK:
        return f"/mock-eherkenning/{name.lower()}/"
    return env.str(f"EHERKENNING_{name}_ENDPOINT", default="")


OIDC_OP_AUTHORIZATION_ENDPOINT = _broker_endpoint("AUTHORIZATION")
OIDC_OP_TOKEN_ENDPOINT = _broker_endpoint("TOKEN")
OIDC_OP_JWKS_ENDPOINT = _broker_endpoint("JWKS")
# The claims are read from the signed ID token; the userinfo endpoint is not asked.
OIDC_OP_USER_ENDPOINT = ""
OIDC_RP_CLIENT_ID = env.str("EHERKENNING_CLIENT_ID", default="thuisfonds")
OIDC_RP_CLIENT_SECRET = env.str("EHERKENNING_CLIENT_SECRET", default="mock-secret" if EHERKENNING_MOCK else "")
OIDC_TOKEN_USE_BASIC_AUTH = env.bool("EHERKENNING_TOKEN_BASIC_AUTH", default=False)
OIDC_RP_SCOPES = env.str("EHERKENNING_SCOPES", default="openid")
OIDC_RP_SIGN_ALGO = env.str("EHERKENNING_SIGN_ALGORITHM", default="RS256")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env.int("EHERKENNING_TIMEOUT", default=10)
OIDC_AUTHENTICATION_CALLBACK_URL = "eherkenning:callback"
EHERKENNING_ENABLED = bool(OIDC_OP_AUTHORIZATION_ENDPOINT)
# Which claims carry the organisation, the mandate's service and the assurance level, and what they map to: a CBS
# code is taken as it is, any other organisation identifier (KvK number, OIN) is looked up in ORGANISATIONS.
EHERKENNING_ORGANISATION_CLAIM = env.str("EHERKENNING_ORGANISATION_CLAIM", default="urn:etoegang:core:LegalSubjectID")
EHERKENNING_SERVICE_CLAIM = env.str("EHERKENNING_SERVICE_CLAIM", default="urn:etoegang:core:ServiceID")
EHERKENNING_ASSURANCE_CLAIM = env.str("EHERKENNING_ASSURANCE_CLAIM", default="urn:etoegang:core:LevelOfAssurance")
EHERKENNING_ORGANISATIONS = env.dict("EHERKENNING_ORGANISATIONS", default={})
EHERKENNING_SERVICES = env.dict(
    "EHERKENNING_SERVICES",
    default={
        "urn:etoegang:DV:00000000000000000000:services:1": "municipal_editor",
        "urn:etoegang:DV:00000000000000000000:services:2": "municipal_signatory",
        "urn:etoegang:DV:00000000000000000000:services:3": "municipal_financial_officer",
    },
)
EHERKENNING_MIN_ASSURANCE = env.str("EHERKENNING_MIN_ASSURANCE", default="EH3")
# Municipal users with a password may use it while this is on: by default in the embedded run (the demo users) and
# as long as no broker is configured; once one is, municipalities log in with eHerkenning only.
MUNICIPAL_PASSWORD_LOGIN = env.bool("MUNICIPAL_PASSWORD_LOGIN", default=DEBUG or not EHERKENNING_ENABLED)

if not DEBUG:
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone who reaches the web server.
    # Gunicorn sets the scheme from that header only for the proxy in FORWARDED_ALLOW_IPS (docker/gunicorn.conf.py).
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers and container checks ask over plain HTTP inside the network (config/health.py).
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True

# One JSON object per line in production (python-json-logger), readable text in the embedded run; every line
# carries the request id and user id (config/logs.py, docs/operations.md "Logs").
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "config.logs.RequestContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # PDF rendering reports every step and every font subset at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# E-mail (docs/notifications.md). EMAIL_URL sets backend and server at once, e.g.
# smtp+tls://user:password@smtp.example.nl:587; else EMAIL_HOST and its companions choose SMTP. Without either,
# mail is written to the console, as the embedded run wants.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@thuisfonds.example")
# The address of the service as users reach it, for the links in e-mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# How users reach the agency, on the contact page and in the privacy and accessibility statements (docs/portal.md).
CONTACT_PHONE = env.str("CONTACT_PHONE", default="088 000 0000")
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="contact@thuisfonds.example")
# Who signs the letters on behalf of the minister (docs/back-office.md, "Letters"): the official who decided, by
# name, with this function; the name alone, which names a function, when the letter knows no official.
DECISION_LETTER_SIGNATORY = {
    "name": env.str("DECISION_LETTER_SIGNATORY_NAME", default="Het afdelingshoofd Volkshuisvesting"),
    "function": env.str("DECISION_LETTER_SIGNATORY_FUNCTION", default="Afdelingshoofd Volkshuisvesting"),
}

# --- Uploads, exports and input (docs/security.md) -------------------------------------------------------

# Form fields without files; attachments are limited while they stream in (applications/uploads.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# XLSX and DOCX are zip archives: what they may unpack to, so that a small archive bomb is refused.
ATTACHMENT_ARCHIVE_MAX_BYTES = env.int("ATTACHMENT_ARCHIVE_MAX_BYTES", default=200 * 1024 * 1024)
ATTACHMENT_ARCHIVE_MAX_ENTRIES = env.int("ATTACHMENT_ARCHIVE_MAX_ENTRIES", default=1000)
# ClamAV's clamd: a Unix socket path or tcp://host:port. Empty: attachments are not scanned.
CLAMAV_SOCKET = env.str("CLAMAV_SOCKET", default="")
CLAMAV_TIMEOUT = env.int("CLAMAV_TIMEOUT", default=30)

# Scripts only from our own static files; inline styles remain for the admin's ranked list, the HTML decision
# letter and the API documentation page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
