"""The service pages at the site's root, in Dutch as the government's sites name them (accounts.service_pages)."""

from django.urls import path

from . import service_pages

app_name = "service"

urlpatterns = [
    path("privacy/", service_pages.privacy, name="privacy"),
    path("toegankelijkheid/", service_pages.accessibility, name="accessibility"),
    path("contact/", service_pages.contact, name="contact"),
    path("favicon.ico", service_pages.favicon, name="favicon"),
]
