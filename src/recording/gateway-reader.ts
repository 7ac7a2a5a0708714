// Recordings read through a gateway's recordings API with a user's token (`kubeport play` without
// the server's config): the same reading interface as the stores; the gateway decides what is visible.
import { egressFetch } from "../lib/egress/index.ts";
import { KubeportError, notFound, unauthenticated, unavailable } from "../lib/errors.ts";
import { encodeFrame, readFrames, WIRE_ERROR } from "./frames.ts";
import type { RecordingInfo, RecordingQuery, RecordingStore } from "./store.ts";

export interface GatewayReaderOptions {
  /** https://gateway:3080 */
  url: string;
  token: string;
  /** The gateway's CA (PEM), when it is not one the system trusts. */
  ca?: string;
}

/** A read-only store over the gateway's /v1/recordings; `create` refuses. */
export function gatewayReader({ url, token, ca }: GatewayReaderOptions): RecordingStore {
  const base = url.replace(/\/+$/, "");
  const call = async (path: string): Promise<Response> => {
    let res: Response;
    try {
      res = await egressFetch(`${base}${path}`, {
        headers: { authorization: `Bearer ${token}` },
        ...(ca ? { tls: { ca } } : {}),
      } as RequestInit);
    } catch (err) {
      throw unavailable(`gateway not reachable at ${base}: ${(err as Error).message}`, err);
    }
    if (res.ok) return res;
    const message =
      ((await res.json().catch(() => ({}))) as { message?: string }).message ?? `HTTP ${res.status}`;
    if (res.status === 404) throw notFound(message);
    if (res.status === 401) throw unauthenticated(message);
    throw new KubeportError(
      res.status === 403 ? "access_denied" : "unavailable",
      `gateway ${base}: ${message}`,
    );
  };
  return {
    name: `gateway ${base}`,
    create: () => Promise.reject(new Error("recordings are written by the gateway, not read through it")),
    async list(q?: RecordingQuery & { user?: string; cluster?: string }) {
      const params = new URLSearchParams();
      if (q?.since !== undefined) params.set("since", String(q.since));
      if (q?.until !== undefined) params.set("until", String(q.until));
      if (q?.user !== undefined) params.set("user", q.user);
      if (q?.cluster !== undefined) params.set("cluster", q.cluster);
      const r = (await (await call(`/v1/recordings?${params}`)).json()) as { items: RecordingInfo[] };
      return r.items;
    },
    async get(sid) {
      try {
        return (await (await call(`/v1/recordings/${encodeURIComponent(sid)}`)).json()) as RecordingInfo;
      } catch (err) {
        if (err instanceof KubeportError && err.kind === "not_found") return undefined;
        throw err;
      }
    },
    async *chunks(sid) {
      const res = await call(`/v1/recordings/${encodeURIComponent(sid)}/frames`);
      if (!res.body) return;
      // Frame by frame, to find the gateway's note that the store failed after what came before
      // (WIRE_ERROR, always last): thrown here as a store reading the recording itself would.
      for await (const f of readFrames(res.body as AsyncIterable<Uint8Array>, { wire: true })) {
        if ((f.type as number) === WIRE_ERROR)
          throw new KubeportError("unavailable", `gateway ${base}: ${new TextDecoder().decode(f.data)}`);
        yield encodeFrame(f.type, f.ms, f.data);
      }
    },
  };
}
