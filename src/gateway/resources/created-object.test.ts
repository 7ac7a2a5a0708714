import { describe, expect, test } from "bun:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { KubeportError } from "../../lib/errors.ts";
import { encodeEnvelope } from "../filter/index.ts";
import { createdName, generatedPrefix } from "./created-object.ts";

const json = (s: string) => createdName(new TextEncoder().encode(s), "application/json");
const codeOf = (f: () => unknown) => {
  try {
    f();
    return "none";
  } catch (err) {
    return err instanceof KubeportError ? err.kind : String(err);
  }
};

describe("createdName, JSON", () => {
  test("name and generateName as the API server reads them (escapes in keys resolved)", () => {
    expect(json('{"metadata":{"name":"web-1"}}')).toEqual({ name: "web-1", generateName: "" });
    expect(json('{"metadata":{"generateName":"web-"}}')).toEqual({ name: "", generateName: "web-" });
    expect(json('{"metadata":{"n\\u0061me":"aws-auth"}}')).toEqual({ name: "aws-auth", generateName: "" });
    expect(json('{"kind":"ConfigMap"}')).toEqual({ name: "", generateName: "" });
    expect(json('{"metadata":null}')).toEqual({ name: "", generateName: "" });
    expect(
      json(' { "data" : {"metadata":{"name":"x"},"metadata":{}} , "metadata" : { "name" : "a" } } '),
    ).toEqual({
      name: "a",
      generateName: "",
    });
  });

  test("a repeated member on the metadata path is bad input; an unreadable name is refused", () => {
    expect(codeOf(() => json('{"metadata":{"name":"aws-auth"},"metadata":{}}'))).toBe("bad_parameter");
    expect(codeOf(() => json('{"m\\u0065tadata":{"name":"aws-auth"},"metadata":{}}'))).toBe("bad_parameter");
    expect(codeOf(() => json('{"metadata":{"name":"aws-auth","name":"web-1"}}'))).toBe("bad_parameter");
    expect(codeOf(() => json('{"metadata":{"name":null}}'))).toBe("access_denied");
    expect(codeOf(() => json('{"metadata":"x"}'))).toBe("access_denied");
    expect(codeOf(() => json("\ufeff{}"))).toBe("access_denied");
    expect(codeOf(() => json("[]"))).toBe("access_denied");
    expect(codeOf(() => createdName(new TextEncoder().encode("{}"), "application/yaml"))).toBe(
      "access_denied",
    );
  });
});

describe("createdName, protobuf", () => {
  const meta = (fields: [number, string][]) => {
    const w = new BinaryWriter();
    for (const [f, v] of fields) w.tag(f, WireType.LengthDelimited).string(v);
    return w.finish();
  };
  const object = (metas: Uint8Array[]) => {
    const w = new BinaryWriter();
    for (const m of metas) w.tag(1, WireType.LengthDelimited).bytes(m);
    const raw = w.finish();
    return encodeEnvelope({ apiVersion: "v1", kind: "ConfigMap", raw, contentEncoding: "", contentType: "" });
  };
  const proto = (b: Uint8Array) => createdName(b, "application/vnd.kubernetes.protobuf");

  test("ObjectMeta occurrences merged, the last value of each field winning (Go's generated Unmarshal)", () => {
    expect(proto(object([meta([[1, "web-1"]]), meta([[1, "aws-auth"]])]))).toEqual({
      name: "aws-auth",
      generateName: "",
    });
    expect(proto(object([meta([[1, "aws-auth"]]), meta([[2, "web-"]])]))).toEqual({
      name: "aws-auth",
      generateName: "web-",
    });
    expect(
      proto(
        object([
          meta([
            [1, "web-1"],
            [1, "aws-auth"],
          ]),
        ]),
      ),
    ).toEqual({ name: "aws-auth", generateName: "" });
  });

  test("an ObjectMeta with a wire type Go refuses, or none, is refused", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).uint32(7);
    const raw = w.finish();
    const bad = encodeEnvelope({
      apiVersion: "v1",
      kind: "ConfigMap",
      raw,
      contentEncoding: "",
      contentType: "",
    });
    expect(codeOf(() => proto(bad))).toBe("access_denied");
    expect(codeOf(() => proto(object([])))).toBe("access_denied");
    expect(codeOf(() => proto(new Uint8Array([1, 2, 3])))).toBe("access_denied");
  });
});

test("generatedPrefix cuts at 58 bytes, as the API server does", () => {
  expect(generatedPrefix("web-")).toBe("web-");
  expect(generatedPrefix("a".repeat(70))).toBe("a".repeat(58));
  expect(generatedPrefix(`${"a".repeat(57)}é`)).toBe("a".repeat(57));
});
