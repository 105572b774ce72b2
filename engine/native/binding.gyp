# node-gyp build of the wasm3 binding: wasm3 v0.5.0's C sources (extracted to wasm3/ by
# scripts/build-wasm3.mjs, never committed) plus our N-API glue in wasm3_node.c.
{
  "targets": [
    {
      "target_name": "wasm3",
      "sources": [
        "wasm3_node.c",
        "wasm3/m3_bind.c",
        "wasm3/m3_code.c",
        "wasm3/m3_compile.c",
        "wasm3/m3_core.c",
        "wasm3/m3_emit.c",
        "wasm3/m3_env.c",
        "wasm3/m3_exec.c",
        "wasm3/m3_function.c",
        "wasm3/m3_info.c",
        "wasm3/m3_module.c",
        "wasm3/m3_parse.c"
      ],
      "include_dirs": ["wasm3"],
      "defines": [
        "NAPI_VERSION=8",
        "d_m3HasWASI=0",
        "d_m3HasFloat=1",
        "d_m3VerboseErrorMessages=1",
        "d_m3RecordBacktraces=0"
      ],
      # wasm3's interpreter dispatches by tail calls, so it needs the optimizer on and no frame pointer
      # or stack protector in the way, whatever Node's common.gypi asks for; it also puns types freely.
      # Hidden visibility: only the N-API entry point is exported, so calls inside wasm3 (m3_CallV, m3_Yield on
      # every call op, ...) are direct instead of going through the PLT of a shared library.
      "cflags": ["-std=gnu11", "-O3", "-fomit-frame-pointer", "-fno-stack-protector", "-fno-stack-check",
                 "-fno-strict-aliasing", "-fvisibility=hidden",
                 "-Wno-unused-parameter", "-Wno-unused-function", "-Wno-unused-variable",
                 "-Wno-unused-but-set-variable", "-Wno-sign-compare", "-Wno-missing-field-initializers",
                 "-Wno-implicit-fallthrough"],
      "cflags!": ["-fno-omit-frame-pointer", "-O0"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "GCC_C_LANGUAGE_STANDARD": "gnu11",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "OTHER_CFLAGS": ["-fomit-frame-pointer", "-fno-stack-protector", "-fno-strict-aliasing", "-Wno-unused-parameter",
                         "-Wno-unused-function", "-Wno-unused-variable", "-Wno-sign-compare"]
      },
      "configurations": {
        "Release": {
          "cflags!": ["-fno-omit-frame-pointer"]
        }
      }
    }
  ]
}
