import type { Logger } from '../log.js';
import type { Command, CommandType, Repository } from '../store/index.js';

/** The LwM2M operation behind each command (docs/protocol.md §4.1). */
const OPERATIONS: Record<CommandType, { op: 'execute'; path: string }> = {
  // LwM2M Core §E.2 resource 9: Bootstrap-Request Trigger.
  'trigger-bootstrap': { op: 'execute', path: '/1/0/9' },
  // LwM2M Core §E.4 resource 4: Reboot.
  reboot: { op: 'execute', path: '/3/0/4' },
};

const REQUEST_PREFIX = 'cmd-';

/** Sends one request to a connected device. */
export type Publish = (mac: string, requestId: string, payload: object) => Promise<void>;

/**
 * Delivers queued commands to devices and records their answers. Commands wait in the store
 * while a device is offline and are sent when it registers; of several open commands of one
 * type only the newest is sent and the older ones become Superseded.
 *
 * @example
 *   const dispatcher = new CommandDispatcher(repo, publish, logger);
 *   await dispatcher.deliver('00:0A:14:81:22:33');
 */
export class CommandDispatcher {
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly repo: Repository,
    private readonly publish: Publish,
    private readonly log: Logger,
  ) {}

  /** Sends the device's open commands now; runs one delivery per device at a time. */
  deliver(mac: string): Promise<void> {
    const previous = this.queues.get(mac) ?? Promise.resolve();
    const next = previous
      .then(() => this.deliverNow(mac))
      .catch((err: unknown) => this.log.warn({ err, mac }, 'command delivery failed'));
    this.queues.set(mac, next);
    void next.then(() => {
      if (this.queues.get(mac) === next) this.queues.delete(mac);
    });
    return next;
  }

  /** Records a device's answer to a command request; false if the id is not a command's. */
  async onResponse(mac: string, requestId: string, code: string): Promise<boolean> {
    if (!requestId.startsWith(REQUEST_PREFIX)) return false;
    const command = await this.repo.getCommand(Number(requestId.slice(REQUEST_PREFIX.length)));
    if (!command || command.deviceMac !== mac || command.state !== 'AwaitingResponse') return true;

    const state = code.startsWith('2.') ? 'Success' : 'Failed';
    await this.repo.setCommandState(command.id, state, code);
    this.log.debug({ mac, command: command.id, type: command.type, state }, 'command answered');
    return true;
  }

  private async deliverNow(mac: string): Promise<void> {
    const open = await this.repo.openCommands(mac);
    for (const command of await this.supersedeOlder(open)) {
      await this.send(command);
    }
  }

  /** Keeps the newest open command of each type and marks the others Superseded. */
  private async supersedeOlder(open: Command[]): Promise<Command[]> {
    const newest = new Map<CommandType, Command>();
    for (const command of open) newest.set(command.type, command);

    for (const command of open) {
      if (newest.get(command.type) === command) continue;
      await this.repo.setCommandState(
        command.id,
        'Superseded',
        `superseded by a newer ${command.type}`,
      );
    }
    return [...newest.values()];
  }

  private async send(command: Command): Promise<void> {
    // The state changes first: a quick device may answer before publish() has returned.
    if (command.state === 'Created') {
      await this.repo.setCommandState(command.id, 'AwaitingResponse');
    }
    await this.publish(
      command.deviceMac,
      `${REQUEST_PREFIX}${command.id}`,
      OPERATIONS[command.type],
    );
    this.log.debug(
      { mac: command.deviceMac, command: command.id, type: command.type },
      'command sent',
    );
  }
}
