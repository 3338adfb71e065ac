/**
 * Every scheduler by its ipvsadm name. Typed against the model's SchedulerName list, so an algorithm missing
 * here, or one the model does not know, is a compile error (the kernel's register_ip_vs_scheduler, made static).
 */
import type { SchedulerName } from "@director/model";
import { dh } from "./dh.js";
import { fo } from "./fo.js";
import { lblc } from "./lblc.js";
import { lblcr } from "./lblcr.js";
import { lc } from "./lc.js";
import { mh } from "./mh.js";
import { nq } from "./nq.js";
import { ovf } from "./ovf.js";
import { rr } from "./rr.js";
import { sed } from "./sed.js";
import { sh } from "./sh.js";
import { twos } from "./twos.js";
import type { Scheduler, SchedulerFactory, SchedulerOptions } from "./types.js";
import { wlc } from "./wlc.js";
import { wrr } from "./wrr.js";

export const schedulers: Record<SchedulerName, SchedulerFactory> = {
  rr,
  wrr,
  lc,
  wlc,
  sed,
  nq,
  lblc,
  lblcr,
  dh,
  sh,
  mh,
  fo,
  ovf,
  twos,
};

/** A new per-service scheduler instance (init_service); give it the destinations with update(). */
export function createScheduler(name: SchedulerName, options: SchedulerOptions): Scheduler {
  const factory = schedulers[name];
  if (!factory) throw new Error(`unknown scheduler "${name}"`);
  return factory(options);
}
