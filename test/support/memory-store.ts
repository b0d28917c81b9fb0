import type { Build, Status } from '../../domain/build';
import { ACTIVE_STATUSES, STATUSES, instanceStateRank } from '../../domain/build';
import type { BuildStore, ByStatusOptions, ClaimResult, ReleaseClaim, SlotTake, UpdateResult } from '../../domain/ports';
import type { Guard } from '../../domain/transition';

// The BuildStore in memory, for unit tests: the same semantics as DynamoBuildStore (the contract
// suite in test/adapters/aws runs against both). Every method copies on the way in and out, as a
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
  readonly claims = new Map<string, { For: string; ExpirationTime: number }>();
  readonly clicks = new Set<string>();
  private readonly slotHolders = new Set<string>();

  async claimRequest(triggerId: string, buildId: string, now: Date): Promise<ClaimResult> {
    const held = this.claims.get(triggerId);
    if (held && held.For !== buildId) return { claimed: false, buildId: held.For };
    this.claims.set(triggerId, { For: buildId, ExpirationTime: Math.floor(now.getTime() / 1000) + 24 * 3600 });
    return { claimed: true };
  }

  async claimClick(key: string): Promise<boolean> {
    if (this.clicks.has(key)) return false;
    this.clicks.add(key);
    return true;
  }

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

  private readonly strays = new Map<string, string>();

  async markStray(instanceId: string, now: Date): Promise<{ first: true } | { first: false; since: string }> {
    const since = this.strays.get(instanceId);
    if (since !== undefined) return { first: false, since };
    this.strays.set(instanceId, now.toISOString());
    return { first: true };
  }

  /** `#release#v<version>` items by version. */
  readonly releases = new Map<string, { For: string; ClaimedAt: string; PublishedAt?: string; Free?: boolean }>();

  async claimRelease(version: string, buildId: string, now: Date): Promise<ReleaseClaim> {
    const held = this.releases.get(version);
    if (!held || held.Free) {
      this.releases.set(version, { For: buildId, ClaimedAt: now.toISOString() });
      return { claimed: true };
    }
    const publishedAt = held.PublishedAt !== undefined ? { publishedAt: held.PublishedAt } : {};
    return held.For === buildId ? { claimed: true, ...publishedAt } : { claimed: false, by: held.For, ...publishedAt };
  }

  async markReleased(version: string, buildId: string, now: Date): Promise<void> {
    const held = this.releases.get(version);
    if (held?.For !== buildId) throw new Error(`v${version} is not claimed by ${buildId}: its release cannot be marked published`);
    held.PublishedAt ??= now.toISOString();
  }

  async giveBackRelease(version: string, buildId: string): Promise<void> {
    const held = this.releases.get(version);
    if (held?.For === buildId && held.PublishedAt === undefined) held.Free = true;
  }

  async releaseStray(instanceId: string): Promise<void> {
    this.strays.delete(instanceId);
  }

  async claimDirectMessage(buildId: string, key: string): Promise<boolean> {
    const build = this.builds.get(buildId);
    if (!build || (build.DirectMessages ?? []).includes(key)) return false;
    build.DirectMessages = [...(build.DirectMessages ?? []), key].sort();
    return true;
  }

  async releaseDirectMessage(buildId: string, key: string): Promise<void> {
    const build = this.builds.get(buildId);
    if (build?.DirectMessages) build.DirectMessages = build.DirectMessages.filter((k) => k !== key);
  }

  async claimMail(buildId: string, key: string, now: Date, staleBefore: string): Promise<UpdateResult> {
    const build = this.builds.get(buildId);
    const free = build && !(build.MailSent ?? []).includes(key) && (build.MailClaim === undefined || (build.MailClaimedAt ?? '') < staleBefore);
    if (!build || !free) return { ok: false, current: build && copy(build) };
    build.MailClaim = key;
    build.MailClaimedAt = now.toISOString();
    return { ok: true, build: copy(build) };
  }

  async markMailed(buildId: string, key: string): Promise<void> {
    const build = this.builds.get(buildId);
    if (!build) return;
    build.MailSent = [...new Set([...(build.MailSent ?? []), key])].sort();
    await this.releaseMail(buildId, key);
  }

  async releaseMail(buildId: string, key: string): Promise<void> {
    const build = this.builds.get(buildId);
    if (build?.MailClaim !== key) return;
    delete build.MailClaim;
    delete build.MailClaimedAt;
  }

  async takeSlot(buildId: string, max: number): Promise<SlotTake> {
    if (this.slotHolders.has(buildId)) return 'held';
    if (this.slotHolders.size >= max) return 'full';
    this.slotHolders.add(buildId);
    return 'added';
  }

  async releaseSlot(buildId: string): Promise<void> {
    this.slotHolders.delete(buildId);
  }

  async slots(): Promise<string[]> {
    return [...this.slotHolders].sort();
  }
}
