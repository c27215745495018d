"""Keras against ONNX Runtime (and OpenVINO, when installed) for prediction on the CPU, per task's default model.

For each task's default network, built as a run builds it (random weights:
speed does not depend on training), the same inputs go through every engine
in one run, engines taking turns within each repeat so that the machine's
load changes hit them alike:

- classification: PetriLab's default ConvNet, 256 demo images at the default
  64 × 64, 32 a call (as `TrainedModel.predict_files` sends them);
- regression: the default regression ConvNet, 256 bead demo images, 32 a call;
- segmentation: the default U-Net (instance) on a SIZE × SIZE mosaic of demo
  nuclei, tiled exactly as `petrilab predict` tiles it (`predict_tiled`, the
  largest tile memory allows, overlap of a quarter of the 256 patch).

Keras runs as the prediction engine runs it (`predict_on_batch`); ONNX Runtime
runs the file `prediction/onnx_engine.convert` makes (one CPU session, default
threads); OpenVINO reads the same ONNX file, at float32 precision and at its
own default precision for this CPU (bfloat16 where the CPU has it). Each
engine's outputs are compared with Keras's (largest absolute difference). The
load average before and after is printed: on a shared machine, say so.

    .venv/bin/python benchmarks/onnx_prediction.py [--size 2048] [--images 256] [--repeats 5] [--threads 0]
    .venv/bin/python benchmarks/onnx_prediction.py --end-to-end [--size 2048]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def default_network(kind: str, shape):
    from petrilab import settings as settings_io
    from petrilab.models import build_model
    from petrilab.recipes import get_recipe

    settings = settings_io.defaults_for(kind)
    if kind == "regression":
        settings.data.target_columns = ["x", "y"]
    else:
        settings.data.classes = ["background", "object"] if kind == "instance" else ["a", "b", "c"]
    model = build_model(settings, shape, get_recipe(kind).head(settings))
    return model, settings


def demo_images(kind: str, folder: Path, n: int, size: int):
    import numpy as np

    from petrilab.data.images import read_image
    from petrilab.demo import make_classification_demo, make_regression_demo, make_segmentation_demo

    if kind == "classification":
        data = make_classification_demo(folder, n_per_class=-(-n // 3), size=size, seed=0)
        paths = sorted(p for p in data.rglob("*.png"))[:n]
    elif kind == "regression":
        data = make_regression_demo(folder, n_images=n, size=size, seed=0)
        paths = sorted((data / "images").iterdir())[:n]
    else:  # a mosaic of demo nuclei, SIZE × SIZE
        data = make_segmentation_demo(folder, "instance", n_images=16, size=256, seed=0)
        tiles = [read_image(p)[..., :1] for p in sorted((data / "images").iterdir())]
        row = np.concatenate(tiles, axis=1)
        mosaic = np.concatenate([np.roll(row, 256 * k, axis=1) for k in range(-(-size // 256))], axis=0)
        mosaic = np.tile(mosaic, (1, -(-size // mosaic.shape[1]), 1))[:size, :size]
        return (mosaic / max(1.0, float(mosaic.max()))).astype(np.float32)
    images = [read_image(p)[..., :1].astype(np.float32) for p in paths]
    return np.stack([im / max(1.0, float(im.max())) for im in images])


def engines(model, onnx_path: Path, threads: int) -> dict:
    """name: a function (N, h, w, c) float32 → outputs, for every engine installed here."""
    import numpy as np

    from petrilab.prediction.onnx_engine import OnnxNetwork

    found = {"Keras": lambda batch: np.asarray(model.predict_on_batch(batch), dtype=np.float32),
             "ONNX Runtime": OnnxNetwork(onnx_path, threads or None)}
    try:
        import openvino as ov
    except ImportError:
        return found
    core = ov.Core()
    for name, config in (("OpenVINO f32", {"INFERENCE_PRECISION_HINT": "f32"}), ("OpenVINO default", {})):
        default = not config
        if threads:
            config = {**config, "INFERENCE_NUM_THREADS": threads}
        compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", config)
        precision = compiled.get_property("INFERENCE_PRECISION_HINT")
        precision = precision.get_type_name() if hasattr(precision, "get_type_name") else str(precision)
        found[f"{name} ({precision})" if default else name] = (lambda c: lambda batch: c(batch)[0])(compiled)
    return found


def end_to_end(size: int) -> None:
    """`petrilab predict` in a fresh process per engine on one SIZE × SIZE image, with a run of the default
    instance U-Net trained for one epoch on demo nuclei: the whole command, conversion and `auto`'s check
    included (in this order: keras, onnx converting, auto and onnx reusing model.onnx, keras again)."""
    import json
    import subprocess
    import sys

    import tifffile

    from petrilab.cli import main as cli
    from petrilab.demo import make_segmentation_demo

    with tempfile.TemporaryDirectory(prefix="petrilab-onnx-e2e-") as folder:
        folder = Path(folder)
        data = make_segmentation_demo(folder / "nuclei", "instance", n_images=12, size=128, seed=0)
        settings = folder / "instance.toml"
        assert cli(["init", "--task", "instance", "--data", str(data), "-o", str(settings)]) == 0
        fixed = ["training.epochs=1", "training.learning_rate=0.001", "augmentation.geometric=no"]
        assert cli(["train", str(settings), "--quiet", "--run-dir", str(folder / "run"),
                    *[w for kv in fixed for w in ("--set", kv)]]) == 0
        (folder / "big").mkdir()
        tifffile.imwrite(folder / "big" / "mosaic.tif",
                         (demo_images("instance", folder / "mosaic", 0, size)[..., 0] * 255).astype("uint8"))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "app")}
        print(f"\npetrilab predict end to end, one {size}×{size} image, default instance U-Net (one epoch):")
        for k, engine in enumerate(("keras", "onnx", "auto", "onnx", "keras")):
            out = folder / f"out{k}"
            begin = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "petrilab", "predict", str(folder / "run"),
                                   str(folder / "big"), str(out), "--engine", engine], env=env,
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - begin
            record = json.loads((out / "prediction.json").read_text())["engine"] if done.returncode == 0 else {}
            details = record.get("details", {})
            said = [f"ran {record.get('value')}"]
            if "onnx_file" in details:
                said.append(f"model.onnx {details['onnx_file']}")
            if "keras_seconds" in details:
                said.append(f"check: Keras {details['keras_seconds']:.2f} s, "
                            f"ONNX Runtime {details['onnx_seconds']:.2f} s")
            if done.returncode:
                said.append(f"FAILED: {done.stderr[-300:]}")
            print(f"  --engine {engine:5}: {seconds:6.1f} s, {'; '.join(said)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=2048, help="side of the segmentation image")
    parser.add_argument("--images", type=int, default=256, help="classification / regression images")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per engine (0: each engine's own choice); 1 compares the engines' work per "
                             "core where other processes keep the CPU busy")
    parser.add_argument("--end-to-end", action="store_true",
                        help="instead: `petrilab predict` per engine on one SIZE × SIZE image (a trained run)")
    args = parser.parse_args()
    if args.end_to_end:
        end_to_end(args.size)
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return 0
    if args.threads:  # before TensorFlow starts
        os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(args.threads)

    import keras
    import numpy as np

    from petrilab.prediction.engine import BATCH
    from petrilab.prediction.onnx_engine import convert
    from petrilab.prediction.tiling import predict_tiled, tile_plan
    from petrilab.tasks.segmentation.recipe import PREDICT_PIXELS, largest_tile

    keras.config.disable_interactive_logging()
    if keras.backend.backend() == "tensorflow":  # retracing warnings for the last, smaller batch
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    load_before = os.getloadavg()
    if args.threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    print(f"threads per engine: {args.threads or 'each its own'}")
    print(f"{os.cpu_count()} CPUs; load average (1, 5, 15 min) before: {', '.join(f'{x:.1f}' for x in load_before)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="petrilab-onnx-bench-") as folder:
        folder = Path(folder)
        for kind in ("classification", "regression", "instance"):
            per_pixel = kind == "instance"
            if per_pixel:
                image = demo_images(kind, folder / kind, 0, args.size)
                model, settings = default_network(kind, (256, 256, 1))
                multiple = 2 ** len(settings.model.filters)
                side = largest_tile(256, multiple)
                tile, overlap = (side, side), 64
                per_call = max(1, PREDICT_PIXELS // side ** 2)
                plan = tile_plan(image.shape[:2], tile, overlap, multiple)
                what = (f"U-Net {settings.model.filters}, {args.size}×{args.size} image, "
                        f"{len(plan[2]) * len(plan[3])} tiles of {plan[0][0]}×{plan[0][1]}")
                n_out = int(model.output.shape[-1])

                def work(call):
                    return predict_tiled(call, image, tile, overlap, n_out, per_call, multiple=multiple)
                unit, amount = "Mpixel/s", args.size ** 2 / 1e6
            else:
                size = 64
                images = demo_images(kind, folder / kind, args.images, size)
                model, settings = default_network(kind, (size, size, 1))
                what = f"{settings.model.architecture} {settings.model.filters}, {len(images)} images {size}×{size}"

                def work(call):
                    return np.concatenate([call(images[i:i + BATCH]) for i in range(0, len(images), BATCH)])
                unit, amount = "images/s", len(images)
            model.predict_on_batch(np.zeros((1, 64, 64, 1), np.float32))
            start = time.perf_counter()
            onnx_path = folder / f"{kind}.onnx"
            onnx_path.write_bytes(convert(model, "benchmark"))
            converted = time.perf_counter() - start
            calls = engines(model, onnx_path, args.threads)
            reference = work(calls["Keras"])
            differences = {name: float(np.max(np.abs(work(call) - reference))) for name, call in calls.items()}
            seconds = {name: [] for name in calls}
            for _ in range(args.repeats):
                for name, call in calls.items():  # taking turns: load changes hit every engine alike
                    begin = time.perf_counter()
                    work(call)
                    seconds[name].append(time.perf_counter() - begin)
            keras_median = float(np.median(seconds["Keras"]))
            print(f"\n{kind}: {what}; conversion to ONNX {converted:.1f} s")
            print(f"  {'engine':28} {'median s':>9} {'min s':>7} {unit:>10} {'× Keras':>8} {'largest diff':>13}")
            for name, times in seconds.items():
                median = float(np.median(times))
                print(f"  {name:28} {median:9.3f} {min(times):7.3f} {amount / median:10.2f} "
                      f"{keras_median / median:8.2f} {differences[name]:13.1e}", flush=True)
                rows.append((kind, name, median, keras_median / median))
            del calls, model
            keras.backend.clear_session()
    print(f"\nload average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
