import { installHint, PACKAGES } from './packages';
import { type RouteId, Unavailable } from './route';
import { firstLine, message } from './text';

/** Maps an import error to a reason. */
export function classifyImportError(
  candidate: RouteId,
  e: unknown,
  node: boolean,
  pkg: string = PACKAGES[candidate],
): Unavailable {
  const msg = message(e);
  const code = (e as { code?: unknown } | null)?.code;
  const notFound =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /Cannot find (package|module)|Could not resolve|Failed to resolve|Failed to load url/i.test(
      msg,
    );
  if (notFound && (node || code !== undefined)) {
    if (
      msg.includes(`'${pkg}'`) ||
      msg.includes(`"${pkg}"`) ||
      msg.includes(`${pkg} `) ||
      msg.endsWith(pkg)
    ) {
      return new Unavailable(
        'module-missing',
        `module missing: ${pkg} is not installed. ${installHint(candidate)}.`,
      );
    }
    return new Unavailable(
      'module-missing',
      `module missing: ${pkg} could not load a dependency (${firstLine(msg)}).`,
    );
  }
  if (
    /lib(cuda|cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|cudnn|nvinfer)[\w.]*\.so|cudnn|CUDA/i.test(
      msg,
    )
  ) {
    return new Unavailable(
      'cuda-missing',
      `CUDA libraries missing: ${pkg} is installed but its native code could not load the CUDA/cuDNN libraries (${firstLine(msg)}). ` +
        'tfjs-node-gpu 4.22 needs CUDA 11.2 and cuDNN 8.1 on LD_LIBRARY_PATH (see the @relkd/backend README).',
    );
  }
  if (
    /tfjs_binding|\.node\b|native addon|node-pre-gyp|napi|libtensorflow|invalid ELF|wrong ELF/i.test(
      msg,
    )
  ) {
    return new Unavailable(
      'native-addon-missing',
      `native addon missing: ${pkg} is installed but its native TensorFlow binding could not be loaded (${firstLine(msg)}). ` +
        `Reinstall it (\`npm rebuild ${pkg}\`, which downloads libtensorflow) on a supported platform.`,
    );
  }
  if (!node && /specifier|resolve|fetch|import/i.test(msg)) {
    return new Unavailable(
      'module-missing',
      `module missing: ${pkg} could not be imported in this bundle (${firstLine(msg)}). ` +
        `Import it in your application (\`import '${pkg}'\`) — bundlers cannot resolve optional dynamic imports.`,
    );
  }
  return new Unavailable('init-failed', `importing ${pkg} failed: ${firstLine(msg)}`);
}
