import { describe, expect, test } from "bun:test";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, configPath, loadConfig, parseConfig } from "./index.ts";

const opts = { env: {}, hostname: "node-a" };
const parse = (text: string) => parseConfig(text, "test.yaml", opts);
const problemsOf = (text: string) => {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
};

const FULL = `
version: v1
kubeport:
  data_dir: /srv/kp
  nodename: n1
  storage:
    type: redis
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379"]
    name: mymaster
    password: s3cret
    key_prefix: kp
  log: { severity: debug, format: json }
  join_params: { method: token, token_name: /tmp/token }
  lock_ttl: 20s
proxy_service:
  enabled: yes
  listen_addr: 127.0.0.1:8443
  public_addr: kp.example.com:443
  https_keypairs: [{ cert_file: /c.pem, key_file: /k.pem }]
  oidc:
    - issuer_url: https://idp.example.com
      audience: kubeport
      groups_to_roles: { admins: [admin] }
discovery_service:
  enabled: "on"
  discovery_group: prod
  poll_interval: 1m30s
  aws:
    - types: [eks]
      regions: [us-east-1, eu-west-1]
      tags: { env: [prod, staging], team: "^(a|b)$" }
      assume_role_arn: arn:aws:iam::222222222222:role/discovery
      external_id: ext
      setup_access: off
kubernetes_service:
  enabled: true
  resources:
    - labels: { env: prod }
`;

describe("parseConfig accepts", () => {
  test("a minimal config and fills every default", () => {
    const c = parse("version: v1\n");
    expect(c.kubeport).toEqual({
      data_dir: "/var/lib/kubeport",
      nodename: "node-a",
      storage: { type: "sqlite", path: "/var/lib/kubeport/registry.db", key_prefix: "kubeport" },
      log: { severity: "info" },
      lock_ttl: 15_000,
    });
    expect(c.proxy_service).toEqual({
      enabled: false,
      listen_addr: "0.0.0.0:3080",
      public_addr: "localhost:3080",
      https_keypairs: [],
      oidc: [],
      disconnect_expired_credentials: true,
      max_token_ttl: 30 * 3_600_000,
      shutdown_delay: 0,
      shutdown_grace: 30_000,
      limits: {
        ws_max_message_bytes: 16 * 1024 * 1024,
        ws_max_buffered_bytes_per_session: 4 * 1024 * 1024,
        ws_max_buffered_bytes_total: 256 * 1024 * 1024,
        unauthenticated_rate: { average: 10, burst: 100, period: 1000 },
        user_rate: { average: 100, burst: 1000, period: 1000 },
        max_kubernetes_connections: 100,
        filtered_list_bytes_total: 128 * 1024 * 1024,
        max_connections_per_address: 512,
      },
      trusted_proxies: [],
      login: {
        session_ttl: 12 * 3_600_000,
        invite_ttl: 24 * 3_600_000,
        max_failures: 5,
        lockout: 15 * 60_000,
        console: true,
      },
    });
    expect(c.audit).toEqual({
      retention: 30 * 86_400_000,
      max_events: 500_000,
      sessions_uri: "file:///var/lib/kubeport/recordings",
      record_session: "best_effort",
      recording_max_bytes: 64 * 1024 * 1024,
    });
    expect(c.discovery_service).toEqual({
      enabled: false,
      discovery_group: "",
      poll_interval: 300_000,
      call_timeout: 10_000,
      connect_timeout: 3_000,
      scope_timeout: 120_000,
      aws: [],
    });
    expect(c.kubernetes_service).toEqual({ enabled: false, resources: [] });
  });

  test("disconnect_expired_credentials: no keeps open streams past their token's expiry", () => {
    expect(
      parse("version: v1\nproxy_service: { disconnect_expired_credentials: no }\n").proxy_service,
    ).toMatchObject({ disconnect_expired_credentials: false });
  });

  test("max_token_ttl: a duration between 1m and 30h", () => {
    expect(parse("version: v1\nproxy_service: { max_token_ttl: 8h }\n").proxy_service.max_token_ttl).toBe(
      8 * 3_600_000,
    );
  });

  test("the audit section: retention, cap, S3 recordings, strict recording, sizes with units; trusted proxies", () => {
    const c = parse(`version: v1
proxy_service:
  trusted_proxies: ["10.0.0.0/8", "fd00::/8", "192.0.2.7"]
audit:
  retention: 72h
  max_events: 2000000
  sessions_uri: s3://recordings/kubeport?region=eu-west-1&endpoint=http://127.0.0.1:9000
  record_session: strict
  recording_max_bytes: 1GiB
`);
    expect(c.proxy_service.trusted_proxies).toEqual(["10.0.0.0/8", "fd00::/8", "192.0.2.7"]);
    expect(c.audit).toEqual({
      retention: 72 * 3_600_000,
      max_events: 2_000_000,
      sessions_uri: "s3://recordings/kubeport?region=eu-west-1&endpoint=http://127.0.0.1:9000",
      record_session: "strict",
      recording_max_bytes: 1024 ** 3,
    });
  });

  test("$KUBEPORT_DATA_DIR as the data_dir default", () => {
    const c = parseConfig("version: v1\n", "x", { env: { KUBEPORT_DATA_DIR: "/d" }, hostname: "h" });
    expect(c.kubeport.data_dir).toBe("/d");
    expect(c.kubeport.storage.path).toBe("/d/registry.db");
  });

  test("a full config", () => {
    const c = parse(FULL);
    expect(c.kubeport.storage).toEqual({
      type: "redis",
      path: "/srv/kp/registry.db",
      sentinels: ["10.0.0.1:26379", "10.0.0.2:26379"],
      name: "mymaster",
      password: "s3cret",
      key_prefix: "kp",
    });
    expect(c.kubeport.log).toEqual({ severity: "debug", format: "json" });
    expect(c.kubeport.join_params).toEqual({ method: "token", token_name: "/tmp/token" });
    expect(c.kubeport.lock_ttl).toBe(20_000);
    expect(c.proxy_service.public_addr).toBe("kp.example.com:443");
    expect(c.proxy_service.oidc[0]).toEqual({
      issuer_url: "https://idp.example.com",
      audience: "kubeport",
      username_claim: "email",
      groups_claim: "groups",
      groups_to_roles: { admins: ["admin"] },
    });
    expect(c.discovery_service.poll_interval).toBe(90_000);
    expect(c.discovery_service.aws[0]).toEqual({
      types: ["eks"],
      regions: ["us-east-1", "eu-west-1"],
      tags: { env: ["prod", "staging"], team: "^(a|b)$" },
      assume_role_arn: "arn:aws:iam::222222222222:role/discovery",
      external_id: "ext",
      kubernetes_groups: ["kubeport"],
      access_policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      setup_access: false,
      access_mode: "access_policy",
      adopt: false,
      keep_access_entries: false,
    });
    expect(c.kubernetes_service).toEqual({ enabled: true, resources: [{ labels: { env: "prod" } }] });
  });

  test.each([
    ["yes", true],
    ["no", false],
    ["on", true],
    ["off", false],
    ["true", true],
    ["false", false],
    ['"yes"', true],
    ['"no"', false],
    ["Yes", true],
    ["OFF", false],
  ])("boolean %s", (text, want) => {
    expect(parse(`version: v1\nproxy_service:\n  enabled: ${text}\n`).proxy_service.enabled).toBe(want);
  });

  test.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
  ])("duration %s", (text, ms) => {
    expect(
      parse(`version: v1\ndiscovery_service:\n  poll_interval: ${text}\n`).discovery_service.poll_interval,
    ).toBe(ms);
  });

  test.each(["DEBUG", "Info", "warn", "WARNING", "error"])("log severity %s", (sev) => {
    expect(parse(`version: v1\nkubeport:\n  log:\n    severity: ${sev}\n`).kubeport.log.severity).toBe(
      sev.toLowerCase().replace("warning", "warn") as "info",
    );
  });

  test.each([
    ["url", "url: redis://127.0.0.1:6379"],
    ["sentinels", "sentinels: ['a:1']\n    name: m"],
    ["cluster", "cluster_nodes: ['a:1', 'b:2']"],
  ])("redis storage by %s", (_, lines) => {
    expect(
      parse(`version: v1\nkubeport:\n  storage:\n    type: redis\n    ${lines}\n`).kubeport.storage.type,
    ).toBe("redis");
  });
});

describe("proxy_service.limits and kubeport.diag_addr", () => {
  const lines = (text: string) => problemsOf(text).map((p) => `${p.path}: ${p.message}`);
  test("sizes with units, rates with periods, a connection limit, and a diag address", () => {
    const c = parse(`version: v1
kubeport:
  diag_addr: 127.0.0.1:3000
proxy_service:
  limits:
    ws_max_message_bytes: 8MiB
    ws_max_buffered_bytes_per_session: 524288
    ws_max_buffered_bytes_total: 1GiB
    unauthenticated_rate: { average: 5, burst: 20, period: 1m }
    user_rate: { burst: 50 }
    max_kubernetes_connections: 0
    filtered_list_bytes_total: 64MiB
    max_connections_per_address: 0
`);
    expect(c.kubeport.diag_addr).toBe("127.0.0.1:3000");
    expect(c.proxy_service.limits).toEqual({
      ws_max_message_bytes: 8 * 1024 * 1024,
      ws_max_buffered_bytes_per_session: 512 * 1024,
      ws_max_buffered_bytes_total: 1024 ** 3,
      unauthenticated_rate: { average: 5, burst: 20, period: 60_000 },
      user_rate: { average: 100, burst: 50, period: 1000 },
      max_kubernetes_connections: 0,
      filtered_list_bytes_total: 64 * 1024 * 1024,
      max_connections_per_address: 0,
    });
  });

  test("every bad limit is named at once, with its path", () => {
    const err = lines(`version: v1
kubeport:
  diag_addr: localhost
proxy_service:
  limits:
    ws_max_message_bytes: lots
    ws_max_buffered_bytes_per_session: 8MiB
    ws_max_buffered_bytes_total: 1MiB
    unauthenticated_rate: { average: 0, burst: 1.5, perod: 1s }
    max_kubernetes_conections: 5
`);
    expect(err).toEqual([
      'kubeport.diag_addr: "localhost" is not host:port',
      'proxy_service.limits.ws_max_message_bytes: "lots" is not a size (a number of bytes, or like "16MiB", "512KiB")',
      "proxy_service.limits.ws_max_buffered_bytes_total: must be at least ws_max_buffered_bytes_per_session (8 MiB)",
      "proxy_service.limits.unauthenticated_rate.average: must be a number of requests greater than 0, got 0",
      "proxy_service.limits.unauthenticated_rate.burst: must be a whole number of requests, at least 1, got 1.5",
      'proxy_service.limits.unauthenticated_rate.perod: unknown key; did you mean "period"?',
      'proxy_service.limits.max_kubernetes_conections: unknown key; did you mean "max_kubernetes_connections"?',
    ]);
  });

  test("a size outside its range names the range", () => {
    expect(lines("version: v1\nproxy_service:\n  limits: { ws_max_message_bytes: 2GiB }\n")).toContain(
      "proxy_service.limits.ws_max_message_bytes: 2 GiB is outside 1 KiB … 1 GiB",
    );
  });
});

describe("storage.tls", () => {
  const tlsOf = (value: string) =>
    parse(`version: v1\nkubeport:\n  storage:\n    type: redis\n    url: redis://a:1\n    tls: ${value}\n`)
      .kubeport.storage.tls;
  test.each([
    ["yes", {}],
    ["true", {}],
    ["no", undefined],
    [
      "{ ca_file: /ca.pem, server_name: redis.internal, cert_file: /c.pem, key_file: /k.pem }",
      { ca_file: "/ca.pem", server_name: "redis.internal", cert_file: "/c.pem", key_file: "/k.pem" },
    ],
  ])("tls: %s", (value, want) => {
    expect(tlsOf(value)).toEqual(want);
  });
});

describe("parseConfig rejects, naming the key path", () => {
  test.each<[string, string, string, number?]>([
    [
      "a bad type",
      "version: v1\ndiscovery_service:\n  aws:\n    - types: [eks, ekss]\n",
      'discovery_service.aws[0].types[1]: "ekss" is not one of: eks',
      4,
    ],
    [
      "an unknown key with a suggestion",
      "version: v1\nkubernetes_service:\n  resource: []\n",
      'kubernetes_service.resource: unknown key; did you mean "resources"?',
      3,
    ],
    [
      "Teleport's disconnect_expired_cert",
      "version: v1\nproxy_service:\n  disconnect_expired_cert: no\n",
      'proxy_service.disconnect_expired_cert: unknown key; did you mean "disconnect_expired_credentials"?',
      3,
    ],
    [
      "a token lifetime cap above the longest token ctl issues",
      "version: v1\nproxy_service:\n  max_token_ttl: 90d\n",
      "proxy_service.max_token_ttl: must be at most 30h (the longest token ctl auth sign issues)",
      3,
    ],
    ["an unknown key without a suggestion", "version: v1\nzzz: 1\n", "zzz: unknown key", 2],
    [
      "a Teleport top-level key",
      "version: v1\nteleport: {}\n",
      'teleport: unknown key; did you mean "kubeport"?',
      2,
    ],
    ["a Teleport version", "version: v3\n", 'version: "v3" is not supported; kubeport reads version: v1', 1],
    ["a missing version", "kubeport: {}\n", "version: is required"],
    [
      "a bad boolean",
      "version: v1\nproxy_service:\n  enabled: maybe\n",
      'proxy_service.enabled: "maybe" is not a boolean',
      3,
    ],
    [
      "a bad duration",
      "version: v1\ndiscovery_service:\n  poll_interval: soon\n",
      'discovery_service.poll_interval: "soon" is not a duration',
      3,
    ],
    [
      "a number as duration",
      "version: v1\nkubeport:\n  lock_ttl: 15\n",
      "kubeport.lock_ttl: 15 is not a duration",
      3,
    ],
    [
      "a bad severity",
      "version: v1\nkubeport:\n  log: {severity: loud}\n",
      'kubeport.log.severity: "loud" is not one of: DEBUG, INFO, WARN, ERROR',
    ],
    [
      "a bad regex tag",
      "version: v1\ndiscovery_service:\n  aws:\n    - types: [eks]\n      tags: {env: '^(prod$'}\n",
      "discovery_service.aws[0].tags.env: invalid regular expression",
      5,
    ],
    [
      "a bad tag type",
      "version: v1\ndiscovery_service:\n  aws:\n    - types: [eks]\n      tags: {env: 3}\n",
      "discovery_service.aws[0].tags.env: must be a string or a list of strings",
      5,
    ],
    [
      "redis without a target",
      "version: v1\nkubeport:\n  storage: {type: redis}\n",
      "kubeport.storage: type redis needs exactly one of: url, sentinels + name, cluster_nodes (found none)",
    ],
    [
      "redis with two targets",
      "version: v1\nkubeport:\n  storage: {type: redis, url: 'redis://a:1', cluster_nodes: ['a:1']}\n",
      "(found several)",
    ],
    [
      "sentinels without name",
      "version: v1\nkubeport:\n  storage: {type: redis, sentinels: ['a:1']}\n",
      "kubeport.storage.name: is required with sentinels",
    ],
    [
      "a redis key on sqlite",
      "version: v1\nkubeport:\n  storage: {url: 'redis://a:1'}\n",
      "kubeport.storage.url: is only valid with type: redis",
    ],
    [
      "a bad listen_addr",
      "version: v1\nproxy_service:\n  listen_addr: nowhere\n",
      'proxy_service.listen_addr: "nowhere" is not host:port',
    ],
    [
      "discovery on without matchers",
      "version: v1\ndiscovery_service:\n  enabled: yes\n",
      "discovery_service.aws: needs at least one matcher",
    ],
    [
      "a missing types",
      "version: v1\ndiscovery_service:\n  aws:\n    - regions: [us-east-1]\n",
      "discovery_service.aws[0].types:",
      4,
    ],
    [
      "a number where a map goes",
      "version: v1\nkubeport:\n  log: 7\n",
      "kubeport.log: must be a map, got 7",
      3,
    ],
    [
      "a list where a map goes",
      "version: v1\nkubeport:\n  log: [a]\n",
      "kubeport.log: must be a map, got a list",
      3,
    ],
    [
      "an empty list for storage.tls (not TLS on)",
      "version: v1\nkubeport:\n  storage:\n    type: redis\n    url: redis://a:1\n    tls: []\n",
      "kubeport.storage.tls: must be a map, got a list",
    ],
    [
      "an unknown key under storage.tls",
      "version: v1\nkubeport:\n  storage:\n    type: redis\n    url: rediss://a:1\n    tls: { ca_fil: /x.pem }\n",
      'kubeport.storage.tls.ca_fil: unknown key; did you mean "ca_file"?',
    ],
    [
      "a client certificate without its key",
      "version: v1\nkubeport:\n  storage:\n    type: redis\n    url: rediss://a:1\n    tls: { cert_file: /c.pem }\n",
      "kubeport.storage.tls.key_file: is required with cert_file",
    ],
    [
      "a sentinel password without sentinels",
      "version: v1\nkubeport:\n  storage: {type: redis, url: 'redis://a:1', sentinel_password: x}\n",
      "kubeport.storage.sentinel_password: is only valid with sentinels",
    ],
    [
      "tls on sqlite",
      "version: v1\nkubeport:\n  storage: {tls: yes}\n",
      "kubeport.storage.tls: is only valid with type: redis",
    ],
    [
      "a retention under a minute",
      "version: v1\naudit: { retention: 5s }\n",
      'audit.retention: "5s" is not a duration of a minute or more',
    ],
    [
      "a tiny audit cap",
      "version: v1\naudit: { max_events: 10 }\n",
      "audit.max_events: must be at least 1000",
    ],
    [
      "an unknown record_session",
      "version: v1\naudit: { record_session: always }\n",
      'audit.record_session: "always" is not one of: off, best_effort, strict',
    ],
    [
      "a recording cap that is not a size",
      "version: v1\naudit: { recording_max_bytes: lots }\n",
      'audit.recording_max_bytes: "lots" is not a size',
    ],
    [
      "a sessions_uri of another scheme",
      "version: v1\naudit: { sessions_uri: 'gs://b/p' }\n",
      "audit.sessions_uri: gs:// is not supported",
    ],
    [
      "an s3 uri with an unknown parameter",
      "version: v1\naudit: { sessions_uri: 's3://b/p?regoin=x' }\n",
      'audit.sessions_uri: s3:// parameter "regoin"',
    ],
    [
      "a misspelt audit key",
      "version: v1\naudit: { retension: 30d }\n",
      'audit.retension: unknown key; did you mean "retention"?',
    ],
    [
      "a trusted proxy that is not a CIDR",
      "version: v1\nproxy_service: { trusted_proxies: [10.0.0.0/33] }\n",
      'proxy_service.trusted_proxies[0]: "10.0.0.0/33" is not an IP address or CIDR',
    ],
    ["invalid YAML", "version: v1\nkubeport: [\n", "invalid YAML"],
    ["an empty file", "", "the file is empty"],
    ["a list as the file", "- a\n", "must be a YAML map"],
  ])("%s", (...[, text, want, line]) => {
    const problems = problemsOf(text);
    const hit = problems.find((p) => `${p.path}: ${p.message}`.includes(want) || p.message.includes(want));
    expect(hit, JSON.stringify(problems)).toBeDefined();
    if (line !== undefined) expect(hit?.line).toBe(line);
  });

  test("every problem at once, with lines in the message", () => {
    const text =
      "version: v1\nkubernetes_service:\n  resource: []\ndiscovery_service:\n  aws:\n    - types: [ekss]\n  poll_interval: never\n";
    let err: unknown;
    try {
      parse(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.problems.map((p) => p.path).sort()).toEqual([
      "discovery_service.aws[0].types[0]",
      "discovery_service.poll_interval",
      "kubernetes_service.resource",
    ]);
    expect(ce.message).toContain("test.yaml: 3 problems");
    expect(ce.message).toContain(
      'kubernetes_service.resource: unknown key; did you mean "resources"? (line 3)',
    );
  });

  test("quoted keys are rendered in the path", () => {
    const problems = problemsOf(
      "version: v1\ndiscovery_service:\n  aws:\n    - types: [eks]\n      tags: {'kubernetes.io/x': '^[$'}\n",
    );
    expect(problems[0]?.path).toBe('discovery_service.aws[0].tags["kubernetes.io/x"]');
  });
});

describe("loadConfig", () => {
  test("reads a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kp-cfg-"));
    const path = join(dir, "k.yaml");
    await writeFile(path, "version: v1\n");
    expect((await loadConfig(path, opts)).version).toBe("v1");
  });

  test("a missing file is a ConfigError naming it", async () => {
    await expect(loadConfig("/nonexistent/k.yaml", opts)).rejects.toThrow(
      /\/nonexistent\/k.yaml: 1 problem\n {2}file not found/,
    );
  });

  test.each<[string | undefined, Record<string, string>, string]>([
    ["/a.yaml", { KUBEPORT_CONFIG: "/b.yaml" }, "/a.yaml"],
    [undefined, { KUBEPORT_CONFIG: "/b.yaml" }, "/b.yaml"],
    [undefined, {}, "/etc/kubeport.yaml"],
  ])("configPath(%p, %p) = %s", (flag, env, want) => {
    expect(configPath(flag, env)).toBe(want);
  });
});
