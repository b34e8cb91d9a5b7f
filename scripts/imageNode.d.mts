export declare const imageNodeMajor: () => string | undefined
