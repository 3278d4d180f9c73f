"""Structured text: JSON and NDJSON, YAML (safe loader), CSV and TSV.

Data files are indexed as ``key: value`` lines (JSON/YAML) or ``cell | cell`` rows (CSV), so that keys, values and
rows are searchable without the punctuation. A file that does not parse is indexed as plain text, with a warning.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.text import decode


def flatten(value: Any, prefix: str = "", out: list[str] | None = None, budget: list[int] | None = None) -> list[str]:
    out = [] if out is None else out
    budget = [2_000_000] if budget is None else budget
    if budget[0] <= 0:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out, budget)
    elif isinstance(value, list):
        for v in value:
            flatten(v, prefix, out, budget)
    elif value is not None and value != "":
        line = (f"{prefix}: {value}" if prefix else str(value))[: budget[0]]
        budget[0] -= len(line)
        out.append(line)
    return out


def _text_fallback(text: str, why: str, ctx: Context) -> Extracted:
    return Extracted(segments=[Segment(text[: ctx.text_budget])], meta={"warning": why})


def extract_json(blob: Blob, ctx: Context) -> Extracted:
    text = decode(blob.read(), "JSON")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return _text_fallback(text, f"invalid JSON ({exc.msg} at line {exc.lineno}); indexed as text", ctx)
    lines = flatten(value, budget=[ctx.text_budget])
    return Extracted(segments=[Segment("\n".join(lines))] if lines else [])


def extract_ndjson(blob: Blob, ctx: Context) -> Extracted:
    text = decode(blob.read(), "NDJSON")
    lines: list[str] = []
    budget = [ctx.text_budget]
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            flatten(json.loads(raw), out=lines, budget=budget)
        except json.JSONDecodeError:
            lines.append(raw)
        lines.append("")
    body = "\n".join(lines).strip()
    return Extracted(segments=[Segment(body)] if body else [])


def extract_yaml(blob: Blob, ctx: Context) -> Extracted:
    import yaml

    text = decode(blob.read(), "YAML")
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        return _text_fallback(text, f"invalid YAML ({str(exc).splitlines()[0]}); indexed as text", ctx)
    lines: list[str] = []
    budget = [ctx.text_budget]
    for d in docs:
        flatten(d, out=lines, budget=budget)
    return Extracted(segments=[Segment("\n".join(lines))] if lines else [])


def extract_csv(blob: Blob, ctx: Context) -> Extracted:
    text = decode(blob.read(), "CSV")
    sample = text[:20000]
    if blob.suffix == ".tsv":
        dialect: Any = csv.excel_tab
    else:
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
    rows: list[str] = []
    budget = ctx.text_budget
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            line = " | ".join(c.strip() for c in row if c and c.strip())[:budget]  # one row can be all of it
            if line:
                rows.append(line)
                budget -= len(line)
                if budget <= 0:
                    break
    except csv.Error as exc:
        return _text_fallback(text, f"malformed CSV ({exc}); indexed as text", ctx)
    return Extracted(segments=[Segment("\n".join(rows))] if rows else [])
