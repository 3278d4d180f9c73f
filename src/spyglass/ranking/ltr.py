"""Learning to rank: a LightGBM LambdaMART model over :mod:`spyglass.ranking.features`.

LambdaMART: gradient-boosted regression trees trained with LambdaRank gradients that optimise nDCG directly —
Burges, "From RankNet to LambdaRank to LambdaMART: An Overview", Microsoft Research TR-2010-82; LightGBM: Ke et al.,
NeurIPS 2017. The packaged model (``models/ltr-scifact-train.txt``) was trained by ``spyglass eval train-ranker`` on
the SciFact *train* queries only; it is evaluated on SciFact *test* and on SQuAD, which it never saw.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError
from spyglass.ranking.features import CONTEXT, FEATURES
from spyglass.ranking.personal import PERSONAL

PACKAGED = "ltr-scifact-train.txt"


def _lgb():
    try:
        import lightgbm
    except ImportError as exc:
        raise MissingExtraError("the learned ranker", "ltr", "lightgbm") from exc
    return lightgbm


class LtrRanker:
    """A LightGBM ranker. Rows hold :data:`FEATURES`, then :data:`CONTEXT` when the model uses any of them, then
    :data:`~spyglass.ranking.personal.PERSONAL` when it uses any of those; a model trained on some of these (in that
    order) reads just its own columns."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._booster: Any = None
        self.personal = False
        self.context = False
        self.columns: list[int] | None = None  # the model's features among the rows' (None: all of them)

    def warm_up(self) -> None:
        if self._booster is not None:
            return
        lgb = _lgb()
        if self.path is None:
            text = resources.files("spyglass.ranking.models").joinpath(PACKAGED).read_text()
            self._booster = lgb.Booster(model_str=text)
        else:
            if not self.path.exists():
                raise SpyglassError(f"ranker model {self.path} not found")
            self._booster = lgb.Booster(model_file=str(self.path))
        names = self._booster.feature_name()
        self.context = any(n in CONTEXT for n in names)  # the document's path match and kind (features.CONTEXT)
        self.personal = any(n in PERSONAL for n in names)  # the caller's activity (ranking.personal)
        layout = FEATURES + (CONTEXT if self.context else []) + (PERSONAL if self.personal else [])
        if not names or any(n not in layout for n in names) or sorted(names, key=layout.index) != names:
            raise SpyglassError(f"ranker model features {names} differ from this version's {layout}: retrain it")
        self.columns = None if names == layout else [layout.index(n) for n in names]

    def score(self, rows: list[list[float]]) -> list[float]:
        import numpy as np

        self.warm_up()
        if not rows:
            return []
        x = np.asarray(rows, dtype=np.float64)
        return [float(v) for v in self._booster.predict(x if self.columns is None else x[:, self.columns])]


def train(groups: list[tuple[list[list[float]], list[int]]], out: Path, params: dict[str, Any] | None = None,
          rounds: int = 300, names: list[str] | None = None, init: list[list[float]] | None = None) -> dict[str, Any]:
    """Train LambdaMART on query groups of (feature rows, graded labels); write a LightGBM text model. ``names``:
    the features of the rows (:data:`FEATURES`, or those and :data:`spyglass.ranking.personal.PERSONAL`). ``init``:
    per group, a starting score for each row (boosting fits the residual; the model's own scores exclude it, so
    whoever scores with it adds it back)."""
    names = names or FEATURES
    import numpy as np

    lgb = _lgb()
    X = np.asarray([r for rows, _ in groups for r in rows], dtype=np.float64)
    y = np.asarray([lab for _, labels in groups for lab in labels], dtype=np.float64)
    sizes = [len(rows) for rows, _ in groups]
    p = {"objective": "lambdarank", "metric": "ndcg", "ndcg_eval_at": [10], "learning_rate": 0.05,
         "num_leaves": 15, "min_data_in_leaf": 20, "feature_fraction": 0.9, "bagging_fraction": 0.8,
         "bagging_freq": 1, "lambdarank_truncation_level": 20, "verbose": -1, "seed": 7, "deterministic": True,
         "num_threads": 2}
    p.update(params or {})
    base = np.asarray([b for g in init for b in g], dtype=np.float64) if init is not None else None
    ds = lgb.Dataset(X, y, group=sizes, feature_name=names, init_score=base)
    booster = lgb.train(p, ds, num_boost_round=rounds)
    out.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out))
    imp = dict(zip(names, booster.feature_importance("gain").tolist()))
    (out.with_suffix(".json")).write_text(json.dumps({"params": p, "rounds": rounds, "queries": len(groups),
                                                      "rows": len(y), "gain": imp}, indent=2))
    return {"queries": len(groups), "rows": int(len(y)), "gain": imp}
