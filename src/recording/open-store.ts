// audit.sessions_uri → the store it names.
import { fileURLToPath } from "node:url";
import { fileStore } from "./file-store.ts";
import { s3Options, s3Store } from "./s3-store.ts";
import type { RecordingStore } from "./store.ts";

/** file:///DIR or s3://BUCKET/PREFIX?… (checked by the config schema) → a store. */
export function openRecordingStore(uri: string): RecordingStore {
  if (uri.startsWith("s3://")) return s3Store(s3Options(uri));
  if (uri.startsWith("file://")) return fileStore(fileURLToPath(uri));
  throw new Error(`${JSON.stringify(uri)} is not a file:// or s3:// URI`);
}
