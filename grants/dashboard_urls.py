from django.urls import path

from . import dashboard_views

app_name = "ministry"

urlpatterns = [
    path("", dashboard_views.dashboard_page, name="dashboard"),
    path("export/<slug:table>.<slug:file_format>", dashboard_views.export_table, name="export"),
    path("voortgangsbrief/", dashboard_views.progress_letter, name="progress_letter"),
]
