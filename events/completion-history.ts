import type { Build } from '../domain/build';
import { isSelftest } from '../domain/build-kind';
import { completionOf } from '../domain/expected-duration';
import type { Logger } from '../domain/ports';
import type { EventDeps } from './deps';

// A build that completed adds its time to its instance type's history, from which the next
// request's expected duration is taken (docs/design.md "Cost model").

/**
 * The effect of the `completed` rows from building or uploading (domain/transition.ts `finished`):
 * a late finish (terminated → completed, lateFinish) takes the runner's `at` as CompletionTime,
 * the machine's word, and the history is the handlers' clock, so its row does not ask for this.
 *
 * A failure is logged, never thrown. Throwing would buy an EventBridge retry of the whole phase,
 * but that retry finds the build completed already (no transition, so no recording either), and
 * one missing sample barely moves a median of ten: not worth a second round of Slack and SNS.
 */
export async function recordCompletion(deps: Pick<EventDeps, 'durations' | 'config'>, after: Build, log: Logger): Promise<void> {
  // A self-test's minutes on a small machine say nothing about a build's (docs/design.md "Self-test").
  if (isSelftest(after)) {
    log.info('self-test completed; not added to the expected duration', { buildId: after.BuildID });
    return;
  }
  const completion = completionOf(after);
  const instanceType = after.InstanceType ?? deps.config.instanceType;
  if (!completion) {
    log.warn('completed build without a launch-to-completion time; not added to the expected duration', {
      buildId: after.BuildID,
      launchTime: after.LaunchTime,
      completionTime: after.CompletionTime,
    });
    return;
  }
  try {
    await deps.durations.record(instanceType, completion);
    log.info('build time added to the expected duration', { buildId: after.BuildID, instanceType, seconds: completion.seconds });
  } catch (error) {
    log.error('could not add the build time to the expected duration', { buildId: after.BuildID, instanceType, error });
  }
}
