"""Memory of `spyglass index` over time, per process (a measurement, not a test): one JSON line every 3 s with the
main process's and each child's anonymous memory (RSS minus shared, MB) and RSS, to see *which* process grows and
*when* (bench_index.py gives the peaks only). Keyword-only config, a fresh data directory.

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/profile_index_memory.py benchmarks/out/synthetic-100000 /tmp/home
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil


def main() -> None:
    folder, home = sys.argv[1], Path(sys.argv[2])
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[embedding]\nenabled = false\n")
    cmd = [sys.executable, "-m", "spyglass", "index", folder, "--home", str(home)]
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=os.environ) as p:
        proc, t0 = psutil.Process(p.pid), time.time()
        while p.poll() is None:
            try:
                rows = []
                for x in [proc, *proc.children(recursive=True)]:
                    m = x.memory_info()
                    rows.append(["main" if x.pid == p.pid else "child", round((m.rss - m.shared) / 1e6),
                                 round(m.rss / 1e6)])
                print(json.dumps({"t": round(time.time() - t0), "procs": rows}), flush=True)
            except psutil.Error:
                pass
            time.sleep(3)


if __name__ == "__main__":
    main()
