// `kubeport kube ls|login|credentials`: the clusters a signed-in person may reach, choosing one, and
// the exec credential plugin kubectl runs (tsh kube …, under kubeport).
import { describeError, KubeportError } from "../../lib/errors.ts";
import { contextName, execKubeconfig } from "../../lib/kubeconfig.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { type ClusterEntry, GatewayRefusal, gatewayClient } from "../login/client.ts";
import { currentContext, kubeconfigPath, mergeIntoKubeconfig } from "../login/kubeconfig-file.ts";
import { tryLock } from "../login/lock.ts";
import { normalizeProxy, type Profile, Profiles } from "../login/profile.ts";
import { selfCommand } from "../login/self-command.ts";
import { signIn } from "../login/session.ts";
import { age, formatUserLabels, OUTPUT_OPTIONS, parseOutput, renderOutput, renderTable } from "../output.ts";
import { KUBECONFIG_OPTION, PROXY_OPTION, proxyOf } from "./login.ts";

/** A cached cluster token is used while it has more than this left (kubectl gets it 1 minute short). */
const MIN_LEFT_MS = 60_000;
/** How long a plugin run waits for another run's sign-in before giving up (tsh: 5 s). */
const RELOGIN_WAIT_MS = 5000;

const trustOf = (p: Profile) => ({
  ...(p.ca_pem ? { caPem: p.ca_pem } : {}),
  ...(p.insecure ? { insecure: true } : {}),
});

/** The signed-in profile for the command's gateway, or a message saying how to sign in. */
function profileOf(ctx: CommandContext, profiles: Profiles): Profile {
  const proxy = proxyOf(ctx, profiles);
  const p = profiles.get(proxy);
  if (!p)
    throw new KubeportError(
      "unauthenticated",
      `not signed in to ${proxy}: run kubeport login --proxy=https://${proxy}`,
    );
  return p;
}

const loginAgain = (p: Profile, why: string) =>
  new KubeportError(
    "unauthenticated",
    `${why}: run kubeport login --proxy=https://${p.proxy}${p.source === "local" ? ` --auth=local --user=${p.user}` : ""}`,
  );

const ls: Command = {
  name: "ls",
  summary: "List the clusters you may reach through the gateway, with health.",
  options: { proxy: PROXY_OPTION, kubeconfig: KUBECONFIG_OPTION, ...OUTPUT_OPTIONS },
  async run(ctx) {
    const out = parseOutput(ctx.values);
    const profiles = Profiles.of(ctx.env);
    const p = profileOf(ctx, profiles);
    if (!(Date.parse(p.expires) > Date.now()))
      throw loginAgain(p, `your kubeport login to ${p.proxy} expired at ${p.expires}`);
    const clusters = await gatewayClient(p.proxy, trustOf(p))
      .clusters(p.session)
      .catch((err) => {
        if (err instanceof GatewayRefusal && err.status === 401) throw loginAgain(p, err.message);
        throw err;
      });
    const current = currentContext(kubeconfigPath(ctx.env, stringOpt(ctx.values, "kubeconfig")));
    const selected = (c: ClusterEntry) => current === contextName(p.proxy, c.name);
    if (out === "json" || out === "yaml")
      return void ctx.out(
        renderOutput(
          out,
          clusters.map((c) => ({ ...c, selected: selected(c) })),
        ),
      );
    if (out === "name") return void ctx.out(clusters.map((c) => `${c.name}\n`).join(""));
    const status = (c: ClusterEntry) =>
      c.health
        ? c.health.status !== "ok" && c.health.error
          ? `${c.health.status}: ${c.health.error}`
          : c.health.status
        : "-";
    const headers = [
      "NAME",
      "LABELS",
      "STATUS",
      "SELECTED",
      ...(out === "wide" ? ["LAST CHECK", "CONTEXT"] : []),
    ];
    ctx.out(
      renderTable(
        headers,
        clusters.map((c) => [
          c.name,
          formatUserLabels(c.labels, out === "wide"),
          status(c),
          selected(c) ? "*" : "",
          ...(out === "wide"
            ? [c.health?.lastCheck ? `${age(c.health.lastCheck)} ago` : "-", contextName(p.proxy, c.name)]
            : []),
        ]),
      ),
    );
    if (clusters.length === 0) ctx.err("note: your roles reach no cluster this gateway serves\n");
  },
};

const login: Command = {
  name: "login",
  summary: "Select a cluster: write its kubeconfig context and make it the current one.",
  usage: "CLUSTER",
  options: { proxy: PROXY_OPTION, kubeconfig: KUBECONFIG_OPTION },
  async run(ctx) {
    const [name, ...rest] = ctx.positionals;
    if (!name) throw new UsageError("missing CLUSTER (kubeport kube ls lists them)");
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const profiles = Profiles.of(ctx.env);
    const p = profileOf(ctx, profiles);
    if (!(Date.parse(p.expires) > Date.now()))
      throw loginAgain(p, `your kubeport login to ${p.proxy} expired at ${p.expires}`);
    const clusters = await gatewayClient(p.proxy, trustOf(p))
      .clusters(p.session)
      .catch((err) => {
        if (err instanceof GatewayRefusal && err.status === 401) throw loginAgain(p, err.message);
        throw err;
      });
    if (!clusters.some((c) => c.name === name))
      throw new KubeportError(
        "not_found",
        `you may not reach cluster "${name}" through ${p.proxy}${clusters.length ? ` (yours: ${clusters.map((c) => c.name).join(", ")})` : ""}`,
      );
    const kubeconfig = kubeconfigPath(ctx.env, stringOpt(ctx.values, "kubeconfig"));
    mergeIntoKubeconfig(
      kubeconfig,
      execKubeconfig({
        proxy: p.proxy,
        clusters: [name],
        self: selfCommand(ctx.env),
        ...(p.ca_pem ? { caData: Buffer.from(p.ca_pem).toString("base64") } : {}),
        ...(p.insecure ? { insecure: true } : {}),
      }),
    );
    ctx.out(
      `Logged into Kubernetes cluster "${name}" (context ${contextName(p.proxy, name)} in ${kubeconfig}). Try "kubectl version" to test the connection.\n`,
    );
  },
};

/** What kubectl tells the plugin (KUBERNETES_EXEC_INFO): the API version to answer in, and whether a person is there. */
function execInfo(env: Record<string, string | undefined>): { apiVersion: string; interactive: boolean } {
  try {
    const info = JSON.parse(env.KUBERNETES_EXEC_INFO ?? "") as {
      apiVersion?: string;
      spec?: { interactive?: boolean };
    };
    return {
      apiVersion: info.apiVersion ?? "client.authentication.k8s.io/v1",
      interactive: info.spec?.interactive === true,
    };
  } catch {
    return { apiVersion: "client.authentication.k8s.io/v1", interactive: process.stdin.isTTY === true };
  }
}

/** The ExecCredential kubectl reads on stdout (nothing else may go there). */
function execCredential(apiVersion: string, token: string, expires: string): string {
  const exp = Date.parse(expires);
  // A minute early, so kubectl never sends a token about to expire (tsh does the same).
  const shown = exp - Date.now() > MIN_LEFT_MS ? exp - MIN_LEFT_MS : exp;
  return `${JSON.stringify({
    apiVersion,
    kind: "ExecCredential",
    spec: {},
    status: {
      token,
      expirationTimestamp: new Date(Math.floor(shown / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z"),
    },
  })}\n`;
}

/**
 * Signs in again when the session has ended and a person is at the terminal: one run at a time
 * (the lock); runs that find it held wait up to 5 s for that sign-in, then give up with the message.
 */
async function relogin(ctx: CommandContext, profiles: Profiles, p: Profile, why: string): Promise<Profile> {
  const release = tryLock(profiles.lockPath(p.proxy));
  if (!release) {
    const until = Date.now() + RELOGIN_WAIT_MS;
    while (Date.now() < until) {
      await Bun.sleep(200);
      const now = profiles.get(p.proxy);
      if (now && now.session !== p.session && Date.parse(now.expires) > Date.now()) return now;
    }
    throw loginAgain(p, `${why} (another kubeport is signing in; if it is stuck, sign in by hand)`);
  }
  try {
    ctx.err(`${why}; signing in again.\n`);
    const client = gatewayClient(p.proxy, trustOf(p));
    const { answer, source, issuer } = await signIn({
      proxy: p.proxy,
      client,
      settings: await client.config(),
      auth: p.source === "local" ? "local" : (p.issuer ?? undefined),
      ...(p.source === "local" ? { user: p.user } : {}),
      env: ctx.env,
      say: (t) => ctx.err(t),
      signal: ctx.signal,
    });
    const next: Profile = {
      ...p,
      user: answer.user,
      session: answer.session!,
      expires: answer.expires,
      source,
      roles: answer.roles,
      ...(issuer ? { issuer } : {}),
    };
    profiles.save(next);
    return next;
  } finally {
    release();
  }
}

const credentials: Command = {
  name: "credentials",
  summary:
    "Print a short-lived token for one cluster as an ExecCredential (kubectl runs this; see kubeport login).",
  options: {
    proxy: { ...PROXY_OPTION, description: "the gateway (host:port)" },
    cluster: { type: "string", valueName: "NAME", description: "the cluster" },
  },
  async run(ctx) {
    const cluster = stringOpt(ctx.values, "cluster");
    const given = stringOpt(ctx.values, "proxy");
    if (!cluster || !given)
      throw new UsageError("missing --proxy and --cluster (kubeport login writes them into the kubeconfig)");
    const { apiVersion, interactive } = execInfo(ctx.env);
    const profiles = Profiles.of(ctx.env);
    const proxy = normalizeProxy(given);
    let p = profiles.get(proxy);
    if (!p)
      throw new KubeportError(
        "unauthenticated",
        `not signed in to ${proxy}: run kubeport login --proxy=https://${proxy}`,
      );
    // The fast path: a cached token with more than a minute left, no network at all.
    const cached = profiles.cachedToken(proxy, cluster);
    if (cached && Date.parse(cached.expires) - Date.now() > MIN_LEFT_MS && Date.parse(p.expires) > Date.now())
      return void ctx.out(execCredential(apiVersion, cached.token, cached.expires));
    if (!(Date.parse(p.expires) > Date.now())) {
      const why = `your kubeport login to ${proxy} expired at ${p.expires}`;
      if (!interactive) throw loginAgain(p, why);
      p = await relogin(ctx, profiles, p, why);
    }
    const client = gatewayClient(proxy, trustOf(p));
    let answer: { token: string; expires: string };
    try {
      answer = await client.clusterToken(p.session, cluster);
    } catch (err) {
      if (!(err instanceof GatewayRefusal)) throw new KubeportError("unavailable", describeError(err));
      if (err.status === 401) {
        if (!interactive) throw loginAgain(p, `your kubeport login to ${proxy} has ended (${err.message})`);
        p = await relogin(ctx, profiles, p, `your kubeport login to ${proxy} has ended`);
        answer = await gatewayClient(proxy, trustOf(p)).clusterToken(p.session, cluster);
      } else throw new KubeportError(err.kind, `kubeport: ${err.message}`);
    }
    profiles.saveToken(proxy, cluster, answer);
    ctx.out(execCredential(apiVersion, answer.token, answer.expires));
  },
};

export const userKubeCommand: Command = {
  name: "kube",
  summary: "Kubernetes clusters you may reach (after kubeport login): ls, login CLUSTER, credentials.",
  subcommands: [ls, login, credentials],
};
