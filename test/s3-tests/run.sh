#!/usr/bin/env bash
# Runs ceph/s3-tests (an external checkout, never committed here) against a
# fresh Strata server and prints Strata's group summary (summarize.py).
#
# usage: test/s3-tests/run.sh S3TESTS_DIR [OUT_DIR]
#   needs the Debian python packages listed in ../shared/tools/s3-tests/README.md
#   and uses the preinstalled aws-cli's boto3/botocore (conditional writes, CRC64NVME).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
suite=${1:?usage: run.sh S3TESTS_DIR [OUT_DIR]}
out=${2:-$root/s3-tests-out}
runner=${S3TESTS_RUNNER:-$root/../shared/tools/s3-tests/run.sh}
data=$(mktemp -d)
port=${PORT:-9411}
export STRATA_ACCESS_KEY=S3TESTSKEY STRATA_SECRET_KEY=s3tests-secret
node "$root/bin/strata.js" server --data "$data" --listen "127.0.0.1:$port" > "$data.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data" "$data.log"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/.strata/health" >/dev/null && break; sleep 0.2; done
owner=$(node -e "console.log(require('crypto').createHash('sha256').update('strata:S3TESTSKEY').digest('hex'))")
boto_site=$(python3 -c 'import botocore,os;print(os.path.dirname(os.path.dirname(botocore.__file__)))')
BOTO_SITE=$boto_site OUT_DIR=$out TEST_TIMEOUT=${TEST_TIMEOUT:-30} \
  TESTS="s3tests/functional/test_s3.py s3tests/functional/test_headers.py" \
  PYTEST_ADDOPTS="-m 'not lifecycle_expiration and not lifecycle_transition'" \
  MAIN_USER_ID=$owner MAIN_DISPLAY_NAME=strata \
  "$runner" "$suite" 127.0.0.1 "$port" S3TESTSKEY s3tests-secret || true
python3 "$here/summarize.py" "$out/junit.xml" --failures
