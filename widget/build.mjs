// Builds the panel bundles into dist/: customer-sense.js (script-tag embed),
// panel-page.js (the /panel iframe page) and demo.js (the /demo console).
import { build } from "esbuild";
import { copyFileSync, readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";

const entries = {
  "customer-sense": "src/embed.js", "panel-page": "src/page.js", demo: "src/demo.js", wall: "src/wall.js",
  "chatwoot-app": "src/chatwoot-app.js",
};
await build({
  entryPoints: entries,
  outdir: "dist",
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15"],
  loader: { ".css": "text" },
  legalComments: "linked",
  sourcemap: "linked",
  logLevel: "warning",
});
copyFileSync("src/page.css", "dist/page.css");
for (const name of readdirSync("dist").filter((f) => f.endsWith(".js"))) {
  const bytes = readFileSync(`dist/${name}`);
  console.log(`dist/${name}: ${(bytes.length / 1024).toFixed(1)} KiB, ${(gzipSync(bytes).length / 1024).toFixed(1)} KiB gzip`);
}
