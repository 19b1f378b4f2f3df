/**
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("doctor", {}, () => Effect.void)
