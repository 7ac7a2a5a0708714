// Simulated IAM: long-term keys, roles, AssumeRole sessions, and allow/deny checks on IAM actions.
import { createHash, randomBytes } from "node:crypto";
import { AwsError } from "./aws-error.ts";
import type { SimAccountSeed, SimPrincipalSeed, SimRoleSeed } from "./types.ts";

export const DEFAULT_ACCOUNT = "111111111111";
export const DEFAULT_PRINCIPAL: SimPrincipalSeed = {
  arn: `arn:aws:iam::${DEFAULT_ACCOUNT}:user/sim-admin`,
  accessKeyId: "AKIASIMULATOR0000001",
  secretAccessKey: "simSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY0",
};

/** Who signed a request. */
export interface Caller {
  arn: string;
  account: string;
  userId: string;
  /** For a session: the IAM role ARN it came from. */
  roleArn?: string;
  sessionName?: string;
  deny: string[];
  allow?: string[];
}

export interface KeyRecord {
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch ms; temporary credentials only. */
  expiresAt?: number;
  caller: Caller;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  assumedRoleId: string;
  arn: string;
}

export const accountOf = (arn: string) => arn.split(":")[4] ?? "";

function stableId(prefix: string, arn: string): string {
  return prefix + createHash("sha256").update(arn).digest("hex").slice(0, 17).toUpperCase();
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function randomKeyId(prefix: string): string {
  const bytes = randomBytes(16);
  let s = prefix;
  for (const b of bytes) s += ALNUM[b % 32];
  return s;
}

/** `arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R`; other ARNs unchanged. */
export function iamArnFor(arn: string): string {
  const m = /^arn:(aws[\w-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}

function globMatch(pattern: string, action: string): boolean {
  if (pattern === "*") return true;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );
  return re.test(action);
}

export function createIdentity(accounts: SimAccountSeed[], now: () => number = Date.now) {
  const keys = new Map<string, KeyRecord>();
  const roles = new Map<string, SimRoleSeed>();
  const allPrincipals: string[] = [];
  const addAccount = (acct: SimAccountSeed) => {
    for (const p of acct.principals ?? []) {
      if (accountOf(p.arn) !== acct.id) throw new Error(`principal ${p.arn} is not in account ${acct.id}`);
      const isRole = p.arn.includes(":role/");
      keys.set(p.accessKeyId, {
        secretAccessKey: p.secretAccessKey,
        caller: {
          arn: p.arn,
          account: acct.id,
          userId: stableId(isRole ? "AROA" : "AIDA", p.arn),
          deny: p.deny ?? [],
          ...(p.allow ? { allow: p.allow } : {}),
        },
      });
      allPrincipals.push(p.arn);
    }
    for (const r of acct.roles ?? []) roles.set(r.arn, r);
  };
  for (const acct of accounts) addAccount(acct);

  return {
    addAccount,

    /** Ends AssumeRole sessions (of `roleArn`, or all) now; returns how many. */
    expireSessions(roleArn?: string): number {
      let n = 0;
      const t = now();
      for (const k of keys.values()) {
        if (k.expiresAt === undefined || (roleArn !== undefined && k.caller.roleArn !== roleArn)) continue;
        if (k.expiresAt > t) n++;
        k.expiresAt = Math.min(k.expiresAt, t);
      }
      return n;
    },

    /** The key record for an access key id; expired sessions are kept so callers can say so. */
    lookup(accessKeyId: string): KeyRecord | undefined {
      return keys.get(accessKeyId);
    },

    /** True when the caller may perform `action` (deny wins; an allow list narrows). */
    isAllowed(caller: Caller, action: string): boolean {
      if (caller.deny.some((p) => globMatch(p, action))) return false;
      if (caller.allow && !caller.allow.some((p) => globMatch(p, action))) return false;
      return true;
    },

    /** AssumeRole with STS semantics: trust, ExternalId, then fresh ASIA… credentials. */
    assumeRole(
      caller: Caller,
      roleArn: string,
      sessionName: string,
      externalId: string | undefined,
      durationSeconds: number,
    ): IssuedCredentials {
      const role = roles.get(roleArn);
      const denied = new AwsError(
        "AccessDenied",
        403,
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
      if (!role) throw denied;
      if (role.trusted) {
        const me = [caller.arn, iamArnFor(caller.arn), `arn:aws:iam::${caller.account}:root`];
        if (!role.trusted.some((t) => me.includes(t))) throw denied;
      }
      if (role.externalId !== undefined && role.externalId !== externalId) throw denied;
      const account = accountOf(roleArn);
      const roleName = roleArn.slice(roleArn.lastIndexOf("/") + 1);
      const arn = `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
      const assumedRoleId = `${stableId("AROA", roleArn)}:${sessionName}`;
      const accessKeyId = randomKeyId("ASIA");
      const secretAccessKey = randomBytes(30).toString("base64");
      const sessionToken = `IQoJb3JpZ2luX2Vj${randomBytes(96).toString("base64")}`;
      const expiresAt = now() + durationSeconds * 1000;
      keys.set(accessKeyId, {
        secretAccessKey,
        sessionToken,
        expiresAt,
        caller: {
          arn,
          account,
          userId: assumedRoleId,
          roleArn,
          sessionName,
          deny: role.deny ?? [],
          ...(role.allow ? { allow: role.allow } : {}),
        },
      });
      return {
        accessKeyId,
        secretAccessKey,
        sessionToken,
        expiration: new Date(expiresAt),
        assumedRoleId,
        arn,
      };
    },

    principals(): string[] {
      return [...allPrincipals];
    },
  };
}

export type Identity = ReturnType<typeof createIdentity>;
