import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudWatchLogsStandIn, type LocalCloudWatchLogs } from '../../../stand-ins/cloudwatch-logs';
import { logsClient, writeBuildLog } from '../../support/build-log';
import { freshContainer } from '../../support/fresh-container';

// The BuildLogs adapter over the real CloudWatchLogsClient, as production builds it: the memoised
// client (adapters/aws/clients.ts) with no endpoint in code, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS
// pointing it at the stand-in.

const BUILD_ID = 'build-20261125-170052-a1b2';
const INSTANCE_ID = 'i-0123456789abcdef0';

describe('CloudWatchBuildLogs', () => {
  let logs: LocalCloudWatchLogs;
  const saved = process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS;
  let load: () => Promise<{ newest: (b: string, i: string, n: number) => Promise<Array<{ at: string; message: string }>>; destroy: () => void }>;

  beforeAll(async () => {
    logs = await startCloudWatchLogsStandIn();
    process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS = logs.endpoint;
    load = async () => {
      const [{ getCloudWatchLogsClient }, { CloudWatchBuildLogs }] = await freshContainer(() =>
        Promise.all([import('../../../adapters/aws/clients'), import('../../../adapters/aws/cloudwatch-build-logs')]),
      );
      const client = getCloudWatchLogsClient('request');
      expect(getCloudWatchLogsClient('request')).toBe(client);
      const adapter = new CloudWatchBuildLogs(client);
      return { newest: (b, i, n) => adapter.newest(b, i, n), destroy: () => client.destroy() };
    };
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS;
    else process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS = saved;
    await logs.close();
  });

  it('reads the newest lines of the stream the runner writes, oldest first; [] when there is no group or stream yet', async () => {
    const adapter = await load();
    expect(await adapter.newest(BUILD_ID, INSTANCE_ID, 40)).toEqual([]);
    const client = logsClient(logs);
    await writeBuildLog(client, BUILD_ID, INSTANCE_ID, ['one', 'two\n', 'three'], new Date('2026-11-25T14:05:30Z'));
    expect(await adapter.newest(BUILD_ID, 'i-00000000000000000', 40)).toEqual([]);
    expect(await adapter.newest(BUILD_ID, INSTANCE_ID, 2)).toEqual([
      { at: '2026-11-25T14:05:29.000Z', message: 'two' },
      { at: '2026-11-25T14:05:30.000Z', message: 'three' },
    ]);
    expect((await adapter.newest(BUILD_ID, INSTANCE_ID, 40)).map((l) => l.message)).toEqual(['one', 'two', 'three']);
    client.destroy();
    adapter.destroy();
  });

  it('throws any other failure', async () => {
    const adapter = await load();
    for (let i = 0; i < 2; i++) logs.failNext('AccessDeniedException', 400, 'not authorized to perform: logs:GetLogEvents');
    await expect(adapter.newest(BUILD_ID, INSTANCE_ID, 5)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    adapter.destroy();
  });
});
