// The version alone, with no imports: bin/stpp.js answers `stpp --version` from it without loading
// the command's bundle (P2 start-up); Cli.VERSION is this constant.
export const VERSION = "0.1.0"
