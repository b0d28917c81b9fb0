import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFunctionConfigurations, LambdaCallError, type FunctionConfigurations } from '../../adapters/aws/function-configuration';
import { startLambdaStandIn, type LambdaStandIn } from '../../stand-ins/lambda';

let standIn: LambdaStandIn;
let functions: FunctionConfigurations;

beforeEach(async () => {
  standIn = await startLambdaStandIn({ functions: { 'labapp-metal-build-bot': { A: '1' } } });
  functions = createFunctionConfigurations({
    region: 'us-east-1',
    endpoint: standIn.endpoint,
    credentials: () => Promise.resolve({ accessKeyId: 'k', secretAccessKey: 's' }),
  });
});
afterEach(() => standIn.close());

describe('Lambda stand-in', () => {
  it('answers the environment and replaces all of it on update, as Lambda does', async () => {
    const env = await functions.environment('labapp-metal-build-bot');
    expect(env.variables).toEqual({ A: '1' });
    await functions.setEnvironment('labapp-metal-build-bot', { ...env, variables: { B: '2' } });
    expect(standIn.environmentOf('labapp-metal-build-bot')).toEqual({ B: '2' });
  });

  it('refuses an update made on a stale revision (PreconditionFailedException, 412)', async () => {
    const env = await functions.environment('labapp-metal-build-bot');
    await functions.setEnvironment('labapp-metal-build-bot', env);
    await expect(functions.setEnvironment('labapp-metal-build-bot', env)).rejects.toMatchObject({ type: 'PreconditionFailedException', status: 412 });
  });

  it('answers ResourceNotFoundException (404) for an unknown function, and failNext for the next call', async () => {
    const missing = await functions.environment('nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LambdaCallError);
    expect(missing).toMatchObject({
      type: 'ResourceNotFoundException',
      status: 404,
      message: 'Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope',
    });
    standIn.failNext('ResourceConflictException', 409, 'An update is in progress');
    await expect(functions.environment('labapp-metal-build-bot')).rejects.toMatchObject({
      type: 'ResourceConflictException',
      message: 'An update is in progress',
    });
  });
});
