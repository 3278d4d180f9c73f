"""``.spyglassignore`` files, with gitignore syntax (pathspec's GitIgnoreSpec), one per folder, like .gitignore."""

from __future__ import annotations

from pathlib import Path

import pathspec

IGNORE_FILE = ".spyglassignore"


class IgnoreRules:
    """The ignore specs in effect in a folder: its own and those of its ancestors inside the source."""

    def __init__(self, specs: tuple[tuple[str, pathspec.GitIgnoreSpec], ...] = ()) -> None:
        self.specs = specs

    def enter(self, directory: Path, rel: str) -> IgnoreRules:
        f = directory / IGNORE_FILE
        try:
            lines = f.read_text("utf-8", errors="replace").splitlines()
        except (FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError):
            return self
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        return IgnoreRules(self.specs + ((rel, spec),))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """``rel`` is the path relative to the source root, with ``/`` separators."""
        for base, spec in self.specs:
            if base:
                if not rel.startswith(base + "/"):
                    continue
                sub = rel[len(base) + 1 :]
            else:
                sub = rel
            if spec.match_file(sub + "/" if is_dir else sub):
                return True
        return False
