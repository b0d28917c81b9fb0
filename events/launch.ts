import { isSelftest } from '../domain/build-kind';
import type { Build } from '../domain/build';
import { BOT_SOURCE, DETAIL_TYPES, buildApprovedDetail } from '../domain/events';
import type { LaunchedInstance, Logger } from '../domain/ports';
import { buildQuote, logGroupName, overrunAllowance } from '../domain/build-facts';
import { limitHoursOf, launchTypesOf, requestedTypeOf } from '../domain/build-choice';
import { extraMachinesNote, launchFallbackNote, noSlotAtLaunch, selftestImageUnknown, terminatedAtLaunchNote } from '../views/launch-notes';
import { launchOverBudget } from '../views/spend-messages';
import type { EventDeps } from './deps';
import { applyRow, applyStep, dequeueBy } from './apply-step';
import { RedeliverLater } from './delivery-errors';
import { fillFreeSlots } from '../use-cases/slot-queue';
import { tell } from './effects';
import { eventEntry } from './entry';
import type { CapacityFacts, Skip } from '../domain/launch-capacity';
import { fitLaunch } from '../domain/launch-capacity';
import type { Adoption, LaunchAttempt, Refusal } from './launch/plan';
import { adoption, launchAttempts, launchFailureMessage, launchTags, maxLifetimeMinutes, skipsOtherSubnets } from './launch/plan';
import { keepDeadline } from './deadline-schedule';
import { holdInLaunchMonth, trimHold } from '../use-cases/month-budget';
import { eventTokenFor, eventTokenKeyOf, hashEventToken } from './event-token';
import { renderUserData } from './launch/user-data';

// `Build Approved` → a machine. Tries each subnet for INSTANCE_TYPE, then each fallback type;
// the first machine EC2 gives is recorded (`launched`), and when none can be had the build
// fails with every reason. Redelivery is safe: a live machine tagged with the BuildID (started
// by a delivery that crashed before recording it) is adopted before any RunInstances, and the
// attempts and their ClientTokens are the same, so EC2 answers a repeated attempt with the
// machine it already started.

export const { createHandler, handler } = eventEntry({
  name: 'launch',
  source: BOT_SOURCE,
  detailType: DETAIL_TYPES.approved,
  schema: buildApprovedDetail,
  async handle({ deps, build, log: blog }) {
    if (build.Status !== 'approved' || build.InstanceID) {
      blog.info('nothing to launch', { status: build.Status, instanceId: build.InstanceID });
      // A delivery that recorded the machine may have failed before its schedule was set, its
      // message, or its hold's trim.
      await keepDeadline(deps, build, blog);
      await tell(deps, build, { sns: true }, blog);
      if (build.InstanceID) await trimHold(deps, build, blog);
      return;
    }
    // The ClientTokens alone do not prevent a second machine: after a crash, an attempt refused
    // the first time (no capacity) may succeed now under its own token. EC2's tags say what
    // exists, so a machine an earlier delivery started is recorded instead of launching another.
    const found = adoption(await deps.compute.liveMachinesOf(build.BuildID));
    if (found) return adopt(deps, build, found, blog);
    const slot = await holdsSlot(deps, build, blog);
    if (slot === 'queued') return;
    if (slot === 'full') return fail(deps, build, noSlotAtLaunch(deps.config.maxConcurrentBuilds), blog);
    if (!deps.config.launchTemplateId)
      return fail(deps, build, 'LAUNCH_TEMPLATE_ID is not configured: the stack must pass the launch template to the launch function.', blog);
    const budget = await holdInLaunchMonth(deps, build, blog);
    if (!budget.ok) return fail(deps, build, launchOverBudget(budget.month, budget.figures), blog);
    const types = launchTypesOf(build, deps.config);
    const allAttempts = launchAttempts(build.BuildID, types, deps.config, await nestedVirtualizationTypes(deps, types, blog));
    const fit = fitLaunch(allAttempts, await capacityFacts(deps, build, allAttempts, blog));
    if (fit.failure !== undefined) return fail(deps, build, fit.failure, blog);
    const disk = await selftestDisk(deps, build, blog);
    if (!disk.ok) return fail(deps, build, disk.failure, blog);
    await tryAttempts(deps, build, fit.attempts, fit.skips, disk.rootVolumeGb, blog);
  },
});

/**
 * The launch starts no machine for a build outside the slot set. The approval took the slot,
 * but a failed click may have given it back meanwhile (docs/design.md "Concurrency"): then a
 * free slot is taken now, or the build fails, rather than a machine starting beside another.
 */
async function holdsSlot(deps: EventDeps, build: Build, log: Logger): Promise<'held' | 'queued' | 'full'> {
  const max = deps.config.maxConcurrentBuilds;
  const take = await deps.store.takeSlot(build.BuildID, max);
  if (take === 'added') log.warn('the approved build held no slot at launch; took a free one');
  const { active, queue } = await deps.store.slotSet();
  if (take !== 'full') {
    // Handed its slot by a hand-over not yet finished (docs/design.md "Concurrency"): the old
    // holder is still in the set. This launch waits until it is gone.
    if (build.DequeuedAt !== undefined && active.length > max)
      throw new RedeliverLater(`the slots are ${active.length} of ${max} while a hand-over finishes; launching later`);
    return 'held';
  }
  if (queue.length === 0) {
    log.error('the approved build holds no slot and none is free; no machine is launched');
    return 'full';
  }
  // Others wait first: the build waits its turn rather than fail.
  const applied = await applyStep(deps, build, { type: 'queue', by: build.Approver ?? 'metal-build' }, { sns: false }, log);
  if (applied.applied.outcome === 'changed') {
    await deps.store.enqueue(build.BuildID);
    await fillFreeSlots(deps, dequeueBy(deps, log), log);
    log.warn('the approved build held no slot at launch and others wait: queued');
  }
  return 'queued';
}

/** Each attempt in turn until EC2 gives a machine; a type whose refusal holds in every subnet is not tried again. */
/**
 * A self-test's root disk: the builder AMI's root snapshot size, not the template's VOLUME_SIZE_GB
 * (docs/design.md "Self-test"). A build keeps the template's. Without BUILDER_IMAGE_ID (a stack
 * from before it) the template's disk is used; an AMI EC2 does not know fails the launch, as
 * RunInstances would. A failed DescribeImages throws: the delivery is retried.
 */
async function selftestDisk(deps: EventDeps, build: Build, log: Logger): Promise<{ ok: true; rootVolumeGb?: number } | { ok: false; failure: string }> {
  const imageId = deps.config.builderImageId;
  if (!isSelftest(build)) return { ok: true };
  if (!imageId) {
    log.warn('BUILDER_IMAGE_ID is not set: the self-test launches with the launch template’s disk');
    return { ok: true };
  }
  const size = await deps.compute.rootSnapshotSizeGb(imageId);
  if (size === undefined) return { ok: false, failure: selftestImageUnknown(imageId) };
  log.info('self-test root disk from the builder AMI', { imageId, rootVolumeGb: size });
  return { ok: true, rootVolumeGb: size };
}

async function tryAttempts(
  deps: EventDeps,
  build: Build,
  attempts: readonly LaunchAttempt[],
  skips: Skip[],
  rootVolumeGb: number | undefined,
  log: Logger,
): Promise<void> {
  const userData = userDataOf(deps, build);
  const tags = launchTags(build, limitHoursOf(build, deps.config));
  const refusals: Refusal[] = [];
  const skippedTypes = new Set<string>();
  for (const attempt of attempts) {
    if (skippedTypes.has(attempt.instanceType)) continue;
    const result = await deps.compute.launch({ buildId: build.BuildID, ...attempt, userData, tags, ...(rootVolumeGb !== undefined && { rootVolumeGb }) });
    if (result.ok) return launched(deps, build, result.instance, { refusals, skips, ...(rootVolumeGb !== undefined && { rootVolumeGb }) }, log);
    log.warn('EC2 refused a launch attempt', { ...attempt, code: result.code, ec2Message: result.message });
    refusals.push({ instanceType: attempt.instanceType, subnetId: attempt.subnetId, code: result.code, message: result.message });
    if (skipsOtherSubnets(result.code, result.message, attempt.nestedVirtualization)) skippedTypes.add(attempt.instanceType);
  }
  await fail(deps, build, launchFailureMessage(refusals, skips), log);
}

function userDataOf(deps: EventDeps, build: Build): string {
  const { config } = deps;
  const buildId = build.BuildID;
  return renderUserData({
    buildId,
    branch: build.BuildBranch,
    ...(build.BuildCommit ? { commit: build.BuildCommit } : {}),
    repoUrl: config.repoUrl,
    bucket: config.artifactBucket,
    eventBusName: config.eventBusName,
    region: config.region,
    maxLifetimeMinutes: maxLifetimeMinutes(limitHoursOf(build, config), config),
    ...(config.githubSecretArn ? { githubSecretArn: config.githubSecretArn } : {}),
    logGroup: logGroupName(buildId),
    packerTemplate: config.packerTemplate,
    // Derived from the BuildID, so every delivery renders the same user data (ClientToken).
    eventToken: eventTokenFor(eventTokenKeyOf(deps), buildId),
    ...(isSelftest(build) && { selftest: true as const }),
  });
}

/**
 * The types that run KVM only with the nested-virtualization option. Unreadable, every type is
 * launched without it: a metal type is unaffected, and a virtual one fails in its first minute
 * (the runner's KVM check), which costs cents.
 */
async function nestedVirtualizationTypes(deps: EventDeps, types: readonly string[], log: Logger): Promise<string[]> {
  try {
    return await deps.compute.nestedVirtualizationTypes(types);
  } catch (error) {
    log.warn('could not read which types support nested virtualization; launching without the option', { error });
    return [];
  }
}

/**
 * What EC2 and Service Quotas say before any RunInstances. A lookup that fails only loses its
 * filter (logged): EC2 still refuses what cannot run, attempt by attempt, as before.
 */
async function capacityFacts(deps: EventDeps, build: Build, attempts: readonly LaunchAttempt[], log: Logger): Promise<CapacityFacts> {
  const buildId = build.BuildID;
  const types = [...new Set(attempts.map((a) => a.instanceType))];
  const subnets = [...new Set(attempts.map((a) => a.subnetId).filter((s) => s !== ''))];
  const lenient = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      log.warn(`could not read ${what}; the launch goes on without that check`, { error });
      return undefined;
    }
  };
  const price = priceFacts(deps, build, types);
  const [subnetZones, offeredZones, vcpus, limit, inUse] = await Promise.all([
    subnets.length > 0 ? lenient("the subnets' zones", () => deps.compute.subnetZones(subnets)) : {},
    subnets.length > 0 ? lenient('which zones offer the instance types', () => deps.compute.offeredZones(types)) : undefined,
    lenient("the instance types' vCPUs", () => deps.compute.vcpusOf(types)),
    lenient('the on-demand vCPU quota', () => deps.quotas.onDemandStandardVcpus()),
    lenient('the vCPUs in use', () => deps.compute.standardVcpusInUse(buildId)),
  ]);
  return {
    region: deps.config.region,
    subnetZones: subnetZones ?? {},
    offeredZones,
    vcpus: vcpus ?? {},
    quota: limit !== undefined && inUse !== undefined ? { limit, inUse } : undefined,
    ...(price && { price }),
  };
}

/** The approval covers a type whose maximum is at most FALLBACK_MAX_OVERRUN_PERCENT above the approved one. */
function priceFacts(deps: EventDeps, build: Build, types: readonly string[]): CapacityFacts['price'] {
  const { config } = deps;
  const maxOf: Record<string, number> = {};
  for (const type of types) {
    const quoted = buildQuote(build, config, type);
    if (quoted) maxOf[type] = quoted.max.total;
  }
  return { maxOf, approved: build.CostMax, allowed: overrunAllowance(config, build.CostMax), overrunPercent: config.fallbackMaxOverrunPercent };
}

/** What did not work, or was not tried, before the machine that was launched. */
interface LaunchDetours {
  refusals: Refusal[];
  skips: Skip[];
  /** The root disk asked for instead of the template's (a self-test). */
  rootVolumeGb?: number;
}

const NO_DETOURS: LaunchDetours = { refusals: [], skips: [] };

async function launched(deps: EventDeps, build: Build, instance: LaunchedInstance, detours: LaunchDetours, log: Logger): Promise<void> {
  // The hash, not the token: build-phase checks each phase's token against it.
  const eventTokenHash = hashEventToken(eventTokenFor(eventTokenKeyOf(deps), build.BuildID));
  const disk = detours.rootVolumeGb !== undefined ? { rootVolumeGb: detours.rootVolumeGb } : {};
  const applied = await applyRow(deps, build, { type: 'launched', ...instance, limitHours: limitHoursOf(build, deps.config), eventTokenHash, ...disk }, log);
  if (applied.outcome === 'changed') {
    log.info('launched', { instanceId: instance.instanceId, instanceType: instance.instanceType, availabilityZone: instance.availabilityZone });
    // Before any Slack call: from here AWS keeps the deadline even if everything else fails.
    await keepDeadline(deps, applied.build, log);
    await tell(deps, applied.build, { sns: true }, log);
    if (detours.refusals.length > 0 || detours.skips.length > 0) await fallbackNote(deps, applied.build, instance, detours, log);
    // The hold was the costliest type's; this machine's maximum is what the month may now lose.
    // A failure throws: the redelivery finds the machine recorded and trims then.
    await trimHold(deps, applied.build, log);
    return;
  }
  const current = applied.outcome === 'missing' ? undefined : applied.build;
  if (current?.InstanceID === instance.instanceId) {
    // Another delivery of the same event recorded this same machine (same ClientToken).
    await keepDeadline(deps, current, log);
    await tell(deps, current, { sns: true }, log);
    return;
  }
  // The write lost: the build was cancelled (or deleted) while EC2 was starting the machine.
  // Nothing else would end it before the watchdog's orphan rule, so end it now.
  log.warn('the build changed while launching; terminating the machine just launched', {
    instanceId: instance.instanceId,
    status: current?.Status ?? 'missing',
  });
  await deps.compute.terminate([instance.instanceId]);
  if (!current) return;
  try {
    await deps.chat.post({
      channel: current.Channel,
      threadTs: current.ThreadTs,
      text: terminatedAtLaunchNote(current.Status, instance),
    });
  } catch (error) {
    // The machine is gone, which is what matters; a redelivery would find the build final and not reach here.
    log.error('could not tell the thread about the terminated machine', { instanceId: instance.instanceId, error });
  }
}

/** Which types and zones did not work before the one that did: the thread says what was used and why. */
async function fallbackNote(deps: EventDeps, build: Build, instance: LaunchedInstance, detours: LaunchDetours, log: Logger): Promise<void> {
  // Another type has other figures: the thread says what this machine may cost.
  const quoted = instance.instanceType !== requestedTypeOf(build, deps.config) ? buildQuote(build, deps.config, instance.instanceType) : undefined;
  const figures = quoted ? { expected: quoted.expected.total, max: quoted.max.total } : undefined;
  try {
    await deps.chat.post({
      channel: build.Channel,
      threadTs: build.ThreadTs,
      text: launchFallbackNote(instance, detours, figures),
    });
  } catch (error) {
    // Informational only: the launch message itself has been posted.
    log.warn('could not post the fallback note', { error });
  }
}

async function fail(deps: EventDeps, build: Build, message: string, log: Logger): Promise<void> {
  const { applied } = await applyStep(deps, build, { type: 'launch-failed', message }, { sns: true, refresh: false }, log);
  if (applied.outcome === 'changed') log.error('no machine could be launched', { reason: message });
}

/**
 * Extras are ended first: if a later step crashes, the redelivery finds only the adopted
 * machine. Its write is the one that follows a successful attempt (a cancel meanwhile ends it).
 */
async function adopt(deps: EventDeps, build: Build, found: Adoption, log: Logger): Promise<void> {
  const { instance, extras } = found;
  log.warn('found a live machine of this build from an earlier delivery; adopting it instead of launching', {
    instanceId: instance.instanceId,
    state: found.state,
    launchTime: instance.launchTime,
    extras,
  });
  if (extras.length > 0) {
    await deps.compute.terminate(extras);
    await extrasNote(deps, build, instance, extras, log);
  }
  await launched(deps, build, instance, NO_DETOURS, log);
}

async function extrasNote(deps: EventDeps, build: Build, kept: LaunchedInstance, extras: string[], log: Logger): Promise<void> {
  try {
    await deps.chat.post({
      channel: build.Channel,
      threadTs: build.ThreadTs,
      text: extraMachinesNote(kept.instanceId, extras),
    });
  } catch (error) {
    // The extras are gone, which is what matters; a redelivery no longer sees them, so cannot tell.
    log.warn('could not tell the thread about the extra machines', { extras, error });
  }
}
