// Recordings in S3 (or an S3-compatible store): <prefix><sid>/session.json, chunks/<seq>, end.json.
// Every gateway of an HA pair writes its own sessions; any of them, and ctl, reads them all.
import type * as S3 from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type * as CredentialProviders from "@aws-sdk/credential-providers";
import { awsChainInit, awsRequestHandler, type Egress, processEgress } from "../lib/egress/index.ts";
import { bunS3Put, type Put, sdkTarget } from "./bun-s3.ts";
import { fetchRequestHandler } from "./fetch-handler.ts";
import {
  inWindow,
  type RecordingInfo,
  type RecordingStore,
  type SessionEnd,
  type SessionMeta,
  SID,
  sidFloor,
} from "./store.ts";

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix ("" or ending in "/"). */
  prefix: string;
  region?: string;
  /** An S3-compatible endpoint (http(s)://host:port); path-style addressing by default with one. */
  endpoint?: string;
  pathStyle?: boolean;
  /** Per attempt; a store that does not answer in time is a failed write (record_session decides). */
  requestTimeoutMs?: number;
  /**
   * Chunk uploads a session has in flight at once (default 4): one at a time could not keep up with a
   * fast session (~110 MB/s) against S3's per-request time; more adds memory (4 MiB a chunk).
   */
  uploads?: number;
  /** A client of your own (tests); otherwise one with the AWS SDK's default credential chain. */
  client?: S3Client;
  /** Which proxy (HTTPS_PROXY / NO_PROXY) the client goes through; default: the process's. */
  egress?: Egress;
}

/** s3://BUCKET/PREFIX?region=…&endpoint=…&path_style=… (config audit.sessions_uri) → options. */
export function s3Options(uri: string): S3StoreOptions {
  const u = new URL(uri);
  const path = decodeURIComponent(u.pathname).replace(/^\/+/, "");
  const endpoint = u.searchParams.get("endpoint") ?? undefined;
  const ps = u.searchParams.get("path_style");
  return {
    bucket: u.hostname,
    prefix: path === "" || path.endsWith("/") ? path : `${path}/`,
    ...(u.searchParams.get("region") ? { region: u.searchParams.get("region")! } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(ps !== null ? { pathStyle: ps === "true" } : {}),
  };
}

// The SDK is loaded when an S3 store is opened, not with this module: evaluating the S3 client
// took ~125 ms of every `kubeport start` (bench:gateway `cold`), for a store most never configure.
const sdk = () => require("@aws-sdk/client-s3") as typeof S3;
const credentialProviders = () => require("@aws-sdk/credential-providers") as typeof CredentialProviders;

const notFound = (err: unknown) =>
  (err instanceof Error && err instanceof sdk().NoSuchKey) ||
  (err as { name?: string })?.name === "NoSuchKey" ||
  (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

/** A store over one bucket and prefix, through the AWS SDK (credentials: its default chain). */
export function s3Store(opts: S3StoreOptions): RecordingStore {
  const { bucket, prefix, requestTimeoutMs = 10_000, uploads = 4 } = opts;
  const { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } = sdk();
  const { fromNodeProviderChain } = credentialProviders();
  const settings = {
    region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    forcePathStyle: opts.pathStyle ?? opts.endpoint !== undefined,
    maxAttempts: 3,
    // No CRC32 of every chunk unless S3 requires one (the SDK's default computes it in JS: CPU
    // taken from the relay the recording taps).
    requestChecksumCalculation: "WHEN_REQUIRED" as const,
    // The default credential chain, its own STS/SSO calls through the proxy as well.
    credentials: fromNodeProviderChain(awsChainInit(opts.egress)),
  };
  /** Chunks are signed without hashing them (see below). */
  const unsigned = (c: S3Client) => {
    // x-amz-content-sha256: UNSIGNED-PAYLOAD, which S3 accepts; TLS protects the bytes on the way:
    // SHA-256 of every recorded byte cost ~2.5 ms of CPU per MB on the event loop the relay runs on.
    c.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers) req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
        return next(args);
      },
      { step: "build", name: "kubeportUnsignedPayload" },
    );
    return c;
  };
  // Reads (play, ls) through the SDK's node:http handler with the egress agents; writes — every
  // chunk while a session runs — through fetch (fetch-handler.ts: a third of the CPU per MB).
  const client =
    opts.client ??
    unsigned(
      new S3Client({
        ...settings,
        requestHandler: awsRequestHandler(
          { requestTimeout: requestTimeoutMs, connectionTimeout: Math.min(3000, requestTimeoutMs) },
          opts.egress,
        ),
      }),
    );
  const writer =
    opts.client ??
    unsigned(
      new S3Client({
        ...settings,
        requestHandler: fetchRequestHandler({
          requestTimeoutMs,
          ...(opts.egress ? { egress: opts.egress } : {}),
        }),
      }),
    );
  const key = (sid: string, rest: string) => {
    if (!SID.test(sid)) throw new Error(`${JSON.stringify(sid)} is not a session id`);
    return `${prefix}${sid}/${rest}`;
  };
  const chunkKey = (sid: string, seq: number) => key(sid, `chunks/${String(seq).padStart(10, "0")}`);
  const sdkPut: Put = async (k, body, contentType) => {
    await writer.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: k,
        Body: typeof body === "string" ? body : Buffer.concat(body),
        ContentType: contentType,
      }),
    );
  };
  // Writes go through Bun's native S3 client (bun-s3.ts: half the CPU per MB of the SDK's) where the
  // SDK would send them straight to the store; through a proxy (Bun's client takes none) and with a
  // client of the caller's, through the SDK.
  let native: Promise<Put> | undefined;
  const nativePut = () =>
    (native ??= (async () => {
      if (opts.client || process.env.KUBEPORT_S3_WRITES === "sdk") return sdkPut;
      const target = await sdkTarget(settings, bucket);
      if (!target || (opts.egress ?? processEgress()).route(target.endpoint)) return sdkPut;
      return bunS3Put({
        bucket,
        region: settings.region,
        target,
        credentials: () => writer.config.credentials(),
        requestTimeoutMs,
      });
    })().catch((err) => {
      native = undefined;
      throw err;
    }));
  const put: Put = async (k, body, contentType) => (await nativePut())(k, body, contentType);
  const getBytes = async (k: string): Promise<Uint8Array | undefined> => {
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      return r.Body ? await r.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  };
  const getJson = async <T>(k: string): Promise<T | undefined> => {
    const b = await getBytes(k);
    if (!b) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(b)) as T;
    } catch {
      return undefined;
    }
  };
  /** Every key (or common prefix, with a delimiter) under `p`, after `startAfter`. */
  async function* keys(p: string, delimiter?: string, startAfter?: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const r = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: p,
          ...(delimiter ? { Delimiter: delimiter } : {}),
          ...(startAfter && !token ? { StartAfter: startAfter } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const c of delimiter
        ? (r.CommonPrefixes ?? []).map((x) => x.Prefix)
        : (r.Contents ?? []).map((x) => x.Key))
        if (c) yield c;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }
  const get = async (sid: string): Promise<RecordingInfo | undefined> => {
    if (!SID.test(sid)) return undefined;
    const [meta, end] = await Promise.all([
      getJson<SessionMeta>(key(sid, "session.json")),
      getJson<SessionEnd>(key(sid, "end.json")),
    ]);
    if (!meta) return undefined;
    return end ? { ...meta, end } : meta;
  };
  return {
    name: `s3 ${bucket}/${prefix}`,
    async create(meta) {
      await put(key(meta.sid, "session.json"), JSON.stringify(meta), "application/json");
      return {
        // Each chunk its own object: several may be in flight, landing in any order.
        uploads,
        async write(seq, chunk) {
          await put(chunkKey(meta.sid, seq), chunk, "application/octet-stream");
        },
        async finish(end) {
          await put(key(meta.sid, "end.json"), JSON.stringify(end), "application/json");
        },
        abort: async () => {},
      };
    },
    async list(q) {
      const sids: string[] = [];
      const startAfter = q?.since !== undefined ? `${prefix}${sidFloor(q.since)}` : undefined;
      for await (const p of keys(prefix, "/", startAfter)) {
        const sid = p.slice(prefix.length).replace(/\/$/, "");
        if (SID.test(sid)) sids.push(sid);
      }
      sids.sort();
      // A few at a time: each is two GETs.
      const out: RecordingInfo[] = [];
      for (let i = 0; i < sids.length; i += 8) {
        const infos = await Promise.all(sids.slice(i, i + 8).map(get));
        for (const info of infos) if (info && inWindow(info, q)) out.push(info);
      }
      return out;
    },
    get,
    async *chunks(sid) {
      // The end record first: when it is there, every chunk it counts was written before it.
      const end = await getJson<SessionEnd>(key(sid, "end.json"));
      const dir = key(sid, "chunks/");
      const seqs: number[] = [];
      for await (const k of keys(dir)) {
        const n = Number(k.slice(dir.length));
        if (Number.isSafeInteger(n) && n > 0) seqs.push(n);
      }
      seqs.sort((a, b) => a - b);
      // Uploads run a few at a time, so chunk n+1 may have landed when n has not (a gateway killed
      // then, or still writing it): play 1..n-1, never frames after a hole.
      let next = 1;
      for (const n of seqs) {
        if (n !== next) break;
        const b = await getBytes(chunkKey(sid, n));
        if (!b) break;
        yield b;
        next++;
      }
      if (end?.chunks !== undefined && next <= end.chunks)
        throw new Error(
          `recording ${sid} is missing chunk ${next} of ${end.chunks} in ${bucket}/${prefix}: played up to it`,
        );
    },
  };
}
