// SigV4 verification: parse the Authorization header or presigned query, rebuild the signature with
// @smithy/signature-v4 from the request as received, and compare.
import { timingSafeEqual } from "node:crypto";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

export interface SigInfo {
  presigned: boolean;
  accessKeyId: string;
  /** Credential scope parts. */
  scopeDate: string;
  region: string;
  service: string;
  /** X-Amz-Date, `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  sessionToken?: string;
  /** X-Amz-Expires (presigned only). */
  expires?: number;
}

export type ParsedAuth = { ok: true; info: SigInfo } | { ok: false; missing: boolean; message: string };

const AUTH_RE = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)$/;
const AUTH_QUERY = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
  "X-Amz-Security-Token",
];

function splitCredential(
  cred: string,
): { accessKeyId: string; scopeDate: string; region: string; service: string } | undefined {
  const parts = cred.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request") return undefined;
  const [accessKeyId, scopeDate, region, service] = parts as [string, string, string, string];
  return { accessKeyId, scopeDate, region, service };
}

/** Reads the SigV4 parameters of a request without checking them. */
export function parseAuth(headers: Headers, url: URL): ParsedAuth {
  const auth = headers.get("authorization");
  const q = url.searchParams;
  if (auth) {
    const m = AUTH_RE.exec(auth.trim());
    const cred = m ? splitCredential(m[1] as string) : undefined;
    const amzDate = headers.get("x-amz-date");
    if (!m || !cred)
      return {
        ok: false,
        missing: false,
        message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${auth.split(" ")[0]}`,
      };
    if (!amzDate)
      return {
        ok: false,
        missing: false,
        message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      };
    const token = headers.get("x-amz-security-token") ?? undefined;
    return {
      ok: true,
      info: {
        presigned: false,
        ...cred,
        amzDate,
        signedHeaders: (m[2] as string).split(";"),
        signature: m[3] as string,
        ...(token ? { sessionToken: token } : {}),
      },
    };
  }
  if (q.has("X-Amz-Signature") || q.has("X-Amz-Credential")) {
    const cred = splitCredential(q.get("X-Amz-Credential") ?? "");
    const amzDate = q.get("X-Amz-Date");
    const signed = q.get("X-Amz-SignedHeaders");
    const signature = q.get("X-Amz-Signature");
    const expires = Number(q.get("X-Amz-Expires") ?? "");
    if (
      q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256" ||
      !cred ||
      !amzDate ||
      !signed ||
      !signature ||
      !Number.isInteger(expires)
    ) {
      return {
        ok: false,
        missing: false,
        message:
          "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'.",
      };
    }
    const token = q.get("X-Amz-Security-Token") ?? undefined;
    return {
      ok: true,
      info: {
        presigned: true,
        ...cred,
        amzDate,
        signedHeaders: signed.split(";"),
        signature,
        expires,
        ...(token ? { sessionToken: token } : {}),
      },
    };
  }
  return { ok: false, missing: true, message: "Missing Authentication Token" };
}

/** `20261125T110833Z` → Date, or undefined when malformed. */
export function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, se));
}

export function formatAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

const sha256 = Hash.bind(null, "sha256");

function queryRecord(
  params: URLSearchParams,
  drop: readonly string[] = [],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    if (drop.includes(k)) continue;
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface VerifyInput {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
  info: SigInfo;
  secretAccessKey: string;
  /** The session token the key was issued with (temporary credentials). */
  sessionToken?: string;
}

/**
 * True when the request's signature is the one its credentials produce. Only the headers the
 * client listed in SignedHeaders take part, exactly as received; the path stays percent-encoded.
 */
export async function verifySignature({
  method,
  url,
  headers,
  body,
  info,
  secretAccessKey,
  sessionToken,
}: VerifyInput): Promise<boolean> {
  const signingDate = parseAmzDate(info.amzDate);
  if (!signingDate) return false;
  const signed: Record<string, string> = {};
  for (const name of info.signedHeaders) {
    const v = headers.get(name);
    if (v === null) return false;
    signed[name] = v;
  }
  const sha = signed["x-amz-content-sha256"];
  if (sha !== undefined && sha !== "UNSIGNED-PAYLOAD") {
    const h = new sha256();
    h.update(body);
    if (Buffer.from(await h.digest()).toString("hex") !== sha) return false;
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: info.accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
    },
    region: info.region,
    service: info.service,
    sha256,
    applyChecksum: false,
  });
  const signableHeaders = new Set(info.signedHeaders);
  const port = url.port ? Number(url.port) : undefined;
  const base = {
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(port ? { port } : {}),
    path: url.pathname,
    headers: signed,
  };
  if (info.presigned) {
    const request = new HttpRequest({ ...base, query: queryRecord(url.searchParams, AUTH_QUERY) });
    const out = await signer.presign(request, {
      signingDate,
      expiresIn: info.expires ?? 0,
      signingRegion: info.region,
      signingService: info.service,
      signableHeaders,
      unhoistableHeaders: signableHeaders,
    });
    const q = out.query ?? {};
    const mine = q["X-Amz-Signature"];
    return (
      typeof mine === "string" &&
      q["X-Amz-SignedHeaders"] === info.signedHeaders.join(";") &&
      safeEqual(mine, info.signature)
    );
  }
  const request = new HttpRequest({
    ...base,
    query: queryRecord(url.searchParams),
    ...(body ? { body } : {}),
  });
  const out = await signer.sign(request, {
    signingDate,
    signingRegion: info.region,
    signingService: info.service,
    signableHeaders,
  });
  const m = AUTH_RE.exec(String(out.headers.authorization ?? ""));
  return !!m && m[2] === info.signedHeaders.join(";") && safeEqual(m[3] as string, info.signature);
}
