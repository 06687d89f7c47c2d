from django.urls import path

from . import views

app_name = "decisions"

urlpatterns = [
    path("<uuid:public_id>/letter.pdf", views.decision_letter, {"file_format": "pdf"}, name="letter_pdf"),
    path("<uuid:public_id>/letter.html", views.decision_letter, {"file_format": "html"}, name="letter_html"),
    path("letters/<uuid:public_id>/letter.pdf", views.case_letter, {"file_format": "pdf"}, name="case_letter_pdf"),
    path("letters/<uuid:public_id>/letter.html", views.case_letter, {"file_format": "html"}, name="case_letter_html"),
    path("applications/<uuid:public_id>/waive/", views.waive_grant, name="waive"),
]
