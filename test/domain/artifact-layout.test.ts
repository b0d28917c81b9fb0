import { describe, expect, it } from 'vitest';
import { artifactKey, artifactVersion, logKey, phaseLayoutProblem, releaseVersion, selftestKey } from '../../domain/artifact-layout';
import { ConfigError, eventTokenKeySource, maskConfig, parseConfig } from '../../domain/config';
import { aLaunchedBuild } from '../../stand-ins/build-fixture';

// The only keys a build machine may report (docs/design.md "Contract additions", Releases), and
// the event-token key's configuration.

const ID = 'build-20261125-170052-a1b2';
const BUCKET = 'hedgehog-lab-artifacts';
const SHA256 = 'a'.repeat(64);

describe('artifact layout', () => {
  it('versions: X.Y.Z for exactly vX.Y.Z, else 0.0.0-<first 7 of the commit>, lower-cased', () => {
    expect(releaseVersion('v1.2.3')).toBe('1.2.3');
    for (const branch of ['v1.2', 'v1.2.3-rc1', 'release/v1.2.3', 'V1.2.3', 'main']) expect(releaseVersion(branch)).toBeUndefined();
    expect(artifactVersion('v10.0.1', undefined)).toBe('10.0.1');
    expect(artifactVersion('main', 'ABC1234DEF')).toBe('0.0.0-abc1234');
    expect(artifactVersion('main', undefined)).toBeUndefined();
    expect(artifactVersion('main', 'abc12')).toBeUndefined();
    expect(artifactVersion('main', 'abc1234; rm')).toBeUndefined();
  });

  it('keys: builds/<id>/hedgehog-lab-prewarmed-<version>.ova and builds/<id>/logs/build.log', () => {
    expect(artifactKey(ID, '1.2.3')).toBe(`builds/${ID}/hedgehog-lab-prewarmed-1.2.3.ova`);
    expect(logKey(ID)).toBe(`builds/${ID}/logs/build.log`);
  });

  it("accepts exactly the build's keys; the commit from the phase, else the record's, else the requested one", () => {
    const build = aLaunchedBuild('uploading');
    const ok = { bucket: BUCKET, key: `builds/${ID}/hedgehog-lab-prewarmed-0.0.0-abc1234.ova`, sha256: SHA256, bytes: 1 };
    expect(phaseLayoutProblem(build, { artifact: ok, logKey: logKey(ID) }, BUCKET)).toBeUndefined();
    expect(phaseLayoutProblem(build, {}, BUCKET)).toBeUndefined();
    expect(
      phaseLayoutProblem(build, { artifact: { ...ok, key: `builds/${ID}/hedgehog-lab-prewarmed-0.0.0-ffff000.ova` }, actualCommit: 'ffff0001234' }, BUCKET),
    ).toBeUndefined();
    expect(phaseLayoutProblem({ ...build, ActualCommit: 'ffff0001234' }, { artifact: ok }, BUCKET)).toMatch(/artifact key is not/);
    expect(phaseLayoutProblem({ ...build, BuildCommit: undefined }, { artifact: ok }, BUCKET)).toMatch(/version unknown/);
  });

  it.each([
    ['another bucket', { artifact: { bucket: 'other', key: `builds/${ID}/hedgehog-lab-prewarmed-0.0.0-abc1234.ova`, sha256: SHA256, bytes: 1 } }, /bucket/],
    ['releases/', { artifact: { bucket: BUCKET, key: 'releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova', sha256: SHA256, bytes: 1 } }, /artifact key/],
    ['a shell command', { artifact: { bucket: BUCKET, key: `builds/${ID}/x.ova . ; curl x | sh`, sha256: SHA256, bytes: 1 } }, /artifact key/],
    ['another log', { logKey: `builds/${ID}/logs/../../x` }, /logKey/],
  ])('refuses %s, saying what was expected but not quoting the machine', (_name, phase, problem) => {
    const message = phaseLayoutProblem(aLaunchedBuild('uploading'), phase, BUCKET);
    expect(message).toMatch(problem);
    expect(message).not.toMatch(/curl|\.\.\/|other|releases/);
  });

  it("the self-test's layout (builds/<id>/selftest/) is accepted for a self-test only, and a self-test has no other", () => {
    const selftest = { bucket: BUCKET, key: selftestKey(ID), sha256: SHA256, bytes: 1 };
    const image = { bucket: BUCKET, key: `builds/${ID}/hedgehog-lab-prewarmed-0.0.0-abc1234.ova`, sha256: SHA256, bytes: 1 };
    expect(selftestKey(ID)).toBe(`builds/${ID}/selftest/result.json`);
    const test = aLaunchedBuild('uploading', { Kind: 'selftest', BuildBranch: 'HEAD' });
    expect(phaseLayoutProblem(test, { artifact: selftest, logKey: logKey(ID) }, BUCKET)).toBeUndefined();
    expect(phaseLayoutProblem(test, { artifact: image }, BUCKET)).toMatch(/artifact key is not .*selftest/);
    expect(phaseLayoutProblem(test, { artifact: { ...selftest, bucket: 'other' } }, BUCKET)).toMatch(/bucket/);
    expect(phaseLayoutProblem(aLaunchedBuild('uploading'), { artifact: selftest }, BUCKET)).toMatch(/artifact key is not .*\.ova/);
  });

  it("a vX.Y.Z build's artifact carries X.Y.Z, whatever the commit", () => {
    const build = aLaunchedBuild('uploading', { BuildBranch: 'v1.2.3' });
    const key = `builds/${ID}/hedgehog-lab-prewarmed-1.2.3.ova`;
    expect(phaseLayoutProblem(build, { artifact: { bucket: BUCKET, key, sha256: SHA256, bytes: 1 }, actualCommit: 'abc1234' }, BUCKET)).toBeUndefined();
  });
});

describe('the event-token key in the configuration', () => {
  const base = { SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-t' };

  it('is optional for parseConfig (only launch and build-phase need it), the key kept exactly and masked in logs', () => {
    expect(parseConfig(base).eventTokenKey).toBeUndefined();
    const config = parseConfig({ ...base, EVENT_TOKEN_KEY: ' key with spaces ', EVENT_TOKEN_SECRET_ARN: ' arn:aws:secretsmanager:x ' });
    expect(config).toMatchObject({ eventTokenKey: ' key with spaces ', eventTokenSecretArn: 'arn:aws:secretsmanager:x' });
    expect(JSON.stringify(maskConfig(config))).not.toContain('key with spaces');
  });

  it('eventTokenKeySource: the local key first, else the secret, else a ConfigError naming the variable', () => {
    expect(eventTokenKeySource({ eventTokenKey: 'k', eventTokenSecretArn: 'arn' })).toEqual({ key: 'k' });
    expect(eventTokenKeySource({ eventTokenSecretArn: 'arn' })).toEqual({ secretArn: 'arn' });
    expect(() => eventTokenKeySource({})).toThrow(ConfigError);
    expect(() => eventTokenKeySource({})).toThrow('EVENT_TOKEN_SECRET_ARN: required by the launch and build-phase functions unless EVENT_TOKEN_KEY is set');
  });
});
