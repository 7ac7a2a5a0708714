// Every outbound client in the product goes through lib/egress (HTTPS_PROXY / NO_PROXY): a new
// fetch, AWS SDK client, credential chain, node:http(s) request or raw socket added without it fails
// here, naming the file and line. (test/egress/start-through-proxy.test.ts shows the ones that exist
// working through a proxy.)
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // The simulators are test/demo servers and clients of loopback only.
      if (relative(SRC, p) !== "sim") yield* files(p);
    } else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) yield p;
  }
}

interface Rule {
  what: string;
  /** A use of an outbound client. */
  use: RegExp;
  /** How the file must route it (checked on the file as a whole). */
  routed: RegExp;
  /** Files that route it another way, and why. */
  except?: Record<string, string>;
}

const RULES: Rule[] = [
  {
    what: "fetch() without egressFetch",
    // A call, not a server's `fetch(req) {` handler.
    use: /^(?!\s*(async\s+)?fetch\().*(?<![.\w])fetch\(/,
    routed: /$^/,
    except: {
      "gateway/forward/http.ts": "passes the egress decision as fetch's proxy option itself (hot path)",
      "lib/egress/fetch.ts": "egressFetch itself",
    },
  },
  {
    what: "an AWS SDK client without the egress agents",
    use: /new \w+Client\(/,
    routed: /awsRequestHandler\(|sdkSettings\(|\.\.\.clientConfig/,
    except: {
      "recording/bun-s3.ts": "its probe client sends nothing (its requestHandler catches the request)",
    },
  },
  {
    what: "Bun's S3 client without an egress decision",
    use: /new Bun\.S3Client\(/,
    routed: /$^/,
    except: {
      "recording/bun-s3.ts":
        "s3-store.ts uses it only where the egress goes direct (Bun's S3 client takes no proxy); through a proxy the SDK writes",
    },
  },
  {
    what: "the credential chain without the egress agents for its STS/SSO clients",
    use: /fromNodeProviderChain\(|defaultChain\(/,
    routed: /(fromNodeProviderChain|defaultChain)\(awsChainInit\([^)]*\)\)/,
    // defaultChain loads the providers on first use and hands its init to fromNodeProviderChain:
    // its callers are held to awsChainInit(…) by this rule.
    except: { "lib/aws-credentials.ts": "defaultChain passes its caller's init on" },
  },
  {
    what: "node:http(s) requests without an egress agent",
    use: /\bhttps?\.(request|get)\(/,
    routed: /egressAgentPair\(|EgressHttpsAgent|EgressHttpAgent/,
  },
  {
    what: "a raw TCP connection without a CONNECT tunnel",
    use: /Bun\.connect\(|net\.connect\(|tls\.connect\(/,
    routed: /connectRequest\(|openTunnel\(/,
    except: { "lib/egress/tunnel.ts": "the tunnel itself", "lib/egress/agents.ts": "TLS inside a tunnel" },
  },
];

test.each(RULES.map((r) => [r.what, r]))("no %s", (_, rule) => {
  const found: string[] = [];
  for (const path of files(SRC)) {
    const file = relative(SRC, path);
    if (rule.except?.[file]) continue;
    const text = readFileSync(path, "utf8");
    if (rule.routed.test(text)) continue;
    text.split("\n").forEach((line, i) => {
      if (rule.use.test(line) && !/^\s*(\/\/|\*)/.test(line))
        found.push(`src/${file}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(found).toEqual([]);
});
