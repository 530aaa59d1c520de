"""The kinds of job, each declared once: everything else on the site reads this table.

A kind says which form takes it, whether it has a prompt and/or a source picture (and how
large a one), the settings that hold its API path, task name and cost (with their defaults),
the tips beside its form, its card on the home page and how "use again" fills its form from
a picture. The model choices (`models.JobKind`), the three per-kind dicts of
`aigc_site/settings.py`, the job form page, the home page, the "use again" links
(`gallery/reuse.py`), the checks of a new job (`gallery/intake.py`) and ingest's label of who
made a picture all come from here. The README's "To add a kind" lists what else it takes.

This module is imported by the settings, so it imports nothing that needs Django set up:
forms are named by dotted path and loaded when first asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django import forms

# The API document caps generated sides at 768. The kinds that start from a picture take one
# up to that side: image-to-image keeps the source's size, and a 4x upscale of 768x768 gives
# 3072x3072, the largest result we accept.
MAX_SOURCE_SIDE = 768

# provider parameter -> job form field: what "use again" carries from a picture to its form
PROMPT_FIELDS = (("text", "prompt"), ("negative_prompt", "negative_prompt"))
GENERATION_FIELDS = (
    ("num_steps", "steps"),
    ("guidance_scale", "guidance_scale"),
    ("sampler", "sampler"),
    ("seed", "seed"),
    ("version", "version"),
)


@dataclass(frozen=True)
class Kind:
    # Stored in Job.kind and Image.kind, and in the form's URL (/jobs/new/<name>/).
    name: str
    label: Promise
    # The line under its card on the home page.
    summary: Promise
    # Dotted path of its form; the form's `to_params()` speaks the provider's vocabulary.
    form: str
    takes_prompt: bool
    # The largest side of a source picture it accepts; None: it starts from no picture.
    max_source_side: int | None
    # Environment variables (and defaults) of settings.APISPACE_PATHS / APISPACE_TASKS / CREDIT_COSTS.
    path_setting: str
    default_path: str
    task_setting: str
    default_task: str
    cost_setting: str
    default_cost: int
    tips: tuple[Promise, ...] = ()
    # (URL name, link text) shown under the tips.
    tip_links: tuple[tuple[str, Promise], ...] = ()
    # "Use again": the provider parameters copied back into form fields, (param, field).
    reuse_fields: tuple[tuple[str, str], ...] = ()
    # The button on a picture's page that starts this kind from the picture (source kinds).
    from_image_label: Promise | str = ""
    # The offline engine draws this kind procedurally (no model): its pictures carry the
    # "not AI" badge when the callback does not say so itself.
    is_procedural_offline: bool = False
    # A larger source is scaled down to max_source_side (aspect kept, the user told) instead of
    # refused: right where the result's size follows the source loosely (image→image, anime),
    # wrong for 4x upscaling, whose whole point is the source's pixels.
    fits_large_sources: bool = False

    def __str__(self) -> str:
        return self.name

    @property
    def form_class(self) -> type[forms.Form]:
        return import_string(self.form)

    @property
    def cost(self) -> int:
        return int(settings.CREDIT_COSTS[self.name])

    @property
    def takes_source(self) -> bool:
        return self.max_source_side is not None

    @property
    def can_vary(self) -> bool:
        """Whether a picture of this kind has a seed to vary ("variation")."""
        return any(field == "seed" for _param, field in self.reuse_fields)


KINDS: tuple[Kind, ...] = (
    Kind(
        name="txt2img",
        label=_("Text to image"),
        summary=_("A prompt becomes a 512×512 picture (up to 768)."),
        form="gallery.forms.Txt2ImgForm",
        takes_prompt=True,
        max_source_side=None,
        path_setting="APISPACE_PATH_TXT2IMG",
        default_path="/aigc/txt2img",
        task_setting="APISPACE_TASK_TXT2IMG",
        default_task="txt2img.sd",
        cost_setting="CREDIT_COST_TXT2IMG",
        default_cost=2,
        tips=(
            _("Name the subject, then the style and the light: “白色城堡，云海，日落，油画”."),
            _("512×512 is standard; each side may go up to 768. For bigger pictures, upscale 4x afterwards."),
        ),
        tip_links=(("inspiration", _("Borrow a prompt from the inspiration gallery")),),
        reuse_fields=PROMPT_FIELDS + (("w", "width"), ("h", "height")) + GENERATION_FIELDS,
        is_procedural_offline=True,
    ),
    Kind(
        name="img2img",
        label=_("Image to image"),
        summary=_("Start from a picture and steer it with words."),
        form="gallery.forms.Img2ImgForm",
        takes_prompt=True,
        max_source_side=MAX_SOURCE_SIDE,
        path_setting="APISPACE_PATH_IMG2IMG",
        default_path="/aigc/img2img",
        task_setting="APISPACE_TASK_IMG2IMG",
        default_task="img2img.sd",
        cost_setting="CREDIT_COST_IMG2IMG",
        default_cost=2,
        tips=(
            _(
                "The result keeps the size of your picture (at most 768×768). Low strength keeps its shapes; "
                "high strength follows the prompt."
            ),
        ),
        reuse_fields=PROMPT_FIELDS + (("strength", "strength"),) + GENERATION_FIELDS,
        from_image_label=_("Image → image"),
        fits_large_sources=True,
    ),
    Kind(
        name="anime",
        label=_("Portrait to anime"),
        summary=_("A portrait photo redrawn in a preset style."),
        form="gallery.forms.AnimeForm",
        takes_prompt=False,
        max_source_side=MAX_SOURCE_SIDE,
        path_setting="APISPACE_PATH_ANIME",
        default_path="/aigc/anime",
        task_setting="APISPACE_TASK_ANIME",
        default_task="img2img.anime",
        cost_setting="CREDIT_COST_ANIME",
        default_cost=2,
        tips=(_("A clear, front-facing portrait works best. No prompt is needed: pick a style."),),
        reuse_fields=(("style", "style"),),
        from_image_label=_("Portrait → anime"),
        fits_large_sources=True,
    ),
    Kind(
        name="upscale",
        label=_("4x super-resolution"),
        summary=_("512×512 becomes 2048×2048 with real detail."),
        form="gallery.forms.UpscaleForm",
        takes_prompt=False,
        max_source_side=MAX_SOURCE_SIDE,
        path_setting="APISPACE_PATH_UPSCALE",
        default_path="/aigc/super-resolution",
        task_setting="APISPACE_TASK_UPSCALE",
        default_task="img2img.sr",
        cost_setting="CREDIT_COST_UPSCALE",
        default_cost=1,
        tips=(_("Each side is multiplied by 4: 512×512 becomes 2048×2048. Pictures up to 768×768 are accepted."),),
        reuse_fields=(("sr_model", "sr_model"),),
        from_image_label=_("Upscale 4x"),
    ),
)


def get(name: object) -> Kind | None:
    """The kind called `name`, or None for anything else (a URL part, a stored value)."""
    return next((kind for kind in KINDS if kind.name == name), None)


def choices() -> list[tuple[str, Promise]]:
    """(name, label) of every kind, for the model fields. A callable, so the migrations
    record a reference to it rather than the list: a new kind needs no migration."""
    return [(kind.name, kind.label) for kind in KINDS]
