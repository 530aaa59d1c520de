"""The offline engine's URLs, mounted at /engine/ (aigc_site/urls.py) when ENGINE_ENABLED.

The four submission paths are the site's default APISPACE_PATHS; status and interrupt are
the backend's calls (seed/provider-facts.md).
"""

from django.urls import path, re_path

from . import views

app_name = "engine"

urlpatterns = [
    path("", views.index, name="index"),
    path("aigc/txt2img", views.submit, {"kind": "txt2img"}, name="txt2img"),
    path("aigc/img2img", views.submit, {"kind": "img2img"}, name="img2img"),
    path("aigc/anime", views.submit, {"kind": "anime"}, name="anime"),
    path("aigc/super-resolution", views.submit, {"kind": "upscale"}, name="upscale"),
    path("status", views.status, name="status"),
    path("interrupt", views.interrupt, name="interrupt"),
    path("health", views.health, name="health"),
    re_path(r"^files/(?P<name>[0-9a-f]{32})\.png$", views.result_file, name="file"),
    re_path(r"^faults/(?P<mode>[a-z0-9-]+)/(?P<name>[0-9a-f]{32})\.png$", views.fault_file, name="fault_file"),
]
