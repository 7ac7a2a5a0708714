// Plain HTTP forwarding: request and response bodies stream through unbuffered (watches, logs -f,
// large lists); a client disconnect aborts the upstream request at once via the request's signal.
import https from "node:https";
import { Readable } from "node:stream";
import { type Egress, egressAgentPair, explainProxied, processEgress } from "../../lib/egress/index.ts";
import { UpstreamError } from "../status.ts";
import { type HeaderRecord, stripResponseHeaders } from "./headers.ts";

interface ForwardHttpBase {
  /** The client's request (its body and abort signal are used). */
  request: Request;
  /** Absolute upstream URL, path and query included. */
  url: string;
  /** The request's own headers (the client's kept ones, X-Forwarded-*). */
  headers: HeaderRecord;
  tls: { ca?: string };
  /** Called once when the response body ends, errors or is cancelled. */
  onDone?: (result: { status: number; bytesOut: number }) => void;
  /** Which proxy (HTTPS_PROXY / NO_PROXY) the request goes through; default: the process's. */
  egress?: Egress;
}

/** How the identity's credential and impersonation headers go with `headers`. */
type IdentityHeaders =
  /**
   * At most one Impersonate-Group: the identity's prebuilt headers (forward/headers.ts
   * fixedHeaders: credential, impersonation, the one group), sent through Bun's fetch.
   */
  | { fixed: Headers; groups?: never }
  /**
   * More than one group, each sent as its own Impersonate-Group line (node:https); the credential and
   * the rest of the impersonation are already in `headers` (applyImpersonation).
   */
  | { fixed?: never; groups: readonly string[] };

export type ForwardHttpOptions = ForwardHttpBase & IdentityHeaders;

const NO_BODY = new Set(["GET", "HEAD", "OPTIONS"]);

/** Forwards one request and returns the upstream response with its body still streaming. */
export async function forwardHttp({
  request,
  url,
  headers,
  fixed,
  groups,
  tls,
  onDone,
  egress = processEgress(),
}: ForwardHttpOptions): Promise<Response> {
  const method = request.method.toUpperCase();
  const proxy = egress.route(url);
  let upstream: Response;
  try {
    if (groups) upstream = await nodeFetch({ request, url, headers, groups, tls, egress });
    else {
      const sent = new Headers(fixed);
      for (const k in headers) sent.set(k, headers[k]!);
      upstream = await fetch(url, {
        method,
        headers: sent,
        body: NO_BODY.has(method) ? undefined : request.body,
        // @ts-expect-error — `duplex` is required by the fetch spec for stream bodies; Bun's types omit it.
        duplex: "half",
        signal: request.signal,
        redirect: "manual",
        decompress: false,
        tls,
        // The decision made here (NO_PROXY applied), not Bun's own reading of the environment.
        proxy: proxy ? { url: proxy.url.href, respectNoProxy: false } : false,
      });
    }
  } catch (err) {
    if (request.signal.aborted) throw new UpstreamError("client went away", err);
    const why = proxy ? explainProxied(err, proxy, url) : (err as Error);
    throw new UpstreamError(`upstream request failed: ${why.message}`, why);
  }
  const status = upstream.status;
  const h = upstream.headers;
  const length = h.get("content-length");
  const sized = length !== null && !h.has("transfer-encoding");
  stripResponseHeaders(h);
  if (!upstream.body) {
    onDone?.({ status, bytesOut: 0 });
    return upstream;
  }
  if (sized) {
    // A sized body (most gets and lists): the upstream Response as it is, Bun's fastest path.
    onDone?.({ status, bytesOut: Number(length) });
    return upstream;
  }
  // Streams (watch, logs -f, chunked lists): count bytes as they pass, report when they end.
  h.delete("content-length");
  return new Response(
    countBytes(upstream.body, (bytesOut) => onDone?.({ status, bytesOut })),
    { status, headers: h },
  );
}

/** Passes chunks through untouched, reporting the byte total once at the end (or on cancel/error). */
export function countBytes(
  body: ReadableStream<Uint8Array>,
  done: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  let bytes = 0;
  let reported = false;
  const report = () => {
    if (!reported) {
      reported = true;
      done(bytes);
    }
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: end, value } = await reader.read();
          if (end) {
            report();
            controller.close();
            return;
          }
          bytes += value.byteLength;
          controller.enqueue(value);
        } catch (err) {
          report();
          controller.error(err);
        }
      },
      cancel(reason) {
        report();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The same request through node:https, which (unlike Bun's fetch) sends an array-valued header as
 * separate lines: used when more than one Impersonate-Group must reach the API server.
 */
function nodeFetch({
  request,
  url,
  headers,
  groups,
  tls,
  egress,
}: Required<Omit<ForwardHttpBase, "onDone">> & { groups: readonly string[] }): Promise<Response> {
  const proxied = egress.https !== undefined || egress.http !== undefined;
  return new Promise((resolve, reject) => {
    const out: Record<string, string | string[]> = { "impersonate-group": [...groups] };
    for (const k in headers) out[k] = headers[k]!;
    const req = https.request(
      url,
      {
        method: request.method,
        headers: out,
        ca: tls.ca,
        signal: request.signal,
        // With a proxy configured, connections are made (and NO_PROXY applied) by the egress agent.
        ...(proxied ? { agent: egressAgentPair(egress).httpsAgent } : {}),
      },
      (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) h.append(k, one);
        }
        const status = res.statusCode ?? 502;
        const body =
          status === 204 || status === 304 || request.method === "HEAD"
            ? null
            : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status, headers: h }));
      },
    );
    req.on("error", reject);
    if (request.body && !NO_BODY.has(request.method.toUpperCase()))
      Readable.fromWeb(request.body as never).pipe(req);
    else req.end();
  });
}
