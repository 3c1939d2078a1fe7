import { readFileSync } from "node:fs";
import { createFileRegistry, type DescEnum, type DescField, type DescMessage, fromBinary, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "@servesim/core";

const UINT32_MAX = 0xffff_ffffn;
const WIRE_NAMES: Record<number, string> = { 0: "varint", 1: "64-bit", 2: "length-delimited", 3: "group", 4: "group end", 5: "32-bit" };

/**
 * Checks a request's wire bytes against the proto schema the server was built from, which the
 * generated decoder does not: fields the schema does not know (a client built from a newer or foreign
 * proto; they would be dropped silently), enum values it does not know, and uint32 fields sent as
 * negative numbers (a negative int32 on the wire decodes to a huge unsigned length). Errors are
 * InvalidArgumentError with the proto field path ("spec.workload.inline.requests[2].input_length").
 */
export class WireChecker {
  private constructor(private readonly root: DescMessage) {}

  /** Loads checkers of the unary and streamed submissions (e.g. "servesim.v1.SubmitJobRequest") from a protobuf descriptor set file. */
  static fromDescriptorSet(path: string, submitType: string, streamType: string): { submit: WireChecker; stream: WireChecker } {
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(path)));
    const load = (typeName: string) => {
      const desc = registry.getMessage(typeName);
      if (!desc) throw new Error(`descriptor set ${path} does not describe ${typeName}`);
      return new WireChecker(desc);
    };
    return { submit: load(submitType), stream: load(streamType) };
  }

  check(bytes: Uint8Array): void {
    walk(this.root, bytes, "");
  }
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

function checkEnum(e: DescEnum, value: number, field: string): void {
  if (!e.values.some((v) => v.number === value)) {
    throw new InvalidArgumentError(field, `unknown ${e.name} value ${value} (known: ${e.values.map((v) => v.name).join(", ")})`);
  }
}

function checkUint32(reader: BinaryReader, field: string): void {
  const v = BigInt(reader.uint64());
  if (v > UINT32_MAX) {
    const signed = BigInt.asIntN(64, v);
    throw new InvalidArgumentError(field, signed < 0n ? `must be >= 0 (got ${signed})` : `must fit in uint32 (got ${v})`);
  }
}

function readScalarOrEnum(f: DescField, reader: BinaryReader, wireType: WireType, field: string, listField: string): void {
  const enumDesc = f.fieldKind === "enum" ? f.enum : f.fieldKind === "list" && f.listKind === "enum" ? f.enum : undefined;
  const isUint32 = (f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) && f.scalar === ScalarType.UINT32;
  if (wireType === WireType.Varint && (enumDesc || isUint32)) {
    if (enumDesc) checkEnum(enumDesc, reader.int32(), field);
    else checkUint32(reader, field);
    return;
  }
  if (wireType === WireType.LengthDelimited && f.fieldKind === "list" && (enumDesc || isUint32)) {
    const packed = new BinaryReader(reader.bytes());
    for (let i = 0; packed.pos < packed.len; i++) {
      if (enumDesc) checkEnum(enumDesc, packed.int32(), `${listField}[${i}]`);
      else checkUint32(packed, `${listField}[${i}]`);
    }
    return;
  }
  reader.skip(wireType);
}

function walk(desc: DescMessage, bytes: Uint8Array, path: string): void {
  const reader = new BinaryReader(bytes);
  const counts = new Map<number, number>();
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    const f = desc.fields.find((x) => x.number === number);
    if (!f) {
      throw new InvalidArgumentError(
        path || desc.name,
        `unknown field number ${number} (${WIRE_NAMES[wireType] ?? wireType}) in ${desc.typeName}; is the client built from another servesim proto?`,
      );
    }
    const isList = f.fieldKind === "list";
    const index = counts.get(number) ?? 0;
    counts.set(number, index + 1);
    const field = isList ? `${join(path, f.name)}[${index}]` : join(path, f.name);
    const message = f.fieldKind === "message" ? f.message : f.fieldKind === "list" && f.listKind === "message" ? f.message : undefined;
    if (message && wireType === WireType.LengthDelimited) walk(message, reader.bytes(), field);
    else readScalarOrEnum(f, reader, wireType, field, join(path, f.name));
  }
}
