/**
 * V8 flags PID 1 starts with: the single binary's execArgv (scripts/build-binary.mjs), the image's
 * ENTRYPOINT (Dockerfile), the tests' and the demo's daemon. V8 reads them only when it creates the heap,
 * so bin.js cannot set them on itself, and NODE_OPTIONS would hand them to the user CMD's Node too.
 *
 * --max-semi-space-size=4: under load V8 grows the young generation up to 3 x 32 MiB and keeps it, which
 * held clawkerd near 200 MiB through the soak's traffic, against ~105 MiB with 4 MiB semi-spaces (the
 * young generation stays near 8 MiB). A daemon started without it still gets its memory back: the
 * reclaim shrinks a young generation past 16 MiB (src/layers/lifecycle/MemoryReclaimLive.ts).
 */
export const NODE_FLAGS: ReadonlyArray<string> = ["--max-semi-space-size=4"]
