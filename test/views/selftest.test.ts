import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../domain/config';
import type { Build } from '../../domain/build';
import { aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { buildCard } from '../../views/card';
import { threadMessage } from '../../views/thread';

// The self-test's line and thread messages (docs/design.md "Self-test"): each check ✓ or ✗ with
// its reason, the machine's words inert, the cost in cents.

const config = parseConfig({ SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-test-views' });
const ctx = { config, now: new Date(at(10)) };

const aSelftest = (overrides: Partial<Build>): Build =>
  aLaunchedBuild('uploading', {
    Kind: 'selftest',
    BuildBranch: 'HEAD',
    BuildCommit: undefined,
    RequestedType: 't3.small',
    InstanceType: 't3.small',
    LimitHours: 0.5,
    RootVolumeGb: 8,
    ScheduleAt: at(31),
    ...overrides,
  });

describe('a self-test in Slack', () => {
  it('a ✗ check makes the headline say so, with its reason; the machine’s text is inert and on one line', () => {
    const build = aSelftest({
      Status: 'completed',
      CompletionTime: at(4),
      BuildDurationSeconds: 95,
      SelftestChecks: [
        { name: 'kvm', ok: true, detail: 'no KVM on t3.small' },
        { name: 'repository', ok: false, detail: 'git ls-remote failed (exit 128):\nfatal: <@U0EVIL> `x` @here <https://evil.example|click>' },
      ],
    });
    const { text, broadcast } = threadMessage(build, ctx);
    expect(broadcast).toBe(false);
    expect(text).toContain('*completed with 1 failed check*');
    expect(text).toContain('✓ *KVM* — no KVM on t3.small');
    const repository = text.split('\n').find((l) => l.startsWith('✗ *Repository*'))!;
    expect(repository).toContain('git ls-remote failed (exit 128): fatal:');
    expect(repository).not.toMatch(/<@U0EVIL>|<https:|@here/);
    expect(text).toContain('Took 1 min');
    // 4 minutes of t3.small ($0.0208/h) and 8 GB of gp3: under a tenth of a cent.
    expect(text).toMatch(/cost about 0\.\d\d¢ so far/);
  });

  it('a failed self-test names its error and the checks it got to; no loop lines claimed', () => {
    const text = threadMessage(aSelftest({ Status: 'failed', CompletionTime: at(3), ErrorMessage: 'upload of s3://… failed (exit 1)' }), ctx).text;
    expect(text).toContain('self-test');
    expect(text).toContain('*failed*: `upload of s3://… failed (exit 1)`');
    expect(text).not.toContain('*Events*');
  });

  it('its line stands where a card would: status, no buttons, no build fields', () => {
    const card = buildCard(aSelftest({ Status: 'building' }), ctx);
    expect(card.text).toContain('Self-test');
    expect(card.text).toContain('building');
    expect(JSON.stringify(card.blocks)).not.toContain('"button"');
    expect(JSON.stringify(card.blocks)).not.toContain('Packer');
  });
});
