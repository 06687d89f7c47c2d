from django.urls import path

from . import views

app_name = "progress"

urlpatterns = [
    path("progress/", views.progress_list, name="list"),
    path("applications/<uuid:public_id>/progress/", views.progress_detail, name="detail"),
    path("applications/<uuid:public_id>/progress/edit/", views.progress_edit, name="edit"),
    path("applications/<uuid:public_id>/progress/submit/", views.progress_submit, name="submit"),
]
