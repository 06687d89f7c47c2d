from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/", views.application_list, name="application_list"),
    path("tranches/<slug:slug>/", views.tranche_detail, name="tranche_detail"),
    path("tranches/<slug:slug>/apply/", views.application_create, name="application_create"),
    path("server-time/", views.server_time, name="server_time"),
    path("applications/<uuid:public_id>/", views.application_detail, name="application_detail"),
    path("applications/<uuid:public_id>/edit/", views.application_edit, name="application_edit"),
    path("applications/<uuid:public_id>/ready/", views.application_ready, name="application_ready"),
    path("applications/<uuid:public_id>/submit/", views.application_submit, name="application_submit"),
    path("applications/<uuid:public_id>/received/", views.application_received, name="application_received"),
    path("applications/<uuid:public_id>/receipt.pdf", views.application_receipt_pdf, name="application_receipt_pdf"),
    path(
        "applications/<uuid:public_id>/ask-signatory/",
        views.application_ask_signatory,
        name="application_ask_signatory",
    ),
    path("applications/<uuid:public_id>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("applications/<uuid:public_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path(
        "applications/<uuid:public_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path(
        "applications/<uuid:public_id>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="attachment_delete",
    ),
]
