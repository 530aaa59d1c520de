"""Gallery, inspiration, credits, inbox and staff report pages."""

from django.urls import path

from .views import albums, compare, credits, galleries, inspiration, moderation, notices, reports, trash, triage

urlpatterns = [
    # personal gallery (login required) and the public explore page
    path("gallery/", galleries.gallery, name="gallery"),
    path("images/<uuid:image_id>/", galleries.image_detail, name="image_detail"),
    path("explore/", galleries.explore, name="explore"),
    # image actions, media and downloads
    path("images/<uuid:image_id>/media/<slug:variant>/", galleries.image_media, name="image_media"),
    path("images/<uuid:image_id>/download/", galleries.image_download, name="image_download"),
    path("images/<uuid:image_id>/full/", galleries.image_full_size, name="image_full_size"),
    path("images/<uuid:image_id>/favourite/", galleries.image_favourite, name="image_favourite"),
    path("images/<uuid:image_id>/rating/", galleries.image_rating, name="image_rating"),
    path("images/<uuid:image_id>/visibility/", galleries.image_visibility, name="image_visibility"),
    path("images/<uuid:image_id>/delete/", galleries.image_delete, name="image_delete"),
    path("gallery/bulk/", galleries.gallery_bulk, name="gallery_bulk"),
    path("compare/", compare.compare_pictures, name="compare"),
    path("gallery/download.zip", galleries.gallery_zip, name="gallery_zip"),
    # the trash: deleted pictures, restorable for TRASH_RETENTION_DAYS
    path("gallery/triage/", triage.triage_page, name="triage"),
    path("gallery/triage/<uuid:image_id>/", triage.triage_act, name="triage_act"),
    path("gallery/triage/<uuid:image_id>/state/", triage.triage_state, name="triage_state"),
    path("gallery/trash/", trash.trash_page, name="trash"),
    path("gallery/trash/restore/", trash.trash_restore, name="trash_restore"),
    path("gallery/trash/undo/", trash.trash_undo, name="trash_undo"),
    path("gallery/trash/empty/", trash.trash_empty, name="trash_empty"),
    # albums ("boards")
    path("albums/", albums.album_list, name="album_list"),
    path("albums/new/", albums.album_create, name="album_create"),
    path("albums/<int:album_id>/", albums.album_detail, name="album_detail"),
    path("albums/<int:album_id>/rename/", albums.album_rename, name="album_rename"),
    path("albums/<int:album_id>/delete/", albums.album_delete, name="album_delete"),
    path("albums/<int:album_id>/add/", albums.album_add, name="album_add"),
    path("albums/<int:album_id>/remove/", albums.album_remove, name="album_remove"),
    # inspiration
    path("inspiration/", inspiration.inspiration, name="inspiration"),
    path("images/<uuid:image_id>/feature/", inspiration.feature_image, name="inspiration_feature"),
    path("images/<uuid:image_id>/unfeature/", inspiration.unfeature_image, name="inspiration_unfeature"),
    # credits and staff reports
    path("credits/", credits.credit_history, name="credit_history"),
    path("staff/usage/", reports.usage_report, name="usage_report"),
    # the inbox: notices of jobs that ended and of staff credit moves
    path("inbox/", notices.inbox_page, name="inbox"),
    path("inbox/unread.json", notices.unread_json, name="inbox_unread"),
    path("inbox/read-all/", notices.mark_all_read, name="inbox_read_all"),
    path("inbox/settings/", notices.notice_settings, name="notice_settings"),
    path("inbox/<int:notice_id>/", notices.notice_open, name="notice_open"),
    # reporting a public image; staff handle reports in the admin
    path("images/<uuid:image_id>/report/", moderation.report_image, name="report_image"),
]
