import { describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import { readSettings, sshCidrProblem } from '../../infra/settings';

// Context is checked before any construct exists: these need no synth.

const settings = (context: Record<string, unknown>) => readSettings((key) => context[key]);

describe('context settings', () => {
  it('defaults leave every knob to core/config.ts and import the artifact bucket', () => {
    const s = settings({});
    expect(s.knobs).toEqual({});
    expect(s.config.volumeSizeGb).toBe(500);
    expect(s.config.artifactBucket).toBe('hedgehog-lab-artifacts');
    expect(s.createArtifactBucket).toBe(false);
    expect(s.githubToken).toBe(false);
    expect(s.sshAllowedCidrs).toEqual([]);
    expect(s.logRetentionDays).toBe(30);
  });

  it('turns context values of any JSON type into the environment the functions parse', () => {
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

  it('accepts narrow IPv4 and IPv6 ranges and refuses what is not a CIDR', () => {
    expect(sshCidrProblem('203.0.113.7/32')).toBeUndefined();
    expect(sshCidrProblem('2001:db8::/32')).toBeUndefined();
    expect(sshCidrProblem('203.0.113.7')).toMatch(/not an IPv4 or IPv6 CIDR/);
    expect(sshCidrProblem('300.0.0.1/32')).toMatch(/not a valid IPv4/);
    expect(sshCidrProblem('10.0.0.0/33')).toMatch(/not a valid IPv4/);
  });

  it('names every bad context value in one error, by its context key', () => {
    let message = '';
    try {
      settings({
        warnAfterHours: 5,
        volumeSize: 'big',
        createArtifactBucket: 'yes please',
        builderAmiId: 'ubuntu',
        notificationEmail: 'ops',
        logRetentionDays: 12,
        instanceType: 'x9.metal',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const expected of [
      'warnAfterHours (WARN_AFTER_HOURS): must be below MAX_LIFETIME_HOURS',
      'volumeSize (VOLUME_SIZE_GB): expected a whole number',
      'createArtifactBucket: expected true or false',
      'builderAmiId:',
      'notificationEmail:',
      'logRetentionDays:',
      'no price for x9.metal',
    ])
      expect(message).toContain(expected);
  });
});
