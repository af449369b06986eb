#!/usr/bin/env bash
# Runs every test file alone (`vitest run <file>`, one process per file), first on PGlite, then on
# PostgreSQL (TEST_DATABASE_URL), and lists the files that fail alone. Long: run it with `nice -n 10`.
#
#   scripts/each-test-alone.sh [pattern]          every test file (or those whose path contains pattern)
#   TEST_DATABASE_URL=postgres://... scripts/each-test-alone.sh   the PostgreSQL database (required for the postgres pass)
#   BACKENDS=pglite scripts/each-test-alone.sh    one backend only (pglite | postgres; default: both, postgres only with TEST_DATABASE_URL)
#   OUT=/tmp/alone scripts/each-test-alone.sh     where each file's output is kept (default: a temp dir)
#
# Exit status: 0 when every file passed alone on every backend run, 1 otherwise.
set -u
cd "$(dirname "$0")/.."

PG_URL="${TEST_DATABASE_URL:-}"
BACKENDS="${BACKENDS:-pglite${PG_URL:+ postgres}}"
if [[ " $BACKENDS " == *" postgres "* && -z "$PG_URL" ]]; then echo "the postgres pass needs TEST_DATABASE_URL" >&2; exit 2; fi
[ -z "$PG_URL" ] && echo "TEST_DATABASE_URL is not set: PGlite only"
OUT="${OUT:-$(mktemp -d -t each-test-alone.XXXXXX)}"
mkdir -p "$OUT"
pattern="${1:-}"

mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort | grep -F -- "$pattern")
echo "${#files[@]} test files; output in $OUT"

failed=()
for backend in $BACKENDS; do
  passed_files=0 tests_passed=0 tests_failed=0 tests_skipped=0
  for f in "${files[@]}"; do
    log="$OUT/$backend.$(echo "$f" | tr '/' '_').log"
    json="$log.json"
    start=$(date +%s)
    if [ "$backend" = postgres ]; then
      TEST_DATABASE_URL="$PG_URL" node_modules/.bin/vitest run "$f" --reporter=default --reporter=json --outputFile.json="$json" >"$log" 2>&1
    else
      env -u TEST_DATABASE_URL node_modules/.bin/vitest run "$f" --reporter=default --reporter=json --outputFile.json="$json" >"$log" 2>&1
    fi
    rc=$?
    counts=$(node -e '
      try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests + r.numTodoTests); }
      catch { console.log("0 0 0"); }' "$json")
    read -r p fl sk <<<"$counts"
    tests_passed=$((tests_passed + p)) tests_failed=$((tests_failed + fl)) tests_skipped=$((tests_skipped + sk))
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
      passed_files=$((passed_files + 1))
      printf '%-8s ok    %4ss  %3s passed %3s skipped  %s\n' "$backend" "$secs" "$p" "$sk" "$f"
    else
      failed+=("$backend $f")
      printf '%-8s FAIL  %4ss  %3s passed %3s failed %3s skipped  %s  (%s)\n' "$backend" "$secs" "$p" "$fl" "$sk" "$f" "$log"
    fi
  done
  echo "== $backend: $passed_files/${#files[@]} files passed alone; tests: $tests_passed passed, $tests_failed failed, $tests_skipped skipped"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "== files that fail alone:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "== every file passed alone on: $BACKENDS"
