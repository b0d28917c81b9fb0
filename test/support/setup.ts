import { afterEach } from 'vitest';
import { takeSlackWarnings, watchSlackWarnings } from '../../stand-ins/slack-api';

// The one shared setup file (vitest.config.ts `setupFiles`). Tests never reach the network:
// AWS clients get a region and dummy credentials, and each test points endpoints at its own
// loopback servers.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test-access-key';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret-key';
// Node 20 here, Lambda runs ≥ 22: the SDK's notice about 2027 would only bury test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A Slack answer with a warning (`message_truncated`: a text cut at 40,000 characters) is ok:true,
// so no handler notices it; every test fails instead, whichever stand-in answered it.
watchSlackWarnings();
afterEach(() => {
  const warnings = takeSlackWarnings();
  if (warnings.length > 0) throw new Error(`the Slack stand-in answered with warnings: ${warnings.join('; ')}`);
});
