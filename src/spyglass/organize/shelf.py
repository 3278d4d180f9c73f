"""Plans kept for review (the web app's plans), and the journals of applied plans, in the data directory.

``<plans>/<id>.yaml`` is the plan, ``<id>.json`` who made it and when, ``<id>.yaml.reviewed`` the actions a reviewer
applied; ``<journals>/<id>.jsonl`` the write-ahead journal of an applied plan (:mod:`spyglass.organize.apply`).
Plan ids are checked against their pattern before any path is built from them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from spyglass.core.errors import NotFoundError, SpyglassError
from spyglass.organize.apply import journals_list
from spyglass.organize.plan import Plan

PLAN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")


class PlanShelf:
    def __init__(self, plans: Path, journals: Path) -> None:
        self.plans, self.journals = plans, journals

    def keep(self, plan: Plan, owner: str) -> str:
        """Keep ``plan`` for review; returns its id."""
        self.plans.mkdir(parents=True, exist_ok=True)
        plan.write(self.plans / f"{plan.id}.yaml")
        (self.plans / f"{plan.id}.json").write_text(json.dumps({"owner": owner, "created": plan.created}))
        return plan.id

    def file(self, plan_id: str) -> Path:
        """A kept plan's file (NotFoundError for an unknown or malformed id)."""
        if not PLAN_ID.fullmatch(plan_id) or not (self.plans / f"{plan_id}.yaml").is_file():
            raise NotFoundError(f"no plan {plan_id!r}")
        return self.plans / f"{plan_id}.yaml"

    def applied(self) -> list[dict[str, Any]]:
        """Applied plans, oldest first, with their step counts."""
        return journals_list(self.journals) if self.journals.exists() else []

    def view(self, plan_id: str, applied: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A kept plan, its actions numbered from 0, and what was applied of it (``applied``: :meth:`applied`, when
        the caller has read it already)."""
        plan = Plan.load(self.file(plan_id))
        meta_file = self.plans / f"{plan_id}.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        applied = self.applied() if applied is None else applied
        return {"id": plan.id, "owner": meta.get("owner"), "created": meta.get("created"),
                "actions": [{"n": n, **a.to_dict()} for n, a in enumerate(plan.actions)],
                "applied": next((j for j in applied if j["plan"] == plan_id), None)}

    def list(self) -> list[dict[str, Any]]:
        applied = self.applied()  # read once, not once per plan
        out = []
        for f in sorted(self.plans.glob("*.yaml")) if self.plans.exists() else []:
            if PLAN_ID.fullmatch(f.stem):
                v = self.view(f.stem, applied)
                out.append({k: v[k] for k in ("id", "owner", "created", "applied")} | {"actions": len(v["actions"])})
        return out

    def reviewed(self, plan_id: str, keep: list[int]) -> Plan:
        """The kept plan cut to the actions the reviewer kept (by number), recorded beside it."""
        plan = Plan.load(self.file(plan_id))
        bad = [n for n in keep if not 0 <= n < len(plan.actions)]
        if bad:
            raise SpyglassError(f"plan {plan_id} has no action(s) {bad}")
        plan.actions = [plan.actions[n] for n in sorted(set(keep))]
        plan.write(self.plans / f"{plan_id}.yaml.reviewed")  # what was applied, for the record
        return plan
