import type { Server, UntypedServiceImplementation } from "@grpc/grpc-js";
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from "grpc-health-check";
import type { HealthPort } from "./healthPort.js";

export type { ServingStatus };
export { healthProtoPath };

export const HEALTH_SERVICE_NAME = "grpc.health.v1.Health";

interface EndableCall {
  end(): void;
  on(event: "cancelled" | "finish" | "close", listener: () => void): unknown;
}

/**
 * grpc.health.v1 (grpc-health-check) for the whole server ("") and each named service, which also
 * remembers its open Watch streams so shutdown can end them: an open Watch would otherwise hold the
 * drain until the grace period runs out.
 */
export class HealthService {
  private readonly impl: HealthImplementation;
  private readonly names: readonly string[];
  private readonly watches = new Set<EndableCall>();
  private mirror: HealthPort | undefined;

  constructor(serviceNames: readonly string[]) {
    this.names = ["", ...serviceNames];
    this.impl = new HealthImplementation(Object.fromEntries(this.names.map((n) => [n, "NOT_SERVING" as ServingStatus])));
  }

  addToServer(server: Server): void {
    const watches = this.watches;
    this.impl.addToServer({
      addService(definition, implementation: UntypedServiceImplementation) {
        const watch = implementation["watch"] as (call: EndableCall) => void;
        const tracked = (call: EndableCall) => {
          watches.add(call);
          const forget = () => watches.delete(call);
          call.on("cancelled", forget);
          call.on("finish", forget);
          watch(call);
        };
        server.addService(definition as never, { ...implementation, watch: tracked } as UntypedServiceImplementation);
      },
    });
  }

  /** The dedicated health port, told every status set from now on. */
  mirrorTo(port: HealthPort): void {
    this.mirror = port;
  }

  /** Sets the status of the server ("") and of every service. */
  setAll(status: ServingStatus): void {
    for (const n of this.names) this.impl.setStatus(n, status);
    this.mirror?.setStatuses(Object.fromEntries(this.names.map((n) => [n, status])));
  }

  setStatus(service: string, status: ServingStatus): void {
    this.impl.setStatus(service, status);
    this.mirror?.setStatuses({ [service]: status });
  }

  /** Ends every open Watch stream (after they have been told NOT_SERVING). */
  endWatches(): void {
    for (const call of this.watches) call.end();
    this.watches.clear();
  }
}
