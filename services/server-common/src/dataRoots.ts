import { constants } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { InvalidArgumentError, quoteInput } from "@servesim/core";
import type { PredictorConfig } from "@servesim/wire/predictor";

/** Longest path a request may give. */
export const MAX_PATH_LENGTH = 4096;

/** What a confined path must be. */
export type PathKind = "file" | "directory";

/**
 * The directories inside which request fields may name server files (SERVESIM_DATA_ROOT). A path is
 * resolved (symlinks followed) and must stay inside a root; only regular files (no devices, FIFOs,
 * sockets) up to maxFileBytes, or directories where one is asked for. Errors name the field and never
 * say whether a path outside the roots exists, nor show any file's content.
 */
export class DataRoots {
  private constructor(
    /** Real paths of the roots. */
    readonly roots: readonly string[],
    readonly maxFileBytes: number,
  ) {}

  /** Resolves the configured roots (each must be an existing directory). */
  static async open(dirs: readonly string[], maxFileBytes: number): Promise<DataRoots> {
    const roots: string[] = [];
    for (const d of dirs) {
      let real: string;
      try {
        real = await realpath(resolve(d));
      } catch {
        throw new InvalidArgumentError("SERVESIM_DATA_ROOT (--data-root)", `${d}: no such directory`);
      }
      if (!(await stat(real)).isDirectory()) throw new InvalidArgumentError("SERVESIM_DATA_ROOT (--data-root)", `${d}: not a directory`);
      roots.push(real);
    }
    return new DataRoots(roots, maxFileBytes);
  }

  static none(): DataRoots {
    return new DataRoots([], 0);
  }

  get enabled(): boolean {
    return this.roots.length > 0;
  }

  private inside(real: string): string | undefined {
    return this.roots.find((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep));
  }

  /**
   * The real path of the file or directory `value` names: absolute, or relative to a root (the first
   * where it exists). Throws InvalidArgumentError naming `field` when the path is not inside a root
   * (whether or not it exists), not of `kind`, or too large.
   */
  async resolve(field: string, value: string, kind: PathKind): Promise<string> {
    if (value.length > MAX_PATH_LENGTH || value.includes("\0"))
      throw new InvalidArgumentError(field, `is not a valid path (at most ${MAX_PATH_LENGTH} characters, no NUL)`);
    if (!this.enabled) {
      throw new InvalidArgumentError(
        field,
        "names a server file, but this server reads no files named in requests (the operator allows some with --data-root)",
      );
    }
    const outside = new InvalidArgumentError(field, "is not a readable path inside the server's data roots (SERVESIM_DATA_ROOT)");
    const candidates = isAbsolute(value) ? [value] : this.roots.map((r) => join(r, value));
    for (const candidate of candidates) {
      let real: string;
      try {
        real = await realpath(candidate);
      } catch {
        continue;
      }
      const root = this.inside(real);
      if (root === undefined) continue;
      const shown = relative(root, real) || ".";
      const st = await stat(real);
      if (kind === "directory") {
        if (!st.isDirectory()) throw new InvalidArgumentError(field, `${shown} (in a data root) is not a directory`);
        return real;
      }
      if (!st.isFile()) throw new InvalidArgumentError(field, `${shown} (in a data root) is not a regular file`);
      if (st.size > this.maxFileBytes)
        throw new InvalidArgumentError(field, `${shown} (in a data root) is larger than ${this.maxFileBytes} bytes (SERVESIM_MAX_DATA_FILE_BYTES)`);
      return real;
    }
    throw outside;
  }

  /**
   * Reads a confined regular file asynchronously: opened without following a final symlink and without
   * blocking (a FIFO swapped in meanwhile is refused), checked again on the open descriptor, read up to
   * the cap.
   */
  async readFile(field: string, value: string): Promise<Buffer> {
    const real = await this.resolve(field, value, "file");
    const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => {
      throw new InvalidArgumentError(field, "cannot be opened inside the server's data roots");
    });
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.size > this.maxFileBytes) throw new InvalidArgumentError(field, "is not a regular file within the size limit");
      const buf = Buffer.alloc(st.size);
      let got = 0;
      while (got < st.size) {
        const { bytesRead } = await handle.read(buf, got, st.size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      await handle.close();
    }
  }
}

/** Plain names (no path separators, not "." or ".."): what names inside a directory must be. */
const PLAIN_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._+-]{1,128}$/;

export interface CatalogNames {
  /** True when `name` is a built-in model (catalog name or Hugging Face id), not a file path. */
  isModel(name: string): boolean;
  /** True when `name` is a built-in GPU / AIC system name, not a file path. */
  isGpu(name: string): boolean;
}

/**
 * A predictor config whose server-file references are confined to the data roots: model.name and
 * gpu.name that the catalog does not know are files (a config.json or a directory holding one; an AIC
 * system YAML), database_path is a directory; each is replaced by its verified real path. device_name
 * and backend_version name entries inside the database and must be plain names. `prefix` is the
 * config's field path ("config", "spec.predictor").
 */
export async function confinePredictorConfig(config: PredictorConfig, roots: DataRoots, names: CatalogNames, prefix = "config"): Promise<PredictorConfig> {
  const out: PredictorConfig = { ...config };
  const device = config.deviceName.trim();
  if (device !== "" && !names.isGpu(device) && !PLAIN_NAME.test(device)) {
    throw new InvalidArgumentError(`${prefix}.device_name`, "must be a plain name (letters, digits, . _ + -), e.g. h100_sxm; name a system YAML with gpu.name");
  }
  const backend = config.backendVersion.trim();
  if (backend !== "" && !PLAIN_NAME.test(backend)) throw new InvalidArgumentError(`${prefix}.backend_version`, "must be a plain version name, e.g. 1.0.0rc3");
  const db = config.databasePath.trim();
  if (db !== "") out.databasePath = await roots.resolve(`${prefix}.database_path`, db, "directory");
  const model = config.model?.name?.trim();
  if (config.model && !config.model.inline && model && !names.isModel(model)) {
    // Named as the predictor names model errors (config.model), so clients see one field for both.
    const field = `${prefix}.model`;
    const pathLike = /^[/.~]/.test(model) || /\.json$/i.test(model);
    if (!pathLike && !roots.enabled) {
      throw new InvalidArgumentError(
        field,
        `unknown model ${quoteInput(model)} (not a built-in name or Hugging Face id; see ListCatalog, or give the architecture inline)`,
      );
    }
    const real = await roots.resolve(field, model, "directory").catch(async (dirErr: unknown) => {
      try {
        return await roots.resolve(field, model, "file");
      } catch {
        if (pathLike) throw dirErr;
        throw new InvalidArgumentError(field, `unknown model ${quoteInput(model)} (not a built-in name, nor a config.json inside the server's data roots)`);
      }
    });
    if ((await stat(real)).isDirectory()) await roots.resolve(field, join(real, "config.json"), "file");
    out.model = { ...config.model, name: real };
  }
  const gpu = config.gpu?.name?.trim();
  if (config.gpu && !config.gpu.inline && gpu && !names.isGpu(gpu) && (gpu.includes("/") || /\.ya?ml$/i.test(gpu) || !PLAIN_NAME.test(gpu))) {
    out.gpu = { ...config.gpu, name: await roots.resolve(`${prefix}.gpu`, gpu, "file") };
  }
  return out;
}

/**
 * A build error about a file inside the data roots, without the file's content: parse errors of the
 * AIConfigurator YAML and config.json readers quote the text they choked on, so their detail is cut.
 */
export function withoutFileContent(err: unknown): unknown {
  if (!(err instanceof InvalidArgumentError)) return err;
  const m = /^(.*?: not valid (?:JSON|YAML))\b/s.exec(err.reason);
  return m ? new InvalidArgumentError(err.field, `${m[1]} (the parser's message is in the server log)`) : err;
}
