// In-browser sampling: core's own sampling code (sampler.js, the bundle of core/browser) on
// onnxruntime-web, loaded from this server (/playground/ort/; WebGPU where the browser has it,
// else WebAssembly). The model's ONNX files and a distribution's mu, sigma and features come
// from the API with the page's key, once per page; then a gamma needs no server round trip.
import { BrowserSampler } from "./sampler.js";

let runtime = null;
/** WebGPU failed once in this page: WebAssembly from then on. */
let noWebGpu = false;
/** onnxruntime-web and its execution provider, loaded once. */
function ortRuntime() {
  runtime ??= (async () => {
    let webgpu = false;
    try {
      webgpu = !noWebGpu && Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()));
    } catch { /* no WebGPU */ }
    const file = webgpu ? "ort.webgpu.bundle.min.mjs" : "ort.wasm.bundle.min.mjs";
    const ort = await import(`/playground/ort/${file}`);
    return { ort, provider: webgpu ? "webgpu" : "wasm" };
  })();
  runtime.catch(() => (runtime = null));
  return runtime;
}

const samplers = new Map();
const distributions = new Map();

function once(map, key, make) {
  let p = map.get(key);
  if (!p) {
    p = make();
    p.catch(() => map.delete(key));
    map.set(key, p);
  }
  return p;
}

/** One canvas per image (raw RGB, alpha 255), scaled up by CSS. */
function canvasOf(img) {
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  const out = ctx.createImageData(img.width, img.height);
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    out.data[j] = img.data[i];
    out.data[j + 1] = img.data[i + 1];
    out.data[j + 2] = img.data[i + 2];
    out.data[j + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
  return canvas;
}

/**
 * Samples `body` (one distribution, no template: what /v1/samples would get) in the page.
 * `api(path)` fetches with the key and throws the API's message. Returns the canvases, the
 * provider, and whether this call loaded the runtime, model or distribution ("cold").
 */
export async function sampleInBrowser(body, model, api) {
  if (!body.distribution || body.template) {
    throw new Error(
      "In-browser sampling takes one distribution without a template; choose 'on server' for mixes and templates.",
    );
  }
  try {
    return await sampleWith(await ortRuntime(), body, model, api);
  } catch (e) {
    if ((await ortRuntime()).provider !== "webgpu") throw e;
    // A WebGPU adapter that cannot run the model: the same code on WebAssembly.
    console.warn(`WebGPU failed (${e.message}); sampling on WebAssembly`);
    noWebGpu = true;
    runtime = null;
    samplers.clear();
    return await sampleWith(await ortRuntime(), body, model, api);
  }
}

async function sampleWith({ ort, provider }, body, model, api) {
  const cold = !samplers.has(model) || !distributions.has(body.distribution);
  const sampler = await once(
    samplers,
    model,
    () => BrowserSampler.load(model, { ort, provider, fetch: api }),
  );
  const dist = await once(
    distributions,
    body.distribution,
    () => sampler.distribution(body.distribution),
  );
  const images = await sampler.sample(dist, {
    gamma: body.gamma,
    n: body.n,
    seed: body.seed,
    steps: body.steps,
  });
  return { canvases: images.map(canvasOf), provider, cold };
}
