/**
 * A tiny byte-level BPE tokenizer.json (GPT-2 style), written by tests instead of downloading one: the
 * 256 byte tokens, a few merges ("hello", "Ġw", ...) and a BOS special token added in front of every text.
 */
export function tinyTokenizerJson(): Record<string, unknown> {
  // GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to 256 + n.
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const b2u: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) b2u[b] = printable(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  const vocab: Record<string, number> = {};
  let id = 0;
  for (let b = 0; b < 256; b++) vocab[b2u[b]!] = id++;
  const merges: Array<[string, string]> = [
    ["h", "e"],
    ["l", "l"],
    ["he", "ll"],
    ["hell", "o"],
    ["Ġ", "w"],
  ];
  for (const [a, b] of merges) vocab[a + b] = id++;
  const bos = id++;
  vocab["<|bos|>"] = bos;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    normalizer: null,
    added_tokens: [{ id: bos, content: "<|bos|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|bos|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<|bos|>": { id: "<|bos|>", ids: [bos], tokens: ["<|bos|>"] } },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
