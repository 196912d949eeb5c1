// Validates a .glb or .gltf with the Khronos glTF validator (npm `gltf-validator`) and prints
// its report's counts; exits 1 when the file has errors. Usage:
//   NODE_PATH=<folder with node_modules> node tools/validate_gltf.mjs head.glb
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const validator = require("gltf-validator");

const file = process.argv[2];
if (!file) {
  console.error("usage: node tools/validate_gltf.mjs FILE.glb");
  process.exit(2);
}
const bytes = new Uint8Array(await readFile(file));
const report = await validator.validateBytes(bytes, { maxIssues: 100 });
const { numErrors, numWarnings, numInfos, numHints, messages } = report.issues;
for (const m of messages.filter((m) => m.severity <= 1)) {
  console.log(`${m.severity === 0 ? "error" : "warning"} ${m.code} at ${m.pointer ?? ""}: ${m.message}`);
}
console.log(`errors ${numErrors} warnings ${numWarnings} infos ${numInfos} hints ${numHints}`);
process.exit(numErrors === 0 ? 0 : 1);
