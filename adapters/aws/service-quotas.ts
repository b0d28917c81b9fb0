import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import type { Quotas } from '../../domain/ports';
import { ON_DEMAND_STANDARD_QUOTA } from '../../domain/launch-capacity';

// The Quotas port over Service Quotas. Not cached: an operator who raised the quota expects the
// next request to see it, and one call per launch is nothing beside a metal hour.

export class ServiceQuotasLimits implements Quotas {
  constructor(private readonly client: ServiceQuotasClient) {}

  async onDemandStandardVcpus(): Promise<number> {
    const out = await this.client.send(
      new GetServiceQuotaCommand({ ServiceCode: ON_DEMAND_STANDARD_QUOTA.serviceCode, QuotaCode: ON_DEMAND_STANDARD_QUOTA.quotaCode }),
    );
    const value = out.Quota?.Value;
    if (value === undefined) throw new Error(`Service Quotas answered ${ON_DEMAND_STANDARD_QUOTA.quotaCode} without a value`);
    return value;
  }
}
