import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-cloudwatch-logs';
import { logGroupName } from '../domain/build-facts';
import type { SimulatedClock } from './clock';

// The simulated runner's CloudWatch log, written as packer/runner.sh's `start_log_streaming` does:
// the group `logGroupName(buildId)` (created by the runner; one that exists is fine), the stream
// named after the machine's instance ID, events stamped with the simulated time. So `logs` and
// Show log read real lines through the bot's CloudWatchBuildLogs.

export type RunnerLogWriter = (buildId: string, instanceId: string, lines: readonly string[]) => Promise<void>;

export function cloudWatchRunnerLog(client: CloudWatchLogsClient, clock: SimulatedClock): RunnerLogWriter {
  const started = new Set<string>();
  const start = async (group: string, stream: string) => {
    await client.send(new CreateLogGroupCommand({ logGroupName: group })).catch((error: unknown) => {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    });
    await client.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
  };
  return async (buildId, instanceId, lines) => {
    if (lines.length === 0) return;
    const group = logGroupName(buildId);
    const at = clock.now().getTime();
    try {
      if (!started.has(instanceId)) {
        await start(group, instanceId);
        started.add(instanceId);
      }
      await client.send(
        new PutLogEventsCommand({ logGroupName: group, logStreamName: instanceId, logEvents: lines.map((message) => ({ timestamp: at, message })) }),
      );
    } catch {
      // As runner.sh: a log that cannot be written never stops the build (the S3 copy remains).
    }
  };
}
