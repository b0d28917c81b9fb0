import type { BotDeps } from './deps';

// PLACEHOLDER (being written this session): `/metal-build rebuild <build-id>` and the Rebuild button.

export interface RebuildRequest {
  user: string;
  channel: string;
  triggerId: string;
  buildId: string;
}

export async function rebuildBuild(_deps: BotDeps, request: RebuildRequest): Promise<string> {
  return `Rebuilding ${request.buildId} is not available yet.`;
}
