"""The offline engine's 4x upscale, 512x512 → 2048x2048: time.

Calls engine/render/superres.upscale_4x directly, as the engine's worker does for an upscale
job, with the site's defaults: the product's default model (Real-ESRGAN animevideov3 x4),
ENGINE_SR_THREADS=2 threads, ENGINE_SR_TILE=128 px tiles. The model is loaded once (timed
apart, like a worker's first job); the picture is the engine-like 512x512 PNG the other
benchmarks use. bench/superres.py compares all models; this is the one figure.
"""

from __future__ import annotations

import io
import time

from common import arguments, finish, log, sample_png, summary


def run(*, rounds: int, model_id: str | None = None) -> dict:
    from PIL import Image as PILImage

    from engine.render import superres

    model_id = model_id or superres.DEFAULT_MODEL
    picture = PILImage.open(io.BytesIO(sample_png(512))).convert("RGB")
    started = time.perf_counter()
    superres.load_model(model_id, threads=2)
    loaded = time.perf_counter() - started
    times, inference = [], []
    size = None
    for number in range(rounds):
        log(f"upscale: {model_id} round {number + 1}/{rounds}")
        started = time.perf_counter()
        result, latencies = superres.upscale_4x(picture, model_id=model_id, tile=128, threads=2)
        times.append(time.perf_counter() - started)
        inference.append(latencies["inference"])
        size = result.size
    return {
        "model": model_id,
        "label": superres.MODELS[model_id]["label"],
        "threads": 2,
        "tile": 128,
        "input": [512, 512],
        "output": list(size) if size else None,
        "model_load_seconds": round(loaded, 3),
        "upscale": summary(times),
        "inference": summary(inference),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0], model={"default": None})
    finish({"benchmark": "upscale", **run(rounds=2 if args.quick else 5, model_id=args.model)}, args.out)


if __name__ == "__main__":
    main()
