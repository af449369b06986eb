/**
 * Route schemas compiled on a route's first use instead of at start-up.
 *
 * Fastify compiles every route's request validators and response serializers (one per status code,
 * fast-json-stringify) while the app boots: ~0.6 s of every start on this machine, most of it for
 * routes a given process may never serve (docs/decisions.md, "Start-up under 2 s"). These wrappers
 * compile the same schema with the same compiler the first time the route needs it, then reuse it.
 * Every route is still compiled by the test suite (test/malformed-input.test.ts calls every operation).
 */
import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';

/** Like `TypeBoxValidatorCompiler`, compiled on the first request that the route validates. */
export const lazyValidatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  let compiled: ReturnType<FastifySchemaCompiler<TSchema>> | undefined;
  return (data) => (compiled ??= TypeBoxValidatorCompiler(route))(data);
};

/** Fastify's own serializer factory (fast-json-stringify), each serializer built on first use. */
export function lazySerializerFactory(): SerializerFactory {
  const eager = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = eager(externalSchemas, options);
    return (routeSchema) => {
      let serialize: ((data: unknown) => string) | undefined;
      return (data) => (serialize ??= compile(routeSchema))(data);
    };
  };
}
