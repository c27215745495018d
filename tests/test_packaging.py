"""The packaging files: the PyInstaller spec, the build script, the Windows installer and the CI workflow.

The frozen app itself is built and smoke-tested by .ci/run after the suite
(packaging/smoke_test.py); these are the quick checks that need no build.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
MACHINE_PATH = re.compile(r"(/home/|/work/|/root/|/tmp/|/opt/|[A-Z]:\\\\Users|site-packages)")


def spec_helpers() -> dict:
    """The spec's own helper functions (petrilab_modules, resources), run without PyInstaller."""
    tree = ast.parse((PACKAGING / "petrilab.spec").read_text(encoding="utf-8"))
    keep = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))
            and not (isinstance(node, ast.ImportFrom) and node.module.startswith("PyInstaller"))]
    namespace = {"ROOT": ROOT, "APP": ROOT / "app"}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "petrilab.spec", "exec"), namespace)
    return namespace


def load_build_script():
    spec = importlib.util.spec_from_file_location("petrilab_build", PACKAGING / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spec_has_no_machine_paths_and_bundles_what_runs_lazily():
    text = (PACKAGING / "petrilab.spec").read_text(encoding="utf-8")
    assert not MACHINE_PATH.search(text)
    for needed in ('"*.pyi"', '"imagecodecs"', '"tifffile"', '"PyQt5"', '"PyQt6"', '"matplotlib"', '"torch"'):
        assert needed in text or needed.replace('"*.pyi"', '"**/*.pyi"') in text, needed
    helpers = spec_helpers()
    modules = set(helpers["petrilab_modules"]())
    # recipes and the tasks' Keras objects are imported by name, commands on demand: the spec must list them all
    from petrilab.recipes import RECIPES
    from petrilab.tasks import TASKS

    assert {spec.partition(":")[0] for spec in RECIPES.values()} <= modules
    assert {t.keras_objects for t in TASKS.values() if t.keras_objects} <= modules
    assert {"petrilab", "petrilab.cli", "petrilab.backend", "petrilab.gui.welcome", "petrilab.gui.app"} <= modules
    files = helpers["resources"]()
    destinations = {dest for _, dest in files}
    assert any(d.replace("\\", "/") == "resources/demo/classification/round" for d in destinations)
    assert any(Path(src).name == "petrilab.png" for src, _ in files)
    assert not any(src.endswith(".py") for src, _ in files)  # the generators stay out of the app


def test_frozen_resources_are_found_where_the_spec_puts_them(monkeypatch, tmp_path):
    from petrilab import resources

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resources_dir() == tmp_path / "resources"


def test_build_script_options_and_dependency_lists():
    build = load_build_script()
    deps = build.project_dependencies(with_tensorflow=False)
    assert any(d.startswith("keras") for d in deps) and not any(d.startswith("tensorflow") for d in deps)
    assert any(d.startswith("tensorflow") for d in build.project_dependencies(with_tensorflow=True))
    assert any(d.startswith("pyinstaller") for d in build.optional_dependencies("build"))
    assert build.project_version() == __import__("petrilab").__version__
    with pytest.raises(SystemExit):
        build.main(["--tensorflow-cpu"])  # it needs --venv: refused before anything is built
    assert not MACHINE_PATH.search((PACKAGING / "build.py").read_text(encoding="utf-8"))


def test_torch_extra_never_admits_a_newer_release_than_the_local_cpu_wheel():
    specifiers = pytest.importorskip("packaging.specifiers")
    requirement = load_build_script().optional_dependencies("torch")[0]
    allowed = specifiers.SpecifierSet(requirement.removeprefix("torch"))
    assert "2.13.0" in allowed and "2.13.1" not in allowed and "2.14.1" not in allowed


def test_windows_installer_script():
    text = (PACKAGING / "windows" / "petrilab.iss").read_text(encoding="utf-8")
    sections = set(re.findall(r"^\[(\w+)\]", text, flags=re.M))
    assert {"Setup", "Files", "Icons", "Registry", "Run"} <= sections
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}", text, flags=re.M)  # fixed: updates replace the old version
    assert 'Source: "dist\\PetriLab\\*"' in text and "recursesubdirs" in text
    assert re.search(r'^Name: "\{group\}\\\{#AppName\}"', text, flags=re.M)  # Start-menu entry
    assert "{uninstallexe}" in text  # and its uninstaller
    assert "OpenWithProgids" in text and 'gui ""%1""' in text and "ChangesAssociations=yes" in text
    assert "uninsdeletekey" in text and "uninsdeletevalue" in text  # the association goes with the uninstaller
    assert not MACHINE_PATH.search(text)


def test_the_command_the_file_association_runs_opens_that_experiment():
    from petrilab.cli import build_parser

    args = build_parser().parse_args(["gui", "C:/Users/x/demo.toml"])
    assert args.command == "gui" and args.settings == "C:/Users/x/demo.toml"


def test_installers_workflow_is_valid_and_complete():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "installers.yml").read_text(encoding="utf-8"))
    assert set(workflow["jobs"]) >= {"windows", "macos", "linux"}
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "workflow_dispatch" in triggers
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] and job["timeout-minutes"] <= 360
        steps = job["steps"]
        uses = [s.get("uses", "") for s in steps]
        runs = "\n".join(s.get("run", "") for s in steps)
        assert uses[0].startswith("actions/checkout@") and any(u.startswith("actions/setup-python@") for u in uses)
        assert "packaging/build.py" in runs and "packaging/smoke_test.py" in runs, name
        assert "pip install" in runs or "--venv" in runs, name
        upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
        assert upload["with"]["path"] and upload["with"]["if-no-files-found"] == "error"
        assert all(("uses" in s) != ("run" in s) for s in steps), name
    windows = "\n".join(s.get("run", "") for s in workflow["jobs"]["windows"]["steps"])
    assert "ISCC.exe" in windows and "petrilab.iss" in windows
    assert "hdiutil create" in "\n".join(s.get("run", "") for s in workflow["jobs"]["macos"]["steps"])
    assert "--tarball" in "\n".join(s.get("run", "") for s in workflow["jobs"]["linux"]["steps"])


def test_ci_runs_the_suite_before_the_frozen_build_and_its_smoke_test():
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    suite = text.index("-m pytest")
    assert suite < text.index("packaging/build.py") < text.index("packaging/smoke_test.py")
    assert '"torch==2.13.0+cpu"' in text  # only the local CPU wheel, never a CUDA download
