import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLOUD_INIT_TEMPLATE, RUNNER_SCRIPT_GZIP_BASE64 } from '../../events/launch/runner-script.generated';
import { USER_DATA_LIMIT_BYTES, renderCloudConfig, renderUserData, type RunnerParams } from '../../events/launch/user-data';
import { CLOUD_INIT_SOURCE_PATH, RUNNER_SOURCE_PATH, renderRunnerModule, runnerForMachine } from '../../scripts/gen-runner-module';
import { RUNNER_PARAMS as params } from '../support/runner-params';

const source = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface WriteFile {
  path: string;
  owner: string;
  permissions: string;
  encoding: string;
  content: string;
}
interface CloudConfig {
  write_files: WriteFile[];
  runcmd: string[][];
}

const parsed = (p: RunnerParams) => parse(renderCloudConfig(p), { version: '1.1' }) as CloudConfig;
const file = (c: CloudConfig, path: string) => c.write_files.find((f) => f.path === path)!;
const buildJson = (c: CloudConfig) => JSON.parse(Buffer.from(file(c, '/etc/metal-build/build.json').content, 'base64').toString('utf8')) as unknown;

describe('renderCloudConfig', () => {
  it('is #cloud-config YAML that carries the parameters as base64 JSON, exactly', () => {
    const text = renderCloudConfig(params);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const config = parsed(params);
    expect(buildJson(config)).toEqual(params);
    expect(file(config, '/etc/metal-build/build.json')).toMatchObject({ encoding: 'b64', permissions: '0600', owner: 'root:root' });
  });

  it('omits the optional fields when absent', () => {
    const { commit: _c, githubSecretArn: _g, ...required } = params;
    expect(buildJson(parsed(required))).toEqual(required);
  });

  it('says "selftest": true in build.json for a self-test only', () => {
    expect(buildJson(parsed({ ...params, selftest: true }))).toEqual({ ...params, selftest: true });
    expect(buildJson(parsed(params))).not.toHaveProperty('selftest');
  });

  it('carries packer/runner.sh (gzip + base64) and starts it after scheduling the lifetime power-off', () => {
    const config = parsed(params);
    const runner = file(config, '/usr/local/sbin/metal-build-runner');
    expect(runner).toMatchObject({ encoding: 'gz+b64', permissions: '0700' });
    expect(gunzipSync(Buffer.from(runner.content, 'base64')).toString('utf8')).toBe(runnerForMachine(source(RUNNER_SOURCE_PATH)));
    expect(config.runcmd[0]).toEqual(['shutdown', '-h', '+300']);
    expect(config.runcmd[1]![0]).toBe('systemd-run');
    expect(config.runcmd[1]!.at(-1)).toBe('/usr/local/sbin/metal-build-runner');
  });

  it('keeps hostile values inside the JSON: none appears in the YAML text, all round-trip', () => {
    const hostile = { ...params, branch: 'main;$(touch x)\n`id` "q" \'s\'', commit: "abc1234'; reboot; '" };
    const text = renderCloudConfig(hostile);
    expect(text).not.toContain('touch x');
    expect(text).not.toContain('reboot');
    expect(buildJson(parse(text, { version: '1.1' }) as CloudConfig)).toEqual(hostile);
  });

  it('holds no secret: only the ARN of the GitHub token, which the runner reads at run time', () => {
    const text = renderCloudConfig(params);
    const config = parsed(params);
    const everything = [text, JSON.stringify(buildJson(config))].join('\n');
    expect(everything).not.toMatch(/gh[pousr]_[A-Za-z0-9]{20,}|xox[bp]-/);
    expect(Object.keys(buildJson(config) as object).sort()).toEqual(Object.keys(params).sort());
    expect((buildJson(config) as RunnerParams).githubSecretArn).toBe(params.githubSecretArn);
  });

  it(`stays under EC2's ${USER_DATA_LIMIT_BYTES}-byte limit with the longest values the bot accepts`, () => {
    const longest = { ...params, branch: `a${'b/c-'.repeat(48)}abcdefg`, commit: 'f'.repeat(40) };
    expect(longest.branch).toHaveLength(200);
    const bytes = Buffer.byteLength(renderCloudConfig(longest));
    expect(bytes).toBeLessThan(USER_DATA_LIMIT_BYTES);
    expect(bytes).toBeLessThan(14_500); // headroom for the runner to grow
  });

  it('throws when the result would exceed the limit, or the lifetime is not a whole number of minutes', () => {
    expect(() => renderCloudConfig({ ...params, repoUrl: `https://example.com/${'x'.repeat(8000)}` })).toThrow(/above EC2's limit of 16384/);
    expect(() => renderCloudConfig({ ...params, maxLifetimeMinutes: 0 })).toThrow(/maxLifetimeMinutes/);
    expect(() => renderCloudConfig({ ...params, maxLifetimeMinutes: 12.5 })).toThrow(/maxLifetimeMinutes/);
  });

  it("carries the build's eventToken in build.json only (the one per-build credential), and refuses a malformed one without quoting it", () => {
    const config = parsed(params);
    expect((buildJson(config) as RunnerParams).eventToken).toBe(params.eventToken);
    expect(renderCloudConfig(params).includes(params.eventToken)).toBe(false);
    for (const bad of ['', 'short', 'A'.repeat(64), `${'a'.repeat(63)}\n`]) {
      expect(() => renderCloudConfig({ ...params, eventToken: bad })).toThrow('eventToken must be 64 lowercase hex characters');
      try {
        renderCloudConfig({ ...params, eventToken: bad });
      } catch (error) {
        if (bad) expect((error as Error).message).not.toContain(bad);
      }
    }
  });

  it('carries packerTemplate (PACKER_TEMPLATE) in build.json, and refuses a path that could leave the checkout', () => {
    const template = 'packer/lab/other.pkr.hcl';
    expect((buildJson(parsed({ ...params, packerTemplate: template })) as RunnerParams).packerTemplate).toBe(template);
    for (const bad of ['', '/etc/passwd', '../x.pkr.hcl', 'packer/../../x', '-var=x', 'a b', '$(id)'])
      expect(() => renderCloudConfig({ ...params, packerTemplate: bad })).toThrow(/^packerTemplate: expected a/);
  });

  it('renders the same text for the same parameters (a redelivered launch reuses its ClientTokens)', () => {
    expect(renderUserData({ ...params })).toBe(renderUserData({ ...params }));
  });
});

describe('renderUserData', () => {
  it('is the base64 of the cloud-config text', () => {
    expect(Buffer.from(renderUserData(params), 'base64').toString('utf8')).toBe(renderCloudConfig(params));
  });
});

describe('events/launch/runner-script.generated.ts (`npm run gen`)', () => {
  it('matches packer/runner.sh and packer/cloud-init.yaml: run `npm run gen` after changing them', () => {
    expect(gunzipSync(Buffer.from(RUNNER_SCRIPT_GZIP_BASE64, 'base64')).toString('utf8')).toBe(runnerForMachine(source(RUNNER_SOURCE_PATH)));
    expect(CLOUD_INIT_TEMPLATE).toBe(source(CLOUD_INIT_SOURCE_PATH));
  });

  it('carries the runner without its comment lines, which bash parses exactly as the source (bash --pretty-print)', () => {
    const parsedBy = (script: string) => {
      const file = join(mkdtempSync(join(tmpdir(), 'runner-parse-')), 'runner.sh');
      writeFileSync(file, script);
      const out = spawnSync('bash', ['--pretty-print', file], { encoding: 'utf8' });
      rmSync(dirname(file), { recursive: true });
      expect(out.status, out.stderr).toBe(0);
      // Where a comment stood, the printer leaves an empty line: compare everything else.
      return out.stdout.split('\n').filter((line) => line !== '');
    };
    const machine = runnerForMachine(source(RUNNER_SOURCE_PATH));
    expect(machine).not.toMatch(/^\s*#(?!!)/m);
    expect(machine.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(parsedBy(machine)).toEqual(parsedBy(source(RUNNER_SOURCE_PATH)));
  });

  it('is what the generator writes, apart from gzip bytes (which may differ between zlib builds)', () => {
    const strip = (text: string) => text.replace(/RUNNER_SCRIPT_GZIP_BASE64 =\n {2}"[^"]*"/, '');
    const expected = renderRunnerModule(source(RUNNER_SOURCE_PATH), source(CLOUD_INIT_SOURCE_PATH));
    expect(strip(source('events/launch/runner-script.generated.ts'))).toBe(strip(expected));
  });
});

describe('packer/ templates', () => {
  it('pin the same Packer version in the AMI and in the runner (which installs it when booted without the AMI)', () => {
    const ami = /variable "packer_version" \{[^}]*default\s*=\s*"([0-9.]+)"/.exec(source('packer/builder.pkr.hcl'))?.[1];
    const runner = /^PACKER_VERSION=\$\{PACKER_VERSION:-([0-9.]+)\}$/m.exec(source('packer/runner.sh'))?.[1];
    expect(ami).toMatch(/^\d+\.\d+\.\d+$/);
    expect(runner).toBe(ami);
  });

  it('keep `packer { required_plugins }` out of builder.pkr.hcl, which Packer 1.6.6 validates on its own', () => {
    expect(source('packer/builder.pkr.hcl')).not.toMatch(/^packer\s*\{/m);
    expect(source('packer/plugins.pkr.hcl')).toMatch(/required_plugins\s*\{[^}]*amazon\s*=\s*\{[^}]*source\s*=\s*"github.com\/hashicorp\/amazon"/);
  });
});
