// Types of src/node-support.mjs (plain JavaScript, so that an older Node can read it).
export declare const SUPPORTED_NODE: string
export declare function unsupportedNode (version?: string): string | undefined
