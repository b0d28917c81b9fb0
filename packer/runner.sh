#!/usr/bin/env bash
# metal-build runner: runs once on the metal build host (started by cloud-init), builds the
# Hedgehog Lab pre-warmed OVA with Packer, uploads it under s3://<bucket>/builds/<build-id>/ and
# powers the machine off. It reports through `Build Phase` events only, each carrying the
# build's event token from build.json; it never writes the build table, and never writes
# releases/ (a function publishes a release once the handler has checked the build's report).
#
#   runner.sh                  run the build described by /etc/metal-build/build.json
#   runner.sh --install-tools  install what a build needs (used by packer/builder.pkr.hcl)
#
# Every value from build.json is data: read with jq, always quoted, passed to commands as
# single arguments, never evaluated. The GitHub token only ever lives in a variable and in
# the environment of `git clone` (read back through GIT_ASKPASS), never in an argument,
# a file or the log. The event token is never logged nor an argument either: it reaches jq
# through jq's environment, and leaves the machine only inside put-events entries.

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
MAX_LIFETIME_MINUTES='' GITHUB_SECRET_ARN='' EVENT_TOKEN=''
INSTANCE_ID='' INSTANCE_TYPE='' ACTUAL_COMMIT='' VERSION='' PREFIX='' RELEASE=0 RELEASE_PREFIX=''
LOG_KEY='' STARTED_AT='' START_EPOCH=0 STREAMER_PID=''
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

apt_install() {
  log "installing packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@"
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
install_tools() {
  local pkgs=() tool pkg
  for tool in jq:jq git:git curl:curl unzip:unzip kvm-ok:cpu-checker qemu-system-x86_64:qemu-kvm qemu-img:qemu-utils; do
    pkg=${tool#*:}
    command -v "${tool%%:*}" >/dev/null || pkgs+=("$pkg")
  done
  if ((${#pkgs[@]})); then apt_install "${pkgs[@]}"; fi
  command -v aws >/dev/null || install_aws_cli
  command -v packer >/dev/null || install_packer
  if [ -n "$QEMU_PLUGIN_VERSION" ]; then
    packer plugins install github.com/hashicorp/qemu "v$QEMU_PLUGIN_VERSION"
  fi
}

# ---------------------------------------------------------------------------- config

read_config() {
  STEP='reading the build parameters'
  [ -r "$CONFIG_FILE" ] || { log "ERROR: $CONFIG_FILE is missing"; exit 1; }
  jq -e 'type == "object"' "$CONFIG_FILE" >/dev/null || { log "ERROR: $CONFIG_FILE is not a JSON object"; exit 1; }
  # NUL-separated, so every value arrives exactly as written (newlines included).
  local fields=()
  mapfile -d '' fields < <(jq -j '
    (.buildId, .branch, .commit, .repoUrl, .bucket, .eventBusName, .region, .logGroup, .githubSecretArn, .eventToken
     | if type == "string" then . else "" end),
    (.maxLifetimeMinutes | if type == "number" and . >= 1 and . == floor then tostring else "" end)
    | . + "\u0000"' "$CONFIG_FILE")
  ((${#fields[@]} == 11)) || { log "ERROR: $CONFIG_FILE could not be read (a value contains a NUL?)"; exit 1; }
  BUILD_ID=${fields[0]} BRANCH=${fields[1]} COMMIT=${fields[2]} REPO_URL=${fields[3]} BUCKET=${fields[4]}
  BUS=${fields[5]} REGION=${fields[6]} LOG_GROUP=${fields[7]} GITHUB_SECRET_ARN=${fields[8]}
  EVENT_TOKEN=${fields[9]} MAX_LIFETIME_MINUTES=${fields[10]}
  local name
  # Without the token no phase would be believed: stop (and power off) rather than build unheard.
  for name in BUILD_ID BRANCH REPO_URL BUCKET BUS REGION LOG_GROUP EVENT_TOKEN MAX_LIFETIME_MINUTES; do
    [ -n "${!name}" ] || { log "ERROR: $CONFIG_FILE lacks a valid value for $name"; exit 1; }
  done
  [[ $BUILD_ID =~ ^build-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}$ ]] || { log "ERROR: not a build ID: $BUILD_ID"; exit 1; }
  # core/artifact-layout.ts: the only keys the handler accepts.
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
  AWS_READY=1
}

# ---------------------------------------------------------------------------- events

# emit_phase <phase> [<jq object: more detail fields> [jq --arg/--argjson options it uses]]
emit_phase() {
  local phase=$1 extra=${2:-'{}'} entries=$WORK_DIR/event-entries.json out attempt delay=$RETRY_SECONDS
  shift $(($# < 2 ? $# : 2))
  # The token last, so that no `extra` can replace it.
  METAL_BUILD_EVENT_TOKEN=$EVENT_TOKEN jq -n "$@" --arg evBuildId "$BUILD_ID" --arg evInstanceId "$INSTANCE_ID" --arg evPhase "$phase" \
    --arg evAt "$(now_iso)" --arg evSource "$RUNNER_SOURCE" --arg evDetailType "$PHASE_DETAIL_TYPE" --arg evBus "$BUS" \
    "[{Source: \$evSource, DetailType: \$evDetailType, EventBusName: \$evBus,
       Detail: ({buildId: \$evBuildId, instanceId: \$evInstanceId, phase: \$evPhase, at: \$evAt} + ($extra)
                + {eventToken: \$ENV.METAL_BUILD_EVENT_TOKEN} | tojson)}]" \
    >"$entries" || { log "ERROR: could not build the $phase event"; return 1; }
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

emit_failed() {
  emit_phase failed '{$message, $logKey, $logTail} + (if $c == "" then {} else {actualCommit: $c} end)' \
    --arg message "${FAIL_MESSAGE:0:1000}" --arg logKey "$LOG_KEY" --arg logTail "$(log_tail)" \
    --arg c "$ACTUAL_COMMIT" || true
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

check_host() {
  STEP='checking KVM'
  local out free
  out=$(kvm-ok 2>&1) || fail "KVM is not available on this instance (kvm-ok: ${out//$'\n'/ }); the build needs a .metal instance type"
  log "$out"
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
  local askpass=$WORK_DIR/git-askpass token=''
  # A leading dash would turn a value into a git option.
  [[ $BRANCH != -* ]] || fail "refusing branch ${BRANCH@Q}: it starts with '-'"
  [[ $COMMIT != -* ]] || fail "refusing commit ${COMMIT@Q}: it starts with '-'"
  if [ -n "$GITHUB_SECRET_ARN" ]; then
    STEP='reading the GitHub token'
    token=$(aws secretsmanager get-secret-value --secret-id "$GITHUB_SECRET_ARN" --query SecretString --output text) ||
      fail 'could not read the GitHub token from Secrets Manager'
    [ -n "$token" ] || fail 'the GitHub token secret is empty'
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
  emit_phase cloning '{message: $m[0:1000]}' --arg m "cloning $BRANCH" || true
  rm -rf "$SRC_DIR"
  local rc=0
  METAL_BUILD_GIT_TOKEN=$token GIT_ASKPASS=$askpass GIT_TERMINAL_PROMPT=0 \
    git -c credential.helper= clone --quiet --branch "$BRANCH" -- "$REPO_URL" "$SRC_DIR" || rc=$?
  token=''
  ((rc == 0)) || fail "git clone of branch ${BRANCH@Q} from $REPO_URL failed (exit $rc)"
  if [ -n "$COMMIT" ]; then
    git -C "$SRC_DIR" checkout --quiet --detach "$COMMIT" ||
      fail "git checkout of commit ${COMMIT@Q} failed (is it on branch ${BRANCH@Q}?)"
  fi
  ACTUAL_COMMIT=$(git -C "$SRC_DIR" rev-parse HEAD) || fail 'git rev-parse HEAD failed'
  [[ $ACTUAL_COMMIT =~ ^[0-9a-f]{40}$ ]] || fail "unexpected commit from git: $ACTUAL_COMMIT"
  log "checked out $ACTUAL_COMMIT"
  if [ "$RELEASE" = 0 ]; then VERSION="0.0.0-${ACTUAL_COMMIT:0:7}"; fi
}

build_ova() {
  STEP='packer build'
  local left rc=0
  left=$((START_EPOCH + MAX_LIFETIME_MINUTES * 60 - UPLOAD_RESERVE_SECONDS - EPOCHSECONDS))
  ((left >= 600)) || fail "only ${left}s of the ${MAX_LIFETIME_MINUTES}-minute lifetime left for the build"
  emit_phase building '{actualCommit: $c, message: $m}' --arg c "$ACTUAL_COMMIT" \
    --arg m "packer build of version $VERSION" || true
  cd "$SRC_DIR"
  packer init packer/prewarmed-build.pkr.hcl || fail "packer init failed (exit $?)"
  log "packer build of version $VERSION, timeout ${left}s"
  timeout --kill-after=120 "$left" packer build -force -color=false -timestamp-ui -var "version=$VERSION" \
    packer/prewarmed-build.pkr.hcl || rc=$?
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
  command -v jq >/dev/null || apt_install jq
  read_config
  # First of all, whatever happens next: the machine ends itself at its lifetime.
  STEP='scheduling the shutdown'
  shutdown -h "+$MAX_LIFETIME_MINUTES"
  log "build $BUILD_ID: branch ${BRANCH@Q}, commit ${COMMIT:-(branch head)}, lifetime ${MAX_LIFETIME_MINUTES} min"
  read_instance_identity
  configure_aws
  STEP='installing tools'
  install_tools
  start_log_streaming
  check_host
  plan_version
  clone
  build_ova
  publish
}

if [ "${1:-}" = --install-tools ]; then
  install_tools
else
  run_build
fi
