import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { logGroupName } from '../../domain/build-facts';
import type { LocalCloudWatchLogs } from '../../stand-ins/cloudwatch-logs';

// A build machine's log in the CloudWatch Logs stand-in, written as the runner writes it
// (packer/runner.sh: group /labapp/metal-builds/<BuildID>, stream = the instance ID), through the
// real client.

export function logsClient(logs: LocalCloudWatchLogs): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    region: 'us-east-1',
    endpoint: logs.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** Writes `messages` one event each, a second apart, the last at `lastAt`. */
export async function writeBuildLog(
  client: CloudWatchLogsClient,
  buildId: string,
  instanceId: string,
  messages: readonly string[],
  lastAt = new Date(),
): Promise<void> {
  const logGroup = logGroupName(buildId);
  await client.send(new CreateLogGroupCommand({ logGroupName: logGroup })).catch((e: unknown) => {
    if ((e as { name?: string }).name !== 'ResourceAlreadyExistsException') throw e;
  });
  await client.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: instanceId }));
  const first = lastAt.getTime() - (messages.length - 1) * 1000;
  // PutLogEvents takes at most 10,000 events a call.
  for (let i = 0; i < messages.length; i += 10_000)
    await client.send(
      new PutLogEventsCommand({
        logGroupName: logGroup,
        logStreamName: instanceId,
        logEvents: messages.slice(i, i + 10_000).map((message, j) => ({ timestamp: first + (i + j) * 1000, message })),
      }),
    );
}
