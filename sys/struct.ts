// C structs of the kernel uAPI as byte layouts over Buffers. Offsets follow
// the x86_64 ABI (each field at its natural alignment, the size rounded up to
// the largest alignment); test/unit/vfio-uapi.test.ts compares every layout
// with offsetof/sizeof from the real headers, so a mistake here fails a test.

export type Scalar = 'u8' | 'u16' | 'u32' | 's32' | 'u64';
export type FieldType = Scalar | { bytes: number };
type ValueOf<T extends FieldType> = T extends 'u64' ? bigint : T extends Scalar ? number : Uint8Array;
export type Values<F extends Record<string, FieldType>> = { [K in keyof F]: ValueOf<F[K]> };

const WIDTH: Record<Scalar, number> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8 };

export class Struct<F extends Record<string, FieldType>> {
  readonly size: number;
  readonly offsets: { readonly [K in keyof F]: number };

  /** Fields in declaration order; a name with a dot ("header.id") is a member of an embedded struct. */
  constructor(
    readonly name: string,
    readonly fields: F,
  ) {
    let offset = 0;
    let align = 1;
    const offsets: Record<string, number> = {};
    for (const [field, type] of Object.entries(fields)) {
      const width = typeof type === 'string' ? WIDTH[type] : 1;
      offset = Math.ceil(offset / width) * width;
      offsets[field] = offset;
      offset += typeof type === 'string' ? width : type.bytes;
      align = Math.max(align, width);
    }
    this.size = Math.ceil(offset / align) * align;
    this.offsets = offsets as { [K in keyof F]: number };
  }

  /** A zeroed buffer of `size + extra` bytes (room for a flexible array member) with `values` written. */
  alloc(values: Partial<Values<F>> = {}, extra = 0): Buffer {
    const buf = Buffer.alloc(this.size + extra);
    this.write(buf, values);
    return buf;
  }

  write(buf: Buffer, values: Partial<Values<F>>, base = 0): void {
    for (const [field, value] of Object.entries(values)) {
      if (value !== undefined) this.set(buf, field as keyof F, value as ValueOf<F[keyof F]>, base);
    }
  }

  read(buf: Buffer, base = 0): Values<F> {
    const out: Record<string, unknown> = {};
    for (const field of Object.keys(this.fields)) out[field] = this.get(buf, field as keyof F, base);
    return out as Values<F>;
  }

  get<K extends keyof F>(buf: Buffer, field: K, base = 0): ValueOf<F[K]> {
    const at = base + this.offsets[field];
    const type = this.fields[field]!;
    if (typeof type !== 'string') return new Uint8Array(buf.subarray(at, at + type.bytes)) as ValueOf<F[K]>;
    switch (type) {
      case 'u8':
        return buf.readUInt8(at) as ValueOf<F[K]>;
      case 'u16':
        return buf.readUInt16LE(at) as ValueOf<F[K]>;
      case 'u32':
        return buf.readUInt32LE(at) as ValueOf<F[K]>;
      case 's32':
        return buf.readInt32LE(at) as ValueOf<F[K]>;
      case 'u64':
        return buf.readBigUInt64LE(at) as ValueOf<F[K]>;
      default:
        throw new Error(`unknown field type ${String(type)}`);
    }
  }

  set<K extends keyof F>(buf: Buffer, field: K, value: ValueOf<F[K]>, base = 0): void {
    const at = base + this.offsets[field];
    const type = this.fields[field]!;
    if (typeof type !== 'string') {
      buf.set((value as Uint8Array).subarray(0, type.bytes), at);
      return;
    }
    switch (type) {
      case 'u8':
        buf.writeUInt8(value as number, at);
        break;
      case 'u16':
        buf.writeUInt16LE(value as number, at);
        break;
      case 'u32':
        buf.writeUInt32LE(value as number, at);
        break;
      case 's32':
        buf.writeInt32LE(value as number, at);
        break;
      case 'u64':
        buf.writeBigUInt64LE(value as bigint, at);
        break;
    }
  }
}
