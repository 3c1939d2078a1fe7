import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { Writable } from "node:stream";
import { InvalidArgumentError } from "@servesim/core";
import { lookupModel } from "@servesim/perf";
import {
  convertShareGpt,
  DEFAULT_SEED,
  DEFAULT_VOCAB_SIZE,
  datasetJsonlLines,
  loadTokenizer,
  resolveSyntheticSpec,
  ShareGptConverter,
  type SyntheticSpec,
  writeDatasetFile,
  writeDatasetJsonl,
} from "@servesim/workload";
import { Command, Option } from "commander";
import { CliError, runAction } from "../cliError.js";
import { type CliIo, processIo } from "../io.js";
import { usageExitCodes } from "./exitCodes.js";
import { intArg, numberArg } from "./options.js";

export interface PrepareDatasetFlags {
  numRequests?: number;
  inputMean?: number;
  inputStdev?: number;
  outputMean?: number;
  outputStdev?: number;
  inputMin?: number;
  inputMax?: number;
  outputMin?: number;
  outputMax?: number;
  seed?: number;
  vocabSize?: number;
  eosId?: number;
  output?: string;
  stdout?: boolean;
  model?: string;
  quiet?: boolean;
  randomPrefixLen?: number;
  numPrefixGroups?: number;
}

const FLAG_OF: Record<string, string> = {
  numRequests: "--num-requests",
  inputMean: "--input-mean",
  inputStdev: "--input-stdev",
  outputMean: "--output-mean",
  outputStdev: "--output-stdev",
  inputMin: "--input-min",
  inputMax: "--input-max",
  outputMin: "--output-min",
  outputMax: "--output-max",
  seed: "--seed",
  vocabSize: "--vocab-size",
  eosId: "--eos-id",
  prefixLen: "--random-prefix-len",
  prefixGroups: "--num-prefix-groups",
};

function required(f: PrepareDatasetFlags, keys: Array<keyof PrepareDatasetFlags>, dist: string): void {
  const missing = keys.filter((k) => f[k] === undefined).map((k) => FLAG_OF[k]);
  if (missing.length > 0) throw new CliError(`${dist} needs ${missing.join(", ")}`);
}

/** The generator spec of a `prepare-dataset` command line. */
export function syntheticSpecFromFlags(distribution: string, f: PrepareDatasetFlags): SyntheticSpec {
  let vocabSize = f.vocabSize;
  if (vocabSize === undefined && f.model) {
    const hit = lookupModel(f.model);
    if (!hit) throw new CliError(`--model ${f.model}: unknown model (give --vocab-size instead)`);
    vocabSize = hit.spec.vocab;
  }
  const common = {
    seed: f.seed ?? DEFAULT_SEED,
    vocabSize: vocabSize ?? DEFAULT_VOCAB_SIZE,
    eosId: f.eosId ?? null,
    prefixLen: f.randomPrefixLen ?? 0,
    prefixGroups: f.numPrefixGroups ?? 1,
  };
  let spec: SyntheticSpec;
  if (distribution === "token-norm-dist") {
    required(f, ["numRequests", "inputMean", "outputMean"], distribution);
    spec = {
      kind: "token-norm-dist",
      numRequests: f.numRequests!,
      inputMean: f.inputMean!,
      inputStdev: f.inputStdev ?? 0,
      outputMean: f.outputMean!,
      outputStdev: f.outputStdev ?? 0,
      ...common,
    };
  } else if (distribution === "token-unif-dist") {
    required(f, ["numRequests", "inputMin", "inputMax", "outputMin", "outputMax"], distribution);
    spec = {
      kind: "token-unif-dist",
      numRequests: f.numRequests!,
      inputMin: f.inputMin!,
      inputMax: f.inputMax!,
      outputMin: f.outputMin!,
      outputMax: f.outputMax!,
      ...common,
    };
  } else {
    throw new CliError(`unknown distribution "${distribution}" (token-norm-dist, token-unif-dist or sharegpt)`);
  }
  try {
    resolveSyntheticSpec(spec);
  } catch (e) {
    if (e instanceof InvalidArgumentError) {
      const reason = e.reason.replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, (w) => FLAG_OF[w] ?? w);
      throw new CliError(`${FLAG_OF[e.field] ?? e.field} ${reason}`);
    }
    throw e;
  }
  return spec;
}

export interface ShareGptFlags {
  input?: string;
  tokenizer?: string;
  outputLen?: number;
  outputLenDist?: string;
  maxInputLen?: number;
  multiTurn?: boolean;
  thinkTimeMs?: number;
  numRequests?: number;
  seed?: number;
  output?: string;
  quiet?: boolean;
}

/** `prepare-dataset sharegpt`: a local ShareGPT-style file tokenized with a local tokenizer.json. */
async function runShareGpt(f: ShareGptFlags, io: CliIo): Promise<void> {
  if (!f.input) throw new CliError("sharegpt needs --input (the ShareGPT-style JSON file)");
  if (!f.tokenizer) throw new CliError("sharegpt needs --tokenizer (a local tokenizer.json, or a directory holding one)");
  let dist: { mean: number; stdev: number } | undefined;
  if (f.outputLenDist !== undefined) {
    const [mean, stdev, extra] = f.outputLenDist.split(",").map((x) => Number(x.trim()));
    if (extra !== undefined || !Number.isFinite(mean) || !Number.isFinite(stdev) || mean! < 1 || stdev! < 0) {
      throw new CliError(`--output-len-dist must be "mean,stdev" with mean >= 1 and stdev >= 0 (got ${JSON.stringify(f.outputLenDist)})`);
    }
    dist = { mean: mean!, stdev: stdev! };
  }
  if (f.outputLen !== undefined && dist) throw new CliError("--output-len and --output-len-dist contradict each other");
  if (f.thinkTimeMs !== undefined && !f.multiTurn) throw new CliError("--think-time-ms applies to --multi-turn");
  const tokenizer = cliInput(() => loadTokenizer(f.tokenizer!));
  const converter = cliInput(
    () =>
      new ShareGptConverter({
        tokenizer,
        ...(f.numRequests !== undefined ? { numRequests: f.numRequests } : {}),
        ...(f.outputLen !== undefined ? { outputLen: f.outputLen } : {}),
        ...(dist ? { outputLenDist: dist } : {}),
        ...(f.maxInputLen !== undefined ? { maxInputLen: f.maxInputLen } : {}),
        ...(f.seed !== undefined ? { seed: f.seed } : {}),
        multiTurn: f.multiTurn ?? false,
        ...(f.thinkTimeMs !== undefined ? { thinkTimeMs: f.thinkTimeMs } : {}),
      }),
  );
  const source = createReadStream(f.input, { highWaterMark: 1 << 20 });
  const sink: Writable | undefined = f.output ? createWriteStream(f.output, { encoding: "utf8" }) : io.stdout instanceof Writable ? io.stdout : undefined;
  let lines = 0;
  try {
    for await (const line of convertShareGpt(readable(source, f.input), converter, f.input)) {
      lines++;
      if (sink) {
        if (!sink.write(`${line}\n`)) await once(sink, "drain");
      } else io.stdout.write(`${line}\n`);
    }
  } finally {
    source.destroy();
    if (f.output && sink) {
      sink.end();
      await once(sink, "finish");
    }
  }
  const st = converter.stats;
  if (st.kept === 0)
    throw new CliError(
      `--input ${f.input}: no conversation kept (${st.conversations} read, ${st.tooShort} without a human message and a reply, ${st.tooLong} prompts over --max-input-len)`,
    );
  if (!f.quiet) {
    const what = f.multiTurn ? `${st.kept} sessions (${lines} turns)` : `${st.kept} requests`;
    const skipped = st.tooShort + st.tooLong > 0 ? `; skipped ${st.tooShort} without a reply, ${st.tooLong} over --max-input-len` : "";
    const short = f.numRequests !== undefined && st.kept < f.numRequests ? ` (fewer than the ${f.numRequests} asked for)` : "";
    io.stderr.write(`wrote ${what}${short} from ${st.conversations} conversations${skipped}${f.output ? ` to ${f.output}` : ""}\n`);
  }
}

/** InvalidArgumentErrors from reading the user's files, as CLI errors. */
function cliInput<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new CliError(`--${e.field} ${e.reason}`);
    throw e;
  }
}

/** A file's chunks; a read error names the file. */
async function* readable(stream: AsyncIterable<unknown>, path: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`--input ${path}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? (e as Error).message})`}`);
  }
}

async function writeTo(io: CliIo, spec: SyntheticSpec): Promise<number> {
  if (io.stdout instanceof Writable) return writeDatasetJsonl(spec, io.stdout);
  let n = 0;
  for (const line of datasetJsonlLines(spec)) {
    io.stdout.write(`${line}\n`);
    n++;
  }
  return n;
}

/** `servesim prepare-dataset`: trtllm-bench's synthetic dataset generator (deterministic for a seed). */
export function prepareDatasetCommand(io: CliIo = processIo()): Command {
  const int = (min: number) => intArg(min);
  const cmd = new Command("prepare-dataset")
    .description("write a trtllm-bench dataset (JSONL): synthetic (token-norm-dist, token-unif-dist, as trtllm-bench prepare-dataset) or from a ShareGPT file")
    .argument("<distribution>", "token-norm-dist | token-unif-dist | sharegpt (a local ShareGPT-style file, tokenized with --tokenizer)")
    .option("--num-requests <n>", "number of requests (sharegpt: the first N kept conversations; default all)", int(1))
    .option(
      "--input-mean <tokens>",
      "token-norm-dist: mean input length",
      numberArg((v) => v >= 1, "a number >= 1"),
    )
    .option(
      "--input-stdev <tokens>",
      "token-norm-dist: input length standard deviation (default 0)",
      numberArg((v) => v >= 0, "a number >= 0"),
    )
    .option(
      "--output-mean <tokens>",
      "token-norm-dist: mean output length",
      numberArg((v) => v >= 1, "a number >= 1"),
    )
    .option(
      "--output-stdev <tokens>",
      "token-norm-dist: output length standard deviation (default 0)",
      numberArg((v) => v >= 0, "a number >= 0"),
    )
    .option("--input-min <tokens>", "token-unif-dist: shortest input (inclusive)", int(1))
    .option("--input-max <tokens>", "token-unif-dist: longest input (inclusive)", int(1))
    .option("--output-min <tokens>", "token-unif-dist: shortest output (inclusive)", int(1))
    .option("--output-max <tokens>", "token-unif-dist: longest output (inclusive)", int(1))
    .option("--seed <n>", `random seed (default ${DEFAULT_SEED}, as trtllm-bench)`, intArg(0, 0xffffffff))
    .addOption(new Option("--random-seed <n>", "alias of --seed (trtllm-bench spelling)").argParser(intArg(0, 0xffffffff)).hideHelp())
    .option("--vocab-size <n>", `token id range (default: the --model's vocabulary, else ${DEFAULT_VOCAB_SIZE})`, int(2))
    .option("--eos-id <id>", "token id never emitted (replaced by eos+1)", int(0))
    .option(
      "--random-prefix-len <tokens>",
      "shared prefixes (vLLM): every prompt starts with a random prefix of this many tokens, then its own ids",
      intArg(0, 1 << 24),
    )
    .option("--num-prefix-groups <n>", "number of distinct prefixes; request i gets prefix i mod n (default 1)", int(1))
    .addOption(new Option("--num-prefixes <n>", "alias of --num-prefix-groups").argParser(int(1)).hideHelp())
    .option("-m, --model <name>", "model whose vocabulary size to use (catalog name or Hugging Face id)")
    .option("--tokenizer <path>", "sharegpt: a local tokenizer.json (or a directory holding one); synthetic: alias of --model")
    .option("--input <file>", "sharegpt: the ShareGPT-style file (a JSON array of {conversations: [{from, value}, ...]}, or one per line)")
    .option("--output-len <tokens>", "sharegpt: every output this long (default: the reply's token count)", int(1))
    .option("--output-len-dist <mean,stdev>", "sharegpt: outputs max(1, ceil(normal(mean, stdev))), seeded by --seed (trtllm-bench's option)")
    .option("--max-input-len <tokens>", "sharegpt: skip longer prompts (they do not count toward --num-requests)", int(1))
    .option(
      "--multi-turn",
      "sharegpt: every exchange becomes a turn of its conversation's session (AIPerf trace lines: session_id, input_length, output_length, delay)",
    )
    .option(
      "--think-time-ms <ms>",
      "sharegpt --multi-turn: think time between a reply and the next turn (default 0)",
      numberArg((v) => v >= 0, "a number >= 0"),
    )
    .option("--output <file>", "write the dataset to this file (default: stdout)")
    .option("--stdout", "write to stdout (trtllm-bench / prepare_dataset.py flag; the default)")
    .option("-q, --quiet", "no summary line on stderr")
    .action(async (distribution: string, flags: PrepareDatasetFlags & ShareGptFlags & { randomSeed?: number; tokenizer?: string; numPrefixes?: number }) =>
      runAction(io, async () => {
        if (flags.output && flags.stdout) throw new CliError("--output and --stdout contradict each other");
        if (distribution === "sharegpt") return runShareGpt({ ...flags, seed: flags.seed ?? flags.randomSeed }, io);
        const spec = syntheticSpecFromFlags(distribution, {
          ...flags,
          seed: flags.seed ?? flags.randomSeed,
          model: flags.model ?? flags.tokenizer,
          numPrefixGroups: flags.numPrefixGroups ?? flags.numPrefixes,
        });
        if (flags.output) {
          const n = await writeDatasetFile(spec, flags.output);
          if (!flags.quiet) io.stderr.write(`wrote ${n} requests (${distribution}, seed ${spec.seed}) to ${flags.output}\n`);
        } else {
          await writeTo(io, spec);
        }
      }),
    );
  return usageExitCodes(cmd);
}
