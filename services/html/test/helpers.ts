import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const tempDir = (): string => mkdtempSync(join(tmpdir(), "servesim-html-"));
