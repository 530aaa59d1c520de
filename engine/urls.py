"""The offline engine's URLs, mounted at /engine/ (aigc_site/urls.py) when ENGINE_ENABLED.

The submission paths (one per kind, engine/kinds.py) are the site's default APISPACE_PATHS;
status and interrupt are the backend's calls (docs/provider-protocol.md).
"""

from django.urls import path, re_path

from . import kinds, views

app_name = "engine"

urlpatterns = [
    path("", views.index, name="index"),
    # one submission path per kind (engine/kinds.py)
    *(path(kind.path, views.submit, {"kind": kind.name}, name=kind.name) for kind in kinds.KINDS.values()),
    path("status", views.status, name="status"),
    path("interrupt", views.interrupt, name="interrupt"),
    path("health", views.health, name="health"),
    re_path(r"^files/(?P<name>[0-9a-f]{32})\.png$", views.result_file, name="file"),
    re_path(r"^faults/(?P<mode>[a-z0-9-]+)/(?P<name>[0-9a-f]{32})\.png$", views.fault_file, name="fault_file"),
]
