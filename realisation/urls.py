from django.urls import path

from . import views

app_name = "progress"

urlpatterns = [
    path("progress/", views.progress_list, name="list"),
    path("applications/<uuid:public_id>/progress/", views.progress_detail, name="detail"),
    path("applications/<uuid:public_id>/progress/edit/", views.progress_edit, name="edit"),
    path("applications/<uuid:public_id>/progress/submit/", views.progress_submit, name="submit"),
    path("applications/<uuid:public_id>/changes/", views.change_requests, name="changes"),
    path("applications/<uuid:public_id>/changes/new/", views.change_request_new, name="change_new"),
    path("accountability/", views.accountability_list, name="accountability_list"),
    path("applications/<uuid:public_id>/accountability/", views.accountability_grant, name="accountability_grant"),
    path(
        "applications/<uuid:public_id>/accountability/<int:year>/",
        views.accountability_edit,
        name="accountability_edit",
    ),
    path(
        "applications/<uuid:public_id>/accountability/<int:year>/offer/",
        views.accountability_offer,
        name="accountability_offer",
    ),
    path(
        "applications/<uuid:public_id>/accountability/<int:year>/certify/",
        views.accountability_certify,
        name="accountability_certify",
    ),
]
