// Red team (issue 10): a role edit that takes away a resource (a kubernetes_resources deny, or an
// allow narrowed) reaches new requests at once, but did not reach the streams already open: the
// revoker re-decided the cluster only (authorizer.authorize), never the resource rules, and a watch
// kept the item check it was opened with. A watch opened before `deny: secret-*` went on delivering
// the denied pods' events. Fixed (sessions/access-check.ts): each open stream's own request is
// decided again; the client is told why it ended. The `control:` cases: an edit that changes
// nothing a stream can see or do leaves it open.
import { expect, test } from "bun:test";
import { issueUserToken, kubeportIssuer } from "../../src/gateway/auth/index.ts";
import type { Resource } from "../../src/registry/index.ts";
import { cluster, startTestGateway, startUpstream, type TestGateway } from "../gateway/fixture.ts";
import { pod, resourceRole, startRig, user, waitFor } from "./harness.ts";

const pods = "/v1/clusters/c/api/v1/namespaces/default/pods";
const execPath = `${pods}/web-0/exec?command=sh&stdin=true&stdout=true`;
const configmap = "/v1/clusters/c/api/v1/namespaces/default/configmaps/settings";

/** One open stream of user "wes", as its client sees it, and the gateway it goes through. */
interface Stream {
  gw: TestGateway;
  token: string;
  /** What the client received (watch: the body; exec: stdout). */
  text(): string;
  ended(): boolean;
  /** What the client was told about an end (watch: its ERROR events' Status; exec: the error channel). */
  told(): string;
  /** Sends `data` down the stream: upstream changes pod `name` (watch), or the client types it (exec). */
  send(data: string, name?: string): void;
  /** Watches upstream still holds open. */
  upstreamWatches(): number;
  close(): Promise<void>;
}

/** A kind of long-lived stream: opened (with its own gateway and upstream) once it carries traffic. */
type Kind = (resources: Resource[]) => Promise<Stream>;

/** `kubectl get pods -w` in default, over the red-team upstream (web-0 and secret-pod). */
const watch: Kind = async (resources) => {
  const rig = await startRig(resources);
  const token = await rig.token("wes");
  const ac = new AbortController();
  const res = await rig.gw.fetch(`${pods}?watch=1`, { token, signal: ac.signal });
  expect(res.status).toBe(200);
  let text = "";
  let ended = false;
  const dec = new TextDecoder();
  const reader = res.body!.getReader();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
    } catch {}
    ended = true;
  })();
  expect(await waitFor(() => rig.up.openWatches() === 1 && text.includes("web-0"))).toBe(true);
  return {
    gw: rig.gw,
    token,
    text: () => text,
    ended: () => ended,
    told: () =>
      text
        .trim()
        .split("\n")
        .filter((l) => l.includes('"ERROR"'))
        .map((l) => JSON.parse(l) as { object: { kind: string; code: number; message: string } })
        .map((e) => `${e.object.kind} ${e.object.code}: ${e.object.message}`)
        .join("\n"),
    send: (data, name = "web-0") =>
      rig.up.emit({ type: "MODIFIED", object: { ...pod("default", name), data } }),
    upstreamWatches: () => rig.up.openWatches(),
    async close() {
      ac.abort();
      await reader.cancel().catch(() => {});
      await rig.close();
    },
  };
};

/** `kubectl exec -it web-0 -- sh` (v5 channel protocol) over the fixture's echoing upstream. */
const exec: Kind = async (resources) => {
  const up = await startUpstream();
  const gw = await startTestGateway({
    realAuth: true,
    clusters: [cluster("c", up.url, up.caPem)],
    resources,
  });
  const token = await issueUserToken(gw.backend, {
    user: "wes",
    issuer: kubeportIssuer({ public_addr: "localhost:3080" }),
  });
  const ws = new WebSocket(`${gw.gateway.url.replace("https", "wss")}${execPath}`, {
    headers: { authorization: `Bearer ${token}` },
    protocols: ["v5.channel.k8s.io"],
    tls: { ca: gw.gateway.caPem },
  } as never);
  ws.binaryType = "arraybuffer";
  const out: string[] = [];
  const errors: string[] = [];
  let closed = false;
  ws.addEventListener("message", (e) => {
    const b = new Uint8Array(e.data as ArrayBuffer);
    if (b[0] === 1) out.push(new TextDecoder().decode(b.subarray(1)));
    if (b[0] === 3) errors.push(new TextDecoder().decode(b.subarray(1)));
  });
  ws.addEventListener("close", () => {
    closed = true;
  });
  await new Promise((r) => ws.addEventListener("open", r));
  const send = (data: string) => {
    if (!closed) ws.send(Uint8Array.of(0, ...new TextEncoder().encode(`${data}\n`)));
  };
  send("before");
  expect(await waitFor(() => out.join("").includes("before"))).toBe(true);
  return {
    gw,
    token,
    text: () => out.join(""),
    ended: () => closed,
    told: () => errors.join(""),
    send,
    upstreamWatches: () => 0,
    async close() {
      ws.close();
      await gw.close();
      await up.close();
    },
  };
};

const allPods = { kind: "pods", namespace: "*", name: "*", verbs: ["*"] };
const viewPods = { kind: "pods", namespace: "default", name: "*", verbs: ["get", "list", "watch"] };
const secretPods = { kind: "pods", namespace: "default", name: "secret-*", verbs: ["*"] };
const execPods = (verbs: string[]) => ({ kind: "pods", namespace: "*", name: "*", verbs });
const getConfigmaps = { kind: "configmaps", namespace: "*", name: "*", verbs: ["get"] };

interface Case {
  name: string;
  stream: Kind;
  /** wes's role "r" when the stream opens, and the admin's edit of it: [allow, deny]. */
  role: [Record<string, unknown>[], Record<string, unknown>[]?];
  edit: [Record<string, unknown>[], Record<string, unknown>[]?];
  /** What the client must not have seen when the stream opened. */
  hiddenAtOpen?: string;
  /** A request the edit changes, and whether it is refused after it (polled: the edit has reached the gateway). */
  probe: { path: string; refused: boolean };
  /** Sent down the stream after the edit (`pod`: a watch event of that pod). */
  send: { data: string; pod?: string }[];
  /** What came of it: the stream ended, which of `send` reached the client (and, for watches, upstream's open ones). */
  want: { ended: boolean; got: string[]; upstreamWatches?: number };
  /** What the client is told about the end (each must appear); none: told nothing. */
  told: string[];
}

const CASES: Case[] = [
  {
    name: "a watch opened before a deny rule stops delivering the objects it now denies",
    stream: watch,
    role: [[allPods]],
    edit: [[allPods], [secretPods]],
    probe: { path: `${pods}/secret-pod`, refused: true },
    // Upstream changes the denied pod: the open watch must not carry it (ending the stream is fine too).
    send: [{ data: "TOP-SECRET", pod: "secret-pod" }],
    want: { ended: true, got: [] },
    // Ended with the reason (kubectl prints it; 410 makes client-go list again, under the new
    // rules), not cut silently.
    told: ["Status 410: ", "roles changed"],
  },
  {
    name: "an exec session opened before its role lost the exec verb does not go on running commands",
    stream: exec,
    role: [[execPods(["get", "list", "exec"])]],
    edit: [[execPods(["get", "list"])]],
    probe: { path: execPath, refused: true },
    // A command typed now must not run upstream (ending the session is fine).
    send: [{ data: "cat /etc/shadow" }],
    want: { ended: true, got: [] },
    // Ended with the reason on the error channel (kubectl prints it).
    told: ["access removed", "cannot exec"],
  },
  {
    name: "control: a role edit that changes nothing an open watch may see leaves it open, filtering as before",
    stream: watch,
    role: [[viewPods], [secretPods]],
    // The admin gives the role configmaps (and a deny on some of them): nothing about pods changes.
    edit: [
      [viewPods, { ...getConfigmaps, namespace: "default" }],
      [secretPods, { kind: "configmaps", namespace: "default", name: "secret-*", verbs: ["*"] }],
    ],
    hiddenAtOpen: "secret-pod",
    probe: { path: configmap, refused: false },
    // The denied pod's event is dropped, the allowed one's arrives after it (one stream, in order).
    send: [{ data: "TOP-SECRET", pod: "secret-pod" }, { data: "STILL-HERE" }],
    want: { ended: false, got: ["STILL-HERE"], upstreamWatches: 1 },
    told: [],
  },
  {
    name: "control: a role edit that changes nothing an open exec session may do leaves it running",
    stream: exec,
    role: [[execPods(["get", "list", "exec"])]],
    // The admin adds a configmaps rule to the role: exec on pods is as it was.
    edit: [[execPods(["get", "list", "exec"]), getConfigmaps]],
    probe: { path: configmap, refused: false },
    send: [{ data: "after-edit" }],
    want: { ended: false, got: ["after-edit"] },
    told: [],
  },
];

const role = ([allow, deny]: Case["role"]) => resourceRole("r", allow, deny);

/** Whether the gateway refuses `path` (403) to the stream's user. */
async function refuses(s: Stream, path: string): Promise<boolean> {
  const r = await s.gw.fetch(path, { token: s.token });
  await r.text();
  return r.status === 403;
}

/** Polls until the gateway refuses `path` or, with refused false, answers it otherwise. */
async function until(s: Stream, path: string, refused: boolean): Promise<boolean> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if ((await refuses(s, path)) === refused) return true;
    await Bun.sleep(50);
  }
  return false;
}

for (const c of CASES)
  test(c.name, async () => {
    const s = await c.stream([role(c.role), user("wes", ["r"])]);
    try {
      if (c.hiddenAtOpen) expect(s.text()).not.toContain(c.hiddenAtOpen);
      // Before the edit the probe is answered the other way; after it, new requests know at once.
      expect(await refuses(s, c.probe.path)).toBe(!c.probe.refused);
      await s.gw.backend.put(role(c.edit));
      expect(await until(s, c.probe.path, c.probe.refused)).toBe(true);

      const mark = s.text().length;
      for (const { data, pod } of c.send) s.send(data, pod);
      const last = c.send.at(-1)!.data;
      expect(await waitFor(() => s.ended() || s.text().slice(mark).includes(last))).toBe(true);
      const after = s.text().slice(mark);
      expect({
        ended: s.ended(),
        got: c.send.map((x) => x.data).filter((d) => after.includes(d)),
        ...(c.want.upstreamWatches !== undefined ? { upstreamWatches: s.upstreamWatches() } : {}),
      }).toEqual(c.want);
      if (c.told.length === 0) expect(s.told()).toBe("");
      for (const t of c.told) expect(s.told()).toContain(t);
    } finally {
      await s.close();
    }
  }, 60_000);
