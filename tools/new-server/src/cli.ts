import { run } from "./program";

run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
})
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    console.error(`new-server: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
