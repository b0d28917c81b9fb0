import { describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import { readSettings, sshCidrProblem } from '../../infra/settings';

// Settings are checked before any construct exists: these need no synth.

const settings = (context: Record<string, unknown>) => readSettings((key) => context[key]);

describe('settings', () => {
  it('defaults leave every knob to domain/config.ts and create the artifact bucket', () => {
    const s = settings({});
    expect(s.knobs).toEqual({});
    expect(s.config.volumeSizeGb).toBe(500);
    expect(s.config.artifactBucket).toBe('hedgehog-lab-artifacts');
    expect(s.createArtifactBucket).toBe(true);
    expect(s.artifactBucketName).toBeUndefined();
    expect(s.watchdogReservedConcurrency).toBeUndefined();
    expect(s.githubToken).toBe(false);
    expect(s.sshAllowedCidrs).toEqual([]);
    expect(s.logRetentionDays).toBe(30);
  });

  it('turns settings of any JSON type into the environment the functions parse', () => {
    const s = settings({
      volumeSize: 800,
      approverIds: ['U1', 'U2'],
      allowSelfApproval: true,
      priceOverrides: { 'c5n.metal': 4 },
      fallbackInstanceTypes: '',
    });
    expect(s.knobs).toEqual({
      VOLUME_SIZE_GB: '800',
      APPROVER_IDS: 'U1,U2',
      ALLOW_SELF_APPROVAL: 'true',
      PRICE_OVERRIDES: '{"c5n.metal":4}',
      FALLBACK_INSTANCE_TYPES: '',
    });
    expect(s.config.volumeSizeGb).toBe(800);
    expect(s.config.fallbackInstanceTypes).toEqual([]);
  });

  it.each(['0.0.0.0/0', '::/0', '10.1.2.3/0'])('refuses SSH from %s, the whole internet', (cidr) => {
    expect(() => createApp({ context: { sshAllowedCidrs: `203.0.113.0/24,${cidr}` } })).toThrow(/whole internet/);
  });

  it('uses an existing bucket only when artifactBucket names it', () => {
    expect(settings({ artifactBucket: 'my-artifacts' })).toMatchObject({ createArtifactBucket: false, artifactBucketName: 'my-artifacts' });
  });

  it('takes the VPC zones from availabilityZones: at least two, of one region, named as AWS names them', () => {
    expect(settings({}).availabilityZones).toBeUndefined();
    expect(settings({ availabilityZones: 'us-east-1a,us-east-1c,us-east-1d' }).availabilityZones).toEqual(['us-east-1a', 'us-east-1c', 'us-east-1d']);
    expect(() => settings({ availabilityZones: 'us-east-1a' })).toThrow(/`availabilityZones`: name at least two zones/);
    expect(() => settings({ availabilityZones: 'us-east-1a,eu-west-1b' })).toThrow(/not all in one region/);
    expect(() => settings({ availabilityZones: 'us-east-1a,east' })).toThrow(/"east" is not a zone name/);
  });

  it('reserves watchdog concurrency only when asked, as a whole number of at least 1', () => {
    expect(settings({ watchdogReservedConcurrency: '1' }).watchdogReservedConcurrency).toBe(1);
    expect(() => settings({ watchdogReservedConcurrency: '0' })).toThrow(/`watchdogReservedConcurrency`: expected a whole number/);
    expect(() => settings({ watchdogReservedConcurrency: '1.5' })).toThrow(/watchdogReservedConcurrency/);
  });

  it.each(['10.0.0.0/15', '203.0.113.0/8', '2001:db8::/47', '2001:db8::/32'])('refuses SSH from %s, wider than /16 (IPv4) or /48 (IPv6)', (cidr) => {
    expect(sshCidrProblem(cidr)).toMatch(/is wider than \/(16|48)/);
  });

  it('accepts narrow IPv4 and IPv6 ranges and refuses what is not a CIDR', () => {
    expect(sshCidrProblem('203.0.113.7/32')).toBeUndefined();
    expect(sshCidrProblem('10.1.0.0/16')).toBeUndefined();
    expect(sshCidrProblem('2001:db8:1234::/48')).toBeUndefined();
    expect(sshCidrProblem('2001:db8::1/128')).toBeUndefined();
    expect(sshCidrProblem('203.0.113.7')).toMatch(/not an IPv4 or IPv6 CIDR/);
    expect(sshCidrProblem('300.0.0.1/32')).toMatch(/not a valid IPv4/);
    expect(sshCidrProblem('10.0.0.0/33')).toMatch(/not a valid IPv4/);
  });

  it('names every bad value in one error, by its setting', () => {
    let message = '';
    try {
      settings({
        warnAfterHours: 5,
        volumeSize: 'big',
        createArtifactBucket: 'true',
        builderAmiId: 'ubuntu',
        notificationEmail: 'ops',
        logRetentionDays: 12,
        instanceType: 'x9.metal',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const expected of [
      '`warnAfterHours`: must be below `maxLifetimeHours` (3), got 5',
      '`volumeSize`: expected a whole number',
      '`createArtifactBucket`: no longer used',
      '`builderAmiId`:',
      '`notificationEmail`:',
      '`logRetentionDays`:',
      'no price for x9.metal',
    ])
      expect(message).toContain(expected);
  });

  it('checks the GitHub settings: the repository REPO_URL clones, its channel allowed, a channel ID, a glob', () => {
    const ok = settings({ githubRepository: 'afewell-hh/labapp', githubChannelId: 'C0123ABCD', allowedChannelIds: ['C0123ABCD'] });
    expect(ok.knobs).toMatchObject({ GITHUB_REPOSITORY: 'afewell-hh/labapp', GITHUB_CHANNEL_ID: 'C0123ABCD' });
    let message = '';
    try {
      settings({ githubRepository: 'someone/else', githubChannelId: 'builds', allowedChannelIds: ['C0123ABCD'], githubTagPattern: 'v[0-9]' });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const expected of [
      '`githubRepository`: must be the repository `repoUrl` clones',
      '`githubChannelId`: must be one of `allowedChannelIds`',
      '`githubChannelId`: "builds" is not a Slack channel ID',
      '`githubTagPattern`: expected a glob',
    ])
      expect(message).toContain(expected);
  });
});
