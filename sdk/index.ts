// The package entry the AssemblyScript compiler resolves for `import ... from "wasmscale-sdk"`
// (asc looks for <package>/index.ts; `ascMain` in package.json is for other tools).
export * from "./assembly/index";
