"""Neural 4x super-resolution, timed: the engine's path beside a bare ncnn run and Lanczos.

For each input size (a real photo: scikit-image's astronaut, resized) and each Real-ESRGAN
model, three ways of making the 4x picture are measured, each in a fresh subprocess so that
peak memory (VmHWM, read from /proc/self/status in the child) belongs to that run alone:

- engine:  engine.render.superres.upscale_4x, the code the offline engine runs for a job;
- bare:    a minimal direct ncnn loop written here (same model, threads, tile and overlap),
           the floor the engine's overhead is judged against (target: engine <= 1.15x bare);
- lanczos: Pillow's 4x Lanczos resize, what a non-neural "upscale" would cost.

In every child the model is loaded first and not timed (a worker loads it once per process),
then one upscale is timed. Engine and bare children alternate (engine, bare, engine, bare...)
so a change in the machine's load hits both alike; the median of the runs is reported, and
the peak memory is the highest of a kind's children. The load average is recorded beside the
figures: on a busy 2-core box, 2 OpenMP threads slow down many times over. Figures are
printed, never asserted.

    .venv/bin/python bench/superres.py            # all models; x4plus at 512 only (~25 min)
    .venv/bin/python bench/superres.py --quick    # animevideov3 only, 1 run each (~1 min)
    .venv/bin/python bench/superres.py --full     # also x4plus at 768 (~+10 min)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import ROOT, arguments, finish, log

OVERLAP = 10
THREADS = 2
BIG_MODEL = "x4plus"


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _photo(size: int) -> Any:
    from PIL import Image
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)


def _bare_loop(net: Any, image: Any, tile: int) -> Any:
    """The smallest correct tiled ncnn run: float CHW in, crop the overlap off, uint8 out."""
    import ncnn
    import numpy as np
    from PIL import Image

    chw = np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0)
    _, h, w = chw.shape
    out = np.empty((3, h * 4, w * 4), np.float32)
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            th, tw = min(tile, h - y), min(tile, w - x)
            y0, x0 = max(0, y - OVERLAP), max(0, x - OVERLAP)
            patch = np.ascontiguousarray(chw[:, y0 : min(h, y + th + OVERLAP), x0 : min(w, x + tw + OVERLAP)])
            ex = net.create_extractor()
            ex.input("data", ncnn.Mat(patch))  # patch stays referenced until extract() returns
            _, res = ex.extract("output")
            res = np.asarray(res)
            oy, ox = (y - y0) * 4, (x - x0) * 4
            out[:, y * 4 : (y + th) * 4, x * 4 : (x + tw) * 4] = res[:, oy : oy + th * 4, ox : ox + tw * 4]
    return Image.fromarray((out.clip(0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0))


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in the subprocess: one kind x model x size, `repeat` times."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from engine.render import superres

    image = _photo(spec["size"])
    base_mb = _peak_mb()
    info = superres.MODELS[spec["model"]]
    tile = info["tile"]
    load_started = time.perf_counter()
    if spec["kind"] == "engine":
        superres.load_model(spec["model"], THREADS)

        def run() -> Any:
            return superres.upscale_4x(image, model_id=spec["model"], tile=tile, overlap=OVERLAP, threads=THREADS)[0]

    elif spec["kind"] == "bare":
        # the same OpenMP wait policy as the engine (it must be set before ncnn is imported)
        os.environ.setdefault("OMP_WAIT_POLICY", superres.OMP_WAIT_POLICY)
        import ncnn

        folder = superres.models_dir()
        net = ncnn.Net()
        net.opt.use_vulkan_compute = False
        net.opt.num_threads = THREADS
        net.load_param(str(folder / info["param_file"]))
        net.load_model(str(folder / info["bin_file"]))

        def run() -> Any:
            return _bare_loop(net, image, tile)

    else:

        def run() -> Any:
            return image.resize((image.width * 4, image.height * 4), Image.Resampling.LANCZOS)

    load_seconds = time.perf_counter() - load_started
    times, cpu = [], []
    for _ in range(spec["repeat"]):
        started, cpu_started = time.perf_counter(), time.process_time()
        out = run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert out.size == (image.width * 4, image.height * 4)
    return {
        "median_s": statistics.median(times),
        "times_s": times,
        # CPU seconds of all threads: less sensitive than wall time to other load on the box
        # (though OpenMP threads spinning at a barrier count too)
        "cpu_s": statistics.median(cpu),
        "load_s": load_seconds,
        "peak_mb": _peak_mb(),
        "base_mb": base_mb,
        "tile": tile,
    }


def measure(kind: str, model: str, size: int, repeat: int) -> dict[str, Any]:
    spec = {"kind": kind, "model": model, "size": size, "repeat": repeat}
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {spec} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def combine(children: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure from several one-run children: median time, highest peak memory."""
    times = [t for c in children for t in c["times_s"]]
    return {
        "median_s": statistics.median(times),
        "times_s": times,
        "cpu_s": statistics.median(c["cpu_s"] for c in children),
        "load_s": statistics.median(c["load_s"] for c in children),
        "peak_mb": max(c["peak_mb"] for c in children),
        "base_mb": max(c["base_mb"] for c in children),
        "tile": children[0]["tile"],
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        full={"action": "store_true", "help": f"also run {BIG_MODEL} on the 768 px input"},
        repeat={"type": int, "help": "runs per measurement (default 3 for animevideov3, 1 for the big models)"},
        models={"help": "comma-separated model ids (default: all; --quick: animevideov3)"},
        sizes={"default": "512,768", "help": "comma-separated input sides"},
        child={"help": argparse.SUPPRESS},  # internal: run one measurement in this process
    )
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    sys.path.insert(0, str(ROOT))
    from engine.render import superres

    models = (
        args.models.split(",") if args.models else ([superres.DEFAULT_MODEL] if args.quick else list(superres.MODELS))
    )
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    load_before = os.getloadavg()
    for size in sizes:
        for model in models:
            if model == BIG_MODEL and size > 512 and not args.full:
                log(f"skip {model} at {size} px (~4 min a run here); use --full")
                continue
            repeat = args.repeat or (1 if args.quick or model != superres.DEFAULT_MODEL else 3)
            runs: dict[str, list[dict[str, Any]]] = {"engine": [], "bare": []}
            for index in range(repeat):
                for kind in ("engine", "bare"):
                    log(f"{size} px  {model:13s} {kind:7s} run {index + 1}/{repeat} ...")
                    runs[kind].append(measure(kind, model, size, 1))
            engine, bare = combine(runs["engine"]), combine(runs["bare"])
            lanczos = measure("lanczos", model, size, 5)
            rows.append(
                {
                    "size": size,
                    "model": model,
                    "label": superres.MODELS[model]["label"],
                    "tile": engine["tile"],
                    "threads": THREADS,
                    "runs": repeat,
                    "engine": engine,
                    "bare": bare,
                    "lanczos": lanczos,
                    "engine_vs_bare_time": _ratio(engine["median_s"], bare["median_s"]),
                    "engine_vs_bare_cpu": _ratio(engine["cpu_s"], bare["cpu_s"]),
                    "engine_vs_bare_peak_mb": _ratio(engine["peak_mb"], bare["peak_mb"]),
                    "engine_vs_lanczos_time": _ratio(engine["median_s"], lanczos["median_s"]),
                    "engine_vs_lanczos_peak_mb": _ratio(engine["peak_mb"], lanczos["peak_mb"]),
                }
            )
            log(
                f"{size} px {model}: engine {engine['median_s']:.2f} s / {engine['peak_mb']:.0f} MB, "
                f"bare {bare['median_s']:.2f} s / {bare['peak_mb']:.0f} MB, lanczos {lanczos['median_s']:.3f} s"
            )
    print_table(rows)
    default_rows = [r for r in rows if r["model"] == superres.DEFAULT_MODEL]
    verdict = all(r["engine_vs_bare_time"] <= 1.15 for r in default_rows) if default_rows else None
    result = {
        "benchmark": "superres",
        "threads": THREADS,
        "cpus": os.cpu_count(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "engine_within_1_15x_of_bare": verdict,
        "rows": rows,
    }
    finish(result, args.out)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'input':>9} {'model':13} {'tile':>4} | {'engine s':>8} {'bare s':>8} {'lanczos s':>9} | "
        f"{'eng/bare':>8} {'cpu e/b':>7} {'eng/lz':>7} | {'engine MB':>9} {'bare MB':>8} {'lz MB':>6} | {'mem e/b':>7}"
    )
    print(header, file=sys.stderr)
    print("-" * len(header), file=sys.stderr)
    for r in rows:
        e, b, lz = r["engine"], r["bare"], r["lanczos"]
        print(
            f"{r['size']:>4}x{r['size']:<4} {r['model']:13} {r['tile']:>4} | "
            f"{e['median_s']:>8.2f} {b['median_s']:>8.2f} {lz['median_s']:>9.3f} | "
            f"{r['engine_vs_bare_time']:>8.3f} {r['engine_vs_bare_cpu']:>7.3f} {r['engine_vs_lanczos_time']:>7.1f} | "
            f"{e['peak_mb']:>9.0f} {b['peak_mb']:>8.0f} {lz['peak_mb']:>6.0f} | {r['engine_vs_bare_peak_mb']:>7.3f}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
