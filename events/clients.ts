import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';

// One client of each per container, created on first use (importing reads no environment).
// No endpoint is set here: the SDK reads AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_SNS itself, so
// local servers work without code for them (AWS_ENDPOINT_URL_SERVICE_QUOTAS and
// AWS_ENDPOINT_URL_SCHEDULER and AWS_ENDPOINT_URL_S3 likewise).

let ec2: EC2Client | undefined;
let sns: SNSClient | undefined;
let quotas: ServiceQuotasClient | undefined;
let scheduler: SchedulerClient | undefined;
let s3: S3Client | undefined;

export function getEc2Client(): EC2Client {
  // Events functions may wait: the SDK's standard retries (throttling, 5xx) stay on.
  ec2 ??= new EC2Client({});
  return ec2;
}

export function getSnsClient(): SNSClient {
  sns ??= new SNSClient({});
  return sns;
}

export function getServiceQuotasClient(): ServiceQuotasClient {
  // The launch goes on without the quota check when this fails: one attempt, no long waits.
  quotas ??= new ServiceQuotasClient({ maxAttempts: 1 });
  return quotas;
}

export function getSchedulerClient(): SchedulerClient {
  // A failed call throws and EventBridge retries the event; the watchdog repairs the rest.
  scheduler ??= new SchedulerClient({});
  return scheduler;
}

export function getS3Client(): S3Client {
  // The release function's copies: a failure throws and EventBridge delivers the event again.
  s3 ??= new S3Client({});
  return s3;
}
