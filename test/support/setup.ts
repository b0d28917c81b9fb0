// The one shared setup file (vitest.config.ts `setupFiles`). Tests never reach the network:
// AWS clients get a region and dummy credentials, and each test points endpoints at its own
// loopback servers.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test-access-key';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret-key';
// Node 20 here, Lambda runs ≥ 22: the SDK's notice about 2027 would only bury test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
