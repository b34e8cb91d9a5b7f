export declare const FOLDER_ROWS: ReadonlyArray<ReadonlyArray<string>>
export declare const forbiddenFrom: (folder: string) => ReadonlyArray<string>
