import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENTRIES } from '../../infra/bundling';
import { PROJECT_ROOT } from '../../infra/functions';
import { STACK_NAME } from '../../infra/stack';

// The real app, exactly as `npx cdk synth` runs it from cdk.json: every function bundled by
// NodejsFunction with the local esbuild (no Docker), cdk-nag and CloudFormation's own template
// validation on, and an environment holding no AWS credential, profile, region or network helper.

function cleanEnvironment(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // Neither the SDK (instance metadata) nor npm (update notice) may reach out.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    npm_config_update_notifier: 'false',
  };
}

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }>;
}

describe('cdk synth', () => {
  it('synthesizes the real app offline with no credentials, bundling every function as CommonJS', () => {
    const out = mkdtempSync(join(tmpdir(), 'metal-build-cdk-out-'));
    const home = mkdtempSync(join(tmpdir(), 'metal-build-home-'));
    const result = spawnSync(join(PROJECT_ROOT, 'node_modules/.bin/cdk'), ['synth', '--no-notices', '--quiet', '--output', out], {
      cwd: PROJECT_ROOT,
      env: cleanEnvironment(home),
      encoding: 'utf8',
      timeout: 280_000,
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    // metal-build.config.json as checked in: the effective policy, printed on stderr.
    expect(result.stderr).toContain('Who may approve: anyone in the channel except the requester');

    // No context lookup was needed (the assembly would list it as missing).
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
    expect(manifest.missing ?? []).toEqual([]);
    // Neither cdk-nag nor CloudFormation validation reported anything.
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);

    const template = JSON.parse(readFileSync(join(out, `${STACK_NAME}.template.json`), 'utf8')) as Template;
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(Object.keys(LAMBDA_ENTRIES).length);
    const bundles = functions.map((fn) => {
      expect(fn.Properties.Handler).toBe('index.handler');
      const asset = join(out, fn.Metadata!['aws:asset:path']!);
      expect(existsSync(join(asset, 'index.js.map'))).toBe(true);
      return join(asset, 'index.js');
    });

    // Each bundle loads as CommonJS under plain Node, without side effects needing the environment,
    // and exports a two-argument handler.
    const probe = spawnSync(
      process.execPath,
      ['-e', 'for (const f of process.argv.slice(1)) { const h = require(f).handler; console.log(typeof h, h && h.length); }', ...bundles],
      { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(probe.status, probe.stderr).toBe(0);
    expect(probe.stdout.trim().split('\n')).toEqual(bundles.map(() => 'function 2'));
  }, 300_000);

  it('refuses a mistyped setting before anything is built, with the message and no stack trace', () => {
    const home = mkdtempSync(join(tmpdir(), 'metal-build-home-'));
    const result = spawnSync(
      join(PROJECT_ROOT, 'node_modules/.bin/cdk'),
      ['synth', '--no-notices', '--quiet', '--output', mkdtempSync(join(tmpdir(), 'metal-build-cdk-out-')), '-c', 'approverIDs=U0123ABCD'],
      { cwd: PROJECT_ROOT, env: cleanEnvironment(home), encoding: 'utf8', timeout: 120_000 },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('invalid settings (metal-build.config.json, -c):\n- `approverIDs` (-c): unknown setting; did you mean `approverIds`?');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  }, 150_000);
});
