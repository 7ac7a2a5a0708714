// startAwsSim: one Bun.serve port playing EKS (REST-JSON) and STS (query) for the simulated accounts, plus /_sim/ control.
import { AwsError, renderJsonError, renderStsError, requestId } from "./aws-error.ts";
import { handleControl } from "./control.ts";
import { matchEksRoute } from "./eks.ts";
import type { Caller } from "./identity.ts";
import { handleOrganizations, ORGANIZATIONS_TARGET } from "./organizations.ts";
import { formatAmzDate, parseAmzDate, parseAuth, verifySignature } from "./sigv4.ts";
import { createSimState, type SimInternals } from "./state.ts";
import { handleSts } from "./sts.ts";
import type { AwsSim, AwsSimOptions } from "./types.ts";

const SKEW_MS = 15 * 60_000;

type Service = "eks" | "sts" | "organizations";

/** Error codes differ by protocol: [EKS (REST-JSON) and Organizations (JSON 1.1), STS (query)]. */
const CODES = {
  missing: ["MissingAuthenticationTokenException", "MissingAuthenticationToken"],
  incomplete: ["IncompleteSignatureException", "IncompleteSignature"],
  unknownKey: ["UnrecognizedClientException", "InvalidClientTokenId"],
  expiredToken: ["ExpiredTokenException", "ExpiredToken"],
  badSignature: ["InvalidSignatureException", "SignatureDoesNotMatch"],
  denied: ["AccessDeniedException", "AccessDenied"],
  throttled: ["ThrottlingException", "Throttling"],
  down: ["ServiceUnavailableException", "ServiceUnavailable"],
} as const;

const err = (svc: Service, kind: keyof typeof CODES, status: number, message: string) =>
  svc === "organizations" && kind === "throttled"
    ? new AwsError("TooManyRequestsException", 400, message)
    : new AwsError(CODES[kind][svc === "sts" ? 1 : 0], status, message);

/** Which service a request is for: Organizations by its X-Amz-Target, STS on "/", else EKS. */
function serviceOf(req: Request, url: URL): Service {
  if ((req.headers.get("x-amz-target") ?? "").startsWith(ORGANIZATIONS_TARGET)) return "organizations";
  return url.pathname === "/" ? "sts" : "eks";
}

/** Waits until the hang fault `id` is removed or the caller goes away (a "hung" AWS endpoint). */
async function hang(state: SimInternals, id: string, signal: AbortSignal): Promise<void> {
  while (state.faults.has(id) && !signal.aborted) await Bun.sleep(50);
  if (signal.aborted) throw new AwsError("RequestAbandoned", 499, "the caller gave up");
}

function rawSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** Authenticates the request; returns the caller and the signing region or throws AwsError. */
async function authenticate(
  state: SimInternals,
  svc: Service,
  req: Request,
  url: URL,
  body: string,
  action: string,
): Promise<{ caller: Caller; region: string }> {
  const parsed = parseAuth(req.headers, url);
  if (!parsed.ok) {
    throw parsed.missing
      ? err(svc, "missing", 403, parsed.message)
      : err(svc, "incomplete", 400, parsed.message);
  }
  const info = parsed.info;
  if (info.service !== svc)
    throw err(svc, "badSignature", 403, `Credential should be scoped to correct service: '${svc}'.`);
  const key = state.identity.lookup(info.accessKeyId);
  if (!key || (key.sessionToken !== undefined && key.sessionToken !== info.sessionToken)) {
    throw err(svc, "unknownKey", 403, "The security token included in the request is invalid.");
  }
  const now = Date.now();
  if (key.expiresAt !== undefined && now >= key.expiresAt)
    throw err(svc, "expiredToken", 403, "The security token included in the request is expired");
  const date = parseAmzDate(info.amzDate);
  if (!date)
    throw err(svc, "incomplete", 400, `Date must be in ISO-8601 'basic format'. Got '${info.amzDate}'.`);
  if (info.scopeDate !== info.amzDate.slice(0, 8)) {
    throw err(
      svc,
      "badSignature",
      403,
      `Credential should be scoped to a valid date, not '${info.scopeDate}'. Request date is '${info.amzDate.slice(0, 8)}'.`,
    );
  }
  if (info.presigned) {
    // EKS bearer tokens (aws-iam-authenticator rules): GetCallerIdentity only, 0..900 s, x-k8s-aws-id signed.
    const expires = info.expires ?? -1;
    if (action !== "GetCallerIdentity")
      throw err(svc, "denied", 403, "Presigned requests are accepted for GetCallerIdentity only.");
    if (expires < 0 || expires > 900)
      throw err(svc, "denied", 403, `X-Amz-Expires must be between 0 and 900 seconds, got ${expires}.`);
    if (!info.signedHeaders.includes("x-k8s-aws-id") || !req.headers.get("x-k8s-aws-id")) {
      throw err(svc, "denied", 403, "The x-k8s-aws-id header must be present and signed.");
    }
    if (now > date.getTime() + SKEW_MS) throw err(svc, "denied", 403, "Request has expired");
    if (date.getTime() > now + SKEW_MS) throw err(svc, "badSignature", 403, "Signature not yet current.");
  } else if (Math.abs(now - date.getTime()) > SKEW_MS) {
    const bound = new Date(now + (date.getTime() > now ? SKEW_MS : -SKEW_MS));
    throw err(
      svc,
      "badSignature",
      403,
      date.getTime() > now
        ? `Signature not yet current: ${info.amzDate} is still later than ${formatAmzDate(bound)} (${formatAmzDate(new Date(now))} + 15 min.)`
        : `Signature expired: ${info.amzDate} is now earlier than ${formatAmzDate(bound)} (${formatAmzDate(new Date(now))} - 15 min.)`,
    );
  }
  const ok = await verifySignature({
    method: req.method,
    url,
    headers: req.headers,
    body,
    info,
    secretAccessKey: key.secretAccessKey,
    ...(key.sessionToken ? { sessionToken: key.sessionToken } : {}),
  });
  if (!ok) {
    throw err(
      svc,
      "badSignature",
      403,
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
  return { caller: key.caller, region: info.region };
}

/** Applies faults and the rate limit for this call (after any injected latency). */
async function applyFaults(
  state: SimInternals,
  svc: Service,
  call: { account: string; region: string; action: string; cluster?: string },
  signal: AbortSignal,
): Promise<void> {
  const { account, region, action } = call;
  for (const f of state.faults.hits(account, region, action, call.cluster)) {
    if (f.kind === "latency") await Bun.sleep(f.ms ?? 0);
    else if (f.kind === "hang") await hang(state, f.id, signal);
    else if (f.kind === "throttle") throw err(svc, "throttled", svc === "eks" ? 429 : 400, "Rate exceeded");
    else if (f.kind === "down") throw err(svc, "down", 503, `Service is unavailable in ${region}.`);
    else if (f.kind === "denied")
      throw err(svc, "denied", 403, `User: (simulated) is not authorized to perform: ${action}`);
    else if (f.kind === "region_disabled")
      throw err(svc, "unknownKey", 403, "The security token included in the request is invalid");
  }
  if (!state.limiter.take(`${account}/${region}`))
    throw err(svc, "throttled", svc === "eks" ? 429 : 400, "Rate exceeded");
}

async function handleAws(state: SimInternals, req: Request, url: URL): Promise<Response> {
  const reqId = requestId();
  const svc = serviceOf(req, url);
  const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
  const wantsJson = (req.headers.get("accept") ?? "").includes("application/json");
  const stsParams =
    svc === "sts" ? (req.method === "POST" ? new URLSearchParams(body) : url.searchParams) : undefined;
  const segments = svc === "eks" ? rawSegments(url.pathname) : undefined;
  const route = segments ? matchEksRoute(req.method, segments) : undefined;
  const bareAction =
    svc === "sts"
      ? (stsParams?.get("Action") ?? "")
      : svc === "organizations"
        ? (req.headers.get("x-amz-target") ?? "").slice(ORGANIZATIONS_TARGET.length)
        : (route?.action ?? "Unknown");
  const action = `${svc}:${bareAction}`;
  const log = { action, account: "", region: "", principal: "" };
  const render = (e: AwsError) =>
    svc === "sts" ? renderStsError(e, reqId, wantsJson) : renderJsonError(e, reqId);

  const latency = state.latencyMs();
  if (latency > 0) await Bun.sleep(latency);
  let res: Response;
  try {
    const { caller, region } = await authenticate(state, svc, req, url, body, bareAction);
    Object.assign(log, { account: caller.account, region, principal: caller.arn });
    // EKS routes naming a cluster carry it as their first parameter: per-cluster faults apply there.
    const cluster = route && segments?.[0] === "clusters" ? route.params[0] : undefined;
    await applyFaults(
      state,
      svc,
      { account: caller.account, region, action, ...(cluster ? { cluster } : {}) },
      req.signal,
    );
    const authorize = (resource: string) => {
      if (!state.identity.isAllowed(caller, action)) {
        throw err(
          svc,
          "denied",
          403,
          `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource}`,
        );
      }
    };
    if (svc === "organizations") {
      res = Response.json(handleOrganizations(bareAction, { state, caller, body, authorize }), {
        headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": reqId },
      });
    } else if (svc === "sts") {
      res = handleSts(bareAction, {
        state,
        caller,
        params: stsParams as URLSearchParams,
        requestId: reqId,
        json: wantsJson,
        authorize,
      });
    } else {
      if (!route)
        throw new AwsError(
          "UnknownOperationException",
          404,
          `No operation matches ${req.method} ${url.pathname}`,
        );
      const out = route.handler(
        { state, caller, region, query: url.searchParams, body, authorize },
        route.params,
      );
      res = Response.json(out, { headers: { "x-amzn-requestid": reqId } });
    }
  } catch (e) {
    if (!(e instanceof AwsError)) {
      console.error("aws-sim: internal error", e);
      res = render(
        new AwsError(
          svc === "eks" ? "ServerException" : "InternalFailure",
          500,
          "An internal error occurred.",
        ),
      );
    } else {
      res = render(e);
    }
  }
  state.record({ ...log, status: res.status });
  return res;
}

/**
 * Starts the simulator on 127.0.0.1 (port 0 unless `opts.port`), seeds its accounts and clusters,
 * and returns its URL, an env for the AWS SDK's default chain, and the control handle.
 */
export async function startAwsSim(opts: AwsSimOptions = {}): Promise<AwsSim> {
  const state = createSimState(opts);
  for (const seed of opts.clusters ?? []) await state.addCluster(seed);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    // No idle timeout: a "hang" fault must hang until the caller gives up (its own timeouts are under test).
    idleTimeout: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname.startsWith("/_sim/")) return handleControl(state, req, url);
      return handleAws(state, req, url);
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  const principal = state.accounts[0]?.principals?.[0];
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_EKS: url,
    AWS_ENDPOINT_URL_STS: url,
    AWS_ENDPOINT_URL_ORGANIZATIONS: url,
    AWS_REGION: opts.defaultRegion ?? "us-east-1",
    ...(principal
      ? { AWS_ACCESS_KEY_ID: principal.accessKeyId, AWS_SECRET_ACCESS_KEY: principal.secretAccessKey }
      : {}),
  };
  return {
    url,
    env,
    state,
    async close() {
      await server.stop(true);
    },
  };
}
