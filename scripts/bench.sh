#!/usr/bin/env bash
# Runs one benchmark (bench/NAME.ts) against the compiled library in dist/,
# the code a user runs, built first so it matches the sources.
# Usage: scripts/bench.sh NAME [node options...]
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
shift
npm run -s build
exec node "$@" --import tsx "bench/$name.ts"
