"""Gallery, inspiration, credits and staff report pages."""

from django.urls import path

from .views import credits, galleries, inspiration, reports

urlpatterns = [
    # personal gallery (login required) and the public explore page
    path("gallery/", galleries.gallery, name="gallery"),
    path("images/<uuid:image_id>/", galleries.image_detail, name="image_detail"),
    path("explore/", galleries.explore, name="explore"),
    # inspiration
    path("inspiration/", inspiration.inspiration, name="inspiration"),
    # credits and staff reports
    path("credits/", credits.credit_history, name="credit_history"),
    path("staff/usage/", reports.usage_report, name="usage_report"),
]
