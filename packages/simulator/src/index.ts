/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as DnsServer from "./DnsServer.js"

/**
 * @since 0.1.0
 */
export * as TestCa from "./TestCa.js"

/**
 * @since 0.1.0
 */
export * as GatewayServer from "./GatewayServer.js"

/**
 * @since 0.1.0
 */
export * as Simulator from "./Simulator.js"
