// Pure parts of the simulated API server: token parsing, the tiny shell, selectors, ages, protobuf reviews.
import { describe, expect, test } from "bun:test";
import { packTar, unpackTar } from "modern-tar";
import { parseToken } from "../../src/sim/kube/auth.ts";
import { PodFiles } from "../../src/sim/kube/pod-files.ts";
import { type ProcIO, run } from "../../src/sim/kube/programs.ts";
import { selfSubjectAccessReviewSpec, unwrap } from "../../src/sim/kube/proto.ts";
import { compileFilter } from "../../src/sim/kube/selectors.ts";
import { ObjectStore } from "../../src/sim/kube/store.ts";
import { humanAge } from "../../src/sim/kube/table.ts";

const HOST = "127.0.0.1:4566";
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const presigned = (params: Record<string, string>, host = HOST, path = "/") => {
  const q = new URLSearchParams({
    Action: "GetCallerIdentity",
    Version: "2011-06-15",
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": "AKIA/20260101/us-east-1/sts/aws4_request",
    "X-Amz-Date": "20260101T115900Z",
    "X-Amz-Expires": "60",
    "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
    "X-Amz-Signature": "00",
    ...params,
  });
  for (const [k, v] of Object.entries(params)) if (v === "") q.delete(k);
  return `k8s-aws-v1.${Buffer.from(`http://${host}${path}?${q}`).toString("base64url")}`;
};

describe("EKS token parsing", () => {
  const cases: [string, string, RegExp | null][] = [
    ["a well-formed token", presigned({}), null],
    ["no prefix", "k8s-aws-v2.abc", /prefix/],
    ["another host", presigned({}, "sts.amazonaws.com"), /unexpected STS host/],
    ["another path", presigned({}, HOST, "/x"), /path/],
    ["another action", presigned({ Action: "AssumeRole" }), /GetCallerIdentity/],
    ["an extra parameter", presigned({ Extra: "1" }), /non-whitelisted/],
    ["expiry over 900 s", presigned({ "X-Amz-Expires": "901" }), /X-Amz-Expires/],
    ["x-k8s-aws-id unsigned", presigned({ "X-Amz-SignedHeaders": "host" }), /x-k8s-aws-id/],
    ["older than 15 minutes", presigned({ "X-Amz-Date": "20260101T114400Z" }), /expired/],
    ["no signature", presigned({ "X-Amz-Signature": "" }), /missing X-Amz-Signature/],
  ];
  for (const [name, token, error] of cases) {
    test(name, () => {
      if (error) expect(() => parseToken(token, HOST, NOW)).toThrow(error);
      else expect(parseToken(token, HOST, NOW)).toStartWith(`http://${HOST}/?Action=GetCallerIdentity`);
    });
  }
});

async function sh(
  argv: string[],
  stdin: (string | Uint8Array)[] = [],
  files?: PodFiles,
): Promise<{ code: number; out: string; err: string; bytes: Uint8Array }> {
  const outs: Uint8Array[] = [];
  let err = "";
  const chunks = stdin.map((s) => (typeof s === "string" ? new TextEncoder().encode(s) : s));
  const io: ProcIO = {
    out: (t) => void outs.push(typeof t === "string" ? new TextEncoder().encode(t) : t),
    err: (t) => {
      err += t;
    },
    read: async () => chunks.shift(),
    signal: new AbortController().signal,
    pod: "web-0",
    ...(files ? { files } : {}),
  };
  const code = await run(argv, io);
  const bytes = new Uint8Array(Buffer.concat(outs));
  return { code, out: new TextDecoder().decode(bytes), err, bytes };
}

describe("tar and cat FILE (what kubectl cp runs)", () => {
  test("tar -xmf - -C DIR stores the archive's files; tar cf - PATH gives them back; cat FILE reads one", async () => {
    const files = new PodFiles();
    const blob = crypto.getRandomValues(new Uint8Array(5000));
    const archive = await packTar([
      { header: { name: "a.txt", size: 6 }, body: new TextEncoder().encode("alpha\n") },
      { header: { name: "sub/b.bin", size: blob.length }, body: blob },
    ]);
    expect(
      await sh(["tar", "--no-same-owner", "-xmf", "-", "-C", "/tmp/in"], [archive], files),
    ).toMatchObject({
      code: 0,
      err: "",
    });
    expect((await sh(["cat", "/tmp/in/a.txt"], [], files)).out).toBe("alpha\n");
    const out = await sh(["tar", "cf", "-", "/tmp/in"], [], files);
    expect(out.code).toBe(0);
    const back = await unpackTar(out.bytes);
    expect(back.map((f) => f.header.name)).toEqual(["tmp/in/a.txt", "tmp/in/sub/b.bin"]);
    expect(back[1]!.data).toEqual(blob);
  });

  test("test -d/-f/-e answer from the image's directories and the files written", async () => {
    const files = new PodFiles();
    files.set("/srv/app/a.txt", new Uint8Array([1]));
    const code = async (...argv: string[]) => (await sh(argv, [], files)).code;
    expect(await code("test", "-d", "/tmp")).toBe(0);
    expect(await code("test", "-d", "/srv/app")).toBe(0);
    expect(await code("test", "-d", "/srv/app/a.txt")).toBe(1);
    expect(await code("test", "-f", "/srv/app/a.txt")).toBe(0);
    expect(await code("[", "-e", "/srv/app", "]")).toBe(0);
    expect(await code("test", "-e", "/nope")).toBe(1);
    expect((await sh(["ls", "/srv"], [], files)).out).toBe("app\n");
    expect((await sh(["ls", "/srv/app"], [], files)).out).toBe("a.txt\n");
    expect(await sh(["ls", "/nope"], [], files)).toMatchObject({
      code: 2,
      err: "ls: cannot access '/nope': No such file or directory\n",
    });
  });

  test("a missing path, a missing file and a non-archive fail as GNU tar and cat do", async () => {
    const files = new PodFiles();
    const missing = await sh(["tar", "cf", "-", "/nope"], [], files);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("tar: /nope: Cannot stat: No such file or directory");
    expect(await sh(["cat", "/nope"], [], files)).toMatchObject({
      code: 1,
      err: "cat: /nope: No such file or directory\n",
    });
    expect((await sh(["tar", "-xmf", "-"], ["not a tar archive at all"], files)).code).toBe(2);
    expect((await sh(["tar"], [], files)).code).toBe(2);
  });
});

describe("container commands", () => {
  const cases: [string[], string[], { code: number; out: string; err: string }][] = [
    [["echo", "a", "b"], [], { code: 0, out: "a b\n", err: "" }],
    [["cat"], ["x\n", "y\n"], { code: 0, out: "x\ny\n", err: "" }],
    [["sh", "-c", "exit 3"], [], { code: 3, out: "", err: "" }],
    [
      ["sh", "-c", "echo 'one two'; echo oops >&2; exit 7; echo never"],
      [],
      { code: 7, out: "one two\n", err: "oops\n" },
    ],
    [["sh", "-c", "false && echo no || echo yes"], [], { code: 0, out: "yes\n", err: "" }],
    [["/bin/hostname"], [], { code: 0, out: "web-0\n", err: "" }],
    [["sh"], ["echo hi\n", "exit 4\n", "echo late\n"], { code: 4, out: "hi\n", err: "" }],
    [["vim"], [], { code: 127, out: "", err: "vim: command not found\n" }],
  ];
  for (const [argv, stdin, want] of cases) {
    test(argv.join(" "), async () => {
      const { code, out, err } = await sh(argv, stdin);
      expect({ code, out, err }).toEqual(want);
    });
  }
});

describe("selectors and ages", () => {
  const store = new ObjectStore();
  const pod = store.addPod("default", "web-1", { labels: { app: "web", tier: "front" } });
  const cases: [string | null, string | null, boolean][] = [
    ["app=web", null, true],
    ["app==web,tier", null, true],
    ["app!=web", null, false],
    ["!tier", null, false],
    [null, "metadata.name=web-1", true],
    [null, "metadata.name=web-2", false],
    ["app=web", "metadata.namespace=default,status.phase=Running", true],
  ];
  for (const [labels, fields, want] of cases) {
    test(`labels ${labels} fields ${fields} → ${want}`, () => {
      expect(compileFilter(labels, fields)(pod)).toBe(want);
    });
  }
  test("an unsupported field selector is refused", () => {
    expect(() => compileFilter(null, "spec.foo=bar")).toThrow(/field label not supported/);
  });
  test("ages print like kubectl", () => {
    const s = 1000;
    expect(
      [
        45 * s,
        150 * s,
        12 * 60 * s,
        5 * 3600 * s + 10 * 60 * s,
        20 * 3600 * s,
        3 * 86400 * s + 4 * 3600 * s,
        40 * 86400 * s,
      ].map(humanAge),
    ).toEqual(["45s", "2m30s", "12m", "5h10m", "20h", "3d4h", "40d"]);
  });
});

describe("watch history", () => {
  test("events after a resourceVersion, and nothing from before a compaction", () => {
    const store = new ObjectStore(3);
    const start = store.resourceVersion;
    for (let i = 0; i < 5; i++) store.addPod("default", `p-${i}`);
    expect(store.eventsSince(start)).toBeUndefined();
    const recent = store.eventsSince(store.resourceVersion - 2);
    expect(recent?.map((e) => e.object.metadata.name)).toEqual(["p-3", "p-4"]);
    store.compact();
    expect(store.eventsSince(store.resourceVersion - 1)).toBeUndefined();
    expect(store.eventsSince(store.resourceVersion)).toEqual([]);
  });
});

describe("protobuf SelfSubjectAccessReview", () => {
  const ld = (field: number, bytes: Uint8Array) => new Uint8Array([(field << 3) | 2, bytes.length, ...bytes]);
  const str = (field: number, s: string) => ld(field, new TextEncoder().encode(s));
  const cat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));
  test("decodes the resource attributes inside the k8s envelope", () => {
    const attrs = cat(str(2, "impersonate"), str(5, "users"), str(7, "bob"));
    const review = cat(ld(1, new Uint8Array()), ld(2, ld(1, attrs)));
    const typeMeta = cat(str(1, "authorization.k8s.io/v1"), str(2, "SelfSubjectAccessReview"));
    const body = cat(new Uint8Array([0x6b, 0x38, 0x73, 0]), ld(1, typeMeta), ld(2, review));
    const { kind, raw } = unwrap(body);
    expect(kind).toBe("SelfSubjectAccessReview");
    expect(selfSubjectAccessReviewSpec(raw)).toEqual({
      resourceAttributes: { verb: "impersonate", resource: "users", name: "bob" },
    });
  });
});
