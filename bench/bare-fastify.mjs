// Baseline (b): the least an HTTP ingest endpoint can do with the same batches. Fastify 5 (the
// version Datong uses), default JSON parser, no schema, no auth, no storage: parse, count, 202.
// Prints {"url"} once listening on 127.0.0.1; stops on SIGTERM.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/v1/batch', async (req, reply) => {
  const batch = req.body?.batch;
  reply.code(202);
  return { success: true, accepted: Array.isArray(batch) ? batch.length : 0 };
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
