#!/bin/bash
# Stand-in for every command runner.sh runs on the host (aws, git, packer, kvm-ok, df, curl,
# shutdown, apt-get, unzip, ...): test/packer/runner-harness.ts links it under each name.
# Each call is recorded in $STUB_DIR/calls/<time>-<pid>-<name> as NUL-separated fields
# (name, cwd, AWS_CONFIG_FILE, then each argument), so argument boundaries are exact.
# Behaviour is driven by STUB_* variables; nothing here touches the host.
set -euo pipefail

name=${0##*/}
seq=${EPOCHREALTIME/./}-$$
printf '%s\0' "$name" "$PWD" "${AWS_CONFIG_FILE:-}" "$@" >"$STUB_DIR/calls/$seq-$name"

failing() { [[ ",${STUB_FAIL:-}," == *",$1,"* ]]; }

# The value following option $1 in the remaining arguments.
opt() {
  local want=$1
  shift
  while [ $# -gt 1 ]; do
    if [ "$1" = "$want" ]; then
      printf '%s' "$2"
      return 0
    fi
    shift
  done
  return 1
}

install_stub() { ln -sf "$STUB_SELF" "$1"; }

case "$name" in
  aws)
    case "${1:-} ${2:-}" in
      'events put-events')
        entries=$(opt --entries "$@")
        cp "${entries#file://}" "$STUB_DIR/events/$seq.json"
        if failing put-events-once && [ ! -e "$STUB_DIR/put-events-failed" ]; then
          : >"$STUB_DIR/put-events-failed"
          echo '{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"stub"}]}'
          rm "$STUB_DIR/events/$seq.json"
          exit 0
        fi
        echo '{"FailedEntryCount":0,"Entries":[{"EventId":"11111111-2222-3333-4444-555555555555"}]}'
        ;;
      'secretsmanager get-secret-value') printf '%s\n' "$STUB_TOKEN" ;;
      's3 cp')
        src=${*: -2:1}
        dst=${*: -1}
        dst=${dst#s3://}
        if failing upload && [[ $dst == *.ova ]]; then
          echo 'upload failed: An error occurred (AccessDenied) when calling the CreateMultipartUpload operation' >&2
          exit 1
        fi
        mkdir -p "$STUB_DIR/s3/${dst%/*}"
        cp "$src" "$STUB_DIR/s3/$dst"
        ;;
      's3api list-objects-v2')
        case "${STUB_RELEASE_EXISTS:-never}" in
          always) echo 1 ;;
          after-build) if [ -e "$STUB_DIR/packer-built" ]; then echo 1; else echo 0; fi ;;
          *) echo 0 ;;
        esac
        ;;
      'logs create-log-group' | 'logs put-retention-policy' | 'logs create-log-stream') ;;
      'logs put-log-events')
        batch=$(opt --log-events "$@")
        "$STUB_JQ" -c '.[].message' "${batch#file://}" >>"$STUB_DIR/cloudwatch.jsonl"
        ;;
      *)
        echo "stub aws: unexpected call: $*" >&2
        exit 2
        ;;
    esac
    ;;
  git)
    [ -z "${PACKER_GITHUB_API_TOKEN+set}" ] || : >"$STUB_DIR/git-saw-packer-token"
    if [ "${1:-}" = -C ]; then
      dir=$2
      shift 2
    fi
    [ "${1:-}" != -c ] || shift 2
    case "${1:-}" in
      clone)
        if failing clone; then
          echo "fatal: Remote branch $(opt --branch "$@") not found in upstream origin" >&2
          exit 128
        fi
        url=${*: -2:1}
        dest=${*: -1}
        if [ -n "${STUB_TOKEN:-}" ]; then
          # What git would do for a private repository: ask GIT_ASKPASS.
          answer=$("$GIT_ASKPASS" "Password for 'https://x-access-token@github.com': ")
          if [ "$answer" = "$STUB_TOKEN" ]; then : >"$STUB_DIR/askpass-ok"; else : >"$STUB_DIR/askpass-wrong"; fi
        fi
        mkdir -p "$dest/.git" "$dest/packer"
        printf '[remote "origin"]\n\turl = %s\n' "$url" >"$dest/.git/config"
        template=$dest/${STUB_TEMPLATE:-packer/prewarmed-build.pkr.hcl}
        mkdir -p "${template%/*}"
        : >"$template"
        ;;
      checkout)
        if failing checkout; then
          echo "error: pathspec '${*: -1}' did not match any file(s) known to git" >&2
          exit 1
        fi
        ;;
      rev-parse) echo "$STUB_SHA" ;;
      ls-remote)
        if [ -n "${STUB_TOKEN:-}" ]; then
          answer=$("$GIT_ASKPASS" "Password for 'https://x-access-token@github.com': ")
          if [ "$answer" = "$STUB_TOKEN" ]; then : >"$STUB_DIR/askpass-ok"; else : >"$STUB_DIR/askpass-wrong"; fi
        fi
        if failing ls-remote; then
          echo "fatal: could not read Username for 'https://github.com': terminal prompts disabled" >&2
          exit 128
        fi
        printf '%s\t%s\n' "$STUB_SHA" "${*: -1}"
        ;;
      *) echo "stub git: unexpected call in ${dir:-.}: $*" >&2 && exit 2 ;;
    esac
    ;;
  packer)
    # What packer would send GitHub: recorded so that tests can compare it with the token.
    printf '%s' "${PACKER_GITHUB_API_TOKEN-(unset)}" >"$STUB_DIR/packer-github-token-${1:-}"
    case "${1:-}" in
      init) ! failing packer-init ;;
      plugins) ;;
      build)
        version=$(printf '%s\n' "$@" | sed -n 's/^version=//p')
        for ((i = 1; i <= ${STUB_PACKER_LINES:-3}; i++)); do
          echo "==> qemu.ubuntu: provisioning step $i — état ✓ ############################################################"
        done
        if failing packer-signal; then
          # As at the lifetime limit: systemd stops the runner's unit (the runner and packer).
          kill -TERM "$(awk '{print $4}' "/proc/$PPID/stat")"
          exit 143
        fi
        if failing packer; then
          echo "Build 'qemu.ubuntu' errored after 2 minutes: Timeout waiting for SSH." >&2
          exit 1
        fi
        mkdir -p output-hedgehog-lab-prewarmed
        printf 'fake OVA %s\n' "$version" >"output-hedgehog-lab-prewarmed/hedgehog-lab-prewarmed-$version.ova"
        # STUB_OVA_BYTES: as large as that (zeros), e.g. to make the real CLI upload it in parts.
        [ -z "${STUB_OVA_BYTES:-}" ] || truncate -s "$STUB_OVA_BYTES" "output-hedgehog-lab-prewarmed/hedgehog-lab-prewarmed-$version.ova"
        : >"$STUB_DIR/packer-built"
        ;;
      *) echo "stub packer: unexpected call: $*" >&2 && exit 2 ;;
    esac
    ;;
  kvm-ok)
    if failing kvm; then
      printf 'INFO: /dev/kvm does not exist\nHINT:   sudo modprobe kvm_intel\nKVM acceleration can NOT be used\n'
      exit 1
    fi
    printf 'INFO: /dev/kvm exists\nKVM acceleration can be used\n'
    ;;
  df) printf ' Avail\n %s\n' "${STUB_DISK_GB:-480}" ;;
  curl)
    url=${*: -1}
    case "$url" in
      */latest/api/token) echo 'imds-session-token' ;;
      */meta-data/instance-id) echo 'i-0123456789abcdef0' ;;
      */meta-data/instance-type) echo "${STUB_INSTANCE_TYPE:-c5n.metal}" ;;
      https://*_SHA256SUMS)
        zip=$(basename "${url%_SHA256SUMS}")_linux_amd64.zip
        printf '%s  %s\n' "$(printf 'zip:%s' "$zip" | sha256sum | cut -d ' ' -f 1)" "$zip" >"$(opt -o "$@")"
        ;;
      https://*) printf 'zip:%s' "$(basename "$url")" >"$(opt -o "$@")" ;;
      *) echo "stub curl: unexpected URL $url" >&2 && exit 2 ;;
    esac
    ;;
  apt-get)
    # As while unattended-upgrades runs: STUB_APT_LOCK=forever, or seconds since the first call.
    if [ -n "${STUB_APT_LOCK:-}" ]; then
      [ -e "$STUB_DIR/apt-lock-since" ] || echo "$EPOCHSECONDS" >"$STUB_DIR/apt-lock-since"
      if [ "$STUB_APT_LOCK" = forever ] || ((EPOCHSECONDS - $(cat "$STUB_DIR/apt-lock-since") < STUB_APT_LOCK)); then
        echo 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1234 (unattended-upgr)' >&2
        exit 100
      fi
    fi
    for pkg in "$@"; do
      case "$pkg" in
        jq) ln -sf "$STUB_JQ" "$STUB_BIN/jq" ;;
        git) install_stub "$STUB_BIN/git" ;;
        unzip) install_stub "$STUB_BIN/unzip" ;;
        cpu-checker) install_stub "$STUB_BIN/kvm-ok" ;;
        qemu-kvm) install_stub "$STUB_BIN/qemu-system-x86_64" ;;
        qemu-utils) install_stub "$STUB_BIN/qemu-img" ;;
      esac
    done
    ;;
  unzip)
    dest=$(opt -d "$@")
    case "$*" in
      *awscli*)
        mkdir -p "$dest/aws"
        install_stub "$dest/aws/install"
        ;;
      *packer_*) install_stub "$dest/packer" ;;
    esac
    ;;
  install) install_stub "$(opt -b "$@")/aws" ;;
  shutdown | poweroff | systemctl | qemu-system-x86_64 | qemu-img) ;;
  *) echo "stub: unknown command $name" >&2 && exit 2 ;;
esac
