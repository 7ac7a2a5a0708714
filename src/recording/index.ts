// Session recordings: the recorder (a tap on the exec/attach relay), the stores it writes through
// (files, S3), and reading them back (asciicast v2, text, JSON, playback).

export { type CastEvent, type CastHeader, castLines, jsonLines, readCast, textLines } from "./asciicast.ts";
export { fileStore } from "./file-store.ts";
export { encodeFrame, FRAME, type Frame, FrameBuffer, readFrames, WIRE_ERROR } from "./frames.ts";
export { type GatewayReaderOptions, gatewayReader } from "./gateway-reader.ts";
export { openRecordingStore } from "./open-store.ts";
export { type PlayOptions, play } from "./player.ts";
export { type Recorder, type RecorderOptions, startRecorder } from "./recorder.ts";
export { type S3StoreOptions, s3Options, s3Store } from "./s3-store.ts";
export * from "./store.ts";
