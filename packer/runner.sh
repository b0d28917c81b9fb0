#!/usr/bin/env bash
# metal-build runner: runs once on the metal build host (started by cloud-init), builds the
# Hedgehog Lab pre-warmed OVA with Packer, uploads it under s3://<bucket>/builds/<build-id>/ and
# powers the machine off. It reports through `Build Phase` events only, each carrying the
# build's event token from build.json; it never writes the build table, and never writes
# releases/ (a function publishes a release once the handler has checked the build's report).
#
#   runner.sh                  run the build described by /etc/metal-build/build.json
#                              (a self-test instead when it says "selftest": true)
#   runner.sh --install-tools  install what a build needs (used by packer/builder.pkr.hcl)
#
# Every value from build.json is data: read with python3 (cloud-init's own interpreter, so on
# every image that ran our user data, unlike jq), always quoted, passed to commands as single
# arguments, never evaluated. The GitHub token only ever lives in a variable and in the
# environment of `git clone` (read back through GIT_ASKPASS) and of `packer init`/`build`
# (PACKER_GITHUB_API_TOKEN), never in an argument, a file or the log. The event token is never
# logged nor an argument either: it reaches jq or python3 through their environment, and leaves
# the machine only inside put-events entries.

# jq programs are single-quoted on purpose: their $names are jq variables, not shell ones.
# shellcheck disable=SC2016
set -euo pipefail
umask 077
# Log times come from printf's own clock, in UTC.
export TZ=UTC

readonly CONFIG_FILE=${METAL_BUILD_CONFIG:-/etc/metal-build/build.json}
readonly WORK_DIR=${METAL_BUILD_WORK_DIR:-/var/lib/metal-build}
# Seconds between CloudWatch pushes (the log is at most this far behind); tests shorten it.
readonly LOG_INTERVAL=${METAL_BUILD_LOG_INTERVAL:-15}
# First wait between put-events retries, doubled each time; tests shorten it.
readonly RETRY_SECONDS=${METAL_BUILD_RETRY_SECONDS:-2}
readonly BIN_DIR=${METAL_BUILD_BIN_DIR:-/usr/local/bin}
# unattended-upgrades holds apt's locks for minutes after a first boot: wait this long for
# them, retrying every APT_RETRY seconds; tests shorten both.
readonly APT_WAIT=${METAL_BUILD_APT_WAIT:-600}
readonly APT_RETRY=${METAL_BUILD_APT_RETRY:-10}
# Tests point these at files of their own.
readonly KVM_DEVICE=${METAL_BUILD_KVM_DEVICE:-/dev/kvm}
readonly SYS_MODULE_DIR=${METAL_BUILD_SYS_MODULE_DIR:-/sys/module}
# Keep equal to packer_version in builder.pkr.hcl (test/packer checks).
PACKER_VERSION=${PACKER_VERSION:-1.11.2}
QEMU_PLUGIN_VERSION=${QEMU_PLUGIN_VERSION:-}

readonly LOG_FILE=$WORK_DIR/build.log
readonly SRC_DIR=$WORK_DIR/labapp
readonly OUT_DIR=$WORK_DIR/out
readonly OVA_DIR=output-hedgehog-lab-prewarmed
readonly MIN_FREE_GB=300
readonly MULTIPART_SIZE=100MB
readonly LOG_RETENTION_DAYS=30
readonly LOG_TAIL_BYTES=4096
# Lifetime kept back from the Packer timeout for hashing, uploading and reporting.
readonly UPLOAD_RESERVE_SECONDS=1200
readonly RUNNER_SOURCE=labapp.metal-build.runner
readonly PHASE_DETAIL_TYPE='Build Phase'

BUILD_ID='' BRANCH='' COMMIT='' REPO_URL='' BUCKET='' BUS='' REGION='' LOG_GROUP=''
MAX_LIFETIME_MINUTES='' GITHUB_SECRET_ARN='' EVENT_TOKEN='' PACKER_TEMPLATE='' GITHUB_TOKEN='' APT_UPDATED=0
INSTANCE_ID='' INSTANCE_TYPE='' ACTUAL_COMMIT='' VERSION='' PREFIX='' RELEASE=0 RELEASE_PREFIX=''
LOG_KEY='' STARTED_AT='' START_EPOCH=0 STREAMER_PID='' KVM_REPORT='' SELFTEST='' LOG_STREAM=0 CHECKS='[]'
AWS_READY=0 OUTCOME=running FAIL_MESSAGE='' STEP='starting'

# printf's own clock: no process per log line.
log() { printf '%(%Y-%m-%dT%H:%M:%SZ)T %s\n' -1 "$*"; }
# As `date -u +%Y-%m-%dT%H:%M:%S.%3NZ`, from bash's own clock.
now_iso() {
  local t=${EPOCHREALTIME/,/.}
  printf '%(%Y-%m-%dT%H:%M:%S)T.%sZ\n' "${t%.*}" "${t: -6:3}"
}

# Record why the build failed and stop; the EXIT trap reports it.
fail() {
  FAIL_MESSAGE=$1
  log "ERROR: $1"
  exit 1
}

# ---------------------------------------------------------------------------- tools

# DPkg::Lock::Timeout covers dpkg's lock only: `update` fails at once on the lists lock, so
# a lock failure is retried until APT_WAIT has passed.
apt_get() {
  local deadline=$((EPOCHSECONDS + APT_WAIT)) out rc
  while :; do
    rc=0
    out=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_WAIT" "$@" 2>&1) || rc=$?
    printf '%s\n' "$out"
    ((rc)) || return 0
    [[ $out == *[Ll]ock* ]] || fail "apt-get $1 failed (exit $rc)"
    ((EPOCHSECONDS < deadline)) || break
    log "apt-get $1: waiting for apt's lock (held by another process)"
    sleep "$APT_RETRY"
  done
  out=$(grep -m 1 '[Ll]ock' <<<"$out")
  fail "apt-get $1: could not get apt's lock within ${APT_WAIT}s: $out"
}

apt_install() {
  log "installing packages: $*"
  ((APT_UPDATED)) || apt_get update -q
  APT_UPDATED=1
  apt_get install -y -q "$@"
}

# Installs the packages of those commands that are missing (pairs command:package).
apt_missing() {
  local pkgs=() tool
  for tool in "$@"; do command -v "${tool%%:*}" >/dev/null || pkgs+=("${tool#*:}"); done
  if ((${#pkgs[@]})); then apt_install "${pkgs[@]}"; fi
}

install_packer() {
  local zip="packer_${PACKER_VERSION}_linux_amd64.zip" base="https://releases.hashicorp.com/packer/$PACKER_VERSION" tmp
  log "installing Packer $PACKER_VERSION"
  tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp/$zip" "$base/$zip"
  curl -fsSL --retry 3 -o "$tmp/SHA256SUMS" "$base/packer_${PACKER_VERSION}_SHA256SUMS"
  (cd "$tmp" && grep -F "  $zip" SHA256SUMS | sha256sum -c -)
  unzip -o -q "$tmp/$zip" packer -d "$BIN_DIR"
  rm -rf "$tmp"
}

install_aws_cli() {
  local tmp
  log "installing the AWS CLI v2"
  tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp/awscliv2.zip" https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip
  unzip -q "$tmp/awscliv2.zip" -d "$tmp"
  "$tmp/aws/install" --update -b "$BIN_DIR"
  rm -rf "$tmp"
}

# What a build needs, installed only when missing: with the builder AMI this does nothing.
# In two steps, so that a wrong template fails before minutes of QEMU and Packer downloads.
# The AWS CLI comes first when it can: without it no failure can be reported.
install_base_tools() {
  STEP='installing tools'
  if ! command -v aws >/dev/null && command -v unzip >/dev/null && command -v curl >/dev/null; then install_aws_cli; fi
  # Not for --install-tools (the AMI build), which has no build.json.
  [ -z "$BUILD_ID" ] || configure_aws
  apt_missing jq:jq git:git curl:curl unzip:unzip kvm-ok:cpu-checker
  command -v aws >/dev/null || install_aws_cli
  [ -z "$BUILD_ID" ] || configure_aws
}

install_build_tools() {
  STEP='installing tools'
  apt_missing qemu-system-x86_64:qemu-kvm qemu-img:qemu-utils
  command -v packer >/dev/null || install_packer
  if [ -n "$QEMU_PLUGIN_VERSION" ]; then
    packer plugins install github.com/hashicorp/qemu "v$QEMU_PLUGIN_VERSION"
  fi
}

# ---------------------------------------------------------------------------- config

# NUL-separated, so every value arrives exactly as written (newlines included).
readonly PY_CONFIG='import json,sys
c=json.load(open(sys.argv[1],encoding="utf-8"))
if not isinstance(c,dict): sys.exit("not a JSON object")
s=lambda k:c.get(k) if isinstance(c.get(k),str) else ""
v=[s(k) for k in "buildId branch commit repoUrl bucket eventBusName region logGroup githubSecretArn eventToken packerTemplate".split()]
n=c.get("maxLifetimeMinutes")
v.append(str(int(n)) if type(n) in (int,float) and n>=1 and n==int(n) else "")
v.append("1" if c.get("selftest") is True else "")
if any("\0" in x for x in v): sys.exit("a value contains a NUL")
sys.stdout.write("".join(x+"\0" for x in v))'

read_config() {
  STEP='reading the build parameters'
  [ -r "$CONFIG_FILE" ] || { log "ERROR: $CONFIG_FILE is missing"; exit 1; }
  local fields=()
  mapfile -d '' fields < <(python3 -c "$PY_CONFIG" "$CONFIG_FILE")
  ((${#fields[@]} == 13)) || { log "ERROR: $CONFIG_FILE could not be read"; exit 1; }
  BUILD_ID=${fields[0]} BRANCH=${fields[1]} COMMIT=${fields[2]} REPO_URL=${fields[3]} BUCKET=${fields[4]}
  BUS=${fields[5]} REGION=${fields[6]} LOG_GROUP=${fields[7]} GITHUB_SECRET_ARN=${fields[8]}
  EVENT_TOKEN=${fields[9]} PACKER_TEMPLATE=${fields[10]} MAX_LIFETIME_MINUTES=${fields[11]} SELFTEST=${fields[12]}
  local name
  # Without the token no phase would be believed: stop (and power off) rather than build unheard.
  for name in BUILD_ID BRANCH REPO_URL BUCKET BUS REGION LOG_GROUP EVENT_TOKEN MAX_LIFETIME_MINUTES; do
    [ -n "${!name}" ] || { log "ERROR: $CONFIG_FILE lacks a valid value for $name"; exit 1; }
  done
  [[ $BUILD_ID =~ ^build-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}$ ]] || { log "ERROR: not a build ID: $BUILD_ID"; exit 1; }
  # domain/artifact-layout.ts: the only keys the handler accepts.
  LOG_KEY="builds/$BUILD_ID/logs/build.log"
  PREFIX="builds/$BUILD_ID"
}

read_instance_identity() {
  STEP='reading the instance identity (IMDSv2)'
  local token
  token=$(curl -fsS --retry 3 --connect-timeout 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \
    http://169.254.169.254/latest/api/token) || { log 'ERROR: IMDSv2 token request failed'; exit 1; }
  INSTANCE_ID=$(curl -fsS --retry 3 --connect-timeout 2 -H "X-aws-ec2-metadata-token: $token" \
    http://169.254.169.254/latest/meta-data/instance-id) || { log 'ERROR: could not read the instance ID'; exit 1; }
  INSTANCE_TYPE=$(curl -fsS --retry 3 --connect-timeout 2 -H "X-aws-ec2-metadata-token: $token" \
    http://169.254.169.254/latest/meta-data/instance-type) || INSTANCE_TYPE=unknown
  [[ $INSTANCE_ID =~ ^i-[0-9a-f]{8,17}$ ]] || { log "ERROR: not an instance ID: $INSTANCE_ID"; exit 1; }
  log "instance $INSTANCE_ID ($INSTANCE_TYPE)"
}

# The AWS CLI reads its region and S3 transfer settings from a file of ours: 100 MB multipart
# threshold and chunks as the original upload script used (an 80-100 GB OVA stays far below
# S3's 10,000-part limit).
configure_aws() {
  export AWS_CONFIG_FILE=$WORK_DIR/aws-config AWS_DEFAULT_REGION=$REGION AWS_PAGER=''
  printf '[default]\nregion = %s\ns3 =\n  multipart_threshold = %s\n  multipart_chunksize = %s\n' \
    "$REGION" "$MULTIPART_SIZE" "$MULTIPART_SIZE" >"$AWS_CONFIG_FILE"
  if command -v aws >/dev/null; then AWS_READY=1; fi
}

# ---------------------------------------------------------------------------- events

# emit_phase <phase> [<jq object: more detail fields> [jq --arg/--argjson options it uses]]
emit_phase() {
  local phase=$1 extra=${2:-'{}'} entries=$WORK_DIR/event-entries.json
  shift $(($# < 2 ? $# : 2))
  # The token last, so that no `extra` can replace it.
  METAL_BUILD_EVENT_TOKEN=$EVENT_TOKEN jq -n "$@" --arg evBuildId "$BUILD_ID" --arg evInstanceId "$INSTANCE_ID" --arg evPhase "$phase" \
    --arg evAt "$(now_iso)" --arg evSource "$RUNNER_SOURCE" --arg evDetailType "$PHASE_DETAIL_TYPE" --arg evBus "$BUS" \
    "[{Source: \$evSource, DetailType: \$evDetailType, EventBusName: \$evBus,
       Detail: ({buildId: \$evBuildId, instanceId: \$evInstanceId, phase: \$evPhase, at: \$evAt} + ($extra)
                + {eventToken: \$ENV.METAL_BUILD_EVENT_TOKEN} | tojson)}]" \
    >"$entries" || { log "ERROR: could not build the $phase event"; return 1; }
  put_entries "$phase" "$entries"
}

put_entries() {
  local phase=$1 entries=$2 out attempt delay=$RETRY_SECONDS
  for attempt in 1 2 3 4 5; do
    if out=$(aws events put-events --entries "file://$entries" --output json) &&
      [[ $out =~ \"FailedEntryCount\":\ *0[,}[:space:]] ]]; then
      log "event: $phase"
      return 0
    fi
    log "warning: put-events for $phase failed (attempt $attempt): $out"
    [ "$attempt" = 5 ] || sleep "$delay"
    delay=$((delay * 2))
  done
  log "ERROR: the $phase event could not be sent"
  return 1
}

# The last lines of the log, at most 4 KB of valid UTF-8 without control characters (the
# first, cut line is dropped unless it is the only one).
log_tail() {
  local size
  size=$(stat -c %s "$LOG_FILE")
  tail -c "$LOG_TAIL_BYTES" "$LOG_FILE" | tr -d '\000-\010\013-\037\177' | iconv -c -f UTF-8 -t UTF-8 |
    if [ "$size" -gt "$LOG_TAIL_BYTES" ]; then sed '1{$!d}'; else cat; fi
}

# python3, not jq: the failure to report may be that jq could not be installed.
readonly PY_FAILED='import json,os,sys
a=[x.encode("utf-8","surrogateescape").decode("utf-8","replace") for x in sys.argv[1:]]
d=dict(zip("buildId instanceId phase at message logKey logTail actualCommit".split(),a[3:]))
if not d["actualCommit"]: del d["actualCommit"]
d["eventToken"]=os.environ["METAL_BUILD_EVENT_TOKEN"]
print(json.dumps([{"Source":a[1],"DetailType":a[2],"EventBusName":a[0],"Detail":json.dumps(d)}]))'

emit_failed() {
  local entries=$WORK_DIR/event-entries.json
  METAL_BUILD_EVENT_TOKEN=$EVENT_TOKEN python3 -c "$PY_FAILED" "$BUS" "$RUNNER_SOURCE" "$PHASE_DETAIL_TYPE" \
    "$BUILD_ID" "$INSTANCE_ID" failed "$(now_iso)" "${FAIL_MESSAGE:0:1000}" "$LOG_KEY" "$(log_tail)" "$ACTUAL_COMMIT" \
    >"$entries" || { log 'ERROR: could not build the failed event'; return 0; }
  put_entries failed "$entries" || true
}

# ---------------------------------------------------------------------------- CloudWatch

# Send the log lines not sent yet (complete lines only), in batches well inside
# put-log-events' limits (10,000 events, 1 MB): 250 lines of at most 1,000 characters.
push_log_lines() {
  local state=$WORK_DIR/cloudwatch.sent batch=$WORK_DIR/cloudwatch-batch.json sent total end
  sent=$(cat "$state" 2>/dev/null || echo 0)
  total=$(wc -l <"$LOG_FILE")
  while [ "$sent" -lt "$total" ]; do
    end=$((sent + 250 < total ? sent + 250 : total))
    sed -n "$((sent + 1)),${end}p" "$LOG_FILE" |
      jq -R -s --argjson ts "$(date +%s%3N)" \
        'split("\n")[:-1] | map({timestamp: $ts, message: (if . == "" then " " else .[0:1000] end)})' >"$batch"
    aws logs put-log-events --log-group-name "$LOG_GROUP" --log-stream-name "$INSTANCE_ID" \
      --log-events "file://$batch" --output json >/dev/null || return 1
    sent=$end
    echo "$sent" >"$state"
  done
}

stream_logs() {
  local stop=0 sleeper
  trap - EXIT
  trap 'stop=1' TERM
  while [ "$stop" = 0 ]; do
    push_log_lines || log 'warning: CloudWatch push failed; retrying'
    sleep "$LOG_INTERVAL" &
    sleeper=$!
    wait "$sleeper" || kill "$sleeper" 2>/dev/null || true
  done
  push_log_lines || log 'warning: final CloudWatch push failed'
}

start_log_streaming() {
  # No --tags: tagging at creation needs logs:TagResource too, which the machine role lacks.
  aws logs create-log-group --log-group-name "$LOG_GROUP" ||
    log 'note: create-log-group failed (the group may exist already)'
  aws logs put-retention-policy --log-group-name "$LOG_GROUP" --retention-in-days "$LOG_RETENTION_DAYS" ||
    log 'warning: could not set the log retention'
  aws logs create-log-stream --log-group-name "$LOG_GROUP" --log-stream-name "$INSTANCE_ID" ||
    { log 'warning: no CloudWatch log stream; the log goes to S3 only'; return 0; }
  LOG_STREAM=1
  stream_logs &
  STREAMER_PID=$!
}

stop_log_streaming() {
  [ -n "$STREAMER_PID" ] || return 0
  kill -TERM "$STREAMER_PID" 2>/dev/null || true
  wait "$STREAMER_PID" 2>/dev/null || true
  STREAMER_PID=''
}

# ---------------------------------------------------------------------------- the build

# Whether the KVM module lets a guest start VMs of its own: reported, not required.
nested_kvm() {
  local m v
  for m in kvm_intel kvm_amd; do
    [ -e "$SYS_MODULE_DIR/$m/parameters/nested" ] || continue
    v=''
    read -r v <"$SYS_MODULE_DIR/$m/parameters/nested" || true
    case $v in
      Y | 1) echo "nested KVM ($m) allowed" ;;
      N | 0) echo "nested KVM ($m) not allowed: a guest cannot start VMs of its own" ;;
      *) echo "nested KVM ($m) unknown" ;;
    esac
    return 0
  done
  echo 'nested KVM unknown'
}

# Before the clone: a type without KVM costs minutes only.
check_host() {
  STEP='checking KVM'
  local out free no="KVM is not available on $INSTANCE_TYPE"
  local alt='choose a .metal type such as c5n.metal, or a C8i, M8i or R8i type, which the bot launches with nested virtualization'
  out=$(kvm-ok 2>&1) || fail "$no (kvm-ok: ${out//$'\n'/ }); $alt"
  [ -e "$KVM_DEVICE" ] || fail "$no ($KVM_DEVICE does not exist); $alt"
  log "$out"
  KVM_REPORT="KVM works on $INSTANCE_TYPE; $(nested_kvm)"
  log "$KVM_REPORT"
  STEP='checking free disk'
  free=$(df --output=avail -B1G "$WORK_DIR" | tail -n 1 | tr -d ' G') || true
  [[ $free =~ ^[0-9]+$ ]] || fail "could not read the free disk space of $WORK_DIR (df said: $free)"
  [ "$free" -ge "$MIN_FREE_GB" ] ||
    fail "not enough free disk: ${free} GB free on $WORK_DIR, the build needs ${MIN_FREE_GB} GB"
  log "free disk: ${free} GB"
}

# 0 when something is stored under the release prefix; the build fails if S3 cannot tell.
release_exists() {
  local count
  count=$(aws s3api list-objects-v2 --bucket "$BUCKET" --prefix "$RELEASE_PREFIX/" --max-keys 1 --no-paginate \
    --query KeyCount --output text) || fail "could not check whether s3://$BUCKET/$RELEASE_PREFIX/ exists"
  [ "$count" != 0 ] && [ "$count" != None ]
}

# The machine never writes releases/ (publication is a function's, after the handler checked
# the build's report), so this only spares a build whose version is already published.
plan_version() {
  if [[ $BRANCH =~ ^v([0-9]+\.[0-9]+\.[0-9]+)$ ]]; then
    RELEASE=1
    VERSION=${BASH_REMATCH[1]}
    RELEASE_PREFIX="releases/v$VERSION"
    STEP='checking the release'
    if release_exists; then
      fail "release v$VERSION already exists in s3://$BUCKET/$RELEASE_PREFIX/; releases are never overwritten"
    fi
  fi
}

clone() {
  local askpass=$WORK_DIR/git-askpass
  # A leading dash would turn a value into a git option.
  [[ $BRANCH != -* ]] || fail "refusing branch ${BRANCH@Q}: it starts with '-'"
  [[ $COMMIT != -* ]] || fail "refusing commit ${COMMIT@Q}: it starts with '-'"
  if [ -n "$GITHUB_SECRET_ARN" ]; then
    STEP='reading the GitHub token'
    GITHUB_TOKEN=$(aws secretsmanager get-secret-value --secret-id "$GITHUB_SECRET_ARN" --query SecretString --output text) ||
      fail 'could not read the GitHub token from Secrets Manager'
    [ -n "$GITHUB_TOKEN" ] || fail 'the GitHub token secret is empty'
  fi
  # git asks this script for credentials; it answers from its environment, so the token is
  # never in an argument, a URL or .git/config.
  cat >"$askpass" <<'ASKPASS'
#!/bin/sh
case "$1" in
  Username*) echo x-access-token ;;
  *) printf '%s\n' "$METAL_BUILD_GIT_TOKEN" ;;
esac
ASKPASS
  chmod 700 "$askpass"

  STEP='cloning'
  log "cloning ${REPO_URL@Q} at branch ${BRANCH@Q}"
  emit_phase cloning '{message: $m[0:1000]}' --arg m "cloning $BRANCH; $KVM_REPORT" || true
  rm -rf "$SRC_DIR"
  local rc=0
  METAL_BUILD_GIT_TOKEN=$GITHUB_TOKEN GIT_ASKPASS=$askpass GIT_TERMINAL_PROMPT=0 \
    git -c credential.helper= clone --quiet --branch "$BRANCH" -- "$REPO_URL" "$SRC_DIR" || rc=$?
  ((rc == 0)) || fail "git clone of branch ${BRANCH@Q} from $REPO_URL failed (exit $rc)"
  if [ -n "$COMMIT" ]; then
    git -C "$SRC_DIR" checkout --quiet --detach "$COMMIT" ||
      fail "git checkout of commit ${COMMIT@Q} failed (is it on branch ${BRANCH@Q}?)"
  fi
  ACTUAL_COMMIT=$(git -C "$SRC_DIR" rev-parse HEAD) || fail 'git rev-parse HEAD failed'
  [[ $ACTUAL_COMMIT =~ ^[0-9a-f]{40}$ ]] || fail "unexpected commit from git: $ACTUAL_COMMIT"
  log "checked out $ACTUAL_COMMIT"
  if [ "$RELEASE" = 0 ]; then VERSION="0.0.0-${ACTUAL_COMMIT:0:7}"; fi
  STEP='checking the Packer template'
  [ -e "$SRC_DIR/$PACKER_TEMPLATE" ] ||
    fail "Packer template ${PACKER_TEMPLATE@Q} not found in commit $ACTUAL_COMMIT of branch ${BRANCH@Q} (PACKER_TEMPLATE)"
}

# packer init fetches plugins through GitHub's API, whose unauthenticated limit a shared NAT
# address soon exhausts. Only packer's environment gets the token.
with_github_token() {
  if [ -n "$GITHUB_TOKEN" ]; then PACKER_GITHUB_API_TOKEN=$GITHUB_TOKEN "$@"; else "$@"; fi
}

build_ova() {
  STEP='packer build'
  local left rc=0
  left=$((START_EPOCH + MAX_LIFETIME_MINUTES * 60 - UPLOAD_RESERVE_SECONDS - EPOCHSECONDS))
  ((left >= 600)) || fail "only ${left}s of the ${MAX_LIFETIME_MINUTES}-minute lifetime left for the build"
  emit_phase building '{actualCommit: $c, message: $m}' --arg c "$ACTUAL_COMMIT" \
    --arg m "packer build of version $VERSION" || true
  cd "$SRC_DIR"
  with_github_token packer init "$PACKER_TEMPLATE" || fail "packer init failed (exit $?)"
  log "packer build of version $VERSION, timeout ${left}s"
  with_github_token timeout --kill-after=120 "$left" packer build -force -color=false -timestamp-ui -var "version=$VERSION" \
    "$PACKER_TEMPLATE" || rc=$?
  ((rc != 124)) || fail "packer build timed out after $((left / 60)) minutes"
  ((rc == 0)) || fail "packer build failed (exit $rc)"
}

s3_put() {
  log "uploading s3://$BUCKET/$2"
  aws s3 cp --only-show-errors "$1" "s3://$BUCKET/$2" || fail "upload of s3://$BUCKET/$2 failed (exit $?)"
}

publish() {
  STEP='uploading'
  local ova name sha bytes metadata
  ova=$(find "$SRC_DIR/$OVA_DIR" -maxdepth 1 -type f -name '*.ova' 2>/dev/null | sort | head -n 1)
  [ -n "$ova" ] || fail "packer finished but no .ova was found under $OVA_DIR/"
  emit_phase uploading '{actualCommit: $c}' --arg c "$ACTUAL_COMMIT" || true
  name="hedgehog-lab-prewarmed-$VERSION"
  mkdir -p "$OUT_DIR"
  log "hashing $ova"
  sha=$(sha256sum "$ova" | cut -d ' ' -f 1)
  bytes=$(stat -c %s "$ova")
  printf '%s  %s\n' "$sha" "$name.ova" >"$OUT_DIR/$name.ova.sha256"
  metadata=$OUT_DIR/$name.json
  jq -n --arg version "$VERSION" --arg buildId "$BUILD_ID" --arg branch "$BRANCH" --arg commit "$ACTUAL_COMMIT" \
    --arg requestedCommit "$COMMIT" --arg file "$name.ova" --arg sha256 "$sha" --argjson bytes "$bytes" \
    --arg started "$STARTED_AT" --arg finished "$(now_iso)" --arg instanceType "$INSTANCE_TYPE" \
    '{$version, $buildId, $branch, $commit, requestedCommit: (if $requestedCommit == "" then null else $requestedCommit end),
      $file, $sha256, $bytes, $started, $finished, $instanceType}' >"$metadata"
  s3_put "$ova" "$PREFIX/$name.ova"
  s3_put "$OUT_DIR/$name.ova.sha256" "$PREFIX/$name.ova.sha256"
  # Last, so that a metadata file means a complete set.
  s3_put "$metadata" "$PREFIX/$name.json"

  OUTCOME=completed
  emit_phase completed '{artifact: {$bucket, $key, $sha256, $bytes}, $durationSeconds, actualCommit: $c, $logKey,
      message: "published s3://\($bucket)/\($key)"}' \
    --arg bucket "$BUCKET" --arg key "$PREFIX/$name.ova" --arg sha256 "$sha" --argjson bytes "$bytes" \
    --argjson durationSeconds "$((EPOCHSECONDS - START_EPOCH))" --arg c "$ACTUAL_COMMIT" --arg logKey "$LOG_KEY" || true
}

# ---------------------------------------------------------------------------- the self-test

# check <name> <ok: 1 or 0> <detail>: one line of the self-test's report (domain/selftest-check.ts).
check() {
  local ok=false
  [ "$2" = 1 ] && ok=true
  log "check $1: $([ "$ok" = true ] && echo ok || echo FAILED): $3"
  CHECKS=$(jq -c --arg n "$1" --argjson ok "$ok" --arg d "${3:0:300}" '. + [{name: $n, ok: $ok, detail: $d}]' <<<"$CHECKS")
}

# docs/design.md "Self-test": what a build relies on, proved on a small machine for a fraction of
# a cent. No KVM or free-disk check (a small type has neither; KVM is reported as information),
# the GitHub token read when one is configured, the repository reached (HEAD resolved), one
# object under builds/<id>/selftest/, every phase, the log to CloudWatch and S3 as a build's.
run_selftest() {
  local askpass=$WORK_DIR/git-askpass out rc result key=$PREFIX/selftest/result.json sha bytes
  STEP='self-test: KVM'
  if [ -e "$KVM_DEVICE" ]; then KVM_REPORT="KVM is available on $INSTANCE_TYPE; $(nested_kvm)"; else KVM_REPORT="no KVM on $INSTANCE_TYPE (a build needs a .metal or nested-virtualization type; not needed here)"; fi
  check kvm 1 "$KVM_REPORT"
  emit_phase cloning '{message: $m[0:1000]}' --arg m "self-test on $INSTANCE_TYPE; $KVM_REPORT" || true

  STEP='self-test: the GitHub token'
  if [ -n "$GITHUB_SECRET_ARN" ]; then
    if GITHUB_TOKEN=$(aws secretsmanager get-secret-value --secret-id "$GITHUB_SECRET_ARN" --query SecretString --output text) && [ -n "$GITHUB_TOKEN" ]; then
      check github-token 1 'read from Secrets Manager'
    else
      GITHUB_TOKEN=''
      check github-token 0 'could not be read from Secrets Manager, or is empty (the machine role, the secret)'
    fi
  else
    check github-token 1 'none configured: the repository is reached without one'
  fi

  STEP='self-test: the repository'
  cat >"$askpass" <<'ASKPASS'
#!/bin/sh
case "$1" in
  Username*) echo x-access-token ;;
  *) printf '%s
' "$METAL_BUILD_GIT_TOKEN" ;;
esac
ASKPASS
  chmod 700 "$askpass"
  rc=0
  out=$(METAL_BUILD_GIT_TOKEN=$GITHUB_TOKEN GIT_ASKPASS=$askpass GIT_TERMINAL_PROMPT=0     timeout 120 git -c credential.helper= ls-remote -- "$REPO_URL" "$BRANCH" 2>&1) || rc=$?
  sha=${out%%[[:space:]]*}
  if ((rc == 0)) && [[ $sha =~ ^[0-9a-f]{40}$ ]]; then
    ACTUAL_COMMIT=$sha
    check repository 1 "$REPO_URL reached; $BRANCH is $sha"
  else
    check repository 0 "git ls-remote of $REPO_URL failed (exit $rc): $(head -c 200 <<<"$out" | tr '\n' ' ')"
  fi
  if [ -n "$ACTUAL_COMMIT" ]; then
    emit_phase building '{actualCommit: $c, message: "self-test: the repository is reachable"}' --arg c "$ACTUAL_COMMIT" || true
  else
    emit_phase building '{message: "self-test: the repository could not be reached"}' || true
  fi

  STEP='self-test: S3'
  emit_phase uploading || true
  result=$WORK_DIR/selftest-result.json
  jq -n --arg buildId "$BUILD_ID" --arg instanceType "$INSTANCE_TYPE" --arg at "$(now_iso)" --argjson checks "$CHECKS"     '{$buildId, $instanceType, $at, $checks}' >"$result"
  s3_put "$result" "$key"
  check s3 1 "wrote s3://$BUCKET/$key"
  if ((LOG_STREAM)); then check logs 1 "streaming to $LOG_GROUP"; else check logs 0 "no CloudWatch log stream in $LOG_GROUP (the machine role's logs rights)"; fi
  sha=$(sha256sum "$result" | cut -d ' ' -f 1)
  bytes=$(stat -c %s "$result")

  OUTCOME=completed
  emit_phase completed '{artifact: {$bucket, $key, $sha256, $bytes}, $durationSeconds, $logKey, checks: $checks,
      message: "self-test finished"} + (if $c == "" then {} else {actualCommit: $c} end)'     --arg bucket "$BUCKET" --arg key "$key" --arg sha256 "$sha" --argjson bytes "$bytes" --argjson checks "$CHECKS"     --argjson durationSeconds "$((EPOCHSECONDS - START_EPOCH))" --arg c "$ACTUAL_COMMIT" --arg logKey "$LOG_KEY" || true
}

power_off() {
  log 'powering off'
  shutdown -h now || poweroff
}

# Runs on every exit: one `failed` event unless the build completed, the log to CloudWatch
# and S3, then power-off (the launch template makes that a termination).
on_exit() {
  local rc=$?
  trap - EXIT TERM INT HUP
  set +e
  if [ "$OUTCOME" != completed ]; then
    [ -n "$FAIL_MESSAGE" ] || FAIL_MESSAGE="the runner stopped (exit $rc) while $STEP"
    log "FAILED: $FAIL_MESSAGE"
    if [ "$AWS_READY" = 1 ]; then emit_failed; fi
    ((rc != 0)) || rc=1
  else
    log 'build completed'
  fi
  stop_log_streaming
  if [ "$AWS_READY" = 1 ]; then
    aws s3 cp --only-show-errors --content-type 'text/plain; charset=utf-8' "$LOG_FILE" "s3://$BUCKET/$LOG_KEY" ||
      log 'ERROR: the log could not be uploaded'
  fi
  power_off
  exit "$rc"
}

run_build() {
  mkdir -p "$WORK_DIR"
  exec >>"$LOG_FILE" 2>&1
  trap on_exit EXIT
  trap 'FAIL_MESSAGE="the runner was stopped by a signal while $STEP (lifetime reached or shutdown)"; exit 143' TERM INT HUP
  # cloud-init and systemd may start us without HOME, which git and packer need.
  export HOME=${HOME:-/root} GIT_TERMINAL_PROMPT=0 CHECKPOINT_DISABLE=1
  START_EPOCH=$EPOCHSECONDS
  STARTED_AT=$(now_iso)
  log "metal-build runner starting"
  read_config
  # First of all, whatever happens next: the machine ends itself at its lifetime.
  STEP='scheduling the shutdown'
  shutdown -h "+$MAX_LIFETIME_MINUTES"
  log "build $BUILD_ID: branch ${BRANCH@Q}, commit ${COMMIT:-(branch head)}, lifetime ${MAX_LIFETIME_MINUTES} min"
  read_instance_identity
  configure_aws
  install_base_tools
  start_log_streaming
  if [ -n "$SELFTEST" ]; then
    log 'self-test: no build; checking what a build relies on'
    run_selftest
    return 0
  fi
  STEP='checking the build parameters'
  [[ $PACKER_TEMPLATE =~ ^[A-Za-z0-9._/-]{1,200}$ && $PACKER_TEMPLATE != [/-]* && /$PACKER_TEMPLATE/ != *//* &&
    /$PACKER_TEMPLATE/ != */./* && /$PACKER_TEMPLATE/ != */../* ]] ||
    fail "not a template path inside the checkout: PACKER_TEMPLATE=${PACKER_TEMPLATE@Q}"
  check_host
  plan_version
  clone
  install_build_tools
  build_ova
  publish
}

if [ "${1:-}" = --install-tools ]; then
  install_base_tools
  install_build_tools
else
  run_build
fi
