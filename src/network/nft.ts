/**
 * nftables transactions without a process per change: a libnftables context (the library
 * the `nft` command is built on) held open for the life of the process and called through
 * koffi on libuv's thread pool, so a ruleset of thousands of lines is parsed and committed
 * atomically without blocking the event loop or forking. Where the library cannot be loaded
 * (another libc, no libnftables.so.1), every call falls back to `nft -f -`.
 */
import { createRequire } from 'node:module';
import { runOrThrow } from '../util/exec.js';

/** Runs one nft script atomically (all of it or none); rejects with nft's message. */
export type NftRunner = (script: string) => Promise<void>;

/** Runs `nft -f -` with `script` on stdin; rejects with nft's message. */
export async function runNftCommand(script: string): Promise<void> {
  await runOrThrow('nft', ['-f', '-'], { input: script });
}

interface NftBindings {
  context: unknown;
  run: { async(ctx: unknown, script: string, done: (err: unknown, rc: number) => void): void };
  errorBuffer(ctx: unknown): string | null;
}

let bindings: NftBindings | null | undefined;

function loadBindings(): NftBindings | null {
  if (bindings !== undefined) return bindings;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libnftables.so.1');
    const ctxNew = lib.func('void *nft_ctx_new(uint32_t flags)');
    const bufferOutput = lib.func('int nft_ctx_buffer_output(void *ctx)');
    const bufferError = lib.func('int nft_ctx_buffer_error(void *ctx)');
    const context = ctxNew(0);
    if (!context) throw new Error('nft_ctx_new failed');
    // Buffered, so errors come back as text instead of going to this process's stderr.
    bufferOutput(context);
    bufferError(context);
    bindings = {
      context,
      run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)') as unknown as NftBindings['run'],
      errorBuffer: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)') as unknown as NftBindings['errorBuffer'],
    };
  } catch {
    bindings = null;
  }
  return bindings;
}

/** Whether transactions go through the in-process library (false: one `nft` process each). */
export function nftLibraryLoaded(): boolean {
  return loadBindings() !== null;
}

// The context's error buffer is per call, so calls on it must not overlap.
let queue: Promise<void> = Promise.resolve();

/**
 * Runs one nft script as a single transaction through the process-wide libnftables context;
 * calls are serialized. Falls back to `nft -f -` when the library is unavailable.
 */
export const runNft: NftRunner = (script) => {
  const lib = loadBindings();
  if (!lib) return runNftCommand(script);
  const result = queue.then(
    () =>
      new Promise<void>((resolve, reject) => {
        lib.run.async(lib.context, script, (err, rc) => {
          if (err) return reject(err instanceof Error ? err : new Error(String(err)));
          if (rc !== 0) return reject(new Error(`nft: ${(lib.errorBuffer(lib.context) ?? '').trim() || `transaction failed (${rc})`}`));
          resolve();
        });
      }),
  );
  queue = result.catch(() => undefined);
  return result;
};
