// Splits `/v1/clusters/<name>/<api path>` safely: one decode of the name, no dot segments,
// no encoded slashes or backslashes, and the remainder confined to the Kubernetes API prefixes.
import { badParameter, notFound } from "../lib/errors.ts";

export const CLUSTER_PREFIX = "/v1/clusters/";

/** Upstream paths a cluster route may reach (exact, or followed by `/`). */
const ALLOWED_ROOTS = ["/api", "/apis", "/version", "/openapi", "/healthz", "/readyz", "/livez"];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,252}$/;

export interface ClusterPath {
  /** The cluster name, percent-decoded exactly once. */
  cluster: string;
  /** The upstream path, still percent-encoded as the client sent it. */
  path: string;
}

const isDotSegment = (seg: string) => /^(\.|%2e){1,2}$/i.test(seg);

/**
 * Parses a raw (undecoded) request pathname. Throws bad_parameter for path tricks and
 * not_found for a path outside the served API prefixes.
 */
export function parseClusterPath(rawPath: string): ClusterPath {
  if (!rawPath.startsWith(CLUSTER_PREFIX)) throw notFound(`path ${JSON.stringify(rawPath)} not found`);
  if (rawPath.includes("\\") || /%5c/i.test(rawPath))
    throw badParameter("backslashes are not allowed in the path");
  if (rawPath.includes("//")) throw badParameter("empty path segments are not allowed");
  if (/%2f/i.test(rawPath)) throw badParameter("encoded slashes are not allowed in the path");
  if (/%00/.test(rawPath) || rawPath.includes("\0")) throw badParameter("NUL is not allowed in the path");
  const rest = rawPath.slice(CLUSTER_PREFIX.length);
  const slash = rest.indexOf("/");
  const rawName = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash);
  if (rest.split("/").some(isDotSegment)) throw badParameter("dot segments are not allowed in the path");
  let cluster: string;
  try {
    cluster = decodeURIComponent(rawName);
  } catch {
    throw badParameter("invalid percent-encoding in the cluster name");
  }
  if (!NAME.test(cluster)) throw badParameter(`invalid cluster name ${JSON.stringify(cluster)}`);
  if (!ALLOWED_ROOTS.some((root) => path === root || path.startsWith(`${root}/`))) {
    throw notFound(`path ${JSON.stringify(path || "/")} is not a Kubernetes API path`);
  }
  return { cluster, path };
}

/**
 * Where the path of a request URL starts: after the authority of an absolute URL (-1 when it has
 * no path), else at 0 (origin-form, the whole target is the path).
 */
export function pathStart(url: string): number {
  const afterScheme = url.indexOf("//");
  return afterScheme < 0 ? 0 : url.indexOf("/", afterScheme + 2);
}

/** The raw pathname and search of a request URL, without the URL parser's normalisation. */
export function rawTarget(url: string): { path: string; search: string } {
  const start = pathStart(url);
  const target = start < 0 ? "/" : url.slice(start);
  const q = target.indexOf("?");
  const hash = target.indexOf("#");
  const end = hash < 0 ? target.length : hash;
  return q < 0 || q > end
    ? { path: target.slice(0, end), search: "" }
    : { path: target.slice(0, q), search: target.slice(q, end) };
}
