import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DETAIL_TYPES, RUNNER_SOURCE, buildPhaseDetail, parseEvent, type BuildPhaseDetail } from '../../domain/events';

// Runs packer/runner.sh for real (bash) against test/packer/stub.sh standing in for every host
// command, and collects what the stubs saw: each call's exact arguments, the events put (each
// parsed with the build-phase handler's own schema), the S3 objects and the CloudWatch lines.

export const RUNNER = fileURLToPath(new URL('../../packer/runner.sh', import.meta.url));
const STUB = fileURLToPath(new URL('./stub.sh', import.meta.url));

export const BUILD_ID = 'build-20260101-120000-abcd';
export const INSTANCE_ID = 'i-0123456789abcdef0';
export const SHA = '0123456789abcdef0123456789abcdef01234567';
export const BUCKET = 'hedgehog-lab-artifacts';
export const BUS = 'labapp-metal-builds';
export const LOG_KEY = `builds/${BUILD_ID}/logs/build.log`;
/** build.json's eventToken, as the launch derives it (64 hex); every event must carry it back. */
export const EVENT_TOKEN = 'c0ffee'.repeat(10) + 'c0ff';

/** Commands stubbed in every run (the host effects and the tools of a build). */
const STUBBED = ['aws', 'git', 'packer', 'kvm-ok', 'df', 'curl', 'shutdown', 'poweroff', 'systemctl', 'apt-get', 'unzip', 'qemu-system-x86_64', 'qemu-img'];
/** Commands a machine without the builder AMI lacks; `bare` runs start without them. */
const MISSING_WITHOUT_AMI = ['aws', 'git', 'packer', 'kvm-ok', 'unzip', 'qemu-system-x86_64', 'qemu-img'];
/** Real tools the runner and the stub use, for `bare` runs whose PATH holds nothing else. */
const REAL_TOOLS = [
  'bash',
  'jq',
  'python3',
  'cat',
  'date',
  'mkdir',
  'rm',
  'chmod',
  'mktemp',
  'tail',
  'head',
  'wc',
  'sed',
  'tr',
  'cut',
  'sort',
  'find',
  'stat',
  'sha256sum',
  'iconv',
  'timeout',
  'sleep',
  'grep',
  'ln',
  'cp',
  'dirname',
  'basename',
];

export interface RunOptions {
  config?: Record<string, unknown>;
  /** STUB_FAIL entries: clone, checkout, packer, packer-init, packer-signal, upload, kvm, put-events-once. */
  fail?: string[];
  diskGb?: number;
  token?: string;
  releaseExists?: 'never' | 'always' | 'after-build';
  packerLines?: number;
  /** Start like a plain Ubuntu boot: the build tools are missing and get installed. */
  bare?: boolean;
  /** Run `runner.sh --install-tools` as the AMI build does (with its environment). */
  installTools?: boolean;
  /** Start with these commands (stubbed or real, e.g. jq) missing, PATH holding nothing else. */
  missing?: string[];
  /** The template path the stubbed clone creates (default packer/prewarmed-build.pkr.hcl). */
  templateInRepo?: string;
  /** apt-get fails on its lock: always, or for this many seconds. */
  aptLock?: 'forever' | number;
  /** METAL_BUILD_APT_WAIT (seconds). */
  aptWait?: number;
  /** A real `aws` instead of the stub: `pathDir` (holding an `aws`, e.g. a shim) goes first on PATH, `env` joins the runner's environment; the run may take 5 minutes. */
  realAws?: { pathDir: string; env?: Record<string, string> };
  /** The stubbed packer's OVA is extended with zeros to this many bytes. */
  ovaBytes?: number;
  /** The instance type IMDS reports (default c5n.metal). */
  instanceType?: string;
  /** Whether the KVM device (METAL_BUILD_KVM_DEVICE, a plain file of the run) exists; default true. */
  kvmDevice?: boolean;
  /** The KVM module's `nested` parameter under METAL_BUILD_SYS_MODULE_DIR (default kvm_intel, Y); null: neither module has one. */
  nestedKvm?: { module: 'kvm_intel' | 'kvm_amd'; value: string } | null;
}

export interface Call {
  name: string;
  cwd: string;
  awsConfigFile: string;
  argv: string[];
}

export interface RunResult {
  code: number | null;
  dir: string;
  workDir: string;
  srcDir: string;
  log: string;
  calls: Call[];
  events: BuildPhaseDetail[];
  s3: Map<string, string>;
  cloudwatch: string[];
  config: Record<string, unknown>;
  of(name: string, ...prefix: string[]): Call[];
}

export function baseConfig(): Record<string, unknown> {
  return {
    buildId: BUILD_ID,
    branch: 'main',
    repoUrl: 'https://github.com/afewell-hh/labapp.git',
    bucket: BUCKET,
    eventBusName: BUS,
    region: 'us-east-1',
    maxLifetimeMinutes: 300,
    logGroup: `/labapp/metal-builds/${BUILD_ID}`,
    packerTemplate: 'packer/prewarmed-build.pkr.hcl',
    eventToken: EVENT_TOKEN,
  };
}

const runDirs: string[] = [];

/** Removes the folders of every run so far (call it in afterAll). */
export function removeRuns(): void {
  for (const dir of runDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function runRunner(options: RunOptions = {}): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'metal-runner-'));
  runDirs.push(dir);
  const bin = join(dir, 'bin');
  const stubDir = join(dir, 'stub');
  const workDir = join(dir, 'work');
  for (const d of [bin, join(stubDir, 'calls'), join(stubDir, 'events'), join(stubDir, 's3')]) mkdirSync(d, { recursive: true });
  chmodSync(STUB, 0o755);
  const missing = [...(options.bare ? MISSING_WITHOUT_AMI : []), ...(options.missing ?? [])];
  for (const name of STUBBED) {
    if (missing.includes(name) || (options.realAws && name === 'aws')) continue;
    symlinkSync(STUB, join(bin, name));
  }
  let path = `${options.realAws ? `${options.realAws.pathDir}:` : ''}${bin}:${process.env.PATH ?? ''}`;
  if (options.bare || options.missing) {
    const tools = join(dir, 'tools');
    mkdirSync(tools);
    for (const tool of REAL_TOOLS) if (!missing.includes(tool)) symlinkSync(which(tool), join(tools, tool));
    path = `${bin}:${tools}`;
  }
  // The host's KVM, as files of the run: never the machine's own /dev/kvm or /sys/module.
  const kvmDevice = join(dir, 'dev', 'kvm');
  const sysModule = join(dir, 'sys', 'module');
  mkdirSync(join(dir, 'dev'));
  mkdirSync(sysModule, { recursive: true });
  if (options.kvmDevice !== false) writeFileSync(kvmDevice, '');
  const nested = options.nestedKvm === undefined ? { module: 'kvm_intel', value: 'Y' } : options.nestedKvm;
  if (nested) {
    mkdirSync(join(sysModule, nested.module, 'parameters'), { recursive: true });
    writeFileSync(join(sysModule, nested.module, 'parameters', 'nested'), `${nested.value}\n`);
  }
  const config = { ...baseConfig(), ...options.config };
  const configFile = join(dir, 'build.json');
  writeFileSync(configFile, JSON.stringify(config));

  const env = {
    PATH: path,
    HOME: dir,
    LANG: 'C.UTF-8',
    METAL_BUILD_CONFIG: configFile,
    METAL_BUILD_WORK_DIR: workDir,
    // Long enough not to add load; the runner still pushes at start and, on its way out, the rest.
    METAL_BUILD_LOG_INTERVAL: '5',
    METAL_BUILD_RETRY_SECONDS: '0',
    METAL_BUILD_BIN_DIR: bin,
    METAL_BUILD_KVM_DEVICE: kvmDevice,
    METAL_BUILD_SYS_MODULE_DIR: sysModule,
    STUB_SELF: STUB,
    STUB_BIN: bin,
    STUB_DIR: stubDir,
    STUB_SHA: SHA,
    STUB_FAIL: (options.fail ?? []).join(','),
    STUB_DISK_GB: String(options.diskGb ?? 480),
    STUB_TOKEN: options.token ?? '',
    STUB_RELEASE_EXISTS: options.releaseExists ?? 'never',
    STUB_PACKER_LINES: String(options.packerLines ?? 3),
    STUB_JQ: which('jq'),
    STUB_TEMPLATE: options.templateInRepo ?? '',
    STUB_APT_LOCK: options.aptLock === undefined ? '' : String(options.aptLock),
    METAL_BUILD_APT_WAIT: String(options.aptWait ?? 600),
    METAL_BUILD_APT_RETRY: '1',
    STUB_OVA_BYTES: options.ovaBytes === undefined ? '' : String(options.ovaBytes),
    STUB_INSTANCE_TYPE: options.instanceType ?? 'c5n.metal',
    ...(options.installTools && { PACKER_VERSION: '1.11.2', QEMU_PLUGIN_VERSION: '1.1.0' }),
    ...options.realAws?.env,
  };
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('bash', [RUNNER, ...(options.installTools ? ['--install-tools'] : [])], {
      cwd: dir,
      env,
      stdio: 'ignore',
      timeout: options.realAws ? 300_000 : 60_000,
    });
    child.on('error', reject);
    child.on('exit', resolve);
  });

  const calls = readdirSync(join(stubDir, 'calls'))
    .sort()
    .map((f) => {
      const [name, cwd, awsConfigFile, ...argv] = readFileSync(join(stubDir, 'calls', f), 'utf8')
        .split('\0')
        .slice(0, -1);
      return { name: name!, cwd: cwd!, awsConfigFile: awsConfigFile!, argv };
    });
  const events = readdirSync(join(stubDir, 'events'))
    .sort()
    .flatMap((f) => JSON.parse(readFileSync(join(stubDir, 'events', f), 'utf8')) as Record<string, unknown>[])
    .map((entry) => {
      if (entry.EventBusName !== config.eventBusName) throw new Error(`event for bus ${String(entry.EventBusName)}`);
      const parsed = parseEvent(
        { source: entry.Source, 'detail-type': entry.DetailType, detail: JSON.parse(String(entry.Detail)) },
        RUNNER_SOURCE,
        DETAIL_TYPES.phase,
        buildPhaseDetail,
      );
      if (!parsed.ok) throw new Error(`the runner put a malformed event: ${parsed.problem}`);
      return parsed.value.detail;
    });
  const s3 = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else s3.set(relative(join(stubDir, 's3'), full), readFileSync(full, 'utf8'));
    }
  };
  walk(join(stubDir, 's3'));
  const cwFile = join(stubDir, 'cloudwatch.jsonl');
  const cloudwatch = existsSync(cwFile)
    ? readFileSync(cwFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string)
    : [];
  const logFile = join(workDir, 'build.log');
  return {
    code,
    dir,
    workDir,
    srcDir: join(workDir, 'labapp'),
    log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '',
    calls,
    events,
    s3,
    cloudwatch,
    config,
    of: (name, ...prefix) => calls.filter((c) => c.name === name && prefix.every((p, i) => c.argv[i] === p)),
  };
}

function which(tool: string): string {
  // A pyenv shim is a script that needs pyenv on PATH: link the interpreter itself.
  const script = tool === 'python3' ? 'python3 -c "import sys; print(sys.executable)"' : 'command -v "$1"';
  const found = spawnSync('bash', ['-c', script, 'which', tool], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${tool} is not installed`);
  return found;
}
