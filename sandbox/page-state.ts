import type { Config } from '../domain/config';
import type { LocalDynamo } from '../stand-ins/dynalite';
import type { Ec2Instance, Ec2StandIn } from '../stand-ins/ec2';
import type { LocalSns, Published } from '../stand-ins/sns';
import type { SlackApiState } from '../stand-ins/slack-api';
import {
  APPROVER,
  BOT_USER,
  ONLOOKER,
  REQUESTER,
  SANDBOX_CHANNEL,
  SANDBOX_CHANNELS,
  SANDBOX_USERS,
  SECOND_APPROVER,
  directChannelOf,
} from '../stand-ins/slack-api';
import type { Delivery } from './bus';
import type { SimulatedClock } from './clock';
import type { ModalDesk } from './modal-desk';
import { conversation, directMessages } from './page-channel';
import type { Outcome } from './runner';
import { OUTCOMES } from './runner';
import type { SandboxEndpoints } from './server';
import { tableView } from './table-view';

// What GET /sandbox/state answers: everything the page draws, and what the sandbox notes for it
// that the stand-ins do not keep.

function outcomeText(config: Config): Record<Outcome, { label: string; description: string }> {
  return {
    success: { label: 'success', description: 'The build takes about 80 simulated minutes, uploads the OVA, and the machine powers itself off.' },
    failure: { label: 'failure', description: 'The packer build fails after about 80 minutes; the thread shows the error and the log tail.' },
    hang: {
      label: 'hang',
      description:
        `The build never ends: the watchdog warns at ${config.warnAfterHours} h and force-terminates at ` +
        `${config.maxLifetimeHours} h (+60 min gets there quickly).`,
    },
    'no-capacity': {
      label: 'no-capacity',
      description: `EC2 has no ${config.instanceType} capacity: the launch falls back to ${config.fallbackInstanceTypes.join(', ') || 'nothing (no fallback configured)'}, and the thread says which.`,
    },
  };
}

const PEOPLE = [
  { id: REQUESTER, role: 'requester', color: '#2b7bb9', initials: 'R' },
  { id: APPROVER, role: 'approver', color: '#8a3ab9', initials: 'A' },
  { id: SECOND_APPROVER, role: 'second approver', color: '#b9662b', initials: 'J' },
  { id: ONLOOKER, role: 'onlooker', color: '#5f6b7a', initials: 'S' },
  { id: BOT_USER, role: 'app', color: '#1d9a6c', initials: 'M', bot: true },
];

/** The people the page can act as (the "Viewing as" switch). */
export const PAGE_USERS: readonly string[] = PEOPLE.filter((p) => !p.bot).map((p) => p.id);

/** What the page shows that no stand-in keeps: when mails went out and machines ended, the deliveries. */
export class PageJournal {
  // SNS keeps no time: the page shows each mail at the simulated time its Publish was answered.
  readonly publishedAt = new Map<string, string>();
  // When each machine began to end, for the page's age of an instance.
  readonly endedAt = new Map<string, string>();
  readonly deliveries: Delivery[] = [];

  constructor(
    private readonly clock: SimulatedClock,
    private readonly changed: () => void,
  ) {}

  readonly published = (messageId: string | undefined): void => {
    if (messageId) this.publishedAt.set(messageId, this.clock.now().toISOString());
    this.changed();
  };

  readonly delivered = (delivery: Delivery): void => {
    this.deliveries.push(delivery);
    if (this.deliveries.length > 200) this.deliveries.splice(0, this.deliveries.length - 200);
    this.changed();
  };

  machineEnding(instanceId: string): void {
    if (!this.endedAt.has(instanceId)) this.endedAt.set(instanceId, this.clock.now().toISOString());
  }
}

/** Where the page's state is read from. */
export interface PageSources {
  config: Config;
  clock: SimulatedClock;
  /** The configured rate, beside the one time runs at right now. */
  speed: number;
  outcome: () => Outcome;
  slack: Pick<SlackApiState, 'messages' | 'replies' | 'ephemerals' | 'home'>;
  modals: ModalDesk;
  ec2: Ec2StandIn;
  dynamo: LocalDynamo;
  sns: LocalSns;
  journal: PageJournal;
}

export function pageState(s: PageSources): SandboxEndpoints['state'] {
  const outcomes = outcomeText(s.config);
  const { clock, slack, dynamo, journal } = s;
  return async (user, view) => ({
    now: clock.now().toISOString(),
    // The rate time runs at right now (the page extrapolates the clock with it) and the configured one.
    speed: clock.rate(),
    configuredSpeed: s.speed,
    idleSpeed: clock.idleSpeed,
    paused: clock.isPaused(),
    outcome: s.outcome(),
    outcomes: OUTCOMES.map((id) => ({ id, ...outcomes[id] })),
    me: user,
    users: PEOPLE.map((p) => ({ ...p, name: SANDBOX_USERS[p.id]?.real_name ?? p.id })),
    channel: { id: SANDBOX_CHANNEL, name: 'builds' },
    // For <#C…> mentions, which Slack renders by the channel's name.
    channels: Object.fromEntries(Object.entries(SANDBOX_CHANNELS).map(([id, c]) => [id, c.name])),
    ...conversation(slack.messages(SANDBOX_CHANNEL), (ts) => slack.replies(SANDBOX_CHANNEL, ts), slack.ephemerals(user)),
    // Apps → metal-build: what the bot sent this person by DM, their Home tab as last published,
    // and the modal the bot opened for them.
    directMessages: directMessages(directChannelOf(user), slack.messages(directChannelOf(user))),
    home: slack.home(user) ?? null,
    modal: s.modals.open(user) ?? null,
    instances: s.ec2.all().map((i) => instance(i, journal.endedAt.get(i.instanceId))),
    ...(await tableView(dynamo.store, dynamo.client, dynamo.tableName, view.limit).then((t) => ({
      rows: t.rows,
      table: { total: t.total, shown: t.rows.length, limit: t.limit, slots: t.slots },
    }))),
    sns: s.sns.published.slice(-50).map((p) => mail(p, journal.publishedAt.get(p.messageId))),
    deliveries: journal.deliveries.filter((d) => d.target !== 'watchdog' || d.outcome !== 'ok').slice(-40),
  });
}

/** A machine as the page lists it. */
function instance(i: Ec2Instance, endedAt: string | undefined) {
  return {
    instanceId: i.instanceId,
    instanceType: i.instanceType,
    availabilityZone: i.availabilityZone,
    subnetId: i.subnetId,
    state: i.state,
    launchTime: i.launchTime.toISOString(),
    ...(endedAt !== undefined ? { endedAt } : {}),
    tags: i.tags,
    buildId: i.tags.BuildID,
  };
}

/** A Publish the SNS stand-in received, as the page shows a mail (the subject is `[SEVERITY] text`). */
function mail(p: Published, at: string | undefined) {
  const subject = /^\[([A-Z]+)\] (.*)$/s.exec(p.subject ?? '');
  return {
    at: at ?? '',
    severity: subject?.[1] ?? 'INFO',
    subject: subject?.[2] ?? p.subject ?? '',
    message: p.message,
    buildId: p.attributes.BuildID?.value ?? '',
    status: p.attributes.Status?.value ?? '',
  };
}
