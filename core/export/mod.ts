/**
 * Exporting what core builds: a diffusers checkpoint as an ONNX export folder (optimum
 * layout) that any ONNX Runtime loads without Python; a distribution's prompts as
 * textual-inversion embeddings for AUTOMATIC1111 and ComfyUI.
 *
 * @example
 * ```ts ignore
 * import { writeOnnxFolder } from "./mod.ts";
 * await writeOnnxFolder("tests/fixtures/diffusers-tiny-sd2", "/tmp/tiny-onnx");
 * ```
 *
 * @module
 */
export * from "./onnx_folder_writer.ts";
export * from "./textual_inversion.ts";
