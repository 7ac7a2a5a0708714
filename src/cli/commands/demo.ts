// `kubeport demo`: the whole product on one machine — a simulated AWS account with tagged EKS
// clusters, discovery and the gateway on the embedded SQLite registry, and a ready kubeconfig.
// This is the only production module that imports the simulators (the architecture test allows it).
import { resolve } from "node:path";
import { stringify } from "yaml";
import { AUDIT_STREAM, escapeText, type SessionEndEvent } from "../../audit/index.ts";
import { type Config, ConfigError, parseConfig } from "../../config/index.ts";
import { issueUserToken, kubeportIssuer } from "../../gateway/index.ts";
import { sleep } from "../../lib/clock.ts";
import { egressFetch } from "../../lib/egress/index.ts";
import { describeError } from "../../lib/errors.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { ensurePrivateDir, writePrivateFile } from "../../lib/private-files.ts";
import { type Backend, openSqliteBackend, type Role, type User } from "../../registry/index.ts";
import type { SimClusterSeed } from "../../sim/index.ts";
import { stringOpt, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { shellQuote } from "../output.ts";
import { runServer } from "../runtime.ts";
import { lastEntries } from "./audit.ts";
import { buildKubeconfig, gatewayCaData } from "./kubeconfig.ts";
import { VERSION } from "./version.ts";

/** Four clusters in three regions; `sandbox` is tagged env=dev, so discovery leaves it out. */
export const DEMO_CLUSTERS: SimClusterSeed[] = [
  { name: "prod-web", region: "us-east-1", tags: { env: "prod", team: "web" }, version: "1.32" },
  { name: "prod-data", region: "eu-west-1", tags: { env: "prod", team: "data" }, version: "1.32" },
  { name: "staging", region: "us-west-2", tags: { env: "staging", team: "web" }, version: "1.32" },
  { name: "sandbox", region: "us-west-2", tags: { env: "dev" }, version: "1.32" },
];
const SERVED = ["prod-data", "prod-web", "staging"];
const DEMO_USER = "demo";

/**
 * The config keys the demo's flags fill in. The person typed flags, not a config file: problems and
 * failures are told in terms of the flags (`--listen …`), never as a key and "line 10" of a file
 * they never saw.
 */
const FLAG_OF: Record<string, string> = {
  "proxy_service.listen_addr": "--listen",
  "kubeport.data_dir": "--data-dir",
};

/** `text` with every config key the flags set replaced by its flag. */
export function inFlagTerms(text: string): string {
  let out = text;
  for (const [key, flag] of Object.entries(FLAG_OF)) out = out.replaceAll(key, flag);
  return out;
}

function demoConfig(dataDir: string, listen: string): Config {
  try {
    return buildDemoConfig(dataDir, listen);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new UsageError(
      err.problems.map((p) => `${FLAG_OF[p.path] ?? `demo config ${p.path}`}: ${p.message}`).join("; "),
    );
  }
}

function buildDemoConfig(dataDir: string, listen: string): Config {
  const text = stringify({
    version: "v1",
    kubeport: { data_dir: dataDir, storage: { type: "sqlite" }, log: { severity: "INFO" } },
    proxy_service: { enabled: true, listen_addr: listen },
    discovery_service: {
      enabled: true,
      discovery_group: "demo",
      poll_interval: "15s",
      // adopt: each simulated cluster comes with an admin access entry for the account's principal (as
      // EKS makes one for a cluster's creator); kubeport manages it instead of warning about it.
      aws: [{ types: ["eks"], regions: ["*"], tags: { env: ["prod", "staging"] }, adopt: true }],
    },
    kubernetes_service: { enabled: true, resources: [{ labels: { env: "*" } }] },
  });
  return parseConfig(text, "demo config");
}

/** The demo's people: `demo` reaches every served cluster as system:masters. */
async function seedAccess(backend: Backend): Promise<void> {
  const role: Role = {
    kind: "role",
    version: "v1",
    metadata: { name: "demo-admin", description: "every cluster, as cluster admin" },
    spec: { allow: { kubernetes_labels: { "*": "*" }, kubernetes_groups: ["system:masters"] } },
  };
  const user: User = {
    kind: "user",
    version: "v1",
    metadata: { name: DEMO_USER },
    spec: { roles: ["demo-admin"], created: new Date().toISOString() },
  };
  await backend.put(role);
  if (!(await backend.get("user", DEMO_USER))) await backend.put(user);
}

/** Resolves once `GET /v1/clusters/<name>/version` answers 200 through the gateway for every name. */
async function waitServed(base: string, token: string, caPem: string, signal: AbortSignal, log: Logger) {
  const pending = new Set(SERVED);
  const deadline = Date.now() + 60_000;
  while (pending.size > 0) {
    if (signal.aborted) throw signal.reason;
    if (Date.now() > deadline) throw new Error(`clusters not served after 60 s: ${[...pending].join(", ")}`);
    for (const name of [...pending]) {
      const res = await egressFetch(`${base}/v1/clusters/${name}/version`, {
        headers: { authorization: `Bearer ${token}` },
        tls: { ca: caPem },
      }).catch(() => undefined);
      if (res?.ok) {
        pending.delete(name);
        log.info({ cluster: name }, "cluster served");
      }
      await res?.body?.cancel();
    }
    if (pending.size > 0) await sleep(250, signal).catch(() => {});
  }
}

export const demoCommand: Command = {
  name: "demo",
  summary: "Run everything on one machine against a simulated AWS account (no AWS needed).",
  options: {
    "data-dir": {
      type: "string",
      valueName: "DIR",
      description: "state directory (default ./.kubeport-demo)",
    },
    kubeconfig: {
      type: "string",
      valueName: "FILE",
      description: "where to write the kubeconfig (default DIR/kubeconfig)",
    },
    listen: {
      type: "string",
      valueName: "HOST:PORT",
      description: "gateway address (default 127.0.0.1:3080)",
    },
  },
  help: [
    "Starts a simulated AWS account (EKS + STS) with four tagged clusters, each with a simulated",
    "Kubernetes API server and a few pods; discovery enrols the three tagged env=prod|staging;",
    "the gateway serves them; user 'demo' gets a kubeconfig once every cluster answers.",
    "Runs until SIGINT/SIGTERM.",
  ].join("\n"),
  async run(ctx) {
    const dataDir = resolve(stringOpt(ctx.values, "data-dir") ?? ".kubeport-demo");
    const kubeconfigPath = resolve(stringOpt(ctx.values, "kubeconfig") ?? `${dataDir}/kubeconfig`);
    const listen = stringOpt(ctx.values, "listen") ?? "127.0.0.1:3080";
    // Checked before anything starts: a bad flag is a usage error (exit 2), named as typed.
    const config = demoConfig(dataDir, listen);
    const log = createLogger({ level: "info" });
    // Every part of the demo talks over loopback: never through a proxy the shell set for the internet.
    keepLoopbackDirect(process.env);
    // The demo's data dir holds the registry (signing keys), the CA key and a kubeconfig with a token.
    ensurePrivateDir(dataDir, "--data-dir", log);

    const stop = new AbortController();
    let signals = 0;
    const onSignal = () => {
      if (++signals > 1) process.exit(1);
      stop.abort(new Error("stopped"));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    ctx.signal.addEventListener("abort", onSignal, { once: true });

    // The simulators (and the AWS signing libraries under them) load here, not with every command.
    const { startSimulation } = await import("../../sim/index.ts");
    const sim = await startSimulation({
      clusters: DEMO_CLUSTERS,
      podsPerCluster: 3,
      log: log.child({ component: "sim" }),
    });
    // The services find the simulator the way they find AWS: through the standard SDK settings.
    delete process.env.AWS_PROFILE;
    Object.assign(process.env, sim.aws.env);
    log.info({ aws: sim.aws.url }, "simulated AWS account up");

    const backend = openSqliteBackend({ path: config.kubeport.storage.path, log });
    let ready: () => void = () => {};
    const isReady = new Promise<void>((r) => {
      ready = r;
    });
    const server = runServer({ config, log, signal: stop.signal, version: VERSION, onReady: () => ready() });
    try {
      await Promise.race([isReady, server]);
      await seedAccess(backend);
      const token = await issueUserToken(backend, {
        user: DEMO_USER,
        ttlMs: 24 * 3_600_000,
        issuer: kubeportIssuer(config.proxy_service),
      });
      const caData = await gatewayCaData(config);
      const caPem = Buffer.from(caData, "base64").toString();
      await waitServed(`https://${config.proxy_service.public_addr}`, token, caPem, stop.signal, log);
      const kubeconfig = buildKubeconfig({
        publicAddr: config.proxy_service.public_addr,
        caData,
        user: DEMO_USER,
        token,
        clusters: SERVED,
      });
      writePrivateFile(kubeconfigPath, stringify(kubeconfig));
      writePrivateFile(`${dataDir}/kubeport.yaml`, stringify(configForCtl(dataDir, listen)));
      ctx.out(
        [
          "",
          `kubeport demo is running: gateway https://${config.proxy_service.public_addr}, AWS simulator ${sim.aws.url}`,
          `Discovered and served: ${SERVED.join(", ")} (sandbox is tagged env=dev and left out).`,
          "",
          "Try, in another terminal:",
          `  export KUBECONFIG=${kubeconfigPath}`,
          "  kubectl config get-contexts",
          "  kubectl --context prod-web get pods",
          "  kubectl --context staging get pods -w",
          "    # it prints changes as they happen; make some from a third terminal:",
          "    #   kubectl --context staging run demo-1 --image=nginx   then   kubectl --context staging delete pod demo-1",
          "  kubectl --context prod-data exec -it web-0 -- cat",
          "  kubectl --context prod-web logs -f web-0",
          `  ${selfCommand()} ctl -c ${dataDir}/kubeport.yaml get kube_cluster`,
          `  ${selfCommand()} ctl -c ${dataDir}/kubeport.yaml audit tail`,
          "  (every exec/attach is recorded: when one ends, this prints how to play it back)",
          "",
          "To run your own `kubeport start` (or any AWS SDK client) against this simulated account:",
          ...Object.entries(sim.aws.env).map(([k, v]) => `  export ${k}=${shellQuote(v)}`),
          "",
          "Ctrl-C stops it.",
          "",
        ].join("\n"),
      );
      void announceRecordings(
        backend,
        `${selfCommand()} play -c ${dataDir}/kubeport.yaml`,
        ctx.out,
        stop.signal,
      );
      await server;
      return 0;
    } catch (err) {
      if (stop.signal.aborted) return 0;
      // The whole chain in the message and no `cause`: the CLI prints a cause after the message,
      // which repeated every word of it.
      throw new Error(`demo failed: ${inFlagTerms(describeError(err))}`);
    } finally {
      stop.abort(new Error("stopped"));
      await server.catch(() => {});
      await backend.close();
      await sim.close();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};

/**
 * Follows the audit stream from now on and, for each exec/attach session that ends, prints how to
 * replay it (`kubeport play …`): the recording of the session the person just had.
 */
async function announceRecordings(
  backend: Backend,
  play: string,
  out: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let after = (await lastEntries(backend, 0).catch(() => ({ lastId: undefined }))).lastId;
  while (!signal.aborted) {
    const page = await backend
      .readStream(AUDIT_STREAM, { ...(after !== undefined ? { after } : {}), limit: 1000 })
      .catch(() => []);
    for (const { id, entry } of page) {
      after = id;
      const e = entry as Partial<SessionEndEvent>;
      if (e.event !== "session.end" || e.session_recording === "off" || !e.sid) continue;
      const what = `${e.user} ${e.session_type} ${e.kubernetes_pod_namespace}/${e.kubernetes_pod_name} on ${e.kubernetes_cluster}${e.initial_command?.length ? ` (${e.initial_command.join(" ")})` : ""}`;
      out(
        `\nRecorded: ${escapeText(what)}. Play it back:\n  ${play} ${e.sid}\n  (--speed 2, --format text|cast|json; asciinema plays the cast)\n`,
      );
    }
    if (page.length < 1000) await sleep(1000, signal).catch(() => {});
  }
}

/**
 * How to run this same kubeport again: the compiled binary, or the bun that runs the entry script,
 * by its full path (after `npm ci` bun lives in node_modules, not on PATH).
 */
export function selfCommand(script = process.argv[1], execPath = process.execPath): string {
  return script?.endsWith(".ts") ? `${shellQuote(execPath)} ${shellQuote(script)}` : shellQuote(execPath);
}

/** The same registry, for `kubeport ctl -c DIR/kubeport.yaml …` while the demo runs. */
function configForCtl(dataDir: string, listen: string) {
  return {
    version: "v1",
    kubeport: { data_dir: dataDir, storage: { type: "sqlite" } },
    proxy_service: { enabled: true, listen_addr: listen },
    kubernetes_service: { enabled: true, resources: [{ labels: { env: "*" } }] },
  };
}

/** Adds the loopback names and addresses to NO_PROXY (the variable egress reads: no_proxy wins). */
export function keepLoopbackDirect(env: Record<string, string | undefined>): void {
  const name = env.no_proxy?.trim() ? "no_proxy" : "NO_PROXY";
  env[name] = [env[name], "127.0.0.1", "localhost", "::1"].filter(Boolean).join(",");
}
