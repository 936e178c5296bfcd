/**
 * ONNX models in TypeScript: types, protobuf I/O, the graph builder, shape inference,
 * composition and the ONNX Runtime wrapper (the only importer of onnxruntime-node).
 * @module
 */
export * from "./types.ts";
export * from "./proto.ts";
export * from "./model.ts";
export * from "./tensor_data.ts";
export * from "./builder.ts";
export * from "./shape_inference.ts";
export * from "./compose.ts";
export * from "./share_tiled.ts";
export * from "./runtime.ts";
export * from "./host_session.ts";
export * from "./web_runtime.ts";
