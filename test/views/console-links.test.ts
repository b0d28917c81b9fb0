import { describe, expect, it } from 'vitest';
import { consoleLink, instanceUrl, logGroupUrl, logStreamUrl, s3ObjectUrl, scheduleUrl } from '../../views/console-links';

// Region-aware console links (views/console-links.ts): what a phone's browser opens.

describe('console links', () => {
  it('point at the region’s console, each name encoded for its place', () => {
    expect(logGroupUrl('eu-west-1', 'build-20261125-170052-a1b2')).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Flabapp$252Fmetal-builds$252Fbuild-20261125-170052-a1b2',
    );
    expect(instanceUrl('us-east-1', 'i-0123456789abcdef0')).toBe(
      'https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0123456789abcdef0',
    );
    expect(s3ObjectUrl('us-east-1', 'hedgehog-lab-artifacts', 'builds/b/hedgehog lab.ova')).toBe(
      'https://us-east-1.console.aws.amazon.com/s3/object/hedgehog-lab-artifacts?region=us-east-1&prefix=builds%2Fb%2Fhedgehog%20lab.ova',
    );
  });

  it.each([
    ['us-east-1', 'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1'],
    ['eu-central-1', 'https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1'],
  ])('open one machine’s log stream in %s', (region, home) => {
    expect(logStreamUrl(region, 'build-20261125-170052-a1b2', 'i-0123456789abcdef0')).toBe(
      `${home}#logsV2:log-groups/log-group/$252Flabapp$252Fmetal-builds$252Fbuild-20261125-170052-a1b2/log-events/i-0123456789abcdef0`,
    );
  });

  it.each([
    ['us-east-1', 'https://us-east-1.console.aws.amazon.com/scheduler/home?region=us-east-1'],
    ['ap-southeast-2', 'https://ap-southeast-2.console.aws.amazon.com/scheduler/home?region=ap-southeast-2'],
  ])('open the build’s deadline schedule in %s', (region, home) => {
    expect(scheduleUrl(region, 'labapp-metal-builds', 'metal-build-build-20261125-170052-a1b2')).toBe(
      `${home}#schedules/labapp-metal-builds/metal-build-build-20261125-170052-a1b2`,
    );
  });

  it('are mrkdwn links that nothing in them can end early', () => {
    const link = consoleLink(s3ObjectUrl('us-east-1', 'b', 'k|x>y'));
    expect(link).toBe('<https://us-east-1.console.aws.amazon.com/s3/object/b?region=us-east-1&prefix=k%7Cx%3Ey|open in the AWS console>');
    expect(link.slice(1, -1)).not.toMatch(/[<>]/);
    expect(link.split('|')).toHaveLength(2);
  });
});
