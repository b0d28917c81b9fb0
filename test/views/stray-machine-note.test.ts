import { describe, expect, it } from 'vitest';
import { strayMachineNote } from '../../views/stray-machine-note';

// The thread's note when the watchdog terminated a machine that was not the build's running one.

const machine = { instanceId: 'i-0123456789abcdef0', instanceType: 'c5n.metal' };
const HEAD = '🧹 The watchdog terminated machine `i-0123456789abcdef0` (c5n.metal): ';

describe('strayMachineNote', () => {
  it('says which rule ended the machine', () => {
    expect(strayMachineNote(machine, { kind: 'did-not-shut-down' })).toBe(
      `${HEAD}it was still up 15 minutes after the build ended (it should have powered itself off).`,
    );
    expect(strayMachineNote(machine, { kind: 'second-machine', buildMachineId: 'i-0fedcba9876543210' })).toBe(
      `${HEAD}it was a second machine for this build (the build's machine is \`i-0fedcba9876543210\`).`,
    );
    expect(strayMachineNote(machine, { kind: 'termination-did-not-take', status: 'cancelled' })).toBe(
      `${HEAD}it was still up after the build was cancelled (the earlier termination did not take).`,
    );
    expect(strayMachineNote(machine, { kind: 'outlived-build', status: 'completed' })).toBe(
      `${HEAD}it was still up 15 minutes after the build became completed.`,
    );
  });

  it('shows both instance IDs inert', () => {
    const text = strayMachineNote({ instanceId: 'i-0<!channel>`x`', instanceType: 'c5n.metal' }, { kind: 'second-machine', buildMachineId: 'i-0<@U0TARGET>' });
    expect(text).toBe(
      "🧹 The watchdog terminated machine `i-0&lt;!channel&gt;ˋxˋ` (c5n.metal): it was a second machine for this build (the build's machine is `i-0&lt;@U0TARGET&gt;`).",
    );
    for (const live of ['<!channel>', '<@U0TARGET>']) expect(text).not.toContain(live);
  });
});
