import { describe, expect, it } from 'vitest';
import { extraMachinesNote, launchFallbackNote, terminatedAtLaunchNote } from '../../views/launch-notes';

// The launch function's thread notes besides the status replies.

const HOSTILE_ID = 'i-0abc<!channel>`x`';
const INERT_ID = '`i-0abc&lt;!channel&gt;ˋxˋ`';

describe('terminatedAtLaunchNote', () => {
  it('says the build went final while its machine started, and which machine was ended', () => {
    expect(terminatedAtLaunchNote('cancelled', { instanceId: 'i-0123456789abcdef0', instanceType: 'c5n.metal', availabilityZone: 'us-east-1a' })).toBe(
      '🧹 The build was cancelled while its machine was starting: `i-0123456789abcdef0` (c5n.metal in us-east-1a) was terminated right away.',
    );
  });

  it('shows the instance ID inert', () => {
    const text = terminatedAtLaunchNote('failed', { instanceId: HOSTILE_ID, instanceType: 'c5n.metal', availabilityZone: 'us-east-1a' });
    expect(text).toContain(INERT_ID);
    expect(text).not.toContain('<!channel>');
  });
});

describe('launchFallbackNote', () => {
  const machine = { instanceType: 'm5zn.metal', availabilityZone: 'us-east-1b' };

  it('lists the skips, then the refusals, with or without a subnet', () => {
    const text = launchFallbackNote(machine, {
      skips: [{ text: 'c5n.metal in subnet-0aaa (us-east-1a does not offer it)' }],
      refusals: [
        { instanceType: 'c5n.metal', subnetId: 'subnet-0bbb', code: 'InsufficientInstanceCapacity' },
        { instanceType: 'c5n.metal', subnetId: '', code: 'Unsupported' },
      ],
    });
    expect(text).toBe(
      'ℹ️ Launched m5zn.metal in us-east-1b; skipped c5n.metal in subnet-0aaa (us-east-1a does not offer it); ' +
        'EC2 refused c5n.metal in subnet-0bbb (InsufficientInstanceCapacity), c5n.metal (Unsupported).',
    );
  });

  it('gives the figures of another type when there are any', () => {
    expect(launchFallbackNote(machine, { skips: [{ text: 'c5n.metal (over the price)' }], refusals: [] }, { expected: 6.03, max: 12.06 })).toBe(
      'ℹ️ Launched m5zn.metal in us-east-1b (expected $6.03, maximum $12.06); skipped c5n.metal (over the price).',
    );
  });
});

describe('extraMachinesNote', () => {
  it('counts the kept machine with the extras, and names each', () => {
    expect(extraMachinesNote('i-0kept', ['i-0extra1', 'i-0extra2'])).toBe(
      '🧹 Earlier launch attempts left 3 machines for this build: `i-0kept` is kept, `i-0extra1`, `i-0extra2` terminated.',
    );
  });

  it('shows every instance ID inert', () => {
    const text = extraMachinesNote(HOSTILE_ID, [HOSTILE_ID]);
    expect(text).toBe(`🧹 Earlier launch attempts left 2 machines for this build: ${INERT_ID} is kept, ${INERT_ID} terminated.`);
    expect(text).not.toContain('<!channel>');
  });
});
