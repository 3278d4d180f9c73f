"""Organization at collection scale (a measurement, not a test).

    .venv/bin/python benchmarks/bench_organize.py   # after bench_server.py (SciFact home) and `spyglass eval folders`
    .venv/bin/python benchmarks/bench_organize.py --real HOME   # issue 14.9's mixed collection (see 4.)

1. Duplicates and topics over SciFact's 5,183 abstracts (the embedded home bench_server.py prepares): seconds for the
   exact + MinHash pass, and for clustering with k chosen by silhouette.
2. Topic quality against known classes: SQuAD's 329 filed paragraphs (eval folders' index), 16 Wikipedia articles.
   Normalised mutual information (Strehl & Ghosh 2002, arithmetic mean) and purity of the topics, for k chosen by
   silhouette and for k fixed to the true 16.
3. The alternative the issue names, HDBSCAN (scikit-learn's, when installed: it is not a dependency), on the same
   document vectors: clusters found, share of documents left as noise, NMI/purity (noise counted as one more
   cluster, since a topics list must place every document) and time.
4. ``--real HOME``: the mixed collection of issue 14.9 — ../shared/data's formats/unstructured-example-docs,
   mail/enron-aeslc and chat/testarchive.zip indexed together into HOME (indexed first when HOME has no index) —
   documents in topics by kind (files, documents inside containers), duplicate groups by kind, plan actions by kind
   and the sources of the plan's tag reasons. docs/organize.md quotes the run.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def nmi(labels: list, classes: list) -> float:
    n = len(labels)
    joint = Counter(zip(labels, classes))
    pl, pc = Counter(labels), Counter(classes)
    mi = sum(c / n * math.log((c / n) / ((pl[a] / n) * (pc[b] / n))) for (a, b), c in joint.items())
    h = lambda cnt: -sum(v / n * math.log(v / n) for v in cnt.values())  # noqa: E731
    return mi / ((h(pl) + h(pc)) / 2) if h(pl) + h(pc) > 0 else 1.0


def purity(labels: list, classes: list) -> float:
    by: dict = {}
    for a, b in zip(labels, classes):
        by.setdefault(a, Counter())[b] += 1
    return sum(c.most_common(1)[0][1] for c in by.values()) / len(labels)


def hdbscan_report(x, classes: list | None = None) -> dict:
    try:
        from sklearn.cluster import HDBSCAN
    except ImportError:
        return {"skipped": "scikit-learn is not installed"}
    out = {}
    for mcs in (5, 15):
        t = time.perf_counter()
        labels = HDBSCAN(min_cluster_size=mcs).fit_predict(x)
        row = {"clusters": int(labels.max()) + 1, "noise": round(float((labels < 0).mean()), 3),
               "seconds": round(time.perf_counter() - t, 1)}
        if classes is not None:
            row["nmi"] = round(nmi(list(labels), classes), 4)
            row["purity"] = round(purity(list(labels), classes), 4)
        out[f"min_cluster_size_{mcs}"] = row
    return out


def real_report(home: Path) -> dict:
    from spyglass.app.organize import open_organizer
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.acl import EVERYTHING

    data = Path(os.environ.get("SPYGLASS_SHARED", ROOT.parent / "shared")) / "data"
    sg = Spyglass(home)
    if not (home / "catalog.sqlite3").exists():
        sg.index([str(data / "formats/unstructured-example-docs"), str(data / "mail/enron-aeslc"),
                  str(data / "chat/testarchive.zip")])
    org = open_organizer(sg.parts)
    try:
        docs = org.store.documents(EVERYTHING)
        kind = {d["id"]: "inside" if d["parent_id"] else "file" for d in docs}
        t = time.perf_counter()
        built = org.build_topics()
        in_topics = Counter(kind[i] for ids in org.store.topic_members(EVERYTHING).values() for i in ids)
        out = {"documents": dict(Counter(kind.values())), "topics": {
            "k": built["k"], "documents": built["documents"], "by_kind": dict(in_topics),
            "seconds": round(time.perf_counter() - t, 1)}}
        t = time.perf_counter()
        groups = org.duplicates(EVERYTHING)
        out["duplicates"] = {"groups": len(groups), "by_kind": dict(Counter(g["kind"] for g in groups)),
                             "with_documents_inside": sum(any(f["inside"] for f in g["files"]) for g in groups),
                             "files_under_64_bytes": sum(1 for g in groups for f in g["files"]
                                                         if not f["inside"] and (f["size"] or 0) < 64),
                             "seconds": round(time.perf_counter() - t, 1)}
        t = time.perf_counter()
        plan = org.make_plan(EVERYTHING)
        reasons = Counter(a.why.split(":")[0].split(" (")[0] if a.why.startswith("zero-shot") else
                          "tagged" if "are tagged" in a.why else "folder" for a in plan.actions if a.op == "tag")
        out["plan"] = {"actions": dict(Counter(a.op for a in plan.actions)), "tag_reasons": dict(reasons),
                       "seconds": round(time.perf_counter() - t, 1)}
        return out
    finally:
        org.close()
        sg.close()


def main() -> None:
    from spyglass.app.organize import open_organizer
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.acl import EVERYTHING
    from spyglass.evaluation.beir import default_cache

    if len(sys.argv) == 3 and sys.argv[1] == "--real":
        print(json.dumps(real_report(Path(sys.argv[2]).resolve())))
        return

    out: dict = {"cpus": os.cpu_count()}
    sci = ROOT / "benchmarks" / "out" / "home-scifact-server"
    if (sci / "manifest.json").exists():
        sg = Spyglass(sci)
        org = open_organizer(sg.parts)
        t = time.perf_counter()
        groups = org.duplicates(EVERYTHING, near=0.8, images=False)
        out["scifact_duplicates"] = {"documents": len(org.store.files(EVERYTHING)), "seconds": round(time.perf_counter() - t, 2),
                                     "groups": len(groups), "by_kind": dict(Counter(g["kind"] for g in groups))}
        t = time.perf_counter()
        built = org.build_topics()
        out["scifact_topics"] = {**built, "seconds": round(time.perf_counter() - t, 1)}
        t = time.perf_counter()
        org.topics(["everyone"])
        out["scifact_topics"]["list_ms"] = round((time.perf_counter() - t) * 1000, 1)
        ids, x = org.doc_vectors([f["id"] for f in org.store.files(EVERYTHING)], required=True)
        out["scifact_hdbscan"] = hdbscan_report(x)
        org.close()
        sg.close()
    squad = default_cache() / "squad-folders" / "home"
    if (squad / "manifest.json").exists():
        sg = Spyglass(squad)
        org = open_organizer(sg.parts)
        files = org.store.files(EVERYTHING)
        cls = {f["id"]: Path(f["path"]).parent.name for f in files}
        for name, k in (("silhouette", None), ("true_k", 16)):
            t = time.perf_counter()
            built = org.build_topics(k)
            members = org.store.topic_members(EVERYTHING)
            lab = {i: t for t, ids in members.items() for i in ids}
            ids = sorted(lab)
            out[f"squad_topics_{name}"] = {
                "k": built["k"], "silhouette": built.get("silhouette"), "seconds": round(time.perf_counter() - t, 1),
                "nmi": round(nmi([lab[i] for i in ids], [cls[i] for i in ids]), 4),
                "purity": round(purity([lab[i] for i in ids], [cls[i] for i in ids]), 4)}
        vids, x = org.doc_vectors([f["id"] for f in files], required=True)
        out["squad_hdbscan"] = hdbscan_report(x, [cls[i] for i in vids])
        org.close()
        sg.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
