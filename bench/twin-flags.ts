// The asc flags the AssemblyScript twins are built with, in one place so sizes and build times use the same ones.
// TWIN_FLAGS are the ones the benchmark's definition names (`-Oz --runtime stub`). Such a twin still carries a
// memory section and a `memory` export that no rule artifact may have, so the size table also reports twins built
// with --noExportMemory, the stricter comparison.
export const TWIN_FLAGS: readonly string[] = ['-Oz', '--runtime', 'stub'];
export const STRICT_TWIN_FLAGS: readonly string[] = [...TWIN_FLAGS, '--noExportMemory'];
