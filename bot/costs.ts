import type { BotDeps } from './deps';

// PLACEHOLDER (being written this session): `/metal-build costs [YYYY-MM]`.

export async function showCosts(_deps: BotDeps, month?: string): Promise<string> {
  return `Costs for ${month ?? 'this month'} are not available yet.`;
}
