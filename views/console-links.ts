import { logGroupName } from '../domain/build-facts';

// Links into the AWS console, region-aware, for every AWS thing a message names: a phone opens them
// in its browser (docs/design.md "Slack contract"). Only our own names go into them (the BuildID,
// the record's instance and the build's checked artifact key), each encoded for its place.

const consoleHome = (region: string, service: string) => `https://${region}.console.aws.amazon.com/${service}/home?region=${encodeURIComponent(region)}`;

/** The CloudWatch console escapes a log group's `%` once more, as `$25`. */
const cloudWatchEscape = (text: string) => encodeURIComponent(encodeURIComponent(text)).replace(/%/g, '$');

export function logGroupUrl(region: string, buildId: string): string {
  return `${consoleHome(region, 'cloudwatch')}#logsV2:log-groups/log-group/${cloudWatchEscape(logGroupName(buildId))}`;
}

/** The log of one machine: the stream the runner names after its instance ID, in the build's group. */
export function logStreamUrl(region: string, buildId: string, instanceId: string): string {
  return `${logGroupUrl(region, buildId)}/log-events/${cloudWatchEscape(instanceId)}`;
}

export function instanceUrl(region: string, instanceId: string): string {
  return `${consoleHome(region, 'ec2')}#InstanceDetails:instanceId=${encodeURIComponent(instanceId)}`;
}

export function s3ObjectUrl(region: string, bucket: string, key: string): string {
  return `https://${region}.console.aws.amazon.com/s3/object/${encodeURIComponent(bucket)}?region=${encodeURIComponent(region)}&prefix=${encodeURIComponent(key)}`;
}

/** A build's deadline schedule (`group`/`name`) in the EventBridge Scheduler console. */
export function scheduleUrl(region: string, group: string, name: string): string {
  return `${consoleHome(region, 'scheduler')}#schedules/${encodeURIComponent(group)}/${encodeURIComponent(name)}`;
}

/** A mrkdwn link; the URLs above carry no `|` or `>`, so nothing in them can end it early. */
export const consoleLink = (url: string, label = 'open in the AWS console') => `<${url}|${label}>`;
