// The asc flags every AssemblyScript twin is built with, in one place so sizes and build times use the same ones.
// --noExportMemory: the device ABI allows exactly one export (`run`) and no memory; without it every twin would
// carry a memory section and a second export that no rule artifact may have, which is not a fair comparison.
export const TWIN_FLAGS: readonly string[] = ['-Oz', '--runtime', 'stub', '--noExportMemory'];
