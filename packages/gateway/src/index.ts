/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Envelope from "./Envelope.js"

/**
 * @since 0.1.0
 */
export * as GatewayClient from "./GatewayClient.js"

/**
 * @since 0.1.0
 */
export * as GatewayError from "./GatewayError.js"

/**
 * @since 0.1.0
 */
export * as Requests from "./Requests.js"

/**
 * @since 0.1.0
 */
export * as Responses from "./Responses.js"
