// STS query-protocol operations (GetCallerIdentity, AssumeRole) with XML (or JSON on request) responses.
import { AwsError, xmlEscape } from "./aws-error.ts";
import type { Caller } from "./identity.ts";
import type { SimInternals } from "./state.ts";

const NS = "https://sts.amazonaws.com/doc/2011-06-15/";
export const STS_ACTIONS = ["GetCallerIdentity", "AssumeRole"];

export interface StsCall {
  state: SimInternals;
  caller: Caller;
  params: URLSearchParams;
  requestId: string;
  json: boolean;
  authorize(resource: string): void;
}

function respond(call: StsCall, action: string, result: Record<string, unknown>): Response {
  if (call.json) {
    const body = {
      [`${action}Response`]: { [`${action}Result`]: result, ResponseMetadata: { RequestId: call.requestId } },
    };
    return Response.json(body, { headers: { "x-amzn-requestid": call.requestId } });
  }
  const toXml = (v: unknown, indent: string): string =>
    Object.entries(v as Record<string, unknown>)
      .map(([k, x]) =>
        x && typeof x === "object"
          ? `${indent}<${k}>\n${toXml(x, `${indent}  `)}${indent}</${k}>\n`
          : `${indent}<${k}>${xmlEscape(String(x))}</${k}>\n`,
      )
      .join("");
  const xml =
    `<${action}Response xmlns="${NS}">\n  <${action}Result>\n${toXml(result, "    ")}  </${action}Result>\n` +
    `  <ResponseMetadata>\n    <RequestId>${call.requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`;
  return new Response(xml, { headers: { "content-type": "text/xml", "x-amzn-requestid": call.requestId } });
}

const validation = (m: string) => new AwsError("ValidationError", 400, m);

export function handleSts(action: string, call: StsCall): Response {
  if (action === "GetCallerIdentity") {
    // GetCallerIdentity needs no permission: AWS answers it even when everything is denied.
    return respond(call, action, {
      Arn: call.caller.arn,
      UserId: call.caller.userId,
      Account: call.caller.account,
    });
  }
  if (action === "AssumeRole") {
    const roleArn = call.params.get("RoleArn") ?? "";
    const session = call.params.get("RoleSessionName") ?? "";
    if (!/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn))
      throw validation(`${roleArn} is invalid`);
    if (!/^[\w+=,.@-]{2,64}$/.test(session)) {
      throw validation(
        `1 validation error detected: Value '${session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const rawDuration = call.params.get("DurationSeconds");
    const duration = rawDuration === null ? 3600 : Number(rawDuration);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      throw validation(
        `1 validation error detected: Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
      );
    }
    call.authorize(roleArn);
    const externalId = call.params.get("ExternalId") ?? undefined;
    const creds = call.state.identity.assumeRole(call.caller, roleArn, session, externalId, duration);
    return respond(call, action, {
      Credentials: {
        AccessKeyId: creds.accessKeyId,
        SecretAccessKey: creds.secretAccessKey,
        SessionToken: creds.sessionToken,
        Expiration: creds.expiration.toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
      AssumedRoleUser: { AssumedRoleId: creds.assumedRoleId, Arn: creds.arn },
    });
  }
  throw new AwsError("InvalidAction", 400, `Could not find operation ${action} for version 2011-06-15`);
}
