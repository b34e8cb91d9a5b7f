{
  "targets": [
    {
      "target_name": "clawkerd_native",
      "sources": ["src/addon.c", "src/hardening.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11"]
    },
    {
      "target_name": "clawkerd-exec",
      "type": "executable",
      "sources": ["src/exec_shim.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11", "-O2"],
      "ldflags": ["-static-libgcc"]
    }
  ]
}
