/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as ConnectionConfig from "./ConnectionConfig.js"

/**
 * @since 0.1.0
 */
export * as ConnectionError from "./ConnectionError.js"

/**
 * @since 0.1.0
 */
export * as ConnectionService from "./ConnectionService.js"

/**
 * @since 0.1.0
 */
export * as ConnectionHttpClient from "./ConnectionHttpClient.js"

/**
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 */
export * as Resolver from "./Resolver.js"

/**
 * @since 0.1.0
 */
export * as ResolverError from "./ResolverError.js"

/**
 * @since 0.1.0
 */
export * as TlsConnector from "./TlsConnector.js"

/**
 * @since 0.1.0
 */
export * as TlsError from "./TlsError.js"

/**
 * @since 0.1.0
 */
export * as Redact from "./Redact.js"

/**
 * @since 0.1.0
 */
export * as RedactingLogger from "./RedactingLogger.js"
