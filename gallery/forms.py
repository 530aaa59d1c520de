"""Forms for every input, with the API's documented limits and translated errors.

Each job form (named by its kind in gallery/kinds.py) has a `to_params()` that gives the
parameters in the provider's vocabulary (text, w, h, num_steps...), which is what the job
stores, the engine reads and the image page shows.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from . import signups
from .models import Image, TokenScope

PROMPT_MAX_LENGTH = 1000
SIZE_CHOICES = [(n, f"{n}") for n in range(256, 769, 64)]
SAMPLER_CHOICES = [
    ("k_euler", "k_euler"),
    ("k_euler_a", "k_euler_a"),
    ("k_heun", "k_heun"),
    ("klms", "klms"),
    ("ddim", "ddim"),
    ("plms", "plms"),
    ("solver", "solver"),
]
VERSION_CHOICES = [
    ("dreamlike_v1", _("Dreamlike (art)")),
    ("v1.5", _("Stable Diffusion 1.5 (general)")),
    ("anime", _("Anime")),
]
ANIME_STYLE_CHOICES = [
    ("classic", _("Classic cel-shaded")),
    ("watercolor", _("Soft watercolour")),
    ("manga", _("Manga ink")),
]
# Waits measured by bench/superres.py on this machine kind; keep in step with
# engine/render/superres.py MODELS (the site knows the engine only over HTTP).
SR_MODEL_CHOICES = [
    ("animevideov3", _("Fast — Real-ESRGAN animevideov3: about 3 s for 512×512, 6 s for 768×768")),
    (
        "x4plus-anime",
        _("Anime and illustrations — Real-ESRGAN x4plus-anime: about 40 s for 512×512, 1.5 min for 768×768"),
    ),
    ("x4plus", _("Photo, best quality — Real-ESRGAN x4plus: about 2 min for 512×512, 4 min for 768×768")),
]
# The same models by their names alone, for pages that show what a picture was made with.
SR_MODEL_NAMES = [
    ("animevideov3", _("Fast (Real-ESRGAN animevideov3)")),
    ("x4plus-anime", _("Anime and illustrations (Real-ESRGAN x4plus-anime)")),
    ("x4plus", _("Photo, best quality (Real-ESRGAN x4plus)")),
]


class SignupForm(UserCreationForm):
    email = forms.EmailField(label=_("Email (optional)"), required=False)
    # The user agreement must say how pictures are labelled (GB 45438-2025); nobody signs up
    # without accepting it. The sign-up page links the terms beside the box.
    accept_terms = forms.BooleanField(
        label=_("I accept the terms of service, including how pictures are labelled"),
        required=True,
        error_messages={"required": _("Accept the terms of service to sign up.")},
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if signups.verification_required():
            self.fields["email"].required = True
            self.fields["email"].label = _("Email")
            self.fields["email"].help_text = _("We mail you a link: open it to receive your welcome credits.")

    def clean_email(self) -> str:
        email = self.cleaned_data.get("email", "")
        if email and signups.verification_required() and signups.email_in_use(email):
            raise forms.ValidationError(_("An account already uses this e-mail address."))
        return email


class ProfileForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ("first_name", "email")
        labels = {"first_name": _("Display name"), "email": _("Email")}


class NoticePreferenceForm(forms.Form):
    """Whether job endings are mailed as well as shown in the inbox (gallery/notices.py)."""

    email_job_ends = forms.BooleanField(
        label=_("E-mail me when a job ends"),
        required=False,
        help_text=_("Sent to the address above, in the language of this page."),
    )


class ApiTokenForm(forms.Form):
    """A new personal access token for the API (gallery/api_tokens.py)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What it is for, e.g. “shop bot”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        label=_("Access"), choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires"),
        choices=[("", _("Never")), (30, _("In 30 days")), (90, _("In 90 days")), (365, _("In a year"))],
        coerce=int,
        empty_value=None,
        required=False,
        initial=90,
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Give the token a name."))
        return name


class PromptFieldsMixin(forms.Form):
    prompt = forms.CharField(
        label=_("Prompt"),
        max_length=PROMPT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("玫瑰花, a castle in the clouds…")}),
        help_text=_("Chinese or English."),
    )
    negative_prompt = forms.CharField(
        label=_("Negative prompt"),
        max_length=PROMPT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("What to avoid, e.g. cropped, blurry")}),
    )

    def clean_prompt(self) -> str:
        prompt = " ".join(self.cleaned_data["prompt"].split())
        if not prompt:
            raise forms.ValidationError(_("Describe the picture you want."))
        return prompt


class GenerationOptionsMixin(forms.Form):
    # Shown folded under "More options" on the form: most people only write a prompt.
    advanced_fields = ("steps", "guidance_scale", "sampler", "seed", "version")

    steps = forms.IntegerField(label=_("Steps"), min_value=5, max_value=100, initial=20)
    guidance_scale = forms.FloatField(label=_("Guidance scale"), min_value=1.0, max_value=20.0, initial=7.5)
    sampler = forms.ChoiceField(label=_("Sampler"), choices=SAMPLER_CHOICES, initial="k_euler")
    seed = forms.IntegerField(
        label=_("Seed"), min_value=-1, max_value=2**32 - 1, initial=-1, help_text=_("-1 picks a random seed.")
    )
    version = forms.ChoiceField(label=_("Model / style"), choices=VERSION_CHOICES, initial="dreamlike_v1")

    def resolved_seed(self) -> int:
        # -1 is resolved here, not by the provider, so "use again" and "variation" can
        # reproduce or vary a picture exactly.
        seed = self.cleaned_data["seed"]
        return secrets.randbelow(2**32) if seed == -1 else seed

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "num_steps": data["steps"],
            "guidance_scale": data["guidance_scale"],
            "sampler": data["sampler"],
            "seed": self.resolved_seed(),
            "version": data["version"],
        }


class BatchCountMixin(forms.Form):
    """How many pictures one submission makes: a batch, each picture its own job and charge
    (up to BATCH_MAX; the form shows the total, gallery/intake.py checks it again)."""

    # Not required: a client that leaves it out (an older form, a script) makes one picture.
    count = forms.TypedChoiceField(
        label=_("How many pictures"),
        coerce=int,
        initial=1,
        required=False,
        empty_value=1,
        choices=(),
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if settings.BATCH_MAX > 1:
            self.fields["count"].choices = [(n, str(n)) for n in range(1, settings.BATCH_MAX + 1)]
        else:
            del self.fields["count"]


class Txt2ImgForm(PromptFieldsMixin, GenerationOptionsMixin, BatchCountMixin):
    width = forms.TypedChoiceField(label=_("Width"), choices=SIZE_CHOICES, coerce=int, initial=512)
    height = forms.TypedChoiceField(label=_("Height"), choices=SIZE_CHOICES, coerce=int, initial=512)
    field_order = [
        "prompt",
        "negative_prompt",
        "width",
        "height",
        "steps",
        "guidance_scale",
        "sampler",
        "seed",
        "version",
    ]

    def to_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "text": data["prompt"],
            "negative_prompt": data["negative_prompt"],
            "w": data["width"],
            "h": data["height"],
            **self.options(),
        }


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _picture_choice_label(image: Image) -> str:
    made = date_format(timezone.localtime(image.created_at), "SHORT_DATETIME_FORMAT")
    what = image.prompt[:40] + ("…" if len(image.prompt) > 40 else "") if image.prompt else image.get_kind_display()
    return f"{what} · {image.width}×{image.height} · {made}"


class PicturePicker(forms.RadioSelect):
    """The owner's pictures as a grid of thumbnails with their prompts: one radio button each,
    so it works by keyboard, screen reader and without JavaScript (partials/_picture_picker.html)."""

    picture_picker = True


class SetByButton(forms.HiddenInput):
    """A value only a button of the page sends (name and value on the button itself), so the
    form renders nothing for it."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        return ""


# The most recent pictures the picker shows (older ones are reached from their own page).
PICKER_SIZE = 24


class SourceImageMixin(forms.Form):
    """An input picture: an upload, or one of the user's own gallery images (or an upload we
    kept when it was refused as too large: `kept_source`, see gallery/intake.py)."""

    source_upload = forms.FileField(
        label=_("Upload a picture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP."),
    )
    source_image = forms.ModelChoiceField(
        label=_("…or pick one from your gallery"),
        queryset=Image.objects.none(),
        required=False,
        empty_label=_("None: I upload one"),
        widget=PicturePicker,
        blank=True,  # keeps the empty choice, which a radio list otherwise drops
    )
    kept_source = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owner=None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.owner = owner
        if owner is not None:
            own = Image.objects.owned_by(owner)
            shown = list(own.order_by("-created_at", "-id").values_list("id", flat=True)[:PICKER_SIZE])
            # The picture a link or a submission names is offered even when it is older.
            for wanted in (self.initial.get("source_image"), self.data.get(self.add_prefix("source_image"))):
                if wanted and _is_uuid(wanted) and own.filter(id=wanted).exists():
                    shown.append(wanted)
            self.fields["source_image"].queryset = own.filter(id__in=shown).order_by("-created_at", "-id")
        # A person knows a picture by what it shows and when it was made, not by its id.
        self.fields["source_image"].label_from_instance = _picture_choice_label

    def clean(self) -> dict[str, Any]:
        """Only the cheap checks: an upload is decoded (and its size checked against the kind's
        limit) by gallery/intake.py, after the owner's credit and limits are known to allow a job."""
        from . import intake

        data = super().clean()
        upload = data.get("source_upload")
        chosen = data.get("source_image")
        kept = data.get("kept_source") or ""
        data["kept_source"] = ""
        if upload and chosen:
            raise forms.ValidationError(_("Upload a picture or pick one from your gallery, not both."))
        if not upload and not chosen and kept:
            key = intake.kept_key(kept, owner=self.owner) if self.owner is not None else None
            if key is None:
                raise forms.ValidationError(_("The picture you sent is no longer kept; upload it again."))
            data["kept_source"] = key
        elif not upload and not chosen:
            raise forms.ValidationError(_("Choose the picture to start from."))
        if upload and upload.size > settings.UPLOAD_MAX_BYTES:
            self.add_error(
                "source_upload",
                _("The file is larger than %(mb)d MB.") % {"mb": settings.UPLOAD_MAX_BYTES // 2**20},
            )
        return data


class Img2ImgForm(SourceImageMixin, PromptFieldsMixin, GenerationOptionsMixin, BatchCountMixin):
    strength = forms.FloatField(
        label=_("Strength"),
        min_value=0.0,
        max_value=1.0,
        initial=0.6,
        help_text=_("0 keeps the picture, 1 follows the prompt freely."),
    )
    field_order = ["source_upload", "source_image", "prompt", "negative_prompt", "strength"]

    def to_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "text": data["prompt"],
            "negative_prompt": data["negative_prompt"],
            "strength": data["strength"],
            **self.options(),
        }


class AnimeForm(SourceImageMixin):
    style = forms.ChoiceField(label=_("Style"), choices=ANIME_STYLE_CHOICES, initial="classic")

    def to_params(self) -> dict[str, Any]:
        return {"style": self.cleaned_data["style"]}


class UpscaleForm(SourceImageMixin):
    sr_model = forms.ChoiceField(
        label=_("Model"), choices=SR_MODEL_CHOICES, initial="animevideov3", widget=forms.RadioSelect
    )
    # "Scale it to 768 first": the button beside the refusal of a too large source sends it.
    scale_down = forms.BooleanField(required=False, widget=SetByButton)

    def to_params(self) -> dict[str, Any]:
        model = self.cleaned_data["sr_model"]
        return {"sr_model": model, "is_anime": model == "x4plus-anime"}


def default_data(form_class: type[forms.Form], **overrides: Any) -> dict[str, Any]:
    """What a person submits who changes nothing on the form but `overrides`: each field's
    initial value. The one statement of the defaults (inspiration renders and tests use it)."""
    data = {name: field.initial for name, field in form_class.base_fields.items() if field.initial is not None}
    return {**data, **overrides}


def default_params(form_class: type[forms.Form], **overrides: Any) -> dict[str, Any]:
    """The provider parameters the form makes from its defaults and `overrides`."""
    form = form_class(data=default_data(form_class, **overrides))
    if not form.is_valid():
        raise ValueError(f"the defaults of {form_class.__name__} do not validate: {form.errors.as_json()}")
    return form.to_params()


# --- the gallery's search ---


class FlagField(forms.BooleanField):
    """A checkbox in a query string: "1", "on" and "true" are set, anything else is not (a
    plain BooleanField reads "0" as set)."""

    def to_python(self, value: Any) -> bool:
        return str(value).lower() in ("1", "on", "true")


class SizeField(forms.CharField):
    """A picture size written "512x512" (or with ×)."""

    def to_python(self, value: Any) -> tuple[int, int] | None:
        text = str(value or "").strip().lower().replace("×", "x")
        if not text:
            return None
        width, sep, height = text.partition("x")
        if not (sep and width.isascii() and width.isdigit() and height.isascii() and height.isdigit()):
            raise forms.ValidationError(_("Write a size as width×height, e.g. 512×512."), code="size")
        if not (0 < int(width) <= 100_000 and 0 < int(height) <= 100_000):
            raise forms.ValidationError(_("Write a size as width×height, e.g. 512×512."), code="size")
        return int(width), int(height)


MODEL_CHOICES = [*VERSION_CHOICES, *SR_MODEL_NAMES]


class GallerySearchForm(forms.Form):
    """The gallery's filters, as they travel in the query string. A bad value is reported and
    left out; the rest still apply."""

    q = forms.CharField(label=_("Words"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    rating = forms.TypedChoiceField(
        label=_("Rating"), required=False, coerce=int, empty_value=0, choices=[(n, n) for n in range(1, 6)]
    )
    album = forms.IntegerField(label=_("Album"), required=False, min_value=1, max_value=2**62)
    favourites = FlagField(label=_("Favourites"), required=False)
    size = SizeField(label=_("Size"), required=False)
    seed = forms.IntegerField(label=_("Seed"), required=False, min_value=0, max_value=2**32 - 1)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    model = forms.ChoiceField(label=_("Model"), required=False, choices=[("", ""), *MODEL_CHOICES])
    originals = FlagField(label=_("Originals only"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[("newest", _("Newest first")), ("oldest", _("Oldest first")), ("rating", _("Best rated first"))],
    )

    def __init__(self, *args: Any, **kwargs: Any):
        from . import kinds

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", ""), *kinds.choices()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day and not (1900 <= day.year <= 9000):
                # Far dates overflow the conversion to UTC (a 500, not an empty page).
                self.add_error(name, _("Pick a date between 1900 and 9000."))
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def criteria(self):
        """The search the valid fields ask for (invalid ones are left out)."""
        from .search import Criteria, words_of

        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        data = self.cleaned_data
        return Criteria(
            words=words_of(data.get("q") or ""),
            kind=data.get("kind") or "",
            min_rating=data.get("rating") or 0,
            album_id=data.get("album"),
            favourites=bool(data.get("favourites")),
            size=data.get("size"),
            seed=data.get("seed"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            model=data.get("model") or "",
            originals=bool(data.get("originals")),
            sort=data.get("sort") or "newest",
        )


class TriageActionForm(forms.Form):
    """One triage action on a picture: rate (value 0-5), keep or favourite (toggles), discard
    (to the trash), or set (the undo of an earlier action: the rating, triage and favourite it
    changed, and restore=1 when it was a discard)."""

    ACTIONS = ("rate", "keep", "favourite", "discard", "set")

    action = forms.ChoiceField(choices=[(name, name) for name in ACTIONS])
    value = forms.IntegerField(min_value=0, max_value=5, required=False)
    triage = forms.ChoiceField(choices=[("", ""), ("keep", "keep")], required=False)
    favourite = forms.TypedChoiceField(choices=[("0", "0"), ("1", "1")], coerce=int, required=False, empty_value=None)
    restore = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == "rate" and data.get("value") is None:
            raise forms.ValidationError(_("A rating is 0 to 5."))
        return data
