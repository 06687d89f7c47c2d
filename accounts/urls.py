from django.contrib.auth import views as auth_views
from django.urls import path
from two_factor import views as two_factor_views

from . import mock_eherkenning, views

app_name = "accounts"

urlpatterns = [
    path("second-factor/", views.SecondFactorView.as_view(), name="second_factor"),
    path("confirm-identity/", views.ReauthenticateView.as_view(), name="reauthenticate"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]

# django-two-factor-auth's pages for enrolling an authenticator app and making recovery codes. They name each other
# in the `two_factor` namespace, so config/urls.py includes them on their own.
two_factor_urls = (
    [
        path("setup/", two_factor_views.SetupView.as_view(template_name="accounts/enrol.html"), name="setup"),
        path("qrcode/", two_factor_views.QRGeneratorView.as_view(), name="qr"),
        path(
            "setup/complete/",
            two_factor_views.SetupCompleteView.as_view(template_name="accounts/enrolled.html"),
            name="setup_complete",
        ),
        path(
            "recovery-codes/",
            two_factor_views.BackupTokensView.as_view(template_name="accounts/recovery_codes.html"),
            name="backup_tokens",
        ),
    ],
    "two_factor",
)

# Organisation login (accounts.eherkenning); config/urls.py includes it under eherkenning/.
eherkenning_urls = (
    [
        path("login/", views.EHerkenningLoginView.as_view(), name="login"),
        path("callback/", views.EHerkenningCallbackView.as_view(), name="callback"),
    ],
    "eherkenning",
)

# The stand-in broker of the embedded run and the tests, routed only while EHERKENNING_MOCK is on.
mock_eherkenning_urls = (
    [
        path("authorization/", mock_eherkenning.AuthorizationView.as_view(), name="authorization"),
        path("token/", mock_eherkenning.token, name="token"),
        path("jwks/", mock_eherkenning.jwks, name="jwks"),
    ],
    "mock_eherkenning",
)
