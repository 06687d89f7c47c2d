from django.urls import path

from . import views

app_name = "decisions"

urlpatterns = [
    path("<uuid:public_id>/letter.pdf", views.decision_letter, {"file_format": "pdf"}, name="letter_pdf"),
    path("<uuid:public_id>/letter.html", views.decision_letter, {"file_format": "html"}, name="letter_html"),
]
