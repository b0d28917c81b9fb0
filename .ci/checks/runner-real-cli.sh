#!/usr/bin/env bash
# packer/runner.sh's scenarios with a real aws CLI, Debian's awscli (2.9 on bookworm), installed
# here when missing, against local stand-ins (s3rver for S3, stand-ins/ for EventBridge,
# CloudWatch Logs and Secrets Manager): test/real-cli. The build machine installs the current
# CLI v2, newer than this one. Debian's package is asked for by path: an `aws` elsewhere on PATH
# (a pip-installed v1, say) is not the CLI under test.
set -euo pipefail
cd "$(dirname "$0")/../.."

aws=/usr/bin/aws
if [ ! -x "$aws" ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q awscli
fi

version=$("$aws" --version 2>&1)
echo "-- $version"
[[ $version == aws-cli/2.* ]] || { echo "expected the aws CLI v2 at $aws" >&2; exit 1; }

METAL_BUILD_REAL_AWS=$aws npx vitest run --config vitest.real-cli.config.ts
