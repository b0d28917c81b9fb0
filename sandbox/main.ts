import { ConfigError } from '../domain/config';
import { OUTCOMES, isOutcome } from './runner';
import type { Sandbox } from './sandbox';
import { CONFIG_KNOBS, DEFAULT_DYNAMODB_PORT, DEFAULT_OUTCOME, DEFAULT_PORT, DEFAULT_SPEED, PortInUseError, startSandbox } from './sandbox';

// `npm start`: the whole flow on this machine, in a browser. No accounts, nothing to configure.

/** The configuration knobs, wrapped and indented like the rest of the help. */
function knobList(): string {
  const lines: string[] = [];
  let line = '';
  for (const knob of CONFIG_KNOBS.filter((k) => k !== 'SLACK_SIGNING_SECRET')) {
    if (line && line.length + knob.length > 72) {
      lines.push(`  ${line},`);
      line = '';
    }
    line = line ? `${line}, ${knob}` : knob;
  }
  lines.push(`  ${line}`);
  return lines.join('\n');
}

const HELP = `metal-build sandbox — the real bot and event handlers against local stand-ins.

Usage: npm start [-- --help]

Variables (all optional):
  PORT                  HTTP port of the page, /slack/events and /api/* (default ${DEFAULT_PORT})
  DYNAMODB_PORT         port of the local DynamoDB (dynalite) (default ${DEFAULT_DYNAMODB_PORT})
  HOST                  interface the HTTP port listens on (default 127.0.0.1; DynamoDB stays on 127.0.0.1)
  SANDBOX_SPEED         simulated minutes per real minute while a machine is live (default
                        ${DEFAULT_SPEED}: a 90-minute build takes 90 s); real time while only people are
                        awaited; 0 = time moves only through POST /sandbox/clock
  SANDBOX_OUTCOME       what the simulated build does: ${OUTCOMES.join(' | ')} (default ${DEFAULT_OUTCOME});
                        also changeable on the page
  SLACK_SIGNING_SECRET  the secret /slack/events checks signatures with, stored in the Slack secret
                        (default sandbox-signing-secret)
${knobList()}
                        as on AWS (see docs/operator-guide.md "Settings")

Endpoints:
  GET  /                       the #builds channel, a user switcher and the sandbox panel
  POST /slack/events           the bot's Function URL (signed requests only)
  POST /api/<method>           the Slack Web API stand-in (token xoxb-test-sandbox-token)
  POST /sandbox/clock          {"advanceMinutes": n}: move simulated time, the watchdog runs each minute
  POST /sandbox/outcome        {"outcome": "hang"}: change what the next build step does
  POST /sandbox/pause          {"paused": true}: stop simulated time (false resumes)
  GET  /sandbox/state          what the page shows, as JSON (?user=U0APPROVER, ?limit=n newest builds)
  POST /github/webhook         the same Function URL's GitHub path (GitHub-signed deliveries only)
  POST /sandbox/github/push    {"tag"?: "v1.4.0"}: a signed tag push to the bot, as GitHub sends it
  GET  /sandbox/github/statuses  the commit statuses the GitHub stand-in received

The real AWS adapters run against local stand-ins that speak each service's protocol:
Ec2Compute → EC2, SnsNotifier → SNS, ServiceQuotasLimits → Service Quotas, SchedulerDeadlines →
Scheduler, the Slack secret's loader → Secrets Manager, EventBridgeBus → EventBridge,
CloudWatchBuildLogs → CloudWatch Logs (the simulated runner writes there), the build store →
dynalite.`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number (0-65535), got ${JSON.stringify(raw)}`);
  return n;
}

function speed(): number {
  const raw = process.env.SANDBOX_SPEED;
  if (raw === undefined || raw.trim() === '') return DEFAULT_SPEED;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 100_000) fail(`SANDBOX_SPEED must be a number from 0 to 100000, got ${JSON.stringify(raw)}`);
  return n;
}

function outcome() {
  const raw = process.env.SANDBOX_OUTCOME;
  if (raw === undefined || raw.trim() === '') return DEFAULT_OUTCOME;
  if (!isOutcome(raw.trim())) fail(`SANDBOX_OUTCOME must be one of ${OUTCOMES.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw.trim() as typeof DEFAULT_OUTCOME;
}

async function main(): Promise<void> {
  // The SDK's notice that it will need Node 22 in 2027 is for deployments, not for a first look.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return;
  }
  if (args.length > 0) fail(`unknown argument ${JSON.stringify(args[0])}\n\n${HELP}`);

  const started = Date.now();
  const dynamodbPort = port('DYNAMODB_PORT', DEFAULT_DYNAMODB_PORT);
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      port: port('PORT', DEFAULT_PORT),
      dynamodbPort,
      host: process.env.HOST?.trim() || '127.0.0.1',
      speed: speed(),
      outcome: outcome(),
      env: process.env,
    });
  } catch (error) {
    if (error instanceof PortInUseError)
      fail(`Port ${error.port} is already in use. Stop what uses it, or move the sandbox: ${error.variable}=${error.port + 1} npm start`);
    if (error instanceof ConfigError) fail(`The sandbox's configuration is invalid:\n- ${error.problems.join('\n- ')}`);
    throw error;
  }

  const s = sandbox.config;
  console.log(`
metal-build sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${sandbox.url}

Three things to try:
  1. As Riley, type  /metal-build main abc1234  — the card shows the cost estimate.
  2. Switch to Avery (top right) and click Approve, confirm — no hurry: time runs at real
     speed while only people are awaited. Watch the thread: launch, clone, build, upload,
     completed (about 90 s at the default speed, which applies while a machine is live).
  3. Pick "hang" in the sandbox panel, request and approve another build, then press
     +60 min three times: the watchdog warns at ${s.warnAfterHours} h and force-terminates at ${s.maxLifetimeHours} h.

DynamoDB: aws dynamodb scan --table-name ${s.buildsTable} --endpoint-url http://localhost:${new URL(sandbox.dynamodbEndpoint).port}
Slack API stand-in: ${sandbox.url}/api/  ·  bot: ${sandbox.url}/slack/events
Real AWS adapters on local stand-ins: Ec2Compute → EC2, SnsNotifier → SNS, ServiceQuotasLimits →
Service Quotas, SchedulerDeadlines → Scheduler, the Slack secret → Secrets Manager,
EventBridgeBus → EventBridge, CloudWatchBuildLogs → CloudWatch Logs, the store → dynalite.
Stop with Ctrl+C.`);

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    void sandbox.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
