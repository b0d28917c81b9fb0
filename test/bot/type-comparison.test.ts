import { describe, expect, it } from 'vitest';
import { quote } from '../../domain/build-facts';
import { formatUsd, usd } from '../../domain/cost';
import type { Completion } from '../../domain/expected-duration';
import { useWorld } from '../support/bot-world';

// The team's own benchmark on the card (issue 29, docs/design.md "Choosing the machine"): another
// allowed type with at least 3 completed builds gets one line: its median, this request's expected
// cost there, and the command that tries it.

const world = useWorld();

const ENV = { INSTANCE_TYPES: 'c5n.metal,m5zn.metal,m8i.8xlarge,c8i.4xlarge' };
const HEADING = '*Other types, from this team’s builds*';

const completions = (count: number, minutes: number, prefix: string): Completion[] =>
  Array.from({ length: count }, (_, i) => ({
    buildId: `build-2026112${i}-170052-${prefix}${i}`,
    seconds: minutes * 60,
    completedAt: `2026-11-2${i}T19:00:00.000Z`,
  }));

async function remember(type: string, history: Completion[]): Promise<void> {
  const durations = world().bot(ENV).deps.durations;
  for (const c of history) await durations.record(type, c);
}

const cardText = () => JSON.stringify(world().slack.callsTo('chat.postMessage')[0]?.args.blocks ?? []);

describe('the card compares types from the team’s history', () => {
  it('a type with 3 builds gets its line (median, expected cost, command); one with 2 does not', async () => {
    await remember('m8i.8xlarge', completions(3, 70, 'm8i'));
    await remember('m5zn.metal', completions(2, 80, 'mzn'));
    const bot = world().bot(ENV);
    await bot.command('main abc1234');

    const expected = usd(quote(bot.deps.config, { instanceType: 'm8i.8xlarge', expectedHours: 70 / 60 })!.expected.total);
    const text = cardText();
    expect(text).toContain(HEADING);
    expect(text).toContain(
      `• m8i.8xlarge: 1 h 10 min, median of 3 builds; expected *${formatUsd(expected)}* · try \`/metal-build main abc1234 type=m8i.8xlarge\``,
    );
    expect(text).not.toContain('• m5zn.metal:');
    const [build] = await world().builds();
    // The request's own quote is untouched by the other types.
    expect(build).toMatchObject({ RequestedType: 'c5n.metal', ExpectedFromBuilds: 0 });
  });

  it('the chosen type is never compared with itself; a chosen limit travels in the command; cheapest first', async () => {
    await remember('m8i.8xlarge', completions(3, 70, 'm8i'));
    await remember('c8i.4xlarge', completions(4, 100, 'c8i'));
    await remember('c5n.metal', completions(3, 90, 'c5n'));
    await world().bot(ENV).command('feature/x type=m8i.8xlarge hours=2');

    const text = cardText();
    expect(text).not.toContain('• m8i.8xlarge:');
    const lines = text.split('\\n').filter((l) => l.startsWith('• ') && l.includes('median of'));
    expect(lines.map((l) => l.slice(2, l.indexOf(':')))).toEqual(['c8i.4xlarge', 'c5n.metal']);
    expect(text).toContain('try `/metal-build feature/x type=c8i.4xlarge hours=2`');
    expect(text).toContain('try `/metal-build feature/x type=c5n.metal hours=2`');
  });

  it('without another type’s history the card has no comparison', async () => {
    await remember('c5n.metal', completions(5, 90, 'c5n'));
    await world().bot(ENV).command('main');
    expect(cardText()).not.toContain(HEADING);
    expect(await world().builds()).toEqual([expect.objectContaining({ ExpectedFromBuilds: 5 })]);
  });
});
