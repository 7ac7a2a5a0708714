// `kubeport ctl auth sign|rotate|jwks`: user tokens and the gateway's signing keys.

import {
  DEFAULT_TOKEN_TTL_MS,
  issueUserToken,
  kubeportIssuer,
  loadJwks,
  MAX_TOKEN_TTL_MS,
  rotateSigningKey,
} from "../../gateway/index.ts";
import { formatDuration, parseDuration } from "../../lib/duration.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { renderData } from "../output.ts";

/** Parses --ttl (default 8h, at most MAX_TOKEN_TTL_MS). */
/**
 * --ttl, at most `maxMs` (proxy_service.max_token_ttl: the gateway refuses a token claiming a longer
 * life, so one is never signed); without --ttl 8h, or the cap when it is shorter.
 */
export function ttlOption(ctx: CommandContext, maxMs = MAX_TOKEN_TTL_MS): number {
  const text = stringOpt(ctx.values, "ttl");
  if (text === undefined) return Math.min(DEFAULT_TOKEN_TTL_MS, maxMs);
  const ms = parseDuration(text);
  if (!ms || ms <= 0) throw new UsageError(`--ttl: "${text}" is not a duration (e.g. 8h, 30m)`);
  if (ms > maxMs)
    throw new UsageError(
      maxMs < MAX_TOKEN_TTL_MS
        ? `--ttl: at most ${formatDuration(maxMs)} (proxy_service.max_token_ttl: the gateway refuses longer tokens)`
        : `--ttl: at most ${formatDuration(MAX_TOKEN_TTL_MS)}`,
    );
  return ms;
}

export const TTL_OPTION = {
  type: "string",
  valueName: "DURATION",
  description: "token lifetime (default 8h, at most 30h)",
} as const;

const sign: Command = {
  name: "sign",
  summary: "Print a bearer token (JWT) for a user.",
  options: {
    user: { type: "string", valueName: "NAME", description: "the kubeport user" },
    ttl: TTL_OPTION,
  },
  help: 'Example:\n  kubectl --token="$(kubeport ctl auth sign --user alice --ttl 1h)" …',
  async run(ctx) {
    const user = stringOpt(ctx.values, "user");
    if (!user) throw new UsageError("missing --user");
    if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
    const config = await ctx.config();
    const ttlMs = ttlOption(ctx, config.proxy_service.max_token_ttl);
    const token = await issueUserToken(await ctx.backend(), {
      user,
      ttlMs,
      issuer: kubeportIssuer(config.proxy_service),
    });
    ctx.out(`${token}\n`);
  },
};

const rotate: Command = {
  name: "rotate",
  summary: "Make a new signing key; the old one verifies until the tokens it signed expire.",
  options: {
    "retire-after": {
      type: "string",
      valueName: "DURATION",
      description: "how long the old key keeps verifying (default 30h, the longest token TTL)",
    },
  },
  async run(ctx) {
    const text = stringOpt(ctx.values, "retire-after");
    const retireAfterMs = text === undefined ? MAX_TOKEN_TTL_MS : parseDuration(text);
    if (retireAfterMs === undefined) throw new UsageError(`--retire-after: "${text}" is not a duration`);
    const { active, retired } = await rotateSigningKey(await ctx.backend(), { retireAfterMs });
    ctx.out(
      `New signing key ${active.metadata.name} (kid ${String(active.spec.public_jwk.kid)}) is active.\n`,
    );
    for (const k of retired)
      ctx.out(
        `Key ${k.metadata.name} (kid ${String(k.spec.public_jwk.kid)}) is retired; it verifies until ${k.metadata.expires}.\n`,
      );
  },
};

const jwks: Command = {
  name: "jwks",
  readsOnly: true,
  summary: "Print the public signing keys (the gateway serves the same at /.well-known/jwks.json).",
  async run(ctx) {
    ctx.out(renderData("json", await loadJwks(await ctx.backend())));
  },
};

export const authCommand: Command = {
  name: "auth",
  summary: "Sign user tokens and rotate signing keys.",
  subcommands: [sign, rotate, jwks],
};
