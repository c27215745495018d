"""Build the PetriLab application folder with PyInstaller and report its size.

    python packaging/build.py                    # with this Python (PyInstaller installed on demand)
    python packaging/build.py --venv build/venv  # in a separate build venv, created and filled if missing
    python packaging/build.py --venv build/venv --tensorflow-cpu   # CPU-only TensorFlow: a smaller app
    python packaging/build.py --engine torch     # the Keras PyTorch backend only (GPU on Windows)
    python packaging/build.py --engine both      # TensorFlow and PyTorch
    python packaging/build.py --tarball          # and pack dist/PetriLab-<version>-<os>-<arch>.tar.gz

Output: dist/PetriLab/ (the application folder; the executable is
dist/PetriLab/PetriLab, PetriLab.exe on Windows) and dist/build-report.json
(size, build time, what was bundled). Then run the frozen app's smoke test:
python packaging/smoke_test.py. Build outputs (build/, dist/) are never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "petrilab.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
APP_NAME = "PetriLab"


def run(command: list[str], **kwargs) -> None:
    print("$", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT, **kwargs)


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def project_dependencies(with_tensorflow: bool) -> list[str]:
    """The runtime dependencies from pyproject.toml (optionally without TensorFlow)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = project["dependencies"]
    return [d for d in deps if with_tensorflow or not d.replace(" ", "").startswith("tensorflow")]


def tensorflow_version(python: Path) -> str | None:
    """The bundled TensorFlow's distribution and version, e.g. 'tensorflow-cpu 2.21.0' (without importing it)."""
    code = ("import importlib.metadata as m\n"
            "for name in ('tensorflow', 'tensorflow-cpu', 'tensorflow-macos', 'tensorflow-intel'):\n"
            "    try:\n        print(name, m.version(name)); break\n"
            "    except m.PackageNotFoundError:\n        pass\n")
    probe = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return probe.stdout.strip() or None


def optional_dependencies(extra: str) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["optional-dependencies"][extra]


def prepare_venv(folder: Path, engine: str, tensorflow_cpu: bool) -> Path:
    """A build venv with PetriLab, its dependencies, the engine's backends and PyInstaller; created on first use."""
    python = venv_python(folder)
    if not python.exists():
        print(f"Creating the build venv {folder}")
        venv.create(folder, with_pip=True)
    pip = [python, "-m", "pip", "install", "-q"]
    if engine in ("tensorflow", "both") and not tensorflow_cpu:
        run([*pip, ".[build]"])
    else:
        # tensorflow-cpu is the same `tensorflow` package without the GPU kernels (much smaller), but pip
        # does not count it as "tensorflow": install the other dependencies, then PetriLab without its own.
        if engine in ("tensorflow", "both"):
            run([*pip, "tensorflow-cpu"])
        run([*pip, *project_dependencies(with_tensorflow=False), *optional_dependencies("build")])
        run([*pip, "--no-deps", "."])
    if engine in ("torch", "both"):
        # the CPU build from this machine's wheel files or PyPI; README says how to ship a CUDA build instead
        run([*pip, *optional_dependencies("torch")])
    return python


def ensure_pyinstaller(python: Path) -> None:
    found = subprocess.run([str(python), "-c", "import PyInstaller"], capture_output=True).returncode == 0
    if not found:
        run([python, "-m", "pip", "install", "-q", *optional_dependencies("build")])


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def largest_parts(bundle: Path, count: int = 12) -> list[tuple[str, int]]:
    """The biggest first- and second-level entries of the bundle, to see where the size goes."""
    inner = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    parts = []
    for entry in inner.iterdir():
        if entry.is_dir() and entry.name in ("tensorflow", "torch", "PySide6"):
            parts += [(str(p.relative_to(inner)), folder_size(p) if p.is_dir() else p.stat().st_size)
                      for p in entry.iterdir()]
        else:
            parts.append((entry.name, folder_size(entry) if entry.is_dir() else entry.stat().st_size))
    return sorted(parts, key=lambda p: -p[1])[:count]


def bundle_folder() -> Path:
    if sys.platform == "darwin" and (DIST / f"{APP_NAME}.app").exists():
        return DIST / f"{APP_NAME}.app"
    return DIST / APP_NAME


def executable(bundle: Path) -> Path:
    if bundle.suffix == ".app":
        return bundle / "Contents" / "MacOS" / APP_NAME
    return bundle / (f"{APP_NAME}.exe" if os.name == "nt" else APP_NAME)


def make_tarball(bundle: Path, version: str) -> Path:
    arch = platform.machine().lower()
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    out = DIST / f"{APP_NAME}-{version}-{system}-{arch}.tar.gz"
    print(f"Packing {out}")
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"{APP_NAME}-{version}")
    return out


def project_version() -> str:
    text = (ROOT / "app" / "petrilab" / "__init__.py").read_text(encoding="utf-8")
    return text.split('__version__ = "', 1)[1].split('"', 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, help="build in this venv (created and filled if missing)")
    parser.add_argument("--tensorflow-cpu", action="store_true",
                        help="with --venv: install tensorflow-cpu instead of tensorflow (smaller bundle)")
    parser.add_argument("--engine", choices=("tensorflow", "torch", "both"), default="tensorflow",
                        help="the Keras backend(s) to bundle (default: tensorflow)")
    parser.add_argument("--tarball", action="store_true", help="pack the folder into a .tar.gz (Linux, macOS)")
    parser.add_argument("--console", action="store_true", help="Windows: keep a console window (debugging)")
    args = parser.parse_args(argv)
    if args.tensorflow_cpu and not args.venv:
        parser.error("--tensorflow-cpu needs --venv (it replaces TensorFlow in that venv)")

    python = prepare_venv(args.venv, args.engine, args.tensorflow_cpu) if args.venv else Path(sys.executable)
    ensure_pyinstaller(python)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")  # PyInstaller imports TensorFlow to inspect it: no chatter

    started = time.monotonic()
    command = [python, "-m", "PyInstaller", SPEC, "--noconfirm", "--clean", "--log-level", "WARN",
               "--distpath", DIST, "--workpath", WORK]
    spec_options = [f"--engine={args.engine}"] + (["--console"] if args.console else [])
    run([*command, "--", *spec_options], env=env)
    seconds = time.monotonic() - started

    bundle = bundle_folder()
    size = folder_size(bundle)
    report = {
        "bundle": str(bundle.relative_to(ROOT)),
        "executable": str(executable(bundle).relative_to(ROOT)),
        "size_bytes": size,
        "files": sum(1 for p in bundle.rglob("*") if p.is_file()),
        "build_seconds": round(seconds, 1),
        "platform": f"{sys.platform}-{platform.machine()}",
        "python": platform.python_version(),
        "version": project_version(),
        "engine": args.engine,
        "tensorflow": tensorflow_version(python) if args.engine != "torch" else None,
        "largest_parts": [{"name": n, "bytes": b} for n, b in largest_parts(bundle)],
    }
    if args.tarball:
        tarball = make_tarball(bundle, project_version())
        report["tarball"] = str(tarball.relative_to(ROOT))
        report["tarball_bytes"] = tarball.stat().st_size
    (DIST / "build-report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")

    print(f"\nBuilt {bundle} in {seconds / 60:.1f} min: {size / 2**20:.0f} MB in {report['files']} files")
    for part in report["largest_parts"]:
        print(f"  {part['bytes'] / 2**20:8.1f} MB  {part['name']}")
    if args.tarball:
        print(f"Tarball: {report['tarball']} ({report['tarball_bytes'] / 2**20:.0f} MB)")
    print(f"Smoke test: {Path(sys.executable).name} packaging/smoke_test.py {report['executable']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
