from django.urls import path

from . import views

app_name = "ministry"

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("export/<slug:table>.<slug:file_format>", views.export_table, name="export"),
    path("voortgangsbrief/", views.progress_letter, name="progress_letter"),
    path("verantwoording/", views.accountability_page, name="accountability"),
]
