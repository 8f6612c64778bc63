import { existsSync } from 'node:fs';

/** Where Debian's/Ubuntu's `chromium` package puts SwiftShader's Vulkan driver manifest. */
const ICD_CANDIDATES = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

/**
 * The environment the `webgpu` test project runs Dawn with: SwiftShader's Vulkan driver
 * (`VK_ICD_FILENAMES`, from `RELKD_VK_ICD` or the chromium package) and an `XDG_RUNTIME_DIR`
 * (the Vulkan loader warns without one). Dawn also needs the Vulkan loader `libvulkan.so.1`
 * (Debian package `libvulkan1`). `undefined` entries are left out; without a driver the project's
 * `useBackend('webgpu')` fails with `BACKEND_UNAVAILABLE` (driver missing), which says what to install.
 */
export function swiftShaderEnv(env: Record<string, string | undefined>): Record<string, string> {
  const icd = env.RELKD_VK_ICD ?? ICD_CANDIDATES.find((p) => existsSync(p));
  return {
    ...(icd !== undefined ? { VK_ICD_FILENAMES: icd } : {}),
    XDG_RUNTIME_DIR: env.XDG_RUNTIME_DIR ?? '/tmp',
  };
}
