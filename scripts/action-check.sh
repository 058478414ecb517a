#!/usr/bin/env bash
# The Action's last step (action.yml): its inputs, passed in INPUT_* variables,
# as hitcounter-check's options; the check's exit code is the step's.
set -euo pipefail
args=(--url "${INPUT_URL:?the url input is required}" --workers "${INPUT_WORKERS:?the workers input is required}"
  --served-by "${INPUT_SERVED_BY:-header:X-Served-By}" --tolerance "${INPUT_TOLERANCE:-0.25}")
if [ -n "${INPUT_DURING:-}" ]; then
  args+=(--during "$INPUT_DURING" --rate "${INPUT_RATE:-50}")
else
  args+=(--hits "${INPUT_HITS:-300}")
fi
case "${INPUT_STRICT:-false}" in
  true) args+=(--strict --concurrency 1) ;;
  false) ;;
  *) echo "hitcounter-check: the strict input must be true or false (got \"$INPUT_STRICT\")" >&2; exit 2 ;;
esac
if [ -n "${INPUT_JUNIT:-}" ]; then args+=(--junit "$INPUT_JUNIT"); fi
exec node "$(dirname "$0")/../dist/host/tools/check.js" "${args[@]}"
