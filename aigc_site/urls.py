from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from gallery.api import api
from gallery.api.problems import api_not_found, problem_types_page
from gallery.views import accounts, api_tokens, callbacks, health, jobs, pages, studio

urlpatterns = [
    path("", pages.home, name="home"),
    path("terms/", pages.terms, name="terms"),
    path("healthz", health.healthz, name="healthz"),
    path("healthz/ready", health.ready, name="healthz_ready"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # accounts
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/tokens/", api_tokens.create_token, name="api_token_create"),
    path("accounts/tokens/<int:token_id>/revoke/", api_tokens.revoke_token, name="api_token_revoke"),
    path("accounts/verify/<str:token>/", accounts.verify_email, name="verify_email"),
    path("accounts/verify-again/", accounts.resend_verification, name="resend_verification"),
    # the studio: the forms beside the results
    path("studio/", studio.studio_page, name="studio"),
    path("studio/<slug:kind>/", studio.studio_page, name="studio_kind"),
    path("studio/groups/<uuid:job_id>/", studio.studio_group, name="studio_group"),
    path("studio/batches/<uuid:batch>/cancel/", studio.cancel_batch, name="cancel_batch"),
    path("studio/jobs/<uuid:job_id>/cancel/", studio.cancel_card, name="cancel_card"),
    # jobs
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/prompts/", jobs.prompt_history, name="prompt_history"),
    path("jobs/new/<slug:kind>/", jobs.new_job, name="new_job"),
    path("jobs/<uuid:job_id>/", jobs.job_detail, name="job_detail"),
    path("jobs/<uuid:job_id>/cancel/", jobs.cancel_job, name="cancel_job"),
    path("jobs/<uuid:job_id>/retry/", jobs.retry_job, name="retry_job"),
    # the provider's callback (authenticated by the per-job token in the URL)
    path("callbacks/<uuid:job_id>/<str:token>/", callbacks.callback, name="callback"),
    # the JSON API (personal access tokens), before the catch-all below
    path("api/v1/problems/<slug:slug>", problem_types_page, name="api_problem_type"),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("", include("gallery.urls")),
]

if settings.ENGINE_ENABLED:
    urlpatterns.append(path("engine/", include("engine.urls")))
