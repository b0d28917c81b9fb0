// docs/design.md "Events": the sources and detail-types of the bus contract. Apart from the schemas
// (domain/events.ts) because the bot only puts events: building those schemas cost its cold start
// about 10 ms (`npm run bench`), for events it never parses.

export const BOT_SOURCE = 'labapp.metal-build';
export const RUNNER_SOURCE = 'labapp.metal-build.runner';
export const EC2_SOURCE = 'aws.ec2';

export const DETAIL_TYPES = {
  approved: 'Build Approved',
  cancelRequested: 'Build Cancel Requested',
  extended: 'Build Extended',
  phase: 'Build Phase',
  ec2State: 'EC2 Instance State-change Notification',
} as const;
