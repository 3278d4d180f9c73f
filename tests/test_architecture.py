"""The package's shape: cheap import, layering, documented settings and commands, the data-directory format."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "spyglass"
DOCS = Path(__file__).resolve().parents[1] / "docs"

HEAVY = ["tantivy", "onnxruntime", "numpy", "faiss", "pypdfium2", "docx", "pptx", "openpyxl", "trafilatura",
         "torch", "llama_cpp", "lxml", "watchdog", "rich", "typer"]


def test_import_spyglass_loads_no_heavy_runtime():
    code = "import sys, spyglass; print([m for m in %r if m in sys.modules])" % HEAVY
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Each layer may import only these spyglass layers (besides itself).
ALLOWED = {
    "core": set(),
    "sources": {"core"},
    "extraction": {"core"},
    "models": {"core"},
    "index": {"core", "sources", "extraction", "models"},
    "retrieval": {"core", "models", "index"},
    "ranking": {"core", "models", "index", "retrieval"},
    "answering": {"core", "models", "index", "retrieval", "ranking"},
    "recommend": {"core", "models", "index"},
    "organize": {"core", "models", "index"},
    "evaluation": {"core", "app", "index", "models", "extraction", "ranking", "recommend"},  # index, models: cache keys; others: measured directly
    "app": {"core", "sources", "extraction", "models", "index", "retrieval", "ranking", "answering", "recommend",
            "organize"},
    "cli": {"core", "app", "evaluation", "server", "training"},
    "server": {"core", "app"},
    # trains the packaged models (torch, the `train` extra); nothing at run time imports it (a test checks)
    "training": {"core", "models", "extraction", "evaluation"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return {m for m in out if m.startswith("spyglass.")}


def test_layers_import_only_layers_below():
    bad = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        if len(rel) < 2:
            continue
        layer = rel[0]
        assert layer in ALLOWED, f"new layer {layer!r}: add it to ARCHITECTURE and this test"
        for mod in _imports(path):
            target = mod.split(".")[1]
            if target != layer and target not in ALLOWED[layer] and target != "__init__":
                bad.append(f"{path.relative_to(SRC)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_every_setting_is_documented():
    from spyglass.core.config import SECTIONS, UserSettings

    doc = (DOCS / "configuration.md").read_text()
    missing = []
    for section, cls in {**SECTIONS, "users.NAME": UserSettings}.items():
        if f"[{section}]" not in doc:
            missing.append(f"[{section}]")
        for f in dataclasses.fields(cls):
            if f"`{f.name}`" not in doc:
                missing.append(f"{section}.{f.name}")
    assert not missing, f"undocumented settings in docs/configuration.md: {missing}"


def test_every_command_is_documented():
    from spyglass.cli.main import app

    doc = (DOCS / "cli.md").read_text()
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    missing = [n for n in names if f"spyglass {n}" not in doc]
    assert not missing, f"undocumented commands in docs/cli.md: {missing}"


def test_every_command_has_json_and_help():
    from typer.testing import CliRunner

    from spyglass.cli.main import app

    for c in app.registered_commands:
        name = c.name or c.callback.__name__
        r = CliRunner().invoke(app, [name, "--help"])
        assert r.exit_code == 0 and "--json" in r.output, name


def test_unknown_setting_is_a_clear_error(tmp_path):
    from spyglass.core.config import load_config
    from spyglass.core.errors import ConfigError

    p = tmp_path / "config.toml"
    p.write_text("[index]\nchunk_max_wrds = 3\n")
    with pytest.raises(ConfigError, match="chunk_max_wrds"):
        load_config(p)
    p.write_text("[limits]\ntimeout_s = 'soon'\n")
    with pytest.raises(ConfigError, match="timeout_s"):
        load_config(p)


def test_manifest_newer_format_is_refused_and_old_lexical_schema_rebuilt(tmp_path):
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.errors import IndexFormatError

    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("persimmon")
    from conftest import keyword_config

    home = tmp_path / "home"
    Spyglass(home, config=keyword_config()).index([str(d)])
    m = json.loads((home / "manifest.json").read_text())
    # an older lexical schema: rebuilt from the catalog on the next writer open, without re-reading files
    m["lexical"]["schema"] = 0
    (home / "manifest.json").write_text(json.dumps(m))
    sg = Spyglass(home, config=keyword_config())
    with pytest.raises(IndexFormatError):
        sg.search("persimmon")
    stats = sg.index()
    assert stats.unchanged == 1 and stats.updated == 0
    assert sg.search("persimmon").total == 1
    sg.close()
    m = json.loads((home / "manifest.json").read_text())
    m["format"] = 99
    (home / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexFormatError, match="newer"):
        Spyglass(home, config=keyword_config()).search("persimmon")


def test_concurrent_writer_is_refused(tmp_path):
    from spyglass.core.errors import IndexLockedError
    from spyglass.index.store import DataDir

    with DataDir(tmp_path / "h", write=True):
        with pytest.raises(IndexLockedError):
            DataDir(tmp_path / "h", write=True)


def test_every_server_endpoint_is_documented():
    """datasette-style: an endpoint missing from docs/server.md fails the suite."""
    pytest.importorskip("fastapi")
    from spyglass.server import api, web_api

    doc = (DOCS / "server.md").read_text()
    missing = [f"{m} {r.path}" for r in [*api.router.routes, *web_api.router.routes] for m in sorted(r.methods)
               if f"| {m} | `{r.path}` |" not in doc]
    assert not missing, f"undocumented endpoints in docs/server.md: {missing}"
