import { describe, expect, it } from 'vitest';
import { classifyRefusal } from '../../../domain/launch-refusal';
import { clientToken, launchAttempts, launchFailureMessage, launchTags, maxLifetimeMinutes, skipsOtherSubnets } from '../../../events/launch/plan';
import { aBuild } from '../../../stand-ins/build-fixture';
import { CAPACITY_MESSAGE, QUOTA_MESSAGE, UNSUPPORTED_MESSAGE } from '../../support/ec2-world';

const BUILD_ID = 'build-20261125-170052-a1b2';
const config = { subnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'] };
const TYPES = ['c5n.metal', 'm5zn.metal'];

describe('launch plan', () => {
  it('tries each subnet for the first type, then each subnet for each fallback', () => {
    const attempts = launchAttempts(BUILD_ID, ['c5n.metal', 'm5zn.metal', 'c6i.metal'], config);
    expect(attempts.map((a) => `${a.instanceType}@${a.subnetId}`)).toEqual([
      'c5n.metal@subnet-0aaaaaaaaaaaaaaaa',
      'c5n.metal@subnet-0bbbbbbbbbbbbbbbb',
      'm5zn.metal@subnet-0aaaaaaaaaaaaaaaa',
      'm5zn.metal@subnet-0bbbbbbbbbbbbbbbb',
      'c6i.metal@subnet-0aaaaaaaaaaaaaaaa',
      'c6i.metal@subnet-0bbbbbbbbbbbbbbbb',
    ]);
  });

  it('without SUBNET_IDS leaves the subnet to the launch template, one attempt per type', () => {
    const attempts = launchAttempts(BUILD_ID, TYPES, { subnetIds: [] });
    expect(attempts.map((a) => [a.instanceType, a.subnetId])).toEqual([
      ['c5n.metal', ''],
      ['m5zn.metal', ''],
    ]);
  });

  it('gives every attempt its own token: deterministic, at most 64 characters, naming the build', () => {
    const attempts = launchAttempts(BUILD_ID, TYPES, config);
    const tokens = attempts.map((a) => a.clientToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(launchAttempts(BUILD_ID, TYPES, config).map((a) => a.clientToken)).toEqual(tokens);
    for (const token of tokens) {
      expect(token.length).toBeLessThanOrEqual(64);
      expect(token.startsWith(`${BUILD_ID}-`)).toBe(true);
    }
    expect(clientToken('build-20261125-170052-zzzz', 'c5n.metal', config.subnetIds[0]!)).not.toBe(tokens[0]);
  });

  it("tags machine and volume as the original system did, plus Requester, Name and the stack's own LaunchedBy", () => {
    expect(launchTags(aBuild(), 3)).toEqual({
      Project: 'labapp',
      Purpose: 'prewarmed-build',
      BuildID: BUILD_ID,
      AutoDelete: 'true',
      MaxLifetime: '3hours',
      Requester: 'U0REQUESTER',
      Name: `labapp-metal-build-${BUILD_ID}`,
      LaunchedBy: 'metal-build',
    });
  });

  it('gives the runner the limit plus every possible extension', () => {
    expect(maxLifetimeMinutes(3, { maxExtensionHours: 2 })).toBe(300);
  });

  it('classifies EC2 refusals: capacity, unsupported type in the zone, quota, a rejected request; others are not refusals', () => {
    expect(classifyRefusal('InsufficientInstanceCapacity', CAPACITY_MESSAGE('c5n.metal', 'us-east-1a'))).toBe('capacity');
    expect(classifyRefusal('Unsupported', UNSUPPORTED_MESSAGE('c5n.metal', 'us-east-1e'))).toBe('unsupported');
    expect(classifyRefusal('InvalidParameterValue', UNSUPPORTED_MESSAGE('c5n.metal', 'us-east-1e'))).toBe('unsupported');
    expect(classifyRefusal('VcpuLimitExceeded', QUOTA_MESSAGE)).toBe('quota');
    expect(classifyRefusal('InstanceLimitExceeded', 'limit')).toBe('quota');
    expect(classifyRefusal('InvalidLaunchTemplateId.NotFound', 'no such template')).toBe('rejected');
    expect(classifyRefusal('UnauthorizedOperation', 'not allowed')).toBe('rejected');
    expect(classifyRefusal('RequestLimitExceeded', 'slow down')).toBeUndefined();
    expect(classifyRefusal('InternalError', 'oops')).toBeUndefined();
    expect(classifyRefusal('IdempotentParameterMismatch', 'token reused')).toBeUndefined();
  });

  it('skips the other subnets of a type only after a quota refusal (quotas are regional)', () => {
    expect(skipsOtherSubnets('VcpuLimitExceeded', QUOTA_MESSAGE)).toBe(true);
    expect(skipsOtherSubnets('InsufficientInstanceCapacity', 'no capacity')).toBe(false);
  });

  it('explains a failed launch with every reason and names the vCPU quota to raise', () => {
    const message = launchFailureMessage([
      { instanceType: 'c5n.metal', subnetId: 'subnet-0aaaaaaaaaaaaaaaa', code: 'VcpuLimitExceeded', message: QUOTA_MESSAGE },
      {
        instanceType: 'm5zn.metal',
        subnetId: 'subnet-0aaaaaaaaaaaaaaaa',
        code: 'InsufficientInstanceCapacity',
        message: CAPACITY_MESSAGE('m5zn.metal', 'us-east-1a'),
      },
    ]);
    expect(message).toContain('2 attempts');
    expect(message).toContain('c5n.metal in subnet-0aaaaaaaaaaaaaaaa: VcpuLimitExceeded');
    expect(message).toContain('m5zn.metal in subnet-0aaaaaaaaaaaaaaaa: InsufficientInstanceCapacity');
    expect(message).toContain('c5n.metal needs 72 vCPUs');
    expect(message).toContain('Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances');
    expect(message).toContain('no capacity');
  });
});
