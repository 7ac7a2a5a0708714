// List and watch responses filtered item by item (per-resource RBAC): one file per content type.
export { filterResponse, MAX_FILTERED_LIST_BYTES } from "./filter-response.ts";
export { decodeEnvelope, encodeEnvelope, MAGIC, protoObjectRef } from "./protobuf.ts";
export { type FilterPlan, FilterRefusal, type ItemCheck } from "./types.ts";
