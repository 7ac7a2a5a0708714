// AWS Organizations (JSON 1.1: POST / with X-Amz-Target) as @aws-sdk/client-organizations calls it:
// ListAccounts over every simulated account, answered to the management account only.
import { AwsError } from "./aws-error.ts";
import type { Caller } from "./identity.ts";
import type { SimInternals } from "./state.ts";

/** The X-Amz-Target prefix of every Organizations operation. */
export const ORGANIZATIONS_TARGET = "AWSOrganizationsV20161128.";

export interface OrganizationsCall {
  state: SimInternals;
  caller: Caller;
  body: string;
  authorize(resource: string): void;
}

const encodeToken = (after: string) => Buffer.from(`org/${after}`).toString("base64url");

/** Answers one Organizations operation (`action` without the target prefix). */
export function handleOrganizations(action: string, call: OrganizationsCall): unknown {
  const org = call.state.organization();
  if (!org) {
    throw new AwsError(
      "AWSOrganizationsNotInUseException",
      400,
      "Your account is not a member of an organization.",
    );
  }
  if (action !== "ListAccounts")
    throw new AwsError("UnknownOperationException", 400, `The simulator has no Organizations ${action}.`);
  call.authorize("*");
  if (call.caller.account !== org.managementAccount) {
    // Only the management account (or a delegated administrator) may list accounts.
    throw new AwsError("AccessDeniedException", 400, "You don't have permissions to access this resource.");
  }
  let input: { MaxResults?: unknown; NextToken?: unknown } = {};
  try {
    input = call.body ? JSON.parse(call.body) : {};
  } catch {
    throw new AwsError("SerializationException", 400, "Start of structure or map found where not expected.");
  }
  const max = input.MaxResults === undefined ? 20 : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1 || max > 20)
    throw new AwsError("InvalidInputException", 400, "MaxResults must be between 1 and 20.", {
      Reason: "INVALID_INPUT",
    });
  let after: string | undefined;
  if (typeof input.NextToken === "string" && input.NextToken !== "") {
    const t = Buffer.from(input.NextToken, "base64url").toString();
    if (!t.startsWith("org/"))
      throw new AwsError("InvalidInputException", 400, "The NextToken is not valid.", {
        Reason: "INVALID_PAGINATION_TOKEN",
      });
    after = t.slice(4);
  }
  const all = [...call.state.accounts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rest = after === undefined ? all : all.filter((a) => a.id > after);
  const page = rest.slice(0, max);
  return {
    Accounts: page.map((a) => ({
      Id: a.id,
      Arn: `arn:aws:organizations::${org.managementAccount}:account/o-sim0000000/${a.id}`,
      Email: `aws+${a.id}@example.com`,
      Name: a.name ?? `account-${a.id}`,
      Status: a.status ?? "ACTIVE",
      State: a.status === "SUSPENDED" ? "SUSPENDED" : "ACTIVE",
      JoinedMethod: a.id === org.managementAccount ? "INVITED" : "CREATED",
      JoinedTimestamp: org.joinedAt / 1000,
    })),
    ...(rest.length > max ? { NextToken: encodeToken(page[page.length - 1]!.id) } : {}),
  };
}
