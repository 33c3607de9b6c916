#!/usr/bin/env bash
# The test command (npm test): vitest against the real kernel, then one plain
# closing line with the counts, as CI reads it.
set -uo pipefail
cd "$(dirname "$0")/.."
# bin/nsnet.js runs the compiled CLI: build before the tests spawn it.
npm run -s build || exit 1
out=.ci/vitest-results.json
rm -f "$out"
npx vitest run --reporter=default --reporter=json --outputFile="$out" "$@"
code=$?
if [ -f "$out" ]; then
  # A non-zero exit with no failed test is the suite-level leak check (or a
  # crashed file): count it as a failure so the closing line agrees.
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const failed = r.numFailedTests || (Number(process.argv[2]) ? 1 : 0);
    if (failed && !r.numFailedTests) console.log("\nthe suite failed outside any test (leak check or a crashed file): see above");
    console.log(`\n${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$out" "$code"
fi
exit $code
