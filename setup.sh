#!/usr/bin/env bash
# Sets up everything `benchmark` needs on a Debian machine, idempotently:
# system libraries and fonts (WeasyPrint's Pango, a Times-like face,
# poppler-utils), then a virtual environment in .venv with the package and
# its test tools. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1  # WeasyPrint (PDF; subset: smaller embedded fonts)
  fonts-texgyre fonts-liberation                                # IEEE-like serif faces
  poppler-utils                                                 # pdftotext/pdftoppm: tests, looking at pages
  postgresql                                                    # a real server for the storage/nightly tests (started per test session on loopback)
)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fonts_changed=1
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: $PYTHON is $("$PYTHON" --version 2>&1); benchmark needs Python >= 3.11 (set PYTHON=...)" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setup: installing Python packages into .venv (first time: a few minutes; log: .venv/pip.log)"
  if ! { .venv/bin/python -m pip install --upgrade pip \
         && .venv/bin/python -m pip install -e ".[test]"; } > .venv/pip.log 2>&1; then
    tail -n 30 .venv/pip.log >&2
    echo "setup: pip install failed; the whole log is in .venv/pip.log" >&2
    exit 1
  fi
  touch .venv/.installed
  fonts_changed=1
fi
if [ -n "${fonts_changed:-}" ]; then
  # Matplotlib caches the font list; fonts installed after it was built stay invisible.
  .venv/bin/python -c 'import matplotlib.font_manager as fm; fm._load_fontmanager(try_read_cache=False)'
fi
echo "setup: ready (.venv/bin/python -m benchmark --help)"
