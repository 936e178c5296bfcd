/**
 * The browser-safe part of core/onnx: the host-session contract and the onnxruntime-web
 * adapter (no protobuf I/O, no onnxruntime-node).
 * @module
 */
export * from "./host_session.ts";
export * from "./web_runtime.ts";
