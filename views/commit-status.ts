import type { Build } from '../domain/build';
import type { CommitState } from '../domain/github';
import { statusDescription } from '../domain/github';

// The commit status's description on GitHub (docs/design.md "Builds requested by GitHub"): one
// line of at most 140 characters. The artifact's S3 URI and the logs stay in the Slack thread,
// which target_url links to. Plain text: GitHub shows it as is.

export function commitStatusText(build: Build, state: CommitState): string {
  const id = build.BuildID;
  switch (state) {
    case 'pending':
      return statusDescription(`${id}: approved, building on ${build.InstanceType ?? build.RequestedType ?? 'its machine'}`);
    case 'success':
      return statusDescription(`${id}: completed; the OVA is in the Slack thread`);
    case 'failure':
      return statusDescription(`${id}: failed${build.ErrorMessage ? `: ${build.ErrorMessage}` : ''}`);
    case 'error':
      return statusDescription(
        build.Status === 'cancelled'
          ? `${id}: cancelled`
          : `${id}: terminated${build.TerminationReason ? ` (${build.TerminationReason === 'forced' ? 'its time limit' : build.TerminationReason})` : ''}`,
      );
  }
}
