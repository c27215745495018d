"""Image restoration trained for real on small images, both ways, from the command line to the files:
Noise2Void on the noisy images alone and CARE on pairs; evaluation beside non-local means, prediction by tiles
into TIFFs at the input's scale, the inputs untouched (issue #19)."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest
import tifffile

from petrilab.cli import main
from petrilab.tasks.restoration.demo import make_restoration_demo

FAST = ["--set", "model.filters=[8, 16]", "--set", "training.learning_rate=0.003", "--set", "training.batch_size=8",
        "--set", "data.patch_size=[32, 32]", "--set", "training.early_stopping=false"]


def sha(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
# Noise2Void learns from masked pixels only, so more slowly than from pairs: its PSNR clears the input's + 1 dB with a
# margin after 8 epochs (26 dB against 22.4), pairs after 4 (27 dB)
@pytest.mark.parametrize("way, epochs", [("noise2void", 8), ("pairs", 4)])
def test_restoration_learns_both_ways_from_the_command_line(way, epochs, tmp_path):
    data = make_restoration_demo(tmp_path / "data", n_images=8, size=64, seed=2)
    before = sha(data)
    settings, run, out = tmp_path / "s.toml", tmp_path / "run", tmp_path / "out"
    assert main(["init", "--task", "restoration", "--data", str(data), "-o", str(settings)]) == 0
    assert main(["train", str(settings), "--quiet", "--run-dir", str(run), *FAST, "--set", f"training.epochs={epochs}",
                 "--set", f"restoration.way={way}"]) == 0
    history = list(csv.DictReader(open(run / "history.csv", encoding="utf-8")))
    assert float(history[-1]["loss"]) < float(history[0]["loss"])  # it learnt something

    assert main(["evaluate", str(run)]) == 0
    result = json.loads((run / "evaluation.json").read_text(encoding="utf-8"))
    assert result["way"] == way and result["ground_truth"]  # the demo's clean images score the test images
    compared = result["compared"]
    print(f"{way}: PSNR {compared['psnr']['network']:.2f} against > {compared['psnr']['input'] + 1.0:.2f}, "
          f"SSIM {compared['ssim']['network']:.3f} against > {compared['ssim']['input']:.3f}")
    # the network removes noise: closer to the clean images than the noisy input, in both figures
    assert compared["psnr"]["network"] > compared["psnr"]["input"] + 1.0
    assert compared["ssim"]["network"] > compared["ssim"]["input"]
    assert set(compared["psnr"]) == {"input", "non_local_means", "network"}
    assert "invent structures" in result["caution"]
    restored = sorted((run / "test_masks").glob("*_restored.tif"))
    assert restored and tifffile.imread(restored[0]).dtype == np.uint16

    assert main(["predict", str(run), str(data / "images"), str(out), "--set", "restoration.save_difference=true",
                 "--set", "restoration.output_type=float32"]) == 0
    rows = list(csv.DictReader(open(out / "predictions.csv", encoding="utf-8")))
    assert len(rows) == 8 and all(r["problem"] == "" for r in rows)
    first = out / rows[0]["restored_file"]
    with tifffile.TiffFile(first) as tif:
        assert tif.pages[0].dtype == np.float32 and tif.pages[0].shape == (64, 64)
        assert tif.pages[0].tags["XResolution"].value == (10, 1) and tif.imagej_metadata["unit"] == "micron"
    noisy = tifffile.imread(data / "images" / rows[0]["file"]).astype(np.float32)
    difference = tifffile.imread(out / rows[0]["difference_file"])
    assert np.allclose(difference, tifffile.imread(first) - noisy, atol=1e-2)
    assert float(rows[0]["noise_after"]) < float(rows[0]["noise_before"])
    assert sha(data) == before  # nothing written in the data
    if way == "pairs":  # a bioimage.io package, validated by bioimageio.spec while it is written
        package = tmp_path / "restoration.zip"
        assert main(["export", str(run), "-o", str(package), "--name", "Restoration test", "--author", "Tester"]) == 0
        import zipfile

        with zipfile.ZipFile(package) as archive:
            rdf = archive.read("rdf.yaml").decode("utf-8")
        assert "denoising" in rdf and "restored" in rdf


@pytest.mark.slow
def test_noise2void_learns_without_any_clean_image(tmp_path):
    data = make_restoration_demo(tmp_path / "data", n_images=6, size=64, seed=3)
    for target in (data / "targets").iterdir():
        target.unlink()
    (data / "targets").rmdir()
    settings, run = tmp_path / "s.toml", tmp_path / "run"
    assert main(["init", "--task", "restoration", "--data", str(data), "-o", str(settings)]) == 0
    assert main(["train", str(settings), "--quiet", "--run-dir", str(run), *FAST, "--set", "training.epochs=2"]) == 0
    assert main(["evaluate", str(run)]) == 0
    result = json.loads((run / "evaluation.json").read_text(encoding="utf-8"))
    assert result["way"] == "noise2void" and not result["ground_truth"]
    assert any("There is no ground truth" in w for w in result["warnings"])
    print(f"noise2void without clean images: noise {result['metrics']['noise_after']:.2f} against < "
          f"{result['metrics']['noise_before']:.2f}")
    assert result["metrics"]["noise_after"] < result["metrics"]["noise_before"]
