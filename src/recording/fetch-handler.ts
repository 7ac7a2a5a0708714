// The S3 store's uploads over Bun's fetch (through lib/egress, so HTTPS_PROXY / NO_PROXY apply as
// everywhere) instead of the AWS SDK's NodeHttpHandler over node:http: a 4 MiB chunk cost the
// relay's thread ~2–2.6 ms of CPU per MB through node:http against ~0.6–0.8 through fetch (same
// dummy endpoint, same process). Reads keep the SDK's own handler.
import { Readable } from "node:stream";
import { type Egress, egressFetch, processEgress } from "../lib/egress/index.ts";

/** The part of the SDK's HttpRequest a handler reads (@smithy/protocol-http). */
interface SdkHttpRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null | undefined>;
  headers: Record<string, string>;
  body?: unknown;
}

/** RFC 3986 escaping, as the SDK's own handlers build query strings. */
const escapeRfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function urlOf(r: SdkHttpRequest): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(r.query ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (v === undefined) continue;
    if (v === null) parts.push(escapeRfc3986(k));
    else
      for (const one of Array.isArray(v) ? v : [v]) parts.push(`${escapeRfc3986(k)}=${escapeRfc3986(one)}`);
  }
  const port = r.port ? `:${r.port}` : "";
  return `${r.protocol}//${r.hostname}${port}${r.path}${parts.length ? `?${parts.join("&")}` : ""}`;
}

/**
 * An SDK `requestHandler` sending each request with `egressFetch`. Bodies must be bytes or text
 * (the store's puts are); `Expect: 100-continue`, which the SDK adds to big puts, is left out (fetch
 * sends the body at once, which HTTP allows).
 */
export function fetchRequestHandler({
  requestTimeoutMs,
  egress = processEgress(),
}: {
  requestTimeoutMs: number;
  egress?: Egress;
}) {
  return {
    metadata: { handlerProtocol: "http/1.1" },
    async handle(request: SdkHttpRequest) {
      const body = request.body;
      if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array))
        throw new Error("fetchRequestHandler: the request body must be bytes or text");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) {
        const name = k.toLowerCase();
        if (name !== "host" && name !== "expect") headers[k] = v;
      }
      const res = await egressFetch(
        urlOf(request),
        {
          method: request.method,
          headers,
          ...(body !== undefined && body !== null ? { body: body as BodyInit } : {}),
          signal: AbortSignal.timeout(requestTimeoutMs),
          decompress: false,
        },
        egress,
      );
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        out[k] = v;
      });
      return {
        response: {
          statusCode: res.status,
          reason: res.statusText,
          headers: out,
          body: res.body ? Readable.fromWeb(res.body as never) : Readable.from([]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
}
