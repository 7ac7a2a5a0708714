// The S3 store's PUTs through Bun's native S3 client (Bun.S3Client) instead of the AWS SDK: no SDK
// middleware per request, signing and the HTTP exchange in native code, and the payload not hashed
// (Bun signs with x-amz-content-sha256: UNSIGNED-PAYLOAD, as the SDK path does). What stays the
// SDK's: the credentials (its provider chain, memoized and refreshed before expiry) and where a
// request goes (the endpoint the SDK resolves from the same settings: endpoint=, region,
// AWS_ENDPOINT_URL_S3, path-style or virtual-hosted).

import type * as S3 from "@aws-sdk/client-s3";
import type { S3Client as SdkS3Client } from "@aws-sdk/client-s3";

/** Stores `body` (text, or bytes in parts) under `key`; rejects when the store failed. */
export type Put = (key: string, body: readonly Uint8Array[] | string, contentType: string) => Promise<void>;

/** Where Bun's client sends a bucket's requests: as the SDK would. */
export interface BunS3Target {
  endpoint: string;
  virtualHostedStyle: boolean;
}

const PROBE_KEY = "kubeport-endpoint-probe";

/**
 * Where the SDK client built from `settings` sends a PutObject of `bucket`: the request is built and
 * signed by the SDK and caught before it is sent. Undefined for a shape Bun's client cannot address
 * (an endpoint with a path of its own, an access point): those keep the SDK path.
 */
export async function sdkTarget(
  settings: ConstructorParameters<typeof SdkS3Client>[0],
  bucket: string,
): Promise<BunS3Target | undefined> {
  const { PutObjectCommand, S3Client } = require("@aws-sdk/client-s3") as typeof S3;
  let seen: { protocol: string; hostname: string; port?: number; path: string } | undefined;
  const probe = new S3Client({
    ...settings,
    maxAttempts: 1,
    requestHandler: {
      async handle(request: { protocol: string; hostname: string; port?: number; path: string }) {
        seen = request;
        // Nothing is sent: the answer PutObject would get.
        const { Readable } = await import("node:stream");
        return { response: { statusCode: 200, headers: {}, body: Readable.from([]) } };
      },
    } as never,
  });
  await probe.send(new PutObjectCommand({ Bucket: bucket, Key: PROBE_KEY, Body: "-" }));
  probe.destroy();
  if (!seen) return undefined;
  const origin = `${seen.protocol}//${seen.hostname}${seen.port ? `:${seen.port}` : ""}`;
  if (seen.path === `/${bucket}/${PROBE_KEY}`) return { endpoint: origin, virtualHostedStyle: false };
  if (seen.path === `/${PROBE_KEY}` && seen.hostname.startsWith(`${bucket}.`))
    return { endpoint: origin, virtualHostedStyle: true };
  return undefined;
}

/** What the SDK's credential provider gives (client.config.credentials()). */
interface Identity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * PUTs through Bun.S3Client. `credentials` is asked before every request: the SDK's memoized
 * provider answers from memory until the identity is within 5 minutes of expiring, then resolves it
 * again, and a new identity gets a new Bun client. A request that does not finish in
 * `requestTimeoutMs` is a failed write (Bun's write takes no signal: the request itself is left to
 * end on its own).
 */
export function bunS3Put({
  bucket,
  region,
  target,
  credentials,
  requestTimeoutMs,
}: {
  bucket: string;
  region: string;
  target: BunS3Target;
  credentials: () => Promise<Identity>;
  requestTimeoutMs: number;
}): Put {
  let client: { id: Identity; s3: Bun.S3Client } | undefined;
  const current = async () => {
    const id = await credentials();
    if (client?.id !== id)
      client = {
        id,
        s3: new Bun.S3Client({
          accessKeyId: id.accessKeyId,
          secretAccessKey: id.secretAccessKey,
          ...(id.sessionToken ? { sessionToken: id.sessionToken } : {}),
          region,
          bucket,
          endpoint: target.endpoint,
          virtualHostedStyle: target.virtualHostedStyle,
        }),
      };
    return client.s3;
  };
  return async (key, body, contentType) => {
    const s3 = await current();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        // A chunk's parts as one Blob: one copy into memory Bun's HTTP thread sends from (a joined
        // buffer would be copied again by write).
        s3.write(key, typeof body === "string" ? body : new Blob(body as Uint8Array<ArrayBuffer>[]), {
          type: contentType,
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`S3 PUT ${key}: no answer in ${requestTimeoutMs} ms`)),
            requestTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
}
