#!/usr/bin/env node
// The bundle of dist/bin.js (scripts/bundle.mjs, run by `pnpm build` and before packing): one
// minified graph instead of ~600 modules, so the command starts fast (P2).
import "../dist/bundle/bin.js"
