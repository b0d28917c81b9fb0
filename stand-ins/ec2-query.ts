import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

// EC2's wire format, the half that has nothing to do with machines: the AWS Query request
// (form fields with numbered list members) and EC2's XML answers and errors. The element names
// follow the SDK's own deserializer (@aws-sdk/client-ec2 schema: lowerCamel XML names, lists as
// `<item>` elements), so whatever this writes the real EC2Client parses into its output shapes.

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** A decoded request: flat form fields, `Filter.1.Value.2` style keys kept as they came. */
export type QueryParams = Record<string, string>;

export function decodeForm(body: string): QueryParams {
  const params: QueryParams = {};
  for (const [key, value] of new URLSearchParams(body)) params[key] = value;
  return params;
}

/**
 * The members of a numbered list, in index order: `member(params, 'Filter')` turns
 * `Filter.1.Name`, `Filter.1.Value.1` into `[{ Name, 'Value.1' }]`. EC2 numbers from 1 and
 * the SDK never leaves gaps, but sorting by the number keeps a hand-made request honest too.
 */
export function members(params: QueryParams, prefix: string): QueryParams[] {
  const byIndex = new Map<number, QueryParams>();
  const head = `${prefix}.`;
  for (const [key, value] of Object.entries(params)) {
    if (!key.startsWith(head)) continue;
    const rest = key.slice(head.length);
    const dot = rest.indexOf('.');
    const index = Number(dot < 0 ? rest : rest.slice(0, dot));
    if (!Number.isInteger(index)) continue;
    const member = byIndex.get(index) ?? {};
    member[dot < 0 ? '' : rest.slice(dot + 1)] = value;
    byIndex.set(index, member);
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, member]) => member);
}

/** A list of plain values: `InstanceId.1`, `InstanceId.2` → `['i-…', 'i-…']`. */
export function values(params: QueryParams, prefix: string): string[] {
  return members(params, prefix)
    .map((member) => member[''])
    .filter((value): value is string => value !== undefined);
}

export interface Filter {
  name: string;
  values: string[];
}

export function filters(params: QueryParams): Filter[] {
  return members(params, 'Filter').map((member) => ({ name: member.Name ?? '', values: values(member, 'Value') }));
}

/** Tags as a list of `Tag.N.Key`/`Tag.N.Value` members (CreateTags, TagSpecification.N). */
export function tags(params: QueryParams, prefix = 'Tag'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const member of members(params, prefix)) if (member.Key !== undefined) out[member.Key] = member.Value ?? '';
  return out;
}

/** A client error EC2 would answer; `status` 5xx for the codes EC2 lists as server errors. */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// ---- XML -----------------------------------------------------------------------------------

/** A value the writer knows: arrays become `<item>` lists, objects nested elements. */
export type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [name: string]: XmlValue };

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);
}

function write(value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => `<item>${write(item)}</item>`).join('');
  if (typeof value === 'object')
    return Object.entries(value)
      .filter(([, child]) => child !== undefined)
      .map(([name, child]) => `<${name}>${write(child)}</${name}>`)
      .join('');
  return escapeXml(String(value));
}

/** EC2 sends the request id in a header too; it is the one the SDK puts in `$metadata.requestId`. */
function send(res: ServerResponse, status: number, requestId: string, xml: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': Buffer.byteLength(xml),
    'x-amzn-requestid': requestId,
  });
  res.end(xml);
}

export function answerXml(res: ServerResponse, action: string, body: Record<string, XmlValue>): void {
  const requestId = randomUUID();
  send(
    res,
    200,
    requestId,
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">` +
      `<requestId>${requestId}</requestId>${write(body)}</${action}Response>`,
  );
}

/** EC2's error document differs from other Query services: `Response/Errors/Error`, `RequestID`. */
export function answerError(res: ServerResponse, error: Ec2Error): void {
  const requestId = randomUUID();
  send(
    res,
    error.status,
    requestId,
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>' +
      `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message>` +
      `</Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  );
}

// ---- paging --------------------------------------------------------------------------------

/**
 * One page of `all`. The page is min(MaxResults, pageSize), and pageSize applies even when the
 * caller sends no MaxResults (real EC2 would then answer everything at once): a caller that
 * reads only the first page loses machines in every test, not just in a large account.
 */
export function page<T>(params: QueryParams, action: string, all: readonly T[], pageSize: number): { items: T[]; nextToken: string | undefined } {
  const max = params.MaxResults === undefined ? pageSize : Number(params.MaxResults);
  if (!Number.isInteger(max) || max < 1) throw new Ec2Error('InvalidParameterValue', `Value (${params.MaxResults}) for parameter maxResults is invalid.`);
  const size = Math.min(max, pageSize);
  let start = 0;
  if (params.NextToken) {
    const decoded = Buffer.from(params.NextToken, 'base64url').toString('utf8');
    const [tokenAction, offset] = decoded.split(':');
    start = Number(offset);
    if (tokenAction !== action || !Number.isInteger(start) || start < 0)
      throw new Ec2Error('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
  }
  const end = start + size;
  return {
    items: all.slice(start, end),
    nextToken: end < all.length ? Buffer.from(`${action}:${end}`, 'utf8').toString('base64url') : undefined,
  };
}
