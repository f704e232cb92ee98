// Publishes item commands to item-commands (key = itemId) through the durable micro-batching producer.
import { encode, Topics, type ItemCommand } from '@buy-now/contracts';
import { provedNotWritten, type DurableProducer } from '@buy-now/kafka';
import { CommandNotPublishedError, type CommandPublisher } from '../../domain/ports.js';

export function createCommandPublisher(
  producer: DurableProducer,
  topic: string = Topics.itemCommands,
): CommandPublisher {
  return {
    async publish(command: ItemCommand) {
      const record = encode(command.name, command.value);
      try {
        await producer.send({ topic, key: record.key, value: record.value, headers: record.headers });
      } catch (error) {
        if (provedNotWritten(error)) {
          throw new CommandNotPublishedError(`${command.name} not sent to ${topic}`, { cause: error });
        }
        throw error; // may be in the log
      }
    },
  };
}
