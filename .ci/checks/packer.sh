#!/usr/bin/env bash
# CI checks for packer/, with Debian's tools, installed here when missing:
#  - shellcheck on every shell script of the repository (and .ci/run);
#  - `packer validate` of packer/builder.pkr.hcl with Debian's Packer 1.6.6, on that file alone
#    (plugins.pkr.hcl holds what only current Packer understands);
#  - `cloud-init schema` on a user data rendered by events/launch/user-data.ts (test/support/runner-params.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
for tool in packer shellcheck cloud-init; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
fi

echo "-- shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard -- '*.sh' | sort -u)
if [ -f .ci/run ]; then scripts+=(.ci/run); fi
printf '   %s\n' "${scripts[@]}"
shellcheck "${scripts[@]}"

echo "-- $(packer version | head -n 1): validate packer/builder.pkr.hcl"
packer validate packer/builder.pkr.hcl
echo '   valid'
packer fmt -check packer/

echo "-- cloud-init $(cloud-init --version 2>&1 | awk '{print $2}'): schema of a rendered user data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/render.ts" <<TS
import { renderCloudConfig } from '$PWD/events/launch/user-data';
import { RUNNER_PARAMS } from '$PWD/test/support/runner-params';
process.stdout.write(renderCloudConfig(RUNNER_PARAMS));
TS
npx tsx "$tmp/render.ts" >"$tmp/user-data.yaml"
echo "   $(wc -c <"$tmp/user-data.yaml") bytes (EC2 limit 16384)"
cloud-init schema --config-file "$tmp/user-data.yaml"
