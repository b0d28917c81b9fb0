import type { Build, Status } from '../../domain/build';
import { ACTIVE_STATUSES, STATUSES, instanceStateRank } from '../../domain/build';
import type { BuildStore, ByStatusOptions, ClaimKey, ClaimOptions, ClaimOutcome, Claims, SlotSet, SlotTake, UpdateResult } from '../../domain/ports';
import type { Guard } from '../../domain/transition';

// The BuildStore and the Claims in memory, for unit tests: the same semantics as DynamoBuildStore
// and DynamoClaims (the contract suites in test/adapters/aws run against both). Every method copies on the way in and out, as a
// round trip through DynamoDB would, so a caller never mutates what is stored.

const copy = <T>(value: T): T => structuredClone(value);

const newestFirst = (a: Build, b: Build) => (a.CreatedAt < b.CreatedAt ? 1 : a.CreatedAt > b.CreatedAt ? -1 : 0);

/** What the DynamoDB condition expression checks, evaluated on a stored record. */
export function guardHolds(build: Build, guard: Guard): boolean {
  if (!guard.status.includes(build.Status)) return false;
  for (const attribute of guard.absent ?? []) if (build[attribute] !== undefined) return false;
  for (const [attribute, value] of Object.entries(guard.equals ?? {})) {
    if (value !== undefined && build[attribute as keyof Build] !== value) return false;
  }
  if (guard.instanceStateBefore !== undefined && build.InstanceState !== undefined) {
    if (instanceStateRank(build.InstanceState) >= instanceStateRank(guard.instanceStateBefore)) return false;
  }
  const lease = guard.noticeFree;
  if (lease && build.NotifyingStatus === lease.status && (build.NotifyingSince ?? '') >= lease.staleBefore) return false;
  return true;
}

export class MemoryBuildStore implements BuildStore {
  readonly builds = new Map<string, Build>();
  private readonly slotHolders = new Set<string>();
  private readonly queue: string[] = [];

  async create(build: Build): Promise<boolean> {
    if (this.builds.has(build.BuildID)) return false;
    this.builds.set(build.BuildID, { ...copy(build), ThreadTs: String(build.ThreadTs) });
    return true;
  }

  async get(buildId: string): Promise<Build | undefined> {
    const build = this.builds.get(buildId);
    return build && copy(build);
  }

  async update(buildId: string, guard: Guard, set: Partial<Build>): Promise<UpdateResult> {
    const build = this.builds.get(buildId);
    if (!build || !guardHolds(build, guard)) return { ok: false, current: build && copy(build) };
    const next: Build = { ...build };
    for (const [attribute, value] of Object.entries(copy(set))) {
      if (attribute === 'BuildID' || value === undefined) continue;
      (next as unknown as Record<string, unknown>)[attribute] = attribute === 'ThreadTs' ? String(value) : value;
    }
    this.builds.set(buildId, next);
    return { ok: true, build: copy(next) };
  }

  async findByInstance(instanceId: string): Promise<Build | undefined> {
    const found = [...this.builds.values()].filter((b) => b.InstanceID === instanceId).sort(newestFirst)[0];
    return found && copy(found);
  }

  async byStatus(status: Status, options: ByStatusOptions = {}): Promise<Build[]> {
    const { limit, createdBefore, createdSince } = options;
    const builds = [...this.builds.values()]
      .filter(
        (b) =>
          b.Status === status && (createdBefore === undefined || b.CreatedAt < createdBefore) && (createdSince === undefined || b.CreatedAt >= createdSince),
      )
      .sort(newestFirst);
    return copy(limit === undefined ? builds : builds.slice(0, Math.max(0, limit)));
  }

  async active(): Promise<Build[]> {
    const lists = await Promise.all(ACTIVE_STATUSES.map((status) => this.byStatus(status)));
    return lists.flat().sort(newestFirst);
  }

  async recent(limit: number): Promise<Build[]> {
    const lists = await Promise.all(STATUSES.map((status) => this.byStatus(status, { limit })));
    return lists.flat().sort(newestFirst).slice(0, Math.max(0, limit));
  }

  async takeSlot(buildId: string, max: number): Promise<SlotTake> {
    if (this.slotHolders.has(buildId)) return 'held';
    if (this.slotHolders.size >= max || this.queue.length > 0) return 'full';
    this.slotHolders.add(buildId);
    return 'added';
  }

  async releaseSlot(buildId: string): Promise<void> {
    this.slotHolders.delete(buildId);
  }

  async slots(): Promise<string[]> {
    return [...this.slotHolders].sort();
  }

  async slotSet(): Promise<SlotSet> {
    return { active: await this.slots(), queue: [...this.queue] };
  }

  async enqueue(buildId: string): Promise<void> {
    if (!this.queue.includes(buildId) && !this.slotHolders.has(buildId)) this.queue.push(buildId);
  }

  async leaveQueue(buildId: string): Promise<void> {
    const at = this.queue.indexOf(buildId);
    if (at >= 0) this.queue.splice(at, 1);
  }

  async handOver(buildId: string, max: number): Promise<string | undefined> {
    if (!this.slotHolders.has(buildId)) return undefined;
    const head = this.slotHolders.size <= max ? this.queue.shift() : undefined;
    if (head !== undefined) this.slotHolders.add(head);
    this.slotHolders.delete(buildId);
    return head;
  }

  async fillFreeSlot(max: number): Promise<string | undefined> {
    if (this.slotHolders.size >= max) return undefined;
    const head = this.queue.shift();
    if (head !== undefined) this.slotHolders.add(head);
    return head;
  }
}

/** The Claims over a MemoryBuildStore: mail and direct-message claims live on its records. */
export class MemoryClaims implements Claims {
  /** `#request#…` items by request key. */
  readonly requests = new Map<string, { For: string; ExpirationTime: number }>();
  readonly clicks = new Set<string>();
  /** `#stray#…` markers: instance → At. */
  readonly strays = new Map<string, string>();
  /** `#release#v<version>` items by version. */
  readonly releases = new Map<string, { For: string; ClaimedAt: string; PublishedAt?: string; Free?: boolean }>();
  /** `#github#<what>#<id>` items. */
  readonly github = new Map<string, { For: string; At: string; Free?: boolean }>();
  /** BudgetWarnedAt / BudgetWarnedFor by month. */
  readonly warnings = new Map<string, { At: string; For: string }>();

  constructor(private readonly store: MemoryBuildStore) {}

  async claim(key: ClaimKey, now: Date, options: ClaimOptions = {}): Promise<ClaimOutcome> {
    switch (key.kind) {
      case 'request': {
        const held = this.requests.get(key.request);
        if (held && held.For !== key.buildId) return { claimed: false, holder: held.For };
        this.requests.set(key.request, { For: key.buildId, ExpirationTime: Math.floor(now.getTime() / 1000) + 24 * 3600 });
        return { claimed: true };
      }
      case 'click':
        if (this.clicks.has(key.click)) return { claimed: false };
        this.clicks.add(key.click);
        return { claimed: true };
      case 'mail': {
        const build = this.store.builds.get(key.buildId);
        const staleBefore = options.staleBefore ?? now.toISOString();
        const free = build && !(build.MailSent ?? []).includes(key.notice) && (build.MailClaim === undefined || (build.MailClaimedAt ?? '') < staleBefore);
        if (!build || !free) return build ? { claimed: false, build: copy(build) } : { claimed: false };
        build.MailClaim = key.notice;
        build.MailClaimedAt = now.toISOString();
        return { claimed: true };
      }
      case 'direct-message': {
        const build = this.store.builds.get(key.buildId);
        if (!build || (build.DirectMessages ?? []).includes(key.message)) return { claimed: false };
        build.DirectMessages = [...(build.DirectMessages ?? []), key.message].sort();
        return { claimed: true };
      }
      case 'stray': {
        const since = this.strays.get(key.instanceId);
        if (since !== undefined) return { claimed: false, since };
        this.strays.set(key.instanceId, now.toISOString());
        return { claimed: true };
      }
      case 'release': {
        const held = this.releases.get(key.version);
        if (!held || held.Free) {
          this.releases.set(key.version, { For: key.buildId, ClaimedAt: now.toISOString() });
          return { claimed: true };
        }
        const completedAt = held.PublishedAt !== undefined ? { completedAt: held.PublishedAt } : {};
        return held.For === key.buildId ? { claimed: true, ...completedAt } : { claimed: false, holder: held.For, ...completedAt };
      }
      case 'budget-warning':
        if (this.warnings.has(key.month)) return { claimed: false };
        this.warnings.set(key.month, { At: now.toISOString(), For: key.buildId });
        return { claimed: true };
      case 'github': {
        const id = `${key.what}#${key.id}`;
        const held = this.github.get(id);
        if (held && !held.Free) return { claimed: false, holder: held.For, since: held.At };
        this.github.set(id, { For: key.delivery, At: now.toISOString() });
        return { claimed: true };
      }
    }
  }

  async complete(key: ClaimKey, now: Date): Promise<void> {
    if (key.kind === 'mail') {
      const build = this.store.builds.get(key.buildId);
      if (!build) return;
      build.MailSent = [...new Set([...(build.MailSent ?? []), key.notice])].sort();
      await this.giveBack(key);
    } else if (key.kind === 'release') {
      const held = this.releases.get(key.version);
      if (held?.For !== key.buildId) throw new Error(`v${key.version} is not claimed by ${key.buildId}: its release cannot be marked published`);
      held.PublishedAt ??= now.toISOString();
    }
  }

  async giveBack(key: ClaimKey): Promise<void> {
    switch (key.kind) {
      case 'mail': {
        const build = this.store.builds.get(key.buildId);
        if (build?.MailClaim !== key.notice) return;
        delete build.MailClaim;
        delete build.MailClaimedAt;
        return;
      }
      case 'direct-message': {
        const build = this.store.builds.get(key.buildId);
        if (build?.DirectMessages) build.DirectMessages = build.DirectMessages.filter((k) => k !== key.message);
        return;
      }
      case 'stray':
        this.strays.delete(key.instanceId);
        return;
      case 'release': {
        const held = this.releases.get(key.version);
        if (held?.For === key.buildId && held.PublishedAt === undefined) held.Free = true;
        return;
      }
      case 'budget-warning':
        if (this.warnings.get(key.month)?.For === key.buildId) this.warnings.delete(key.month);
        return;
      case 'github': {
        const held = this.github.get(`${key.what}#${key.id}`);
        if (held?.For === key.delivery) held.Free = true;
        return;
      }
      case 'request':
      case 'click':
        return;
    }
  }
}
