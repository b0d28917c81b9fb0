import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './wire';

// SNS Publish on loopback, speaking what @aws-sdk/client-sns sends (awsQuery: POST / with a form
// body `Action=Publish&Version=2010-03-31&…`, XML answers), so the real SNSClient with `endpoint`
// (or AWS_ENDPOINT_URL_SNS) set to it works unchanged. Signatures are not checked. Only the
// topics given at start exist, so a wrong SNS_TOPIC_ARN fails here as it would on AWS.

export interface PublishedAttribute {
  dataType: string;
  /** StringValue, or BinaryValue as the base64 text the SDK sent. */
  value: string;
}

export interface Published {
  topicArn: string;
  subject?: string;
  message: string;
  attributes: Record<string, PublishedAttribute>;
  /** The MessageId answered to the caller. */
  messageId: string;
}

export interface SnsStandInOptions {
  /** Topic ARNs that exist; publishing to any other answers NotFound (404). */
  topics: string[];
}

export interface LocalSns {
  endpoint: string;
  /** Accepted publishes, in order; `clear()` empties them. */
  published: Published[];
  /**
   * The next Publish is refused with this Query error code and HTTP status (e.g. `Throttling`, 400
   * or `InternalError`, 500), not recorded. Calls queue: two calls refuse the next two publishes.
   */
  failNext(code: string, status: number, message?: string): void;
  /** Empties `published` and the queued failures; the topics stay. */
  clear(): void;
  close(): Promise<void>;
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
// SNS's own limits: Subject up to 100 printable ASCII characters, Message up to 256 KiB.
const SUBJECT_MAX = 100;
const MESSAGE_MAX_BYTES = 256 * 1024;

class QueryError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function answerXml(res: ServerResponse, status: number, requestId: string, xml: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amzn-requestid': requestId,
  });
  res.end(xml);
}

function answerError(res: ServerResponse, requestId: string, error: QueryError): void {
  // Sender for the caller's faults, Receiver for the service's, as SNS marks them.
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  answerXml(
    res,
    error.status,
    requestId,
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue|BinaryValue`, as the SDK flattens the map. */
function readAttributes(form: URLSearchParams): Record<string, PublishedAttribute> {
  const attributes: Record<string, PublishedAttribute> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const prefix = `MessageAttributes.entry.${n}`;
    const name = form.get(`${prefix}.Name`) ?? '';
    const dataType = form.get(`${prefix}.Value.DataType`);
    const value = form.get(`${prefix}.Value.StringValue`) ?? form.get(`${prefix}.Value.BinaryValue`);
    if (!dataType) throw new QueryError('ParameterValueInvalid', 400, `The message attribute '${name}' must contain non-empty message attribute type.`);
    if (value === null) throw new QueryError('ParameterValueInvalid', 400, `The message attribute '${name}' must contain non-empty message attribute value.`);
    attributes[name] = { dataType, value };
  }
  return attributes;
}

function readPublish(form: URLSearchParams, topics: ReadonlySet<string>): Omit<Published, 'messageId'> {
  const topicArn = form.get('TopicArn') ?? form.get('TargetArn');
  if (!topicArn) throw new QueryError('InvalidParameter', 400, 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
  const message = form.get('Message') ?? '';
  if (message === '') throw new QueryError('InvalidParameter', 400, 'Invalid parameter: Empty message');
  if (Buffer.byteLength(message) > MESSAGE_MAX_BYTES) throw new QueryError('InvalidParameter', 400, 'Invalid parameter: Message too long');
  const subject = form.get('Subject') ?? undefined;
  if (subject !== undefined && (subject.length > SUBJECT_MAX || !/^[\x20-\x7e]*$/.test(subject)))
    throw new QueryError('InvalidParameter', 400, 'Invalid parameter: Subject');
  const attributes = readAttributes(form);
  if (!topics.has(topicArn)) throw new QueryError('NotFound', 404, 'Topic does not exist');
  return { topicArn, ...(subject !== undefined ? { subject } : {}), message, attributes };
}

export async function startSnsStandIn(options: SnsStandInOptions): Promise<LocalSns> {
  const topics = new Set(options.topics);
  const published: Published[] = [];
  const failures: QueryError[] = [];

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    void (async () => {
      const form = new URLSearchParams(await readBody(req));
      const action = form.get('Action');
      if (req.method !== 'POST' || action !== 'Publish')
        throw new QueryError('InvalidAction', 400, `The action ${String(action)} is not valid for this web service (the stand-in supports only Publish).`);
      const failure = failures.shift();
      if (failure) throw failure;
      const entry: Published = { ...readPublish(form, topics), messageId: randomUUID() };
      published.push(entry);
      answerXml(
        res,
        200,
        requestId,
        `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${entry.messageId}</MessageId></PublishResult>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    })().catch((error: unknown) => {
      if (res.headersSent) return;
      answerError(res, requestId, error instanceof QueryError ? error : new QueryError('InternalError', 500, String(error)));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    published,
    failNext: (code, status, message = `stand-in refused the request (${code})`) => {
      failures.push(new QueryError(code, status, message));
    },
    clear: () => {
      published.length = 0;
      failures.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
