// A login profile per gateway (~/.kubeport/profiles/<host_port>.json) and its per-cluster token cache
// (~/.kubeport/keys/<host_port>/<cluster>.json): what `kubeport login` leaves for `kube credentials`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../args.ts";
import { fileKey, kubeportHome, readJson, removePath, writePrivate } from "./home.ts";

export interface Profile {
  /** host:port of the gateway. */
  proxy: string;
  user: string;
  /** The login session's secret (kps_…). */
  session: string;
  /** RFC 3339: when the session ends. */
  expires: string;
  source: "local" | "oidc";
  /** OIDC: the issuer signed in with (a re-login uses it again). */
  issuer?: string;
  /** The PEM the gateway's certificate chains to (from --ca-file), if not the system's roots. */
  ca_pem?: string;
  insecure?: boolean;
  roles: string[];
}

export interface CachedToken {
  token: string;
  /** RFC 3339. */
  expires: string;
}

/** "https://h:p", "h:p" or "h" (port 443) → "h:p". */
export function normalizeProxy(text: string): string {
  const t = text.trim().replace(/\/+$/, "");
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(t) ? t : `https://${t}`);
  } catch {
    throw new UsageError(
      `--proxy: "${text}" is not a gateway address (e.g. https://kubeport.example.com:3080)`,
    );
  }
  if (u.protocol !== "https:") throw new UsageError(`--proxy: the gateway speaks https, not ${u.protocol}`);
  if (u.pathname !== "/" && u.pathname !== "")
    throw new UsageError(`--proxy: "${text}" has a path; give the address only`);
  return `${u.hostname.includes(":") ? `[${u.hostname.replace(/^\[|\]$/g, "")}]` : u.hostname}:${u.port || "443"}`;
}

export class Profiles {
  constructor(private readonly home: string) {}
  static of(env: Record<string, string | undefined>) {
    return new Profiles(kubeportHome(env));
  }
  private path(proxy: string) {
    return join(this.home, "profiles", `${fileKey(proxy)}.json`);
  }
  private tokenPath(proxy: string, cluster: string) {
    return join(this.home, "keys", fileKey(proxy), `${fileKey(cluster)}.json`);
  }
  get(proxy: string): Profile | undefined {
    return readJson<Profile>(this.path(proxy));
  }
  save(p: Profile): void {
    writePrivate(this.path(p.proxy), `${JSON.stringify(p, null, 2)}\n`);
    // A new session's tokens start afresh.
    removePath(join(this.home, "keys", fileKey(p.proxy)));
    writePrivate(join(this.home, "current"), `${p.proxy}\n`);
  }
  remove(proxy: string): void {
    removePath(this.path(proxy));
    removePath(join(this.home, "keys", fileKey(proxy)));
  }
  /** The gateway of the last login, if its profile is still there. */
  current(): string | undefined {
    const name = (readJsonText(join(this.home, "current")) ?? "").trim();
    return name && this.get(name) ? name : undefined;
  }
  all(): Profile[] {
    try {
      return readdirSync(join(this.home, "profiles"))
        .filter((f) => f.endsWith(".json"))
        .map((f) => readJson<Profile>(join(this.home, "profiles", f)))
        .filter((p): p is Profile => p !== undefined);
    } catch {
      return [];
    }
  }
  cachedToken(proxy: string, cluster: string): CachedToken | undefined {
    return readJson<CachedToken>(this.tokenPath(proxy, cluster));
  }
  saveToken(proxy: string, cluster: string, t: CachedToken): void {
    writePrivate(this.tokenPath(proxy, cluster), JSON.stringify(t));
  }
  lockPath(proxy: string): string {
    return join(this.home, `${fileKey(proxy)}.login.lock`);
  }
}

function readJsonText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
