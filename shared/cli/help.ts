/**
 * The `ferry` CLI's help texts. No imports: bin/ferry.js answers a plain `ferry --help` (or `ferry
 * <command> --help`) from a precompiled copy of this module (.cache/cli-help.mjs, written by `npm ci`'s
 * prepare script, scripts/build-cli.mjs) without starting the TypeScript loader; main.ts prints the same.
 */

export const GLOBAL_HELP = `ferry — operate a Ferry deployment

Usage: ferry <command> [options]

Commands:
  tasks                      list tasks (--state, --provider, --action, --namespace, --repository, --since, --limit, --cursor)
  task <id>                  one task with its event history
  cancel <id>                cancel a task by its Ferry id (or a watched ECS task id)
  cancel --acr <source-instance> <rst-id> [--region r]
  cancel --ecs <region> <t-id>
  cancel --swr <region> <namespace> <repository> <remote-region> <remote-namespace>
                             cancel by the cloud's own reference
  replications               list replications (--state, --namespace, --repository, --since, --limit, --cursor)
  replication <id>           one replication with its tasks
  retry <id>                 re-run a failed, canceled or timed-out task (or every such task of a replication)
  retry --state failed [--rule r] [--since 2h] [--dry-run]
                             re-run finished tasks matching a filter
  plan <image-ref>           what a push of this image would do, creating nothing
  health                     the API's /healthz
  triggers [--apply]         repositories rules match that lack an ACR trigger calling this Ferry (--apply: create them)
  config check [file]        validate a config file locally, printing every problem (--resolve: read KMS secrets;
                             --structure-only: no secrets or variables needed, for CI)
  sweep                      run one sweep locally (uses FERRY_CONFIG, DATABASE_URL)
  backfill                   copy what rules match that targets lack (--rule, --repository, --since, --dry-run)
  replay <payload.json> --kind <kind> [--instance id] [--source name]
                             POST a saved webhook to <url>/webhooks/<kind> (token: FERRY_WEBHOOK_TOKEN)
  cloud [seed.json]          run the local cloud emulator
  copy <src-ref> <dst-ref>   copy one image registry to registry (--platform, --referrers)

Global options:
  --url <url>     Ferry API (default: $FERRY_URL or http://127.0.0.1:8080)
  --json          machine-readable output
  -h, --help      help (also: ferry <command> --help)

Environment: FERRY_API_TOKEN (API bearer token), FERRY_WEBHOOK_TOKEN (replay), FERRY_URL,
FERRY_SRC_CREDS / FERRY_DEST_CREDS (copy: user:password).
Exit codes: 0 ok, 1 failure, 2 usage error.`;

export const HELP: Record<string, string> = {
  tasks: `Usage: ferry tasks [--state s[,s…]] [--provider acr|swr|copy|ecs] [--action copy|delete] [--namespace ns] [--repository [ns/]repo]
                   [--since 2h|2025-01-31|ISO-time] [--limit n] [--cursor c] [--json]
List tasks, newest first. With more pages, prints the command for the next one (same filters).
--state: pending, submitted, running, succeeded, failed, canceled, timed_out (comma-separated).
--since: created at or after: a duration back from now (90m, 2h, 7d), a date (UTC) or an ISO time.`,
  replications: `Usage: ferry replications [--state s[,s…]] [--namespace ns] [--repository [ns/]repo] [--since 2h|2025-01-31|ISO-time] [--limit n] [--cursor c] [--json]
List replications (one per accepted push or delete event), newest first. With more pages, prints the
command for the next one (same filters).
--state: pending, in_progress, succeeded, partially_failed, failed, canceled (comma-separated).
--since: received at or after: a duration back from now (90m, 2h, 7d), a date (UTC) or an ISO time.`,
  task: `Usage: ferry task <id> [--json]
Shows one task (Ferry UUID, or a watched ECS task id t-…) and its event history.`,
  cancel: `Usage:
  ferry cancel <id> [--reason text]
  ferry cancel --acr <source-instance-id> <rst-id> [--region region] [--reason text]
  ferry cancel --ecs <region> <t-id> [--reason text]
  ferry cancel --swr <region> <namespace> <repository> <remote-region> <remote-namespace> [--reason text]
Cancels a task. Needs an admin token in FERRY_API_TOKEN. Repeating a cancel is harmless.
--acr: an ACR sync task (rst-…) lives on the SOURCE instance (the one pushed to), not the target:
give that instance's id (cri-…) and, with --region, its region.`,
  replication: `Usage: ferry replication <id> [--json]`,
  retry: `Usage:
  ferry retry <task-or-replication-id> [--reason text] [--json]
  ferry retry --state failed[,canceled,timed_out] [--rule r] [--since 2h|ISO-time] [--dry-run] [--reason text] [--json]
Re-opens failed, canceled or timed-out tasks with a fresh attempt budget; the sweep submits them next.
The history keeps every attempt, with who asked and why. Needs an admin token in FERRY_API_TOKEN.
--since: tasks that ended at or after (90m, 2h, 7d, or an ISO time). --dry-run lists them, changing nothing.`,
  plan: `Usage:
  ferry plan <host/namespace/repository[:tag][@digest]> [--digest d] [--json]
  ferry plan --source <name> <namespace/repository[:tag]> [--digest d] [--json]
What a push of this image would do: which rules match (and why the others do not), each target
rendered or the naming rule it breaks, whether the target already holds the image. Creates nothing;
a read token suffices.`,
  health: `Usage: ferry health [--json]`,
  triggers: `Usage: ferry triggers [--apply] [--json]
For every ACR source, the repositories some rule matches and whether each has a repository trigger
calling this Ferry (config webhook.publicUrl, a webhook token covering the source). --apply creates
the missing ones (CreateRepoTrigger; running it again creates nothing; needs an admin token). A
trigger calling Ferry with another token is reported, not duplicated. Tokens are never printed.
Exit 1 while a repository is missing a trigger or one could not be created.`,
  config: `Usage: ferry config check [file] [--resolve | --structure-only] [--json]
Validates a Ferry config (default: $FERRY_CONFIG or ./ferry.config.yaml) with the environment's
secrets, printing every problem. Exit 1 when the config is invalid. \${kms:NAME} secrets are listed
as resolved at run time; --resolve reads each from KMS now (with ALIBABA_CLOUD_* keys or the
config's, region clouds.alibaba.kms.region or ALIBABA_CLOUD_REGION_ID), never printing a value.
--structure-only checks everything but the values of \${VAR}s this environment does not set (for CI,
which holds no secrets) and lists those variables; inline secrets are still refused.`,
  sweep: `Usage: ferry sweep [--json]
Runs one sweep here, against the ledger and clouds the config names (FERRY_CONFIG, DATABASE_URL).
Without DATABASE_URL (or store.databaseUrl) it opens the embedded PGlite ledger npm start uses,
<FERRY_DATA_DIR or store.dataDir>/ledger (default .ferry/ledger); stop npm start first (one process
per ledger directory). No FERRY_MODE is needed.`,
  backfill: `Usage: ferry backfill [--rule R] [--repository namespace/repository] [--since DATE|2h|7d] [--dry-run] [--json]
Runs a backfill here (FERRY_CONFIG, DATABASE_URL): lists what each chosen rule's sources hold, renders
every target of every matching tag, skips targets already holding the image at the same digest, and
records the rest as pushes are recorded (the sweep copies them). Killed, it resumes where it stopped
when run again with the same arguments. --dry-run creates nothing. Progress on stderr on a terminal.
Exit codes: 0 done, 1 not finished (a listing failed: run it again), 2 usage error.`,
  replay: `Usage: ferry replay <payload.json> --kind <acr|harbor|distribution|dockerhub|cloudevents> [--instance id] [--source name] [--url url]
POSTs a saved webhook payload to <url>/webhooks/<kind>, with FERRY_WEBHOOK_TOKEN as bearer token
(and as ?token=, like an ACR trigger URL). --instance and --source are passed as query parameters.`,
  cloud: `Usage: ferry cloud [seed.json]
Runs the local cloud emulator (port: $FERRY_CLOUD_PORT, default 8090).`,
  copy: `Usage: ferry copy <src-ref> <dst-ref> [--platform os/arch …] [--referrers] [--json]
                  [--src-creds user:pass] [--dest-creds user:pass]
Copies one image, registry to registry, as the copy provider does. A reference is
[http(s)://]host[:port]/repository[:tag|@digest]; a Docker Hub short name (nginx, user/app) means
registry-1.docker.io; loopback hosts default to http, others to https. The destination tag defaults
to the source's. Credentials: FERRY_SRC_CREDS and FERRY_DEST_CREDS (user:password) keep them out of
the process list; the flags override them. Progress on stderr when it is a terminal.
Exit codes: 0 copied, 1 the copy failed (the message names the code), 2 usage error.`,
};
