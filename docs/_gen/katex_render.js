// Renders TeX to HTML + MathML with KaTeX, at build time, for the kexue documentation site.
// Protocol: one JSON object a line on stdin, {"tex": "...", "display": true|false}; one JSON
// object a line on stdout, {"html": "..."} or {"error": "..."}. No network, no browser.
"use strict";
const path = require("path");
const readline = require("readline");
const katex = require(path.join(__dirname, "node_modules", "katex"));

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  let reply;
  try {
    const req = JSON.parse(line);
    reply = {
      html: katex.renderToString(req.tex, {
        displayMode: Boolean(req.display),
        throwOnError: true,
        output: "htmlAndMathml",
        strict: "ignore", // Chinese text inside \text{} is fine
        trust: false,
      }),
    };
  } catch (err) {
    reply = { error: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
});
