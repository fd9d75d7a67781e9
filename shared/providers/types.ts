/**
 * What a cloud (or any copy mechanism) must implement for Ferry to replicate through it. Webhook,
 * sweep and operator API reach clouds only through this interface and the registry beside it; each
 * provider lives in one folder of its own (`acr/`, `swr/`), and nothing outside it knows its API.
 *
 * A provider is a stateless definition; `connect` builds its clients once per function instance.
 */
import type { InstanceState } from './instance-state.ts';
import type * as z from '../zod.ts';
import type { AlibabaCredentials } from '../clients/credentials.ts';
import type { Clock } from '../clock.ts';
import type { FerryConfig, Source } from '../config/index.ts';
import type { CopyJobs, TaskRow } from '../ledger/index.ts';
import type { RegistryEndpoint } from '../copy/types.ts';
import type { Logger } from '../log.ts';
import type { NameCheck } from '../rules/naming.ts';

/** The pushed image, as a task names its source. */
export interface SourceImage {
  /** The configured source's name. */
  source: string;
  /** The configured source's kind (`acr`, `swr`, …). */
  kind: string;
  namespace: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
  /** Source-kind specifics the configured source carries (ACR: instanceId; ACR and SWR: region). */
  instanceId?: string | undefined;
  region?: string | undefined;
}

/** Where a rule's target renders to: the provider's own fields, tagged with its name. */
export interface RenderedTarget {
  readonly provider: string;
}

/** What a ledger task's `target` holds: where the image comes from and where it goes. */
export interface TaskTarget<To extends RenderedTarget = RenderedTarget> {
  from: SourceImage;
  to: To;
  /** A deletion's target: the digest the copy reported writing there, when it differs from the source's (a platform-filtered index). */
  written?: { digest: string } | undefined;
}

/** A rule target rendered for one push, or the field that could not be rendered and why. */
export type Rendering<To extends RenderedTarget = RenderedTarget> = { ok: true; target: To; targetKey: string } | { ok: false; field: string; reason: string };

/** Renders one templated field of a target and checks the result against a naming rule. */
export type RenderField = (field: string, template: string, check: NameCheck) => { ok: true; value: string } | { ok: false; field: string; reason: string };

/** The config schema's building blocks a provider's target schema is made of. */
export interface SchemaKit {
  /** A name checked by a naming rule (`pattern`: the rule's shape, for documents such as OpenAPI). */
  checked(check: NameCheck, pattern?: RegExp): z.ZodMiniType<string>;
  /** A name template (`{namespace}`…); without placeholders the literal must pass `check`. */
  template(fallback: string, check: NameCheck): z.ZodMiniType<string, string | undefined>;
  alibabaRegion: z.ZodMiniType<string>;
  huaweiRegion: z.ZodMiniType<string>;
}

/** What the cloud says about one task. */
export type Observation =
  | { kind: 'queued' | 'running'; cloudStatus: string }
  /** `details` go into the task's history (the copy provider: the source and target digests). */
  | { kind: 'succeeded'; cloudStatus: string; details?: Record<string, unknown> | undefined }
  | { kind: 'failed'; cloudStatus: string; code: string; message: string; requestId: string | null; retryable: boolean }
  | { kind: 'canceled'; cloudStatus: string }
  | { kind: 'timed_out'; cloudStatus: string; message: string }
  /** The cloud does not know the task (deleted, or never recorded there). */
  | { kind: 'gone'; code: string; message: string; requestId: string | null };

export interface CloudErrorSummary {
  code: string;
  message: string;
  requestId: string | null;
  status: number | null;
}

/** One vocabulary for "cancel this at the cloud", whatever the cloud, whoever asks. */
export type CancelOutcome =
  /** The cloud stopped it now (`already: false`) or had stopped it before (`already: true`). */
  | { outcome: 'canceled'; already: boolean; cloudStatus?: string | undefined; requestId?: string | undefined; note?: string | undefined; cloudCall?: false }
  /** Too late: the cloud task ended on its own (`cloudStatus` says how, `state` in Ferry's words). */
  | { outcome: 'finished'; cloudStatus: string; state: 'succeeded' | 'failed'; error?: CloudErrorSummary | undefined }
  | { outcome: 'not_found'; error: CloudErrorSummary }
  /** The cloud cannot cancel this kind of work by API (it may still complete). */
  | { outcome: 'unsupported'; error: CloudErrorSummary }
  /** Ferry's own credentials were rejected or lack the permission. */
  | { outcome: 'permission'; error: CloudErrorSummary }
  | { outcome: 'throttled'; retryAfterMs: number; error: CloudErrorSummary }
  /** 5xx, timeouts, malformed answers, anything else: the cancel may or may not have happened. */
  | { outcome: 'failed'; error: CloudErrorSummary };

export type CancelCause = 'task' | 'operator';

/** A repository a configured source holds. */
export interface SourceRepository {
  namespace: string;
  repository: string;
}

/** A tag a source repository holds now, with its digest when the listing gives it. */
export interface SourceTag {
  tag: string;
  digest: string | null;
  /** When the tag was last pushed (epoch ms), where the listing says: lets `--since` skip older ones. */
  pushedAt?: number | undefined;
}

/** One page of a source's repositories to list. */
export interface InventoryPage {
  /** Where the last page ended (null: from the start); opaque to the caller. */
  cursor: string | null;
  /** At most this many repositories per page (a provider may answer fewer, and never more). */
  limit: number;
  /**
   * The repositories the rules name literally for this source (no wildcard, no regex: see
   * `literalRepositories`): listed instead where the registry refuses its catalog (Docker Hub,
   * a registry that answers `_catalog` with 401/403/404). Cloud APIs list everything and ignore it.
   */
  hint?: readonly SourceRepository[] | undefined;
}

/** The configured source an inventory lists (the config's source object). */
export type InventorySource = Record<string, unknown> & { name: string; kind: string };

/**
 * What a configured source holds, listed through its cloud's API (ACR: ListRepository + tags; SWR: its
 * repositories and tags) or the OCI API (`_catalog`, `tags/list`). Backfill and the drift audit walk it
 * a page at a time; `cursor` is opaque to them and kept in the ledger between runs (null: the end).
 * A cursor the provider did not make is refused with a CloudInvalidRequestError.
 */
export interface SourceInventory {
  repositories(source: InventorySource, page: InventoryPage, ctx: CloudContext): Promise<{ items: SourceRepository[]; cursor: string | null }>;
  /** Every tag of one repository (a repository that no longer exists holds none). */
  tags(source: InventorySource, repo: SourceRepository, ctx: CloudContext): Promise<SourceTag[]>;
}

/** What makes a registry announce a repository's pushes to this Ferry (ACR: a repository trigger). */
export interface TriggerSpec {
  /** This Ferry's public base URL (`webhook.publicUrl`). */
  publicUrl: string;
  /** The webhook token the trigger URL carries: never printed, never logged. */
  token: string;
  /** Whether some rule matches pushes of this repository. */
  wanted(repo: SourceRepository): boolean;
  /** The only namespaces any matching rule can select (literal patterns), or null for all. */
  namespaces: readonly string[] | null;
  /** Create what is missing; otherwise only report. */
  apply: boolean;
}

/** One repository's intake: its trigger at this Ferry, found or created, or why not. */
export interface TriggerState {
  namespace: string;
  repository: string;
  /**
   * `present`: a trigger calls this Ferry; `missing`: none does (and `apply` was not asked);
   * `created`: one was created now; `token_differs`: one calls this Ferry with another token (rotate it
   * at the registry; not duplicated); `name_taken`: a trigger of Ferry's name calls elsewhere; `failed`.
   */
  state: 'present' | 'missing' | 'created' | 'token_differs' | 'name_taken' | 'failed';
  triggerId?: string | undefined;
  /** The trigger's URL with any token elided. */
  url?: string | undefined;
  error?: { code: string; message: string } | undefined;
}

/** Registering per-repository push notifications at a source's registry. */
export interface IntakeTriggers {
  check(source: Record<string, unknown> & { name: string; kind: string }, spec: TriggerSpec, ctx: CloudContext): Promise<TriggerState[]>;
}

/** What deleting a replicated tag at its target came to. */
export type DeleteOutcome =
  | { outcome: 'deleted'; action: string; requestId: string | null }
  /** The target no longer holds the tag: nothing to do. */
  | { outcome: 'absent' }
  /** Deleting it would remove what Ferry did not create (the copy provider: other tags on its digest). */
  | { outcome: 'refused'; reason: string };

/** A cloud task just created for a ledger task. */
export interface Submitted {
  ref: string;
  /** The cloud operation, for the task's history (`CreateRepoSyncTask`). */
  action: string;
  requestId: string | null;
}

/** A cloud task found for a ledger task (an interrupted submission's). */
export interface Found {
  ref: string;
  createdAt: number | null;
}

/** How a provider builds its clients: once per function instance. */
export interface ConnectOptions {
  config: Pick<FerryConfig, 'clouds' | 'sources'>;
  /** Where the copy provider keeps its jobs and their checkpoints (the ledger's); absent where nothing is replicated. */
  copyJobs?: CopyJobs | undefined;
  clock: Clock;
  env: Record<string, string | undefined>;
  /** The function role's temporary credentials (FC context), used when the config names no keys. */
  runtimeCredentials?: (() => AlibabaCredentials | undefined) | undefined;
  /** Client timeout; the webhook's budget wants short ones. */
  timeoutMs?: number | undefined;
  /** Kept by the function instance across invocations and shared by derived connections (caches). */
  instanceState?: InstanceState | undefined;
}

export interface CloudContext {
  clock: Clock;
  log: Logger;
}

/** What reconciling one scope may do besides calling the cloud. */
export interface ObserveContext extends CloudContext {
  /** False once the run's budget is spent: stop paging and return what is known. */
  hasTime(): boolean;
  /** Records the cloud task found for a task submitted without a known reference; false when the ledger moved. */
  adopt(task: TaskRow, ref: string, createdAt: number | null): Promise<boolean>;
  count(event: string, n?: number): void;
}

/** A provider connected to its cloud: the operations Ferry needs, on typed tasks. */
export interface Connected<To extends RenderedTarget = RenderedTarget> {
  submit(task: TaskRow, target: TaskTarget<To>, ctx: CloudContext): Promise<Submitted>;
  /** The cloud task an interrupted submission may have created (none of `known`), or null. */
  findExisting(task: TaskRow, target: TaskTarget<To>, known: ReadonlySet<string>, ctx: CloudContext): Promise<Found | null>;
  /**
   * What the cloud says about these open tasks, all of one scope, in as few calls as the cloud
   * allows. Tasks left out (budget spent) are looked at again on the next run.
   */
  observe(tasks: readonly TaskRow[], ctx: ObserveContext): Promise<Map<string, Observation>>;
  /** Reads one task again (after a cancel the cloud refused). */
  reread(task: TaskRow, target: TaskTarget<To>, ctx: CloudContext): Promise<Observation>;
  /**
   * Stops the cloud work of a task (`task`: at its deadline, or an interrupted submission's), or
   * carries out an operator's cancel (`operator`), on whose word a cloud may do more: SWR deletes
   * the repository's automatic sync task, since its manual jobs cannot be stopped.
   */
  cancel(task: TaskRow, target: TaskTarget<To>, ctx: CloudContext, by: CancelCause): Promise<CancelOutcome>;
  /**
   * The digest a tag of a source image points at now, or null when the cloud has no such tag: pushes
   * that name no digest are keyed by content, so a resent push never copies twice.
   */
  resolveDigest?(image: SourceImage, ctx: CloudContext): Promise<string | null>;
  /**
   * The digest the target holds now at the rendered name (tag), null when it holds no such tag: a
   * success is verified by it (`VERIFY_MISMATCH` when it differs from the source's), backfill, plan and
   * the drift audit skip targets already holding the image.
   */
  targetDigest?(target: TaskTarget<To>, ctx: CloudContext): Promise<string | null>;
  /**
   * Deletes the rendered tag at the target (deletion replication, rules with `deletes: true`). Called only
   * for targets Ferry's ledger shows it replicated the image to (`replicate/deletions.ts`).
   */
  deleteTag?(target: TaskTarget<To>, ctx: CloudContext): Promise<DeleteOutcome>;
  /** Lists what sources of the kinds in `inventoryKinds` hold. */
  inventory?: SourceInventory;
  /** Lists and creates the push triggers of sources of the kinds in `triggerKinds`. */
  triggers?: IntakeTriggers;
  /** Cancels by the cloud's own reference (operator `POST /cancel`), validated by `reference.schema`. */
  cancelReference?(ref: Record<string, unknown>, ctx: CloudContext): Promise<CancelOutcome>;
}

/** Cancelling by the cloud's own reference: the request body's fields and how to name it. */
export interface ReferenceSpec {
  /** The `POST /cancel` body for this provider (without `provider` and `reason`). */
  schema(kit: SchemaKit): z.ZodMiniObject;
  /** The cloud reference a ledger task would hold for it (to cancel the Ferry task instead), if any. */
  taskRef?(ref: Record<string, unknown>): string | null;
  /** Whether a ledger task is the one this reference names. */
  matchesTask?(ref: Record<string, unknown>, task: TaskRow): boolean;
  describe(ref: Record<string, unknown>): string;
  /**
   * Fills what the operator may leave out (ACR: the instance's region, from the configured sources
   * or the ledger task the reference belongs to), or says which field is missing.
   */
  complete?(ref: Record<string, unknown>, known: { sources: readonly Record<string, unknown>[]; task: TaskRow | null }): Record<string, unknown> | { field: string; message: string };
}

export interface CloudProvider<To extends RenderedTarget = RenderedTarget> {
  /** `targets[].provider` in the config, `tasks.provider` in the ledger. */
  readonly name: string;
  /** For messages: `ACR`, `SWR`. */
  readonly title: string;
  /**
   * `observe` advances work Ferry does itself (the copy engine) and may use all the time it is given:
   * the sweep reconciles such providers after its other phases, so a long copy never starves them.
   */
  readonly doesWork?: boolean;
  /** Kinds of configured source whose contents `connect().inventory` lists (one provider per kind). */
  readonly inventoryKinds?: readonly string[];
  /** Kinds of configured source whose repositories announce pushes through triggers `connect().triggers` manages. */
  readonly triggerKinds?: readonly string[];
  /** Kinds of configured source whose images this provider copies. */
  readonly sourceKinds: readonly string[];
  /** A rule target's schema (with `provider: z.literal(name)`). */
  targetSchema(kit: SchemaKit): z.ZodMiniObject;
  /**
   * Config problems of one target given the sources its rule can match (path relative to the target);
   * `config` is the raw document's sources and clouds, read defensively (other checks report their shape).
   */
  checkTarget?(
    target: Record<string, unknown>,
    sources: readonly { name: string; region?: string | undefined }[],
    config: { sources: readonly Record<string, unknown>[]; clouds: Record<string, unknown> },
  ): { field: string; message: string } | null;
  /** Renders a (validated) rule target for a push. */
  render(target: Record<string, unknown>, from: SourceImage, field: RenderField): Rendering<To>;
  /** Parses a ledger task's `target` JSON. */
  parseTarget(json: unknown): TaskTarget<To>;
  /**
   * Where the cloud lists the task, and so how the sweep batches reconciliation (ACR: the source
   * instance; SWR: the source repository).
   */
  scopeOf(target: TaskTarget<To>): string;
  /** Cancelling by the cloud's own reference through `POST /cancel`, where the cloud has one. */
  readonly reference?: ReferenceSpec;
  /** The pushed image must be nameable at the cloud it is copied from (sources of `sourceKinds`). */
  checkSourceImage?(image: { namespace: string; repository: string; tag?: string | undefined }): { field: string; message: string } | null;
  connect(opts: ConnectOptions): Connected<To>;
  /**
   * The registry of a configured source of this provider's kind, for copies Ferry makes itself: its
   * URL and how to log in (ACR: GetAuthorizationToken; SWR: the AK/SK-derived login).
   */
  registryFor?(source: Source, opts: ConnectOptions): RegistryEndpoint;
  /**
   * Why Ferry could not reach the registry of this configured source (raw document, read
   * defensively) with what the config gives, or null: config check refuses copies to or from it.
   */
  checkRegistry?(source: Record<string, unknown>, clouds: Record<string, unknown>): string | null;
}
