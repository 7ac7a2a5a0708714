// List and watch responses filtered item by item (per-resource RBAC): one file per content type.
export { type FilterOptions, filterResponse, MAX_FILTERED_ITEM_BYTES } from "./filter-response.ts";
export {
  decodeEnvelope,
  encodeEnvelope,
  MAGIC,
  type ProtoObjectMeta,
  protoObjectMeta,
  protoObjectRef,
} from "./protobuf.ts";
export { type FilterPlan, FilterRefusal, type ItemCheck, type ListFilter, type ReadBudget } from "./types.ts";
