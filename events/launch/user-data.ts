import { parse, stringify } from 'yaml';
import { packerTemplateProblem } from '../../domain/config';
import { CLOUD_INIT_TEMPLATE, RUNNER_SCRIPT_GZIP_BASE64 } from './runner-script.generated';

// The machine's user data: packer/cloud-init.yaml with the build's parameters as base64 JSON
// (/etc/metal-build/build.json) and packer/runner.sh (gzip + base64). Values travel as data
// for the runner to read with python3; none is ever pasted into a shell script. No shared secret
// is in here (only the ARN of the GitHub token, which the runner reads at run time); the one
// credential is the build's own event token, which proves only this build's phases and is
// useless for any other (events/event-token.ts).

/** What the runner reads from /etc/metal-build/build.json. */
export interface RunnerParams {
  buildId: string;
  branch: string;
  commit?: string;
  repoUrl: string;
  bucket: string;
  eventBusName: string;
  region: string;
  maxLifetimeMinutes: number;
  githubSecretArn?: string;
  logGroup: string;
  /** PACKER_TEMPLATE: the template the runner builds, relative to the checkout. */
  packerTemplate: string;
  /** Sent back in every `Build Phase`; the same on every delivery of one launch. */
  eventToken: string;
  /** A self-test (`Kind: "selftest"`, docs/design.md "Self-test"): the runner checks the loop instead of building. */
  selftest?: true;
}

/** EC2 refuses user data above 16 KB, counted before base64. */
export const USER_DATA_LIMIT_BYTES = 16384;

/** Whole scalars of packer/cloud-init.yaml that the renderer replaces. */
const PLACEHOLDERS = ['__BUILD_JSON_BASE64__', '__RUNNER_GZIP_BASE64__', '__SHUTDOWN_DELAY__'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

// PyYAML, which cloud-init uses, reads YAML 1.1: writing 1.1 quotes what it would misread
// ('0600', yes/no, '+180').
const YAML_OPTIONS = { version: '1.1' } as const;

/** The #cloud-config text. Throws when a parameter cannot be rendered or the result is too big. */
export function renderCloudConfig(params: RunnerParams): string {
  if (!Number.isInteger(params.maxLifetimeMinutes) || params.maxLifetimeMinutes < 1)
    throw new Error(`maxLifetimeMinutes must be a positive whole number, got ${params.maxLifetimeMinutes}`);
  // The message never quotes the value: it is a credential.
  if (!/^[0-9a-f]{64}$/.test(params.eventToken)) throw new Error('eventToken must be 64 lowercase hex characters (events/event-token.ts)');
  // Checked again here: the machine joins it to its checkout, whatever the caller's config said.
  const templateProblem = packerTemplateProblem(params.packerTemplate);
  if (templateProblem !== undefined) throw new Error(`packerTemplate: ${templateProblem}`);
  const values: Record<Placeholder, string> = {
    __BUILD_JSON_BASE64__: Buffer.from(JSON.stringify(buildJson(params)), 'utf8').toString('base64'),
    __RUNNER_GZIP_BASE64__: RUNNER_SCRIPT_GZIP_BASE64,
    __SHUTDOWN_DELAY__: `+${params.maxLifetimeMinutes}`,
  };
  const used = new Set<string>();
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string' && node in values) {
      used.add(node);
      return values[node as Placeholder];
    }
    if (Array.isArray(node)) return node.map(fill);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, fill(value)]));
    return node;
  };
  const filled = fill(parse(CLOUD_INIT_TEMPLATE, YAML_OPTIONS));
  const missing = PLACEHOLDERS.filter((p) => !used.has(p));
  if (missing.length > 0) throw new Error(`packer/cloud-init.yaml lacks ${missing.join(', ')}`);
  // lineWidth 0: long base64 scalars stay on one line.
  const text = `#cloud-config\n${stringify(filled, { ...YAML_OPTIONS, lineWidth: 0 })}`;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > USER_DATA_LIMIT_BYTES) throw new Error(`user data is ${bytes} bytes, above EC2's limit of ${USER_DATA_LIMIT_BYTES}`);
  return text;
}

/** The user data as RunInstances takes it (base64). */
export function renderUserData(params: RunnerParams): string {
  return Buffer.from(renderCloudConfig(params), 'utf8').toString('base64');
}

/** Exactly the RunnerParams fields, in a fixed order; nothing else reaches the machine. */
function buildJson(p: RunnerParams): RunnerParams {
  return {
    buildId: p.buildId,
    branch: p.branch,
    ...(p.commit !== undefined && { commit: p.commit }),
    repoUrl: p.repoUrl,
    bucket: p.bucket,
    eventBusName: p.eventBusName,
    region: p.region,
    maxLifetimeMinutes: p.maxLifetimeMinutes,
    ...(p.githubSecretArn !== undefined && { githubSecretArn: p.githubSecretArn }),
    logGroup: p.logGroup,
    packerTemplate: p.packerTemplate,
    eventToken: p.eventToken,
    ...(p.selftest === true && { selftest: true as const }),
  };
}
