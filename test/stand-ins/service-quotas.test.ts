import {
  AccessDeniedException,
  GetServiceQuotaCommand,
  NoSuchResourceException,
  ServiceException,
  ServiceQuotasClient,
  TooManyRequestsException,
} from '@aws-sdk/client-service-quotas';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startServiceQuotasStandIn, type ServiceQuotasStandIn } from '../../stand-ins/service-quotas';

// The Service Quotas stand-in driven by the real ServiceQuotasClient, so the awsJson1_1 wire
// format (target header, `__type` errors) is the SDK's own.

const credentials = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' };
const VCPU_QUOTA = { ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' };

const failure = async (promise: Promise<unknown>) => {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error & { $metadata: { httpStatusCode?: number } };
};

describe('Service Quotas stand-in', () => {
  let quotas: ServiceQuotasStandIn;
  let client: ServiceQuotasClient;

  beforeEach(async () => {
    quotas = await startServiceQuotasStandIn();
    client = new ServiceQuotasClient({ endpoint: quotas.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await quotas.close();
  });

  it('answers the running on-demand standard vCPU quota, 640 by default', async () => {
    const { Quota } = await client.send(new GetServiceQuotaCommand(VCPU_QUOTA));
    expect(Quota).toEqual({
      ServiceCode: 'ec2',
      ServiceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
      QuotaArn: 'arn:aws:servicequotas:us-east-1:123456789012:ec2/L-1216C47A',
      QuotaCode: 'L-1216C47A',
      QuotaName: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
      Value: 640,
      Unit: 'None',
      Adjustable: true,
      GlobalQuota: false,
    });
    expect(quotas.requests).toEqual([{ operation: 'GetServiceQuota', body: VCPU_QUOTA }]);
  });

  it('is reached through AWS_ENDPOINT_URL_SERVICE_QUOTAS by a client without an endpoint', async () => {
    process.env.AWS_ENDPOINT_URL_SERVICE_QUOTAS = quotas.endpoint;
    const fromEnv = new ServiceQuotasClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      expect((await fromEnv.send(new GetServiceQuotaCommand(VCPU_QUOTA))).Quota?.Value).toBe(640);
    } finally {
      fromEnv.destroy();
      delete process.env.AWS_ENDPOINT_URL_SERVICE_QUOTAS;
    }
  });

  it('setQuota changes the value answered; an unknown quota cannot be set', async () => {
    quotas.setQuota('ec2', 'L-1216C47A', 96);
    expect((await client.send(new GetServiceQuotaCommand(VCPU_QUOTA))).Quota?.Value).toBe(96);
    expect(() => quotas.setQuota('ec2', 'L-NOPE', 1)).toThrow(/L-NOPE/);
  });

  it('reset restores the quotas it started with and forgets requests and queued failures', async () => {
    quotas.setQuota('ec2', 'L-1216C47A', 96);
    quotas.failNext('AccessDeniedException', 400);
    await client.send(new GetServiceQuotaCommand(VCPU_QUOTA)).catch(() => undefined);
    quotas.failNext('AccessDeniedException', 400);
    quotas.reset();
    expect(quotas.requests).toEqual([]);
    expect((await client.send(new GetServiceQuotaCommand(VCPU_QUOTA))).Quota?.Value).toBe(640);
  });

  it('serves the quotas it was given instead of the default', async () => {
    await quotas.close();
    quotas = await startServiceQuotasStandIn({
      quotas: [
        {
          ServiceCode: 'ec2',
          ServiceName: 'EC2',
          QuotaArn: 'arn:aws:servicequotas:us-east-1:123456789012:ec2/L-34B43A08',
          QuotaCode: 'L-34B43A08',
          QuotaName: 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests',
          Value: 5,
          Unit: 'None',
          Adjustable: true,
          GlobalQuota: false,
        },
      ],
    });
    client.destroy();
    client = new ServiceQuotasClient({ endpoint: quotas.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    expect((await client.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-34B43A08' }))).Quota?.Value).toBe(5);
    expect(await failure(client.send(new GetServiceQuotaCommand(VCPU_QUOTA)))).toBeInstanceOf(NoSuchResourceException);
  });

  it('an unknown quota is NoSuchResourceException 400', async () => {
    const error = await failure(client.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-NOPE' })));
    expect(error).toBeInstanceOf(NoSuchResourceException);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toContain('L-NOPE');
  });

  it.each([
    ['AccessDeniedException', 400, AccessDeniedException],
    ['TooManyRequestsException', 400, TooManyRequestsException],
    ['ServiceException', 500, ServiceException],
  ] as const)('failNext answers the next call with %s %i, then serves again', async (type, status, ErrorClass) => {
    quotas.failNext(type, status);
    const error = await failure(client.send(new GetServiceQuotaCommand(VCPU_QUOTA)));
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error.$metadata.httpStatusCode).toBe(status);
    expect((await client.send(new GetServiceQuotaCommand(VCPU_QUOTA))).Quota?.Value).toBe(640);
  });

  it('a throttle is absorbed by the SDK retry of a default client', async () => {
    const retrying = new ServiceQuotasClient({ endpoint: quotas.endpoint, region: 'us-east-1', credentials });
    try {
      quotas.failNext('TooManyRequestsException', 400);
      expect((await retrying.send(new GetServiceQuotaCommand(VCPU_QUOTA))).Quota?.Value).toBe(640);
      expect(quotas.requests).toHaveLength(2);
    } finally {
      retrying.destroy();
    }
  });
});
