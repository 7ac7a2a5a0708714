// deploy/kubernetes: the HA pair's manifests, checked without a cluster. Each file parses; the
// kustomization lists them all and kubectl renders it; the ConfigMap's kubeport.yaml passes kubeport's
// own config schema; and the pieces fit: selectors match the pod labels, probes and ports agree with
// the config, every file the config names is mounted from the object that holds it, IRSA is set up,
// the pod runs as the image's non-root user with a read-only root, and the grace period covers
// kubeport's shutdown.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { shutdownDeadlineMs } from "../../src/cli/commands/start.ts";
import { parseConfig } from "../../src/config/index.ts";
import { KUBECTL } from "../helpers/kubectl.ts";

const DIR = resolve(import.meta.dir, "../../deploy/kubernetes");

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below.
type Doc = Record<string, any>;
const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));
const docs: { file: string; doc: Doc }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    return { file, doc: d.toJS() as Doc };
  }),
);
const one = (kind: string): Doc => {
  const found = docs.filter((d) => d.doc.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!.doc;
};
const kustomization = one("Kustomization");
const deployment = one("Deployment");
const service = one("Service");
const pdb = one("PodDisruptionBudget");
const sa = one("ServiceAccount");
const configMap = one("ConfigMap");
const redisSecret = one("Secret");
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;
const config = parseConfig(configMap.data["kubeport.yaml"], "deploy/kubernetes/configmap.yaml", { env: {} });
const matches = (selector: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);

/** The volume mounted at the directory holding `path`, and the key of `path` inside it. */
function mountOf(path: string): { volume: Doc; key: string } {
  const mount = container.volumeMounts.find((m: Doc) => path.startsWith(`${m.mountPath}/`));
  if (!mount) throw new Error(`${path} is in no mounted volume`);
  return {
    volume: pod.volumes.find((v: Doc) => v.name === mount.name),
    key: relative(mount.mountPath, path),
  };
}

describe("deploy/kubernetes", () => {
  test("every file parses, every object is namespaced kubeport, and the kustomization lists them all", () => {
    for (const { file, doc } of docs) {
      expect(`${file}: ${doc.apiVersion}/${doc.kind}`).toMatch(/: \S+\/\S+$/);
      if (!["Kustomization", "Namespace"].includes(doc.kind))
        expect(`${file}: ${doc.metadata?.namespace}`).toBe(`${file}: kubeport`);
    }
    expect([...kustomization.resources].sort()).toEqual(
      files.filter((f) => f !== "kustomization.yaml").sort(),
    );
    expect(kustomization.namespace).toBe("kubeport");
  });

  test("kubectl renders the kustomization (offline)", () => {
    if (!existsSync(KUBECTL)) throw new Error(`${KUBECTL} is missing`);
    const p = Bun.spawnSync([KUBECTL, "kustomize", DIR], { timeout: 30_000 });
    expect(p.stderr.toString()).toBe("");
    const kinds = parseAllDocuments(p.stdout.toString()).map((d) => (d.toJS() as Doc).kind);
    expect(kinds.sort()).toEqual(
      docs
        .filter((d) => d.doc.kind !== "Kustomization")
        .map((d) => d.doc.kind)
        .sort(),
    );
  });

  test("the ConfigMap's kubeport.yaml is valid kubeport config for an HA pair on Redis", () => {
    expect(config.kubeport.storage.type).toBe("redis");
    expect(config.kubeport.storage.password).toBeUndefined(); // the secret stays in the Secret
    expect(config.proxy_service.enabled).toBe(true);
    expect(config.discovery_service.enabled).toBe(true);
    expect(config.discovery_service.discovery_group).not.toBe("");
    // Both replicas must serve one certificate: a configured keypair, not a CA generated per pod.
    expect(config.proxy_service.https_keypairs.length).toBe(1);
  });

  test("a Deployment of 2 whose selector, Service and PodDisruptionBudget all pick its pods", () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true);
    expect(matches(service.spec.selector)).toBe(true);
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  test("ports: the container's is listen_addr's, the Service targets it by name, public_addr is the Service's, diag_addr stays inside", () => {
    const https = container.ports.find((p: Doc) => p.name === "https");
    expect(String(https.containerPort)).toBe(config.proxy_service.listen_addr.split(":").at(-1)!);
    expect(service.spec.ports.map((p: Doc) => p.targetPort)).toEqual(["https"]);
    expect(config.proxy_service.public_addr.split(":").at(-1)).toBe(String(service.spec.ports[0].port));
    expect(
      service.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-healthcheck-path"],
    ).toBe("/healthz");
    // Metrics leave through the diagnostics port (kubeport.diag_addr), which the load balancer never carries.
    const diag = container.ports.find((p: Doc) => p.name === "diag");
    expect(config.kubeport.diag_addr).toBeDefined();
    expect(String(diag.containerPort)).toBe(config.kubeport.diag_addr!.split(":").at(-1)!);
    expect(deployment.spec.template.metadata.annotations["prometheus.io/port"]).toBe(
      String(diag.containerPort),
    );
    expect(service.spec.ports.map((p: Doc) => p.targetPort)).not.toContain("diag");
  });

  test("probes: started once /readyz answers, kept in the Service and alive on /healthz, over HTTPS", () => {
    const probe = (p: Doc) => ({ path: p.httpGet.path, port: p.httpGet.port, scheme: p.httpGet.scheme });
    expect(probe(container.startupProbe)).toEqual({ path: "/readyz", port: "https", scheme: "HTTPS" });
    expect(probe(container.readinessProbe)).toEqual({ path: "/healthz", port: "https", scheme: "HTTPS" });
    expect(probe(container.livenessProbe)).toEqual({ path: "/healthz", port: "https", scheme: "HTTPS" });
  });

  test("the config file, the Redis password and the TLS keypair are mounted where the config says", () => {
    const args: string[] = container.args;
    expect(args.slice(0, 2)).toEqual(["start", "-c"]);
    const cfg = mountOf(args[2]!);
    expect(cfg.volume.configMap.name).toBe(configMap.metadata.name);
    expect(Object.keys(configMap.data)).toContain(cfg.key);
    const pw = mountOf(config.kubeport.storage.password_file!);
    expect(pw.volume.secret.secretName).toBe(redisSecret.metadata.name);
    expect(Object.keys(redisSecret.stringData ?? redisSecret.data)).toContain(pw.key);
    const pair = config.proxy_service.https_keypairs[0]!;
    for (const [file, key] of [
      [pair.cert_file, "tls.crt"],
      [pair.key_file, "tls.key"],
    ]) {
      const m = mountOf(file!);
      expect(m.key).toBe(key!); // a kubernetes.io/tls Secret's keys
      expect(m.volume.secret.secretName).toBe("kubeport-tls");
    }
    // The TLS Secret is made by hand (a real certificate cannot live here): the kustomization says how.
    expect(readFileSync(join(DIR, "kustomization.yaml"), "utf8")).toContain("create secret tls kubeport-tls");
  });

  test("data_dir is a directory kubeport makes inside a writable emptyDir (so it owns it, 0700)", () => {
    const data = mountOf(`${config.kubeport.data_dir}/host_uuid`);
    expect(data.volume.emptyDir).toBeDefined();
    expect(dirname(data.key)).not.toBe("."); // not the mount point itself, which root owns
  });

  test("IRSA: the pods run as the ServiceAccount annotated with an IAM role", () => {
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(sa.metadata.annotations["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam::\d{12}:role\/.+/);
  });

  test("the image's non-root user, nothing writable but its volumes, no privileges", () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.image).toMatch(/:[\w.-]+$/);
    expect(container.image).not.toMatch(/:latest$/);
  });

  test("the grace period covers kubeport's own shutdown deadline (its drain, then the rest)", () => {
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownDeadlineMs(config));
  });
});
