// A secret read once per container: the first read's promise is kept and shared, for the ARN it
// was read from. A failed read is not kept, so the next invocation (or EventBridge's retry)
// reads again instead of failing until the container is recycled.

export interface SecretCache<T> {
  get(arn: string, read: (arn: string) => Promise<T>): Promise<T>;
}

export function secretCache<T>(): SecretCache<T> {
  let cached: { arn: string; value: Promise<T> } | undefined;
  return {
    get(arn, read) {
      if (cached?.arn !== arn) {
        const value = read(arn);
        cached = { arn, value };
        value.catch(() => {
          if (cached?.value === value) cached = undefined;
        });
      }
      return cached.value;
    },
  };
}
