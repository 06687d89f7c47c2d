from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import api as accounts_api
from accounts import views as accounts_views
from accounts.urls import eherkenning_urls, mock_eherkenning_urls, two_factor_urls
from allocation import api as allocation_api
from applications import api as applications_api
from config import health
from ministry import api as ministry_api
from realisation import api as realisation_api

# Back-office pages that moved to the app of their stage (docs/architecture.md); old links keep working.
MOVED_ADMIN_PAGES = {
    "grants/allocationrun": "allocation/allocationrun",
    "grants/decision": "allocation/decision",
    "grants/settlement": "realisation/settlement",
    "applications/progressreport": "realisation/progressreport",
    "applications/grantfollowup": "realisation/grantfollowup",
}

# Every stage's API (docs/api.md): each names its endpoints in its api module's ROUTES.
API_V1 = accounts_api.api_urls(accounts_api, applications_api, allocation_api, realisation_api, ministry_api)

urlpatterns = [
    *(
        re_path(
            rf"^admin/{old}/(?P<rest>.*)$",
            RedirectView.as_view(url=f"/admin/{new}/%(rest)s", query_string=True, permanent=True),
        )
        for old, new in MOVED_ADMIN_PAGES.items()
    ),
    # Without login or session, for load balancers and container checks (docs/operations.md, "Health").
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    # Privacy and accessibility statements, contact and the favicon: open to everyone (docs/portal.md).
    path("", include("accounts.service_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("login/", accounts_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("accounts.urls")),
    path("account/two-factor/", include(two_factor_urls)),
    path("eherkenning/", include(eherkenning_urls)),
    # The stand-in eHerkenning broker: never in production (docs/security.md, "eHerkenning").
    *([path("mock-eherkenning/", include(mock_eherkenning_urls))] if settings.EHERKENNING_MOCK else []),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # For logged-in users only (SERVE_PERMISSIONS); the page sends anonymous visitors to the login. The split view
    # serves Swagger UI's start script as a file, which the Content-Security-Policy allows, instead of inline.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("decisions/", include("allocation.urls")),
    path("ministerie/", include("ministry.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include((API_V1, "api"))),
    path("", include("realisation.urls")),
    path("", include("applications.urls")),
]
