// Where Bun's S3 client is pointed: where the AWS SDK would send the same PutObject.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { sdkTarget } from "./bun-s3.ts";

let saved: NodeJS.ProcessEnv;
beforeEach(() => {
  saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith("AWS_ENDPOINT_URL")) delete process.env[k];
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIATARGET", AWS_SECRET_ACCESS_KEY: "secret" });
});
afterEach(() => {
  process.env = saved;
});

test.each([
  [
    "AWS, a DNS-safe bucket: virtual-hosted",
    { region: "eu-west-1" },
    "recordings",
    { endpoint: "https://recordings.s3.eu-west-1.amazonaws.com", virtualHostedStyle: true },
  ],
  [
    "AWS, a bucket with dots: path-style (its name breaks the TLS wildcard)",
    { region: "eu-west-1" },
    "my.recordings",
    { endpoint: "https://s3.eu-west-1.amazonaws.com", virtualHostedStyle: false },
  ],
  [
    "an S3-compatible endpoint, path-style",
    { region: "us-east-1", endpoint: "http://127.0.0.1:9000", forcePathStyle: true },
    "rec",
    { endpoint: "http://127.0.0.1:9000", virtualHostedStyle: false },
  ],
  [
    "an S3-compatible endpoint, virtual-hosted",
    { region: "us-east-1", endpoint: "http://minio.test:9000", forcePathStyle: false },
    "rec",
    { endpoint: "http://rec.minio.test:9000", virtualHostedStyle: true },
  ],
  [
    "an endpoint with a path of its own: not Bun's (the SDK writes)",
    { region: "us-east-1", endpoint: "http://minio.test:9000/base", forcePathStyle: true },
    "rec",
    undefined,
  ],
])("%s", async (_, settings, bucket, want) => {
  expect(await sdkTarget(settings, bucket)).toEqual(want);
});

test("AWS_ENDPOINT_URL_S3 (the SDK's setting) is where writes go", async () => {
  process.env.AWS_ENDPOINT_URL_S3 = "http://127.0.0.1:9999";
  expect(await sdkTarget({ region: "us-east-1" }, "rec")).toEqual({
    endpoint: "http://127.0.0.1:9999",
    virtualHostedStyle: false,
  });
});
