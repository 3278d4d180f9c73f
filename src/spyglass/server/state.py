"""What the server holds while it runs: the read pool, the accounts, and background jobs (re-index, add source)."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from spyglass.app.connectors import SyncTimer
from spyglass.app.spyglass import Spyglass
from spyglass.core.config import Config, load_config
from spyglass.server.auth import CallerCache
from spyglass.server.limits import LoginThrottle, UserSlots
from spyglass.server.pool import ReaderPool


def serving_config(home: Path, config: Config | None) -> Config:
    """The configuration a server worker runs with: ``[server] model_spinning`` decides whether the query embedder's
    onnxruntime threads spin (``[embedding] spinning`` is for indexing throughput; in a server a spinning embedder
    takes the CPU the other requests are waiting for: BENCHMARKS.md, "Team server")."""
    cfg = config if config is not None else load_config(home.expanduser() / "config.toml")
    return dataclasses.replace(cfg, embedding=dataclasses.replace(cfg.embedding, spinning=cfg.server.model_spinning))


class ServerState:
    def __init__(self, home: Path, config: Config | None = None) -> None:
        cfg = serving_config(home, config)
        self.pool = ReaderPool(home, cfg, size=max(1, cfg.server.readers))
        self.config = self.pool.primary.config
        self.home = self.pool.primary.home
        self.accounts = self.pool.primary.accounts
        s = self.config.server
        self.callers = CallerCache()
        self.logins = LoginThrottle(s.login_free_failures, max_s=s.login_lockout_max_s)
        self.slots = UserSlots(s.user_requests or max(1, s.readers - 1))
        self.jobs: dict[str, dict[str, Any]] = {}
        self._job_lock = threading.Lock()
        self._writer_busy = threading.Lock()
        self.connector_timer = SyncTimer(self.home, self.start_job)  # connector sources, each at its interval

    def principals(self, user: str) -> list[str]:
        return self.pool.primary.principals_for(user)

    def start_job(self, kind: str, fn: Any) -> dict[str, Any]:
        """Run ``fn(Spyglass)`` (a write) in a thread, one at a time; returns the job record."""
        job = {"id": uuid.uuid4().hex[:12], "kind": kind, "state": "queued", "created": time.time(),
               "finished": None, "result": None, "error": None}
        with self._job_lock:
            self.jobs[job["id"]] = job
            if len(self.jobs) > 200:
                for k in sorted(self.jobs, key=lambda k: self.jobs[k]["created"])[:50]:
                    self.jobs.pop(k)

        def run() -> None:
            with self._writer_busy:
                job["state"] = "running"
                sg = Spyglass(self.home, config=self.config)
                try:
                    job["result"] = fn(sg)
                    job["state"] = "done"
                except Exception as exc:  # reported through GET /api/jobs/{id}
                    job["state"], job["error"] = "failed", str(exc)
                finally:
                    sg.close()
                    job["finished"] = time.time()
                    self.pool.invalidate()

        threading.Thread(target=run, name=f"spyglass-{kind}", daemon=True).start()
        return job

    def close(self) -> None:
        self.connector_timer.close()
        self.pool.close()
