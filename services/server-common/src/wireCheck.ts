import { readFileSync } from "node:fs";
import { createFileRegistry, type DescEnum, type DescField, type DescMessage, type FileRegistry, fromBinary, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "@servesim/core";

const UINT32_MAX = 0xffff_ffffn;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const INT64_KINDS = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);
const WIRE_NAMES: Record<number, string> = { 0: "varint", 1: "64-bit", 2: "length-delimited", 3: "group", 4: "group end", 5: "32-bit" };

/**
 * Checks a request's wire bytes against the proto schema the server was built from, which the
 * generated decoder does not: fields the schema does not know (a client built from a newer or foreign
 * proto; they would be dropped silently), enum values it does not know, and uint32 fields sent as
 * negative numbers (a negative int32 on the wire decodes to a huge unsigned length). Errors are
 * InvalidArgumentError with the proto field path ("spec.workload.inline.requests[2].input_length").
 */
export class WireChecker {
  constructor(private readonly root: DescMessage) {}

  /** The message type checked. */
  get typeName(): string {
    return this.root.typeName;
  }

  /** Loads the message types of a protobuf descriptor set file. */
  static registry(path: string): FileRegistry {
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(path)));
  }

  /** Throws InvalidArgumentError naming the first field the bytes get wrong (malformed bytes name where they break). */
  check(bytes: Uint8Array): void {
    const at = { path: "", type: this.root.typeName };
    try {
      walk(this.root, bytes, "", at);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError(at.path || this.root.name, `is not a valid ${at.type} protobuf encoding (truncated or malformed bytes)`);
    }
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

/** int64-family values beyond ±2^53 cannot be held exactly by a JavaScript number. */
function checkInt64(f: DescField, reader: BinaryReader, wireType: WireType, field: string): boolean {
  const scalar = f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar") ? f.scalar : undefined;
  if (scalar === undefined || !INT64_KINDS.has(scalar)) return false;
  const read = (r: BinaryReader, wt: WireType): bigint => {
    if (scalar === ScalarType.SINT64) return BigInt(r.sint64());
    if (wt === WireType.Bit64) return scalar === ScalarType.SFIXED64 ? BigInt(r.sfixed64()) : BigInt(r.fixed64());
    return scalar === ScalarType.UINT64 ? BigInt(r.uint64()) : BigInt(r.int64());
  };
  const check = (v: bigint, name: string) => {
    if (v > SAFE_MAX || v < SAFE_MIN) throw new InvalidArgumentError(name, `must be within ±2^53 (9007199254740991) (got ${v})`);
  };
  if (wireType === WireType.LengthDelimited) {
    const packed = new BinaryReader(reader.bytes());
    const elementWire = scalar === ScalarType.FIXED64 || scalar === ScalarType.SFIXED64 ? WireType.Bit64 : WireType.Varint;
    for (let i = 0; packed.pos < packed.len; i++) check(read(packed, elementWire), `${field}[${i}]`);
    return true;
  }
  if (wireType !== WireType.Varint && wireType !== WireType.Bit64) return false;
  check(read(reader, wireType), field);
  return true;
}

function readScalarOrEnum(f: DescField, reader: BinaryReader, wireType: WireType, field: string, listField: string): void {
  if (checkInt64(f, reader, wireType, wireType === WireType.LengthDelimited ? listField : field)) return;
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

function walk(desc: DescMessage, bytes: Uint8Array, path: string, at: { path: string; type: string }): void {
  const reader = new BinaryReader(bytes);
  const counts = new Map<number, number>();
  while (reader.pos < reader.len) {
    at.path = path;
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
    at.path = field;
    at.type = desc.typeName;
    const message = f.fieldKind === "message" ? f.message : f.fieldKind === "list" && f.listKind === "message" ? f.message : undefined;
    if (message && wireType === WireType.LengthDelimited) walk(message, reader.bytes(), field, at);
    else readScalarOrEnum(f, reader, wireType, field, join(path, f.name));
  }
}
