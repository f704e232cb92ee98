// Publishes item commands to item-commands (key = itemId) through the durable micro-batching producer.
import { encode, Topics, type ItemCommand } from '@buy-now/contracts';
import type { DurableProducer } from '@buy-now/kafka';
import type { CommandPublisher } from '../../domain/ports.js';

export function createCommandPublisher(
  producer: DurableProducer,
  topic: string = Topics.itemCommands,
): CommandPublisher {
  return {
    async publish(command: ItemCommand) {
      const record = encode(command.name, command.value);
      await producer.send({ topic, key: record.key, value: record.value, headers: record.headers });
    },
  };
}
