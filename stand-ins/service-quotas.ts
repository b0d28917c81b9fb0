import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, answerJson } from './wire';

// Service Quotas GetServiceQuota on loopback, speaking what @aws-sdk/client-service-quotas sends
// (awsJson1_1: POST /, `X-Amz-Target: ServiceQuotasV20190624.GetServiceQuota`, JSON body), so
// the real ServiceQuotasClient with `endpoint` (or AWS_ENDPOINT_URL_SERVICE_QUOTAS) set to it
// works unchanged. Signatures are not checked. It exists for the launch's check of the vCPU
// quota before RunInstances (docs/design.md "Names fixed for work in progress").

export interface Quota {
  ServiceCode: string;
  ServiceName: string;
  QuotaArn: string;
  QuotaCode: string;
  QuotaName: string;
  Value: number;
  Unit: string;
  Adjustable: boolean;
  GlobalQuota: boolean;
}

export interface ServiceQuotasRequest {
  /** The operation named by X-Amz-Target, without the service prefix. */
  operation: string;
  body: unknown;
}

export interface ServiceQuotasStandInOptions {
  /** Replaces the default quotas (ec2 L-1216C47A at 640 vCPUs). */
  quotas?: Quota[];
  region?: string;
  accountId?: string;
}

export interface ServiceQuotasStandIn {
  endpoint: string;
  requests: ServiceQuotasRequest[];
  /** Sets the applied value of a known quota; throws for a quota the stand-in does not hold. */
  setQuota(serviceCode: string, quotaCode: string, value: number): void;
  /** The next GetServiceQuota is answered with this error (queued: several calls queue several errors). */
  failNext(errorType: string, status: number, message?: string): void;
  /** Tests: the quotas it started with, no requests, no queued failures. */
  reset(): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'ServiceQuotasV20190624.';

/** The account's quota for running on-demand standard instances, counted in vCPUs. */
export const STANDARD_ON_DEMAND_VCPU_QUOTA = 'L-1216C47A';

function defaultQuotas(region: string, accountId: string): Quota[] {
  return [
    {
      ServiceCode: 'ec2',
      ServiceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
      QuotaArn: `arn:aws:servicequotas:${region}:${accountId}:ec2/${STANDARD_ON_DEMAND_VCPU_QUOTA}`,
      QuotaCode: STANDARD_ON_DEMAND_VCPU_QUOTA,
      QuotaName: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
      Value: 640,
      // AWS answers "None" for this quota although it counts vCPUs.
      Unit: 'None',
      Adjustable: true,
      GlobalQuota: false,
    },
  ];
}

// awsJson1_1 clients read the error code from `__type` first; AWS sends client errors as 400
// whatever HTTP status the model gives them.
function answerError(res: ServerResponse, status: number, type: string, message: string): void {
  answerJson(res, status, { __type: type, message });
}

const quotaKey = (serviceCode: string, quotaCode: string) => `${serviceCode}/${quotaCode}`;

export async function startServiceQuotasStandIn(options: ServiceQuotasStandInOptions = {}): Promise<ServiceQuotasStandIn> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const quotas = new Map<string, Quota>();
  const initial = options.quotas ?? defaultQuotas(region, accountId);
  const load = () => {
    quotas.clear();
    for (const quota of initial) quotas.set(quotaKey(quota.ServiceCode, quota.QuotaCode), { ...quota });
  };
  load();
  const requests: ServiceQuotasRequest[] = [];
  const failures: { type: string; status: number; message: string }[] = [];

  const server = createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
      const text = await readBody(req);
      let body: { ServiceCode?: unknown; QuotaCode?: unknown; ContextId?: unknown };
      try {
        body = text.length > 0 ? (JSON.parse(text) as typeof body) : {};
      } catch {
        requests.push({ operation, body: text });
        answerError(res, 400, 'SerializationException', 'body is not JSON');
        return;
      }
      requests.push({ operation, body });
      if (req.method !== 'POST' || operation !== 'GetServiceQuota') {
        answerError(res, 400, 'UnknownOperationException', `stand-in supports only GetServiceQuota, got ${target}`);
        return;
      }
      const failure = failures.shift();
      if (failure) {
        answerError(res, failure.status, failure.type, failure.message);
        return;
      }
      if (typeof body.ServiceCode !== 'string' || typeof body.QuotaCode !== 'string') {
        answerError(res, 400, 'IllegalArgumentException', 'ServiceCode and QuotaCode are required');
        return;
      }
      const quota = quotas.get(quotaKey(body.ServiceCode, body.QuotaCode));
      if (!quota) {
        answerError(
          res,
          400,
          'NoSuchResourceException',
          `The request failed because the specified service quota ${body.QuotaCode} of ${body.ServiceCode} does not exist.`,
        );
        return;
      }
      answerJson(res, 200, { Quota: quota });
    })().catch((error: unknown) => {
      if (!res.headersSent) answerError(res, 500, 'ServiceException', String(error));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    setQuota: (serviceCode, quotaCode, value) => {
      const quota = quotas.get(quotaKey(serviceCode, quotaCode));
      if (!quota) throw new Error(`the Service Quotas stand-in holds no quota ${quotaCode} of ${serviceCode}`);
      quota.Value = value;
    },
    failNext: (type, status, message = `stand-in failed GetServiceQuota (${type})`) => {
      failures.push({ type, status, message });
    },
    reset: () => {
      load();
      requests.length = 0;
      failures.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
