#!/usr/bin/env bash
# Installs the system tools the pipeline needs when they are missing (Debian/Ubuntu, apt, as root).
set -euo pipefail
PY="${PY:-python3}"
missing=()

"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "error: $PY is $("$PY" --version 2>&1); YTEMPIRE Pipeline needs Python 3.11+ (set PY=python3.11)" >&2; exit 1; }
"$PY" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
ldconfig -p 2>/dev/null | grep -q 'libespeak-ng.so.1 ' || missing+=(libespeak-ng1)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing+=(fonts-dejavu-core)
# Captions and titles in Arabic, Hebrew and Devanagari (core) and Chinese, Japanese and Korean (cjk).
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf ] || missing+=(fonts-noto-core)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc ] || missing+=(fonts-noto-cjk)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || [ -n "${YTEMPIRE_PG_BIN:-}" ] || missing+=(postgresql)
# The browser tests drive Debian's Chromium with pip's playwright, which must never download a browser of its own.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# n8n's sqlite3 add-on is compiled against the Node it runs on (devstack/n8n.py): node-gyp needs a C++ toolchain.
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "system packages missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "hint: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql package would start its own cluster; ours runs on its own port, so keep the service off.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && remove_policy=1
fi
apt-get install -y --no-install-recommends "${missing[@]}" || { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
[ "${remove_policy:-0}" = 1 ] && rm -f /usr/sbin/policy-rc.d
echo "installed: ${missing[*]}"
