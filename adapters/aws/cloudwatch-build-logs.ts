import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetLogEventsCommand, ResourceNotFoundException } from '@aws-sdk/client-cloudwatch-logs';
import { logGroupName } from '../../domain/build-facts';
import type { BuildLogs, LogLine } from '../../domain/ports';

// The BuildLogs port over CloudWatch Logs: GetLogEvents backwards from the end of the stream the
// runner writes (packer/runner.sh `start_log_streaming`: the group `/labapp/metal-builds/<BuildID>`,
// the stream named after the machine's instance ID). The roles may read only those groups.

/** A page may hold fewer events than asked for (1 MB at most): a few pages back, then what there is. */
const MAX_PAGES = 4;

export class CloudWatchBuildLogs implements BuildLogs {
  constructor(private readonly client: CloudWatchLogsClient) {}

  async newest(buildId: string, instanceId: string, count: number): Promise<LogLine[]> {
    const lines: LogLine[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES && lines.length < count; page++) {
      let answer;
      try {
        answer = await this.client.send(
          new GetLogEventsCommand({
            logGroupName: logGroupName(buildId),
            logStreamName: instanceId,
            limit: count - lines.length,
            startFromHead: false,
            ...(token !== undefined && { nextToken: token }),
          }),
        );
      } catch (error) {
        // No group or stream yet: the machine has not started its log.
        if (error instanceof ResourceNotFoundException) return [];
        throw error;
      }
      // Each page is oldest first; pages come newest first.
      const events = (answer.events ?? []).map((e) => ({ at: new Date(e.timestamp ?? 0).toISOString(), message: (e.message ?? '').replace(/\r?\n$/, '') }));
      lines.unshift(...events);
      // The same token back: the start of the stream was reached.
      if (answer.nextBackwardToken === undefined || answer.nextBackwardToken === token) break;
      token = answer.nextBackwardToken;
    }
    return lines.slice(-count);
  }
}
