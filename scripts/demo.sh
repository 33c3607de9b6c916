#!/usr/bin/env bash
# Command 1: install what is missing and run the demo (networks, sandboxes, real traffic).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
npm run demo
