import type { Config } from '../domain/config';
import { DEFAULT_HOURLY_PRICES } from '../domain/cost';

// docs/design.md "Cost model": the built-in prices are us-east-1's list prices. Another region's
// differ (eu-west-1's c5n.metal is about 10 % dearer), and a card quoting the wrong region's price
// is wrong about the money it asks an approver to spend, so elsewhere every type must be priced
// by the operator. The bot reads no live prices: the Price List API answers only from us-east-1
// and ap-south-1, and a quote must not depend on a call that can fail.

export const BUILT_IN_PRICE_REGION = 'us-east-1';

/** How to look a region's prices up, for the message that asks for them. */
export function priceLookupHint(region: string, types: readonly string[]): string {
  const filters = types.map((t) => `Type=TERM_MATCH,Field=instanceType,Value=${t}`).join(' ');
  return (
    `look them up on https://aws.amazon.com/ec2/pricing/on-demand/ (region ${region}, Linux), or with ` +
    `\`aws pricing get-products --region us-east-1 --service-code AmazonEC2 --filters Type=TERM_MATCH,Field=regionCode,Value=${region} ` +
    `Type=TERM_MATCH,Field=operatingSystem,Value=Linux Type=TERM_MATCH,Field=tenancy,Value=Shared Type=TERM_MATCH,Field=preInstalledSw,Value=NA ` +
    `Type=TERM_MATCH,Field=capacitystatus,Value=Used ${filters}\` (the Price List API answers only in us-east-1 and ap-south-1; this bot reads no live prices)`
  );
}

/** The types a build may run on whose price for `region` is unknown. */
function unpricedIn(region: string, config: Pick<Config, 'instanceTypes' | 'priceOverrides'>): string[] {
  return config.instanceTypes.filter(
    (type) => config.priceOverrides[type] === undefined && (region !== BUILT_IN_PRICE_REGION || DEFAULT_HOURLY_PRICES[type] === undefined),
  );
}

/** Why the prices do not fit the region, as settings problems (none when they do, or the region is unknown). */
export function regionPriceProblem(region: string | undefined, config: Pick<Config, 'instanceTypes' | 'priceOverrides'>): string[] {
  if (region === undefined || region === BUILT_IN_PRICE_REGION) return [];
  const missing = unpricedIn(region, config);
  if (missing.length === 0) return [];
  return [
    `\`priceOverrides\`: the stack deploys to ${region}, and the built-in prices are ${BUILT_IN_PRICE_REGION}'s; give ${region}'s price of every type a build may use (missing: ${missing.join(', ')}), such as {${missing.map((t) => `"${t}": <USD per hour>`).join(', ')}}; ${priceLookupHint(region, missing)}`,
  ];
}

/** Where the deployed bot's prices come from, in one line for the policy synth prints. */
export function priceSource(region: string | undefined, config: Pick<Config, 'instanceTypes' | 'priceOverrides'>): string {
  const overridden = config.instanceTypes.filter((type) => config.priceOverrides[type] !== undefined);
  if (region !== undefined && region !== BUILT_IN_PRICE_REGION) return `prices from \`priceOverrides\` (${overridden.join(', ')})`;
  const builtIn = `the built-in ${BUILT_IN_PRICE_REGION} table`;
  const where = overridden.length === 0 ? `prices from ${builtIn}` : `prices from ${builtIn}, \`priceOverrides\` for ${overridden.join(', ')}`;
  // The deploy knows its region (CDK_DEFAULT_REGION) and checks it then.
  return region === undefined ? `${where}; a deploy to another region is refused unless \`priceOverrides\` prices every type` : where;
}
