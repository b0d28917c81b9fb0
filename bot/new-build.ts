import { checkBranch, checkCommit } from '../domain/command';
import { choiceProblem } from '../domain/build-choice';
import { hourlyPrice } from '../domain/cost';
import { median, MIN_HISTORY } from '../domain/expected-duration';
import type { View } from '../domain/ports';
import type { NewBuildField } from '../views/new-build-modal';
import { newBuildModal } from '../views/new-build-modal';
import { noticeModal } from '../views/notice-modal';
import * as replies from '../views/replies';
import type { BotDeps } from './deps';
import type { DialogSubmission } from './interaction';
import { mayUseChannel } from './permissions';
import { openRequest, recentCompletions } from './request';

// The New build dialog (docs/design.md "The New build dialog"): opened by `/metal-build new` or
// Home's New build button, submitted into the same card as the command's. Its fields are checked
// by the command's own rules; a refusal is shown on its field, as Slack modals show them.

/** Open the dialog for a card in `channel`; a reply for the person when it could not be opened. */
export async function openNewBuild(deps: BotDeps, at: { user: string; channel: string; triggerId: string }): Promise<string | undefined> {
  const here = mayUseChannel(deps.config, at.user, at.channel, 'request');
  if (!here.ok) return here.reason;
  try {
    await deps.views.open(at.triggerId, await newBuildView(deps, at.channel));
    return undefined;
  } catch (error) {
    deps.log.error('could not open the New build dialog', { error, user: at.user });
    return replies.failed();
  }
}

/** The dialog with each type's price and, from enough recent builds, its median build time. */
export async function newBuildView(deps: BotDeps, channel: string): Promise<View> {
  const { config } = deps;
  const histories = await recentCompletions(deps, deps.log);
  const types = config.instanceTypes.map((type) => {
    const history = histories[type] ?? [];
    const hours = history.length >= MIN_HISTORY ? median(history.map((c) => c.seconds / 3600)) : undefined;
    const hourly = hourlyPrice(type, config.priceOverrides);
    return { type, ...(hourly !== undefined ? { hourly } : {}), ...(hours !== undefined ? { medianHours: hours } : {}) };
  });
  return newBuildModal({ channel, types, defaultType: config.instanceType, maxLifetimeHours: config.maxLifetimeHours });
}

/** What the submission's acknowledgement says: nothing (the dialog closes), errors on fields, or a new view. */
export type DialogAnswer = { response_action: 'errors'; errors: Partial<Record<NewBuildField, string>> } | { response_action: 'update'; view: View };

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Every field's problem by the command's rules; empty when the request may go on. */
export function dialogProblems(deps: BotDeps, s: DialogSubmission): Partial<Record<NewBuildField, string>> {
  const errors: Partial<Record<NewBuildField, string>> = {};
  const branch = s.branch === '' ? 'a branch is needed' : checkBranch(s.branch);
  if (branch) errors.branch = capitalize(branch);
  const commit = s.commit === '' ? undefined : checkCommit(s.commit);
  if (commit) errors.commit = capitalize(commit);
  if (s.type === undefined) errors.type = 'Choose a machine';
  else {
    const problem = choiceProblem(deps.config, { type: s.type });
    if (problem) errors.type = capitalize(problem);
  }
  const hours = s.hours === undefined ? Number.NaN : Number(s.hours);
  if (s.hours === undefined || !/^[0-9]+(\.[0-9]+)?$/.test(s.hours)) errors.hours = 'Choose a limit';
  else {
    const problem = choiceProblem(deps.config, { hours });
    if (problem) errors.hours = capitalize(problem);
  }
  return errors;
}

export async function submitNewBuild(deps: BotDeps, s: DialogSubmission): Promise<DialogAnswer> {
  const errors = dialogProblems(deps, s);
  if (Object.keys(errors).length > 0) {
    deps.log.info('New build dialog refused', { user: s.user, fields: Object.keys(errors) });
    return { response_action: 'errors', errors };
  }
  const { reply, buildId } = await openRequest(
    deps,
    {
      user: s.user,
      channel: s.channel,
      branch: s.branch,
      ...(s.commit ? { commit: s.commit.toLowerCase() } : {}),
      choice: { type: s.type!, hours: Number(s.hours) },
    },
    // One request per dialog: a second submission of the same view finds the first.
    { claimKey: `view:${s.viewId}` },
  );
  return { response_action: 'update', view: noticeModal(buildId ? 'Build requested' : 'Not requested', reply) };
}
