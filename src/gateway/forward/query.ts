// The query string sent upstream: the client's, minus parameters that carry a credential. Only
// kubeport's own credentials go upstream; a token in the URL would also land in upstream access logs.
import { badParameter } from "../../lib/errors.ts";

/**
 * Parameter names that carry a bearer token by convention (RFC 6750 §2.3 `access_token`, and
 * OIDC's `id_token`), compared after percent-decoding and case-insensitively: an upstream server
 * decodes `access%5Ftoken` to `access_token`.
 */
export const CREDENTIAL_PARAMS: ReadonlySet<string> = new Set(["access_token", "id_token"]);

/** A parameter's name as an upstream server decodes it; undefined when it is not valid percent-encoding. */
const nameOf = (pair: string): string | undefined => {
  const eq = pair.indexOf("=");
  const raw = (eq < 0 ? pair : pair.slice(0, eq)).replaceAll("+", " ");
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return undefined;
  }
};

/** The credential parameters a query names (empty for most requests). */
export function credentialParams(search: string): string[] {
  if (search.length < 2) return [];
  return search
    .slice(1)
    .split("&")
    .map(nameOf)
    .filter((n): n is string => n !== undefined && CREDENTIAL_PARAMS.has(n));
}

/**
 * `search` ("" or "?…") without its credential parameters; every other parameter is kept byte
 * for byte, in order. Throws bad_parameter for a parameter name that is not valid percent-encoding
 * (it cannot be told apart from a credential).
 */
export function withoutCredentialParams(search: string): string {
  if (search.length < 2) return search;
  const pairs = search.slice(1).split("&");
  const kept = pairs.filter((p) => {
    const name = nameOf(p);
    if (name === undefined)
      throw badParameter(
        `invalid percent-encoding in query parameter name ${JSON.stringify(p.split("=")[0])}`,
      );
    return !CREDENTIAL_PARAMS.has(name);
  });
  if (kept.length === pairs.length) return search;
  return kept.length > 0 ? `?${kept.join("&")}` : "";
}
