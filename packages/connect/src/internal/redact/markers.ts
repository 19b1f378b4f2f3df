// The fixed texts that stand in for what redaction removed or cut (public as Redact's constants).

export const REDACTED = "<redacted>"

export const CIRCULAR_MARKER = "[Circular]"

export const DEPTH_MARKER = "[Truncated: too deep]"

export const SIZE_MARKER = "[Truncated: too large]"
